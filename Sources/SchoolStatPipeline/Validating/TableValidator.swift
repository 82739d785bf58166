// Validating: the single streaming pass over one file's records — read
// checks, normalisation, schema constraints and row checks — deciding for
// each row whether it is clean or rejected. Rows are validated in batches on
// worker threads and committed in file order.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// Validates one file of a table: hands its records, in batches, to the worker
/// threads and commits what they return in file order, so the outputs do not
/// depend on the number of threads.
///
/// Three kinds of thread take part: the caller's reads and parses, the workers
/// validate, and one committer thread writes the results in order (outputs,
/// ledger, rule-pack accumulators). The committer has finished when `run` returns,
/// so the caller may go on recording findings itself.
public final class TableValidator: @unchecked Sendable {
    public static let batchSize = 1024

    public let rules: FileRules
    private let workerRules: [FileRules]
    public let output: TableOutput
    private let sink: FindingSink
    private let headerLine: Int
    /// The file's name as the committer hands it on with each row (the workers have theirs).
    private let committedPath: String

    public init(header: HeaderMap, headerLine: Int, output: TableOutput, fileIndex: Int32, displayPath: String,
         encodingName: String, ruleSet: RuleSet, converter: ChineseConverter,
         duplicates: DuplicateFiles, fileNames: [String], threads: Int, sink: FindingSink) throws(RuleFileErrors) {
        // Each worker gets its own compiled copy: threads that share objects contend on their reference counts.
        workerRules = try (0..<max(1, threads)).map { _ throws(RuleFileErrors) in
            try FileRules(header: header, output: output, fileIndex: fileIndex, displayPath: displayPath, encodingName: encodingName,
                          ruleSet: ruleSet, converter: converter, duplicates: duplicates, fileNames: fileNames)
        }
        rules = workerRules[0]
        committedPath = displayPath.unshared
        self.output = output
        self.sink = sink
        self.headerLine = headerLine
        reportHeader()
    }

    private var schema: TableSchema { rules.schema }

    /// Excel's column letters: A … Z, AA …
    private func reportHeader() {
        let header = rules.header
        for (position, text) in header.unknown {
            sink.record(rules.fileFinding(line: headerLine, column: text, raw: text, rule: RuleID.header(schema.name, "unknown_column"), severity: .warning,
                .unknownHeader(table: TableSubject(schema), letter: Spreadsheet.columnLetter(position), text: text)))
        }
        for (column, first, repeated) in header.duplicates {
            let c = schema.columns[column]
            sink.record(rules.fileFinding(line: headerLine, column: c.name, raw: header.headers[repeated], rule: RuleID.header(schema.name, "duplicate_column"), severity: .warning,
                .duplicateHeader(column: CellSubject(c), firstLetter: Spreadsheet.columnLetter(first), firstText: header.headers[first],
                                 repeatedLetter: Spreadsheet.columnLetter(repeated), repeatedText: header.headers[repeated])))
        }
        for column in header.missingRequired {
            let c = schema.columns[column]
            sink.record(rules.fileFinding(line: headerLine, column: c.name, rule: RuleID.column(schema.name, c.name, "required"), severity: .error,
                .missingRequiredColumn(column: CellSubject(c), headers: [c.titleZh] + c.aliases.prefix(3)), expected: c.titleZh))
        }
    }

    /// Reads the file after its header and validates every record on the worker threads.
    public func run(reader: inout TableFileReader, headerOrdinal: Int) throws(ReadError) {
        let headerLine = self.headerLine
        try run { (submit) throws(ReadError) in
            try reader.readBatches(of: Self.batchSize, keeping: { entry in
                Self.isAfterHeader(entry, headerLine: headerLine, headerOrdinal: headerOrdinal)
            }, submit)
        }
    }

    /// Validates the batches a first pass kept (see `BatchSpill`), the file not being parsed
    /// again: one spill, or one per part of a file parsed in two parts, in file order.
    public func run(spills: [BatchSpill.Reader]) throws(ReadError) {
        try run { (submit) throws(ReadError) in
            for spill in spills {
                while let batch = try spill.next() { submit(batch) }
            }
        }
    }

    /// What the main pass reads: blank lines below the header line, records after the header record.
    public static func isAfterHeader(_ entry: EntrySummary, headerLine: Int, headerOrdinal: Int) -> Bool {
        entry.isBlankLine ? entry.line > headerLine : entry.ordinal > headerOrdinal
    }

    private func run(batches: (_ submit: @escaping (RecordBatch) -> Void) throws(ReadError) -> Void) throws(ReadError) {
        let validators = workerRules.map(RowValidator.init)
        let workers = OrderedWorkers<RecordBatch, BatchResult>(threads: validators.count, window: 4 * validators.count) { worker, batch in
            validators[worker].validate(batch)
        }
        // Results go to the committer in order; at most eight wait there, which bounds memory
        // (a few megabytes) while letting the workers run on through a slow write of the outputs.
        let committer = BoundedStage(label: "schoolstat.commit", capacity: 8)
        let commit: (BatchResult) -> Void = { result in committer.submit { self.commit(result) } }
        defer { committer.drain() }
        defer { workers.finish(consume: commit) }
        try batches { workers.submit($0, consume: commit) }
    }

    /// Writes one batch's results, in file order.
    private func commit(_ result: BatchResult) {
        // Moved out one by one, not copied (a finding holds a dozen texts, each retained by a
        // copy); an empty entry, whose texts need no reference counts, is left in each place.
        result.findings.withUnsafeMutableBufferPointer { findings in
            guard let base = findings.baseAddress else { return }
            for i in 0..<findings.count {
                sink.record((base + i).move())
                (base + i).initialize(to: .vacated)
            }
        }
        if !result.clean.isEmpty { output.clean.file.write(result.clean) }
        if !result.rejected.isEmpty { output.rejected.file.write(result.rejected) }
        if let observe = output.observer, let rows = result.cleanRows {
            for line in rows.lines {
                rows.takeNext(into: &output.scratch.values)
                observe(output.scratch, committedPath, line)
            }
        }
        if let observe = output.rejectObserver { for key in result.rejectedKeys { observe(key) } }
        let c = result.counts
        output.counts.rowsRead += c.rowsRead
        output.counts.rowsClean += c.rowsClean
        output.counts.rowsRejected += c.rowsRejected
        output.counts.blankLines += c.blankLines
        output.counts.repeatedHeaders += c.repeatedHeaders
    }
}
