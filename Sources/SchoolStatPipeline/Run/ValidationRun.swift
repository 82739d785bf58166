// Pipeline: one validation run from inputs to committed outputs.
import CSupport
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// What the caller asks of a run.
public struct ValidationOptions: Sendable {
    public var inputs: [String]
    public var rulesDirectory: String
    public var outputDirectory: String
    /// Treat every input as this table instead of recognising it from headers.
    public var table: String?
    public var encoding: TextEncoding?
    public var delimiter: UInt8?
    /// Overrides `report_date` in Rules/parameters.yaml.
    public var asOf: String?
    public var runID: String?
    /// A regional profile in Rules/profiles (default `national`).
    public var profile: String?
    /// The previous period's output directory, for rules comparing periods.
    public var previous: String?
    /// A waivers file (YAML): accepted findings with reason and expiry.
    public var waivers: String?
    /// Worker threads validating rows (the reading and writing thread comes on top).
    /// Outputs are the same whatever the number.
    public var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// A UTF-8 file of a table with unique keys at least this large is parsed in two parts at
    /// once in the pre-pass, when `threads` is above 1 (tests lower it to split small files).
    public var splitParseMinimumBytes = 16 << 20
    /// How large one value and one record may be, and how far a workbook may inflate.
    public var readLimits = ReadLimits()
    /// The worksheets to read, by name (empty: every sheet of every workbook).
    public var sheets: [String] = []

    public init(inputs: [String], rulesDirectory: String, outputDirectory: String) {
        self.inputs = inputs
        self.rulesDirectory = rulesDirectory
        self.outputDirectory = outputDirectory
    }
}

/// The outcome a scheduler acts on.
public enum RunStatus: Int32, Sendable {
    case clean = 0
    case dataErrors = 1
    case badRulesOrArguments = 2
    case unreadableInput = 3
    /// An output could not be written (disk full, permissions): the previous outputs are untouched.
    case outputFailed = 4
}

public struct RunResult: Sendable {
    public var status: RunStatus
    public var summary: RunSummary
    public var outputDirectory: String
}

/// Problems that stop a run before any output is written.
public enum RunError: Error, Sendable, CustomStringConvertible {
    case rules(RuleFileErrors)
    case arguments(String)
    case output(WriteError)
    /// The output path is not one schoolstat may replace; nothing was written.
    case outputRefused(OutputRefusal)
    /// A file the run reads (a previous run's table, a run directory's contents) cannot be read:
    /// a named pipe, a device, a read error.
    case unreadable(ReadError)
    /// Something the run needs to write could not be, told in its own words (a full temporary
    /// directory, a full disk under the run history): nothing was committed.
    case notWritten(String)

    public var description: String {
        switch self {
        case .rules(let e): return e.description
        case .arguments(let s): return s
        case .output(let e): return e.description
        case .outputRefused(let r): return r.description
        case .unreadable(let e): return e.description
        case .notWritten(let s): return s
        }
    }

    public var status: RunStatus {
        switch self {
        case .rules, .arguments, .outputRefused: return .badRulesOrArguments
        case .output, .notWritten: return .outputFailed
        case .unreadable: return .unreadableInput
        }
    }

    public init(_ error: OutputError) {
        switch error {
        case .refused(let r): self = .outputRefused(r)
        case .failed(let w): self = .output(w)
        }
    }
}

/// Runs the validation pipeline.
public final class ValidationRun: FindingSink {
    let options: ValidationOptions
    let onFinding: (LedgerEntry) -> Void
    var ledger: LedgerWriter?
    var findingCounts: [String: [String: Int]] = [:]
    var errorCount = 0
    var warningCount = 0
    var waivedCount = 0
    var waiverBook: WaiverBook?
    /// The inputs that are sheets of a workbook of several: the name the run gives each
    /// (`全县报表.xlsx [教师名册]`) → the file and the sheet.
    var sheetInputs: [String: (String, String)] = [:]
    /// The SHA-256 of a large input, begun as the run starts (`beginEarlyDigest`), until the file
    /// it is of takes it.
    var earlyDigest: FileDigest?
    /// Sheets whose header matched no table, by input name, and why.
    var unrecognisedSheets: [String: SheetSkip] = [:]

    /// `onFinding` sees every ledger entry as it is written (for console output).
    /// Told the staging directory as soon as it exists, so that a caller stopped by a
    /// signal can remove it at once (a later run would remove it too).
    public var onStaging: (String) -> Void = { _ in }
    /// Told, once, what the run chose to leave aside (in Chinese and English), such as its own
    /// output directories found among the inputs.
    public var onNotice: (_ zh: String, _ en: String) -> Void = { _, _ in }
    /// Told every ledger entry as it is recorded, waived ones included (for the run history).
    public var onEntry: (LedgerEntry) -> Void = { _ in }
    /// Called once every output is written and closed, before summary.json is written and the
    /// outputs committed: may add files to the staging directory (`path` gives their place) and
    /// fill in the summary (what changed since the last run, a different exit status).
    public var beforeCommit: ((_ path: (String) -> String, _ summary: inout RunSummary) throws(RunError) -> Void)?
    /// Told each file the run will read, once its table, encoding and header are settled.
    public var onFilePlanned: (FilePlan) -> Void = { _ in }

    public init(options: ValidationOptions, onFinding: @escaping (LedgerEntry) -> Void = { _ in }) {
        self.options = options
        self.onFinding = onFinding
    }

    public func record(_ entry: consuming LedgerEntry) {
        var entry = entry
        // A sheet of a workbook of several: the ledger names the file and, apart, the sheet.
        if !sheetInputs.isEmpty, entry.sheet.isEmpty, let (file, sheet) = sheetInputs[entry.sourceFile] {
            entry.sourceFile = file
            entry.sheet = sheet
        }
        // Findings are the same mistake only if their values are the same as written: a masked ID
        // number (different numbers look alike once masked) is never taken for another.
        let value = entry.rawValue
        let comparable = !value.utf8.contains(0x2A) && !IDNumber.mayHoldIDNumber(value)
        // No ID number reaches the ledger or the console whole, whatever field it is in — a header
        // cell that is one names the column of an unknown-column finding. (The source file keeps
        // its path here, for whoever matches findings to files; every writer scrubs it.) A value
        // is shown for what it is, not in full: a megabyte-long cell does not make a megabyte-long
        // ledger entry.
        func masked(_ text: inout String, cutAt limit: Int = .max) {
            if IDNumber.mayHoldIDNumber(text) { text = IDNumber.scrub(text) }
            if limit < .max { text = Self.shortened(text, limit) }
        }
        masked(&entry.recordKey)
        masked(&entry.column)
        masked(&entry.expected)
        masked(&entry.rawValue, cutAt: Self.valueCharacters)
        masked(&entry.normalisedValue, cutAt: Self.valueCharacters)
        masked(&entry.messageZh, cutAt: Self.messageCharacters)
        masked(&entry.messageEn, cutAt: Self.messageCharacters)
        if let w = waiverBook?.match(entry) {
            entry.note = IDNumber.scrub("豁免 (waived) 至 \(w.expires)：\(w.reason)" + (w.rectification.map { "；整改：\($0)" } ?? ""))
        }
        consecutive.add(entry, value: comparable ? value : nil) { e, rows in emit(e, rows: rows) }
    }

    /// Findings of one kind on consecutive lines, written as one entry once they stop repeating.
    var consecutive = ConsecutiveFindings()

    /// Characters of a value and of a message kept in a finding; the rest is cut with a note of the length.
    static let valueCharacters = 1_000
    static let messageCharacters = 4_000

    static func shortened(_ text: String, _ limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        let count = text.count
        guard count > limit else { return text }
        return String(text.prefix(limit)) + "…（共 \(count) 字 characters）"
    }

    /// One entry, covering `rows` rows, into the ledger, the counts, the history and the console.
    func emit(_ entry: LedgerEntry, rows: Int) {
        ledger?.append(entry)
        onEntry(entry)
        if !entry.note.isEmpty {
            waivedCount += rows
            findingCounts[entry.ruleID, default: [:]]["waived", default: 0] += rows
            return
        }
        findingCounts[entry.ruleID, default: [:]][entry.severity.rawValue, default: 0] += rows
        if entry.severity == .error { errorCount += rows } else { warningCount += rows }
        onFinding(entry)
    }

    /// Writes the findings still held back by `consecutive`.
    func finishFindings() {
        consecutive.finish { e, rows in emit(e, rows: rows) }
    }

    /// One validate run, in phases: the rules and inputs settled, every input opened and its
    /// table found, repeated keys found, the main pass, the rule packs, the outputs closed and
    /// the summary written; the output directory is committed at the end, or abandoned.
    public func run() throws(RunError) -> RunResult {
        schoolstat_fix_allocator_threshold()
        var clock = PhaseClock(started: Date())
        // Refuse an output path that is not ours to replace before any work is done.
        do { _ = try OutputDirectory.vet(path: options.outputDirectory, kind: .validate, protecting: protectedPaths) } catch { throw .outputRefused(error) }
        // OpenCC loads its dictionaries on another thread while the rules load, when there is
        // one to spare.
        let pendingConverter = Pending(onAnotherThread: options.threads > 1) { ChineseConverter() }
        earlyDigest = Self.beginEarlyDigest(options)
        defer { earlyDigest = nil }
        let (ruleSet, evaluator) = try loadRules()
        let (inputs, skippedInputs, skippedOutputs) = try discoverInputs()
        if !skippedOutputs.isEmpty {
            onNotice("已跳过 \(skippedOutputs.count) 个 schoolstat 输出目录，不把它们当作输入：\(skippedOutputs.joined(separator: "、"))",
                     "Skipped \(skippedOutputs.count) schoolstat output director\(skippedOutputs.count == 1 ? "y" : "ies"), not read as input: \(skippedOutputs.joined(separator: ", "))")
        }
        try loadPreviousAndWaivers(ruleSet: ruleSet, evaluator: evaluator)
        clock.rulesLoaded = Date()

        let runID = options.runID ?? Self.makeRunID(clock.started)
        let out: OutputDirectory
        do { out = try OutputDirectory(path: options.outputDirectory, kind: .validate, runID: runID, protecting: protectedPaths) } catch { throw RunError(error) }
        defer { out.abandon() }
        onStaging(out.stagingPath)
        do {
            try out.makeSubdirectory("clean")
            try out.makeSubdirectory("rejected")
            ledger = try LedgerWriter(csvPath: out.path("ledger.csv"), jsonlPath: out.path("ledger.jsonl"), runID: runID)
        } catch { throw .output(error) }

        let converter = pendingConverter.value
        // Every input skipped is reported, and an error one makes the run exit 3.
        var unreadable = skippedInputs.contains { $0.severity == .error }
        for entry in skippedInputs { record(entry) }
        for input in inputs { if let sheet = input.sheet { sheetInputs[input.display] = (input.file, sheet.name) } }

        // 1. Open every file, settle encoding, dialect and table from its header.
        var (plans, inputSummaries) = openInputs(inputs, matcher: HeaderMatcher(ruleSet: ruleSet, converter: converter), unreadable: &unreadable)
        reportSheetsNotRead(inputs: inputs, plans: plans, unreadable: &unreadable)
        // Rules and derived values that need a table no file was recognised as are left out of the row pass.
        evaluator.restrict(toTables: Set(plans.map(\.header.schema.name)))

        // 2. Repeated keys, found across all files of a table in bounded memory. What the
        // pre-pass learnt of each file it read to the end: its SHA-256 (the digest thread works
        // while the pre-pass leaves a core idle, rather than during the busier main pass) and its
        // parsed batches, kept on disk so that the main pass does not parse the file again.
        var firstPasses: [Int32: FirstPass] = [:]
        let tempDir = out.path(".keys")
        try? FileManager.default.createDirectory(atPath: tempDir, withIntermediateDirectories: true)
        var duplicates: [String: DuplicateFiles] = [:]
        for table in ruleSet.tables where !table.unique.isEmpty {
            let tablePlans = plans.filter { $0.header.schema.name == table.name }
            guard !tablePlans.isEmpty else { continue }
            do throws(WriteError) {
                duplicates[table.name] = try findDuplicates(table: table, plans: tablePlans, ruleSet: ruleSet, converter: converter,
                                                            tempDir: tempDir, firstPasses: &firstPasses)
            } catch {
                // A working file of the repeated keys' search that could not be written or read
                // back: the repeats cannot be told, and nothing is committed.
                throw .output(error)
            }
        }
        clock.keysFound = Date()

        // 3. The main pass, file by file, into per-table outputs.
        let outputs = try mainPass(plans: plans, fileNames: inputs.map(\.display), out: out, ruleSet: ruleSet, evaluator: evaluator, converter: converter,
                                   duplicates: duplicates, firstPasses: firstPasses, inputSummaries: &inputSummaries, unreadable: &unreadable)
        try? FileManager.default.removeItem(atPath: tempDir)
        clock.mainPassDone = Date()

        // 4. Rule packs: entities and groups, once every row is in; then the outputs closed.
        let tally = try evaluatePacks(ruleSet: ruleSet, evaluator: evaluator, tablesInRun: Set(plans.map(\.header.schema.name)),
                                      outputs: outputs, plans: plans, out: out)
        clock.finished = Date()

        // 5. The summary, then the output directory committed.
        var tables: [String: TableSummary] = [:]
        for (name, output) in outputs {
            let c = output.counts
            tables[name] = TableSummary(files: c.files, rowsRead: c.rowsRead, rowsClean: c.rowsClean, rowsRejected: c.rowsRejected,
                                        blankLines: c.blankLines, repeatedHeaders: c.repeatedHeaders, titleRows: c.titleRows)
            if !c.titleTexts.isEmpty { tables[name]?.titles = c.titleTexts }
        }
        let status: RunStatus = unreadable ? .unreadableInput : (errorCount > 0 ? .dataErrors : .clean)
        var summary = RunSummary(
            runID: runID, status: status.rawValue, reportDate: ruleSet.parameters["report_date"]?.description ?? "",
            profile: ruleSet.profile, packs: evaluator.activePacks.map { PackSummary(name: $0.name, version: $0.version) },
            ruleResults: tally,
            inputs: inputSummaries, tables: tables, findings: findingCounts,
            totals: FindingTotals(errors: errorCount, warnings: warningCount, waived: waivedCount),
            ruleFiles: ruleSet.files.map { RuleFileSummary(path: $0.path, sha256: $0.sha256) },
            timings: clock.timings)
        summary.rulesNotRun = evaluator.notRun
        summary.skippedOutputDirectories = skippedOutputs.isEmpty ? nil : skippedOutputs
        if let beforeCommit { try beforeCommit({ out.path($0) }, &summary) }
        do { try summary.write(to: out.path("summary.json")) } catch { throw .output(error) }
        do { try out.commit() } catch { throw RunError(error) }
        return RunResult(status: RunStatus(rawValue: summary.status) ?? status, summary: summary, outputDirectory: out.finalPath)
    }

    /// The rules, with `--as-of` as the reporting date, and the table `--table` names.
    private func loadRules() throws(RunError) -> (RuleSet, PackEvaluator) {
        var overrides: [String: String] = [:]
        if let asOf = options.asOf {
            guard DateText.parse(asOf) != nil else { throw .arguments("--as-of 的值“\(asOf)”不是日期；请写成 2024-09-30。 (--as-of must be a date)") }
            overrides["report_date"] = asOf
        }
        let loaded: LoadedRules
        do {
            loaded = try LoadedRules.load(directory: options.rulesDirectory, profile: options.profile, parameterOverrides: overrides)
        } catch {
            throw .rules(error)
        }
        if let table = options.table, loaded.ruleSet.table(named: table) == nil {
            throw .arguments("未知的表 `\(table)`；可用 (known tables): \(loaded.ruleSet.tables.map(\.name).joined(separator: ", "))")
        }
        return (loaded.ruleSet, loaded.evaluator)
    }

    /// The previous period's clean output (`--previous`) and the waivers (`--waivers`).
    private func loadPreviousAndWaivers(ruleSet: RuleSet, evaluator: PackEvaluator) throws(RunError) {
        if let previous = options.previous {
            guard FileManager.default.fileExists(atPath: previous + "/clean") else {
                throw .arguments("--previous 指定的目录 \(previous) 中没有 clean/ 子目录；请指定上一期的输出目录。 (no clean/ in the previous run's directory)")
            }
            do { try evaluator.loadPrevious(directory: previous) } catch { throw .unreadable(error) }
        }
        if let path = options.waivers {
            guard case .date(let asOf) = ruleSet.parameters["report_date"] ?? .missing else {
                throw .arguments("使用豁免文件需要统计基准日 report_date (waivers need report_date)")
            }
            do { waiverBook = try WaiverBook.load(path: path, asOf: asOf) } catch { throw .rules(error) }
        }
    }

    /// Opens every input and finds its table from its header: the plans of those found, and a
    /// summary of every input. A file that cannot be opened, or whose header matches no table,
    /// makes the run unreadable; a hidden sheet read as a table is said to be hidden.
    private func openInputs(_ inputs: [Input], matcher: HeaderMatcher, unreadable: inout Bool) -> ([FilePlan], [InputSummary]) {
        var plans: [FilePlan] = []
        var summaries: [InputSummary] = []
        for (index, input) in inputs.enumerated() {
            var summary = InputSummary(path: input.display, table: nil, encoding: "", encodingDetected: true, dialect: nil, sha256: "", bytes: 0)
            do {
                var reader = try TableFileReader(path: input.path, encoding: options.encoding, delimiter: options.delimiter, sheet: input.sheet?.name)
                reader.readLimits = options.readLimits
                summary.encoding = reader.facts.format == "csv" ? reader.facts.encoding.rawValue : reader.facts.format
                summary.encodingDetected = reader.facts.encodingDetected
                summary.dialect = reader.facts.format == "csv" ? reader.facts.dialect : nil
                if let plan = try locateHeader(reader: reader, input: input, index: Int32(index), matcher: matcher) {
                    summary.table = plan.header.schema.name
                    plans.append(plan)
                    onFilePlanned(plan)
                    if let sheet = input.sheet, sheet.visibility != .visible {
                        var entry = LedgerEntry(table: plan.header.schema.name, file: input.file, line: 0, rule: "read.hidden_sheet", severity: .warning,
                                                message: .hiddenSheet(sheet: sheet.name, table: plan.header.schema.titleZh))
                        entry.sheet = sheet.name
                        record(entry)
                    }
                } else if input.sheet == nil {
                    unreadable = true
                }
            } catch {
                unreadable = true
                summary.error = error.description
                record(LedgerEntry(table: "", file: input.display, line: 0, readError: error))
            }
            summaries.append(summary)
        }
        return (plans, summaries)
    }

    /// A workbook's sheets that are not tables: named, each once. A workbook none of whose sheets
    /// is a table is an input that could not be read, as a file whose header matches no table.
    private func reportSheetsNotRead(inputs: [Input], plans: [FilePlan], unreadable: inout Bool) {
        var workbooks: [String: [Input]] = [:]
        for input in inputs where input.sheet != nil { workbooks[input.file, default: []].append(input) }
        for file in workbooks.keys.sorted() {
            let sheets = workbooks[file]!
            let read = sheets.filter { s in plans.contains { $0.input.display == s.display } }
            if read.isEmpty && options.sheets.isEmpty {
                unreadable = true
                record(LedgerEntry(table: "", file: file, line: 0, rule: "read.unknown_table", severity: .error,
                                   message: .noTableSheet(sheets: sheets.map { $0.sheet!.name })))
                continue
            }
            for input in sheets where unrecognisedSheets[input.display] != nil {
                if !options.sheets.isEmpty { unreadable = true }
                var entry = LedgerEntry(table: "", file: file, line: 0, rule: "read.sheet_skipped", severity: options.sheets.isEmpty ? .warning : .error,
                                        message: .sheetSkipped(sheet: input.sheet!.name, why: unrecognisedSheets[input.display]!, hidden: input.sheet!.visibility != .visible))
                entry.sheet = input.sheet!.name
                record(entry)
            }
        }
    }

    /// The main pass: each file's rows validated, normalised and written, into one output per
    /// table; the title and column-number rows and what the cells held beside their values
    /// reported; each input's digest and size recorded in its summary.
    private func mainPass(plans: [FilePlan], fileNames: [String], out: OutputDirectory, ruleSet: RuleSet, evaluator: PackEvaluator,
                          converter: ChineseConverter, duplicates: [String: DuplicateFiles], firstPasses: [Int32: FirstPass],
                          inputSummaries: inout [InputSummary], unreadable: inout Bool) throws(RunError) -> [String: TableOutput] {
        let observed = evaluator.observedTables
        var outputs: [String: TableOutput] = [:]
        for plan in plans {
            let schema = plan.header.schema
            let output: TableOutput
            if let existing = outputs[schema.name] {
                output = existing
            } else {
                do {
                    output = try TableOutput(schema: schema, cleanPath: out.path("clean/\(schema.name).csv"), rejectedPath: out.path("rejected/\(schema.name).csv"))
                } catch { throw .output(error) }
                if observed.contains(schema.name) {
                    let name = schema.name
                    output.observer = evaluator.observer(table: name)
                    output.observedColumns = evaluator.observedColumns(table: name)
                    output.rejectObserver = { key in evaluator.observeRejected(table: name, key: key) }
                }
                outputs[schema.name] = output
            }
            output.counts.files.append(plan.input.display)
            output.counts.titleRows += plan.titleRows.count
            // A title names the table (and often the county); a table of personal data keeps even its title out of the summary.
            if !schema.columns.contains(where: { $0.personal != nil }) {
                output.counts.titleTexts += plan.titleTexts.prefix(10 - min(10, output.counts.titleTexts.count)).map { String($0.prefix(200)) }
            }
            for line in plan.titleRows {
                record(LedgerEntry(table: schema.name, file: plan.input.display, line: line, rule: "read.title_row", severity: .warning,
                                   message: .titleRow(line: line)))
            }
            if let line = plan.columnNumbersLine {
                // Not data, and skipped before the rows are read: counted with the title rows.
                output.counts.titleRows += 1
                record(LedgerEntry(table: schema.name, file: plan.input.display, line: line, rule: "read.column_numbers_row", severity: .warning,
                                   message: .columnNumbersRow(line: line)))
            }
            let validator: TableValidator
            do {
                validator = try TableValidator(header: plan.header, headerLine: plan.headerLine, output: output,
                                                   fileIndex: plan.index, displayPath: plan.input.display, encodingName: plan.reader.facts.encoding.rawValue,
                                                   ruleSet: ruleSet, converter: converter, duplicates: duplicates[schema.name] ?? [],
                                                   fileNames: fileNames, threads: options.threads, sink: self)
            } catch {
                throw .rules(error)
            }
            do throws(ReadError) {
                var facts: FileFacts
                if let first = firstPasses[plan.index], !first.spills.isEmpty {
                    var spills: [BatchSpill.Reader] = []
                    // Batches kept by position are read back from the file the pre-pass parsed.
                    let text = first.facts.identity.map { BatchSpill.Text(path: plan.reader.facts.path, identity: $0, delimiter: plan.reader.facts.dialect.delimiter) }
                    for part in first.spills { spills.append(try BatchSpill.Reader(path: part.path, source: plan.input.display, offset: part.offset, text: text)) }
                    var digest: FileDigest?
                    if first.digestLater { digest = takeEarlyDigest(of: first.facts.identity) }
                    if first.digestLater && digest == nil { digest = try Self.digest(of: plan) }
                    try validator.run(spills: spills)
                    for part in first.spills { unlink(part.path) }
                    facts = first.facts
                    if let digest {
                        // Of the file parsed, as it was, or none: the file was changed or replaced.
                        let (hex, bytes) = try digest.finish(path: plan.input.display, expecting: first.facts.identity)
                        facts.sha256 = hex
                        facts.byteCount = bytes
                    }
                } else {
                    var reader = plan.reader
                    let first = firstPasses[plan.index]
                    // This pass gives the digest: a file of a table without unique keys (no
                    // pre-pass), or one the pre-pass left it to. A digest begun early for the file
                    // is taken rather than the file read for it a second time.
                    let givesDigest = first?.digestLater ?? true
                    let early = givesDigest ? takeEarlyDigest(of: FileIdentity(path: reader.facts.path)) : nil
                    reader.computesDigest = givesDigest && early == nil
                    try validator.run(reader: &reader, headerOrdinal: plan.headerOrdinal)
                    facts = reader.facts
                    if let first, !first.digestLater { facts.sha256 = first.facts.sha256 }
                    if let early {
                        let (hex, bytes) = try early.finish(path: plan.input.display, expecting: facts.identity)
                        facts.sha256 = hex
                        facts.byteCount = bytes
                    }
                }
                reportCellNotes(facts.cellNotes, plan: plan)
                if let i = inputSummaries.firstIndex(where: { $0.path == plan.input.display }) {
                    inputSummaries[i].sha256 = facts.sha256
                    inputSummaries[i].bytes = facts.byteCount
                    inputSummaries[i].invalidSequences = facts.invalidSequences
                }
            } catch {
                unreadable = true
                record(LedgerEntry(table: schema.name, file: plan.input.display, line: error.line, readError: error))
            }
        }
        return outputs
    }

    /// The first input named that is a text file of the size the pre-pass parses in two parts (a
    /// UTF-8 one is; another is parsed in one): its digest begun at once, on a thread that yields
    /// to the run's others. While the rules load, one core is mostly idle, and the digest takes
    /// it then rather than a share of the busy passes.
    public static func beginEarlyDigest(_ options: ValidationOptions) -> FileDigest? {
        guard options.threads > 1 else { return nil }
        for path in options.inputs where textExtensions.contains((path as NSString).pathExtension.lowercased()) {
            guard let fd = try? RegularFile.openForReading(path) else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, Int(st.st_size) >= options.splitParseMinimumBytes else { continue }
            return FileDigest(fd: fd, yielding: true)
        }
        return nil
    }

    /// Whether the digest begun early is of the file at `path`, as it is now.
    func earlyDigestIsOf(_ path: String) -> Bool {
        guard let identity = earlyDigest?.identity else { return false }
        return identity == FileIdentity(path: path)
    }

    /// The digest begun early, when it is of the file `identity` names (the same file, unchanged).
    func takeEarlyDigest(of identity: FileIdentity?) -> FileDigest? {
        guard let digest = earlyDigest, let identity, digest.identity == identity else { return nil }
        earlyDigest = nil
        return digest
    }

    /// The SHA-256 and size of a file the pre-pass parsed in two parts, read on a thread of its
    /// own during the main pass (its `finish` says whether it was the file parsed).
    private static func digest(of plan: FilePlan) throws(ReadError) -> FileDigest {
        let fd = try RegularFile.openForReading(plan.reader.facts.path)
        defer { close(fd) }
        guard let digest = FileDigest(fd: fd) else { throw .unreadForDigest(path: plan.input.display) }
        return digest
    }

    /// The rule packs evaluated once every row is in (evaluations.csv), a yearly table without the
    /// reporting year named, the waivers' own findings; then the outputs closed, with the rows a
    /// quarantining rule failed moved from clean to rejected. Returns the packs' verdict counts.
    private func evaluatePacks(ruleSet: RuleSet, evaluator: PackEvaluator, tablesInRun: Set<String>, outputs: [String: TableOutput],
                               plans: [FilePlan], out: OutputDirectory) throws(RunError) -> [String: [String: Int]] {
        let evaluationWriter: EvaluationWriter
        do { evaluationWriter = try EvaluationWriter(path: out.path("evaluations.csv")) } catch { throw .output(error) }
        evaluator.evaluate(sink: self, tablesInRun: tablesInRun) { evaluationWriter.write($0) }
        // A yearly table with rows, none of them of the reporting year: the rules judged on that
        // year's row (G8 and the rest) have nothing to judge, which the run must say.
        let reportYear = ruleSet.reportYear
        for table in ruleSet.tables where evaluator.observedTables.contains(table.name) && table.columnIndex("year") != nil {
            let years = Set(evaluator.entityRows(table.name).compactMap { $0["year"]?.number }.filter(\.isFinite).map { Int($0) })
            guard !years.isEmpty, !years.contains(reportYear) else { continue }
            let list = years.sorted().map(String.init)
            let file = outputs[table.name]?.counts.files.first ?? ""
            record(LedgerEntry(table: table.name, file: file, line: 0, rule: RuleID.table(table.name, "year_not_covered"), severity: .error,
                               message: .yearNotCovered(table: TableSubject(table), year: reportYear, years: list),
                               column: "year", raw: list.joined(separator: ", "), expected: String(reportYear)))
        }
        if let book = waiverBook { for entry in book.report() { record(entry) } }
        finishFindings()
        do {
            for name in outputs.keys.sorted() { try outputs[name]!.close() }
            // Rows that a quarantining rule failed move from clean to rejected.
            for (name, groups) in evaluator.quarantines.sorted(by: { $0.key < $1.key }) {
                guard let output = outputs[name] else { continue }
                let moved = try Quarantine.apply(table: output.schema, groups: groups, cleanPath: out.path("clean/\(name).csv"))
                let readers = plans.filter { $0.header.schema.name == name }.map { (display: $0.input.display, reader: $0.reader, header: $0.header) }
                try Quarantine.writeAsRead(moved, readers: readers, rejectedPath: out.path("rejected/\(name).csv"))
                output.counts.rowsClean -= moved.count
                output.counts.rowsRejected += moved.count
            }
            try evaluationWriter.close()
            try ledger?.close()
        } catch { throw .output(error) }
        ledger = nil
        return evaluationWriter.tally
    }

    /// What the run reads: inputs, rules, the previous period, waivers. The output never replaces
    /// any of them or a directory holding one.
    var protectedPaths: [String] {
        options.inputs + [options.rulesDirectory] + [options.previous, options.waivers].compactMap { $0 }
    }

    /// `20240930T220000Z-3f2a`: the time in UTC to the second, and a random number. Formatted
    /// by hand: a DateFormatter loads the time zone data and ICU's formats, a millisecond or two.
    public static func makeRunID(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var t = tm()
        gmtime_r(&seconds, &t)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : String(n) }
        let year = String(t.tm_year + 1900)
        let day = String(repeating: "0", count: max(0, 4 - year.count)) + year + two(t.tm_mon + 1) + two(t.tm_mday)
        return day + "T" + two(t.tm_hour) + two(t.tm_min) + two(t.tm_sec) + "Z-" + String(UInt32.random(in: 0...0xFFFF), radix: 16)
    }
}

extension ValidationRun {
    /// What a worksheet's cells hold beyond their values, as findings: a formula without a stored
    /// result (the cell read as empty), a value merged down and filled into each row.
    func reportCellNotes(_ notes: [CellNote], plan: FilePlan) {
        let schema = plan.header.schema
        func columnName(_ field: Int) -> String {
            if let c = plan.header.fieldForColumn.firstIndex(where: { $0 == field }) { return schema.columns[c].name }
            return "#" + Spreadsheet.columnLetter(field)
        }
        for note in notes {
            switch note {
            case let .formulaWithoutValue(row, column, formula):
                let letter = Spreadsheet.columnLetter(column)
                record(LedgerEntry(table: schema.name, file: plan.input.display, line: row, rule: "read.formula_without_value", severity: .warning,
                                   message: .formulaWithoutValue(line: row, letter: letter, reference: letter + String(row), formula: formula),
                                   column: columnName(column), raw: formula, expected: "公式的计算结果 (the formula's result)"))
            case let .moreFormulasWithoutValue(count, lastRow):
                record(LedgerEntry(table: schema.name, file: plan.input.display, line: lastRow, rule: "read.formula_without_value", severity: .warning,
                                   message: .moreFormulasWithoutValue(count: count, lastLine: lastRow)))
            case let .mergedDown(range, top, column, value):
                record(LedgerEntry(table: schema.name, file: plan.input.display, line: top, rule: "read.merged_cells", severity: .warning,
                                   message: .mergedCells(range: range, value: value), column: columnName(column), raw: value, normalised: value))
            }
        }
    }
}

/// When each phase of a run ended, for summary.json's timings.
private struct PhaseClock {
    let started: Date
    var rulesLoaded = Date(), keysFound = Date(), mainPassDone = Date(), finished = Date()

    init(started: Date) { self.started = started }

    var timings: Timings {
        Timings(loadRulesSeconds: rulesLoaded.timeIntervalSince(started), uniqueKeysSeconds: keysFound.timeIntervalSince(rulesLoaded),
                mainPassSeconds: mainPassDone.timeIntervalSince(keysFound), rulePacksSeconds: finished.timeIntervalSince(mainPassDone),
                totalSeconds: finished.timeIntervalSince(started))
    }
}
