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

    public var description: String {
        switch self {
        case .rules(let e): return e.description
        case .arguments(let s): return s
        case .output(let e): return e.description
        case .outputRefused(let r): return r.description
        }
    }

    public var status: RunStatus {
        switch self {
        case .rules, .arguments, .outputRefused: return .badRulesOrArguments
        case .output: return .outputFailed
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
    private let options: ValidationOptions
    private let onFinding: (LedgerEntry) -> Void
    private var ledger: LedgerWriter?
    private var findingCounts: [String: [String: Int]] = [:]
    private var errorCount = 0
    private var warningCount = 0
    private var waivedCount = 0
    private var waiverBook: WaiverBook?

    /// `onFinding` sees every ledger entry as it is written (for console output).
    /// Told the staging directory as soon as it exists, so that a caller stopped by a
    /// signal can remove it at once (a later run would remove it too).
    public var onStaging: (String) -> Void = { _ in }
    /// Told, once, what the run chose to leave aside (in Chinese and English), such as its own
    /// output directories found among the inputs.
    public var onNotice: (_ zh: String, _ en: String) -> Void = { _, _ in }

    public init(options: ValidationOptions, onFinding: @escaping (LedgerEntry) -> Void = { _ in }) {
        self.options = options
        self.onFinding = onFinding
    }

    public func record(_ entry: LedgerEntry) {
        var entry = entry
        // No ID number reaches the ledger or the console whole, whatever field it is in.
        if IDNumber.mayHoldIDNumber(entry.recordKey) { entry.recordKey = IDNumber.scrub(entry.recordKey) }
        if IDNumber.mayHoldIDNumber(entry.rawValue) { entry.rawValue = IDNumber.scrub(entry.rawValue) }
        if IDNumber.mayHoldIDNumber(entry.normalisedValue) { entry.normalisedValue = IDNumber.scrub(entry.normalisedValue) }
        if IDNumber.mayHoldIDNumber(entry.messageZh) { entry.messageZh = IDNumber.scrub(entry.messageZh) }
        if IDNumber.mayHoldIDNumber(entry.messageEn) { entry.messageEn = IDNumber.scrub(entry.messageEn) }
        if IDNumber.mayHoldIDNumber(entry.expected) { entry.expected = IDNumber.scrub(entry.expected) }
        if let w = waiverBook?.match(entry) {
            entry.note = "豁免 (waived) 至 \(w.expires)：\(w.reason)" + (w.rectification.map { "；整改：\($0)" } ?? "")
            waivedCount += 1
            findingCounts[entry.ruleID, default: [:]]["waived", default: 0] += 1
            ledger?.append(entry)
            return
        }
        ledger?.append(entry)
        findingCounts[entry.ruleID, default: [:]][entry.severity.rawValue, default: 0] += 1
        if entry.severity == .error { errorCount += 1 } else { warningCount += 1 }
        onFinding(entry)
    }

    public func run() throws(RunError) -> RunResult {
        schoolstat_fix_allocator_threshold()
        let started = Date()
        // Refuse an output path that is not ours to replace before any work is done.
        do { _ = try OutputDirectory.vet(path: options.outputDirectory, kind: .validate, protecting: protectedPaths) } catch { throw .outputRefused(error) }
        var overrides: [String: String] = [:]
        if let asOf = options.asOf {
            guard DateText.parse(asOf) != nil else { throw .arguments("--as-of 的值“\(asOf)”不是日期；请写成 2024-09-30。 (--as-of must be a date)") }
            overrides["report_date"] = asOf
        }
        // The converter learns OpenCC's traditional characters (about a tenth of a second) on
        // another thread while the rules load, when there is one to spare.
        let pendingConverter = Pending(onAnotherThread: options.threads > 1) { ChineseConverter() }
        let loaded: LoadedRules
        do {
            loaded = try LoadedRules.load(directory: options.rulesDirectory, profile: options.profile, parameterOverrides: overrides)
        } catch {
            throw .rules(error)
        }
        let ruleSet = loaded.ruleSet, evaluator = loaded.evaluator
        if let table = options.table, ruleSet.table(named: table) == nil {
            throw .arguments("未知的表 `\(table)`；可用 (known tables): \(ruleSet.tables.map(\.name).joined(separator: ", "))")
        }
        let (inputs, skippedInputs, skippedOutputs) = try discoverInputs()
        if !skippedOutputs.isEmpty {
            onNotice("已跳过 \(skippedOutputs.count) 个 schoolstat 输出目录，不把它们当作输入：\(skippedOutputs.joined(separator: "、"))",
                     "Skipped \(skippedOutputs.count) schoolstat output director\(skippedOutputs.count == 1 ? "y" : "ies"), not read as input: \(skippedOutputs.joined(separator: ", "))")
        }
        if let previous = options.previous {
            guard FileManager.default.fileExists(atPath: previous + "/clean") else {
                throw .arguments("--previous 指定的目录 \(previous) 中没有 clean/ 子目录；请指定上一期的输出目录。 (no clean/ in the previous run's directory)")
            }
            do { try evaluator.loadPrevious(directory: previous) } catch { throw .arguments(error.description) }
        }
        let observed = evaluator.observedTables
        if let path = options.waivers {
            guard case .date(let asOf) = ruleSet.parameters["report_date"] ?? .missing else {
                throw .arguments("使用豁免文件需要统计基准日 report_date (waivers need report_date)")
            }
            do { waiverBook = try WaiverBook.load(path: path, asOf: asOf) } catch { throw .rules(error) }
        }
        let rulesLoaded = Date()

        let runID = options.runID ?? Self.makeRunID(started)
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
        let matcher = HeaderMatcher(ruleSet: ruleSet, converter: converter)
        var inputSummaries: [InputSummary] = []
        // Every input skipped is reported, and an error one makes the run exit 3.
        var unreadable = skippedInputs.contains { $0.severity == .error }
        for entry in skippedInputs { record(entry) }

        // 1. Open every file, settle encoding, dialect and table from its header.
        var plans: [FilePlan] = []
        for (index, input) in inputs.enumerated() {
            var summary = InputSummary(path: input.display, table: nil, encoding: "", encodingDetected: true, dialect: nil, sha256: "", bytes: 0)
            do {
                var reader = try TableFileReader(path: input.path, encoding: options.encoding, delimiter: options.delimiter)
                reader.readLimits = options.readLimits
                summary.encoding = reader.facts.format == "xlsx" ? "xlsx" : reader.facts.encoding.rawValue
                summary.encodingDetected = reader.facts.encodingDetected
                summary.dialect = reader.facts.format == "xlsx" ? nil : reader.facts.dialect
                if let plan = try locateHeader(reader: reader, input: input, index: Int32(index), matcher: matcher) {
                    summary.table = plan.header.schema.name
                    plans.append(plan)
                } else {
                    unreadable = true
                }
            } catch {
                unreadable = true
                summary.error = error.description
                record(LedgerEntry(table: "", sourceFile: input.display, line: 0, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                                   ruleID: error.ruleID, severity: .error, messageZh: error.description, messageEn: error.description, expected: ""))
            }
            inputSummaries.append(summary)
        }

        // 2. Repeated keys, found across all files of a table in bounded memory.
        var duplicates: [String: DuplicateFiles] = [:]
        // What the pre-pass learnt of each file it read to the end: its SHA-256 (the digest
        // thread works while the pre-pass leaves a core idle, rather than during the busier
        // main pass) and its parsed batches, kept on disk so that the main pass does not parse
        // the file again.
        var firstPasses: [Int32: FirstPass] = [:]
        let tempDir = out.path(".keys")
        try? FileManager.default.createDirectory(atPath: tempDir, withIntermediateDirectories: true)
        for table in ruleSet.tables where !table.unique.isEmpty {
            let tablePlans = plans.filter { $0.header.schema.name == table.name }
            guard !tablePlans.isEmpty else { continue }
            duplicates[table.name] = findDuplicates(table: table, plans: tablePlans, ruleSet: ruleSet, converter: converter,
                                                    tempDir: tempDir, firstPasses: &firstPasses)
        }

        let keysFound = Date()

        // 3. The main pass, file by file, into per-table outputs.
        var outputs: [String: TableOutput] = [:]
        let fileNames = inputs.map(\.display)
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
            for line in plan.titleRows {
                record(LedgerEntry(table: schema.name, sourceFile: plan.input.display, line: line, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                                   ruleID: "read.title_row", severity: .warning,
                                   messageZh: "第 \(line) 行在表头之前，不是表头也不是数据（如标题行），已跳过。",
                                   messageEn: "Line \(line) comes before the header and is neither header nor data (a title?); skipped.", expected: ""))
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
                    for part in first.spills { spills.append(try BatchSpill.Reader(path: part.path, source: plan.input.display, offset: part.offset)) }
                    try validator.run(spills: spills)
                    for part in first.spills { unlink(part.path) }
                    facts = first.facts
                } else {
                    var reader = plan.reader
                    reader.computesDigest = firstPasses[plan.index] == nil
                    try validator.run(reader: &reader, headerOrdinal: plan.headerOrdinal)
                    facts = reader.facts
                    if let first = firstPasses[plan.index] { facts.sha256 = first.facts.sha256 }
                }
                if let i = inputSummaries.firstIndex(where: { $0.path == plan.input.display }) {
                    inputSummaries[i].sha256 = facts.sha256
                    inputSummaries[i].bytes = facts.byteCount
                    inputSummaries[i].invalidSequences = facts.invalidSequences
                }
            } catch {
                unreadable = true
                record(LedgerEntry(table: schema.name, sourceFile: plan.input.display, line: error.line, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                                   ruleID: error.ruleID, severity: .error, messageZh: error.description, messageEn: error.description, expected: ""))
            }
        }

        try? FileManager.default.removeItem(atPath: tempDir)
        let mainPassDone = Date()

        // Rule packs: entities and groups, once every row is in.
        let evaluationWriter: EvaluationWriter
        do { evaluationWriter = try EvaluationWriter(path: out.path("evaluations.csv")) } catch { throw .output(error) }
        evaluator.evaluate(sink: self, tablesInRun: Set(plans.map(\.header.schema.name))) { evaluationWriter.write($0) }
        // A yearly table with rows, none of them of the reporting year: the rules judged on that
        // year's row (G8 and the rest) have nothing to judge, which the run must say.
        let reportYear = ruleSet.reportYear
        for table in ruleSet.tables where observed.contains(table.name) && table.columnIndex("year") != nil {
            let years = Set(evaluator.entityRows(table.name).compactMap { $0["year"]?.number }.filter(\.isFinite).map { Int($0) })
            guard !years.isEmpty, !years.contains(reportYear) else { continue }
            let list = years.sorted().map(String.init)
            let file = outputs[table.name]?.counts.files.first ?? ""
            record(LedgerEntry(table: table.name, sourceFile: file, line: 0, recordKey: "", column: "year", rawValue: list.joined(separator: ", "), normalisedValue: "",
                               ruleID: "\(table.name).year_not_covered", severity: .error,
                               messageZh: "\(table.name) 中没有 \(reportYear) 年（统计基准日所在年份）的行，只有 \(list.joined(separator: "、")) 年，按年份评估的规则没有可评估的数据。请补上 \(reportYear) 年的数据，或用 --as-of 指定要评估年份的统计基准日（如 --as-of \(list.last!)-09-30）。",
                               messageEn: "\(table.name) has no row for \(reportYear), the reporting year, only \(list.joined(separator: ", ")); the rules judged on that year's row have nothing to judge. Add the \(reportYear) row, or pass --as-of with a date in the year to evaluate.",
                               expected: String(reportYear)))
        }
        if let book = waiverBook { for entry in book.report() { record(entry) } }
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

        let finished = Date()
        var tables: [String: TableSummary] = [:]
        for (name, output) in outputs {
            let c = output.counts
            tables[name] = TableSummary(files: c.files, rowsRead: c.rowsRead, rowsClean: c.rowsClean, rowsRejected: c.rowsRejected,
                                        blankLines: c.blankLines, repeatedHeaders: c.repeatedHeaders, titleRows: c.titleRows)
        }
        let status: RunStatus = unreadable ? .unreadableInput : (errorCount > 0 ? .dataErrors : .clean)
        let ruleResults = evaluationWriter.tally
        var summary = RunSummary(
            runID: runID, status: status.rawValue, reportDate: ruleSet.parameters["report_date"]?.description ?? "",
            profile: ruleSet.profile, packs: evaluator.activePacks.map { PackSummary(name: $0.name, version: $0.version) },
            ruleResults: ruleResults,
            inputs: inputSummaries, tables: tables, findings: findingCounts,
            totals: FindingTotals(errors: errorCount, warnings: warningCount, waived: waivedCount),
            ruleFiles: ruleSet.files.map { RuleFileSummary(path: $0.path, sha256: $0.sha256) },
            timings: Timings(loadRulesSeconds: rulesLoaded.timeIntervalSince(started), uniqueKeysSeconds: keysFound.timeIntervalSince(rulesLoaded),
                             mainPassSeconds: mainPassDone.timeIntervalSince(keysFound), rulePacksSeconds: finished.timeIntervalSince(mainPassDone),
                             totalSeconds: finished.timeIntervalSince(started)))
        summary.rulesNotRun = evaluator.notRun
        summary.skippedOutputDirectories = skippedOutputs.isEmpty ? nil : skippedOutputs
        do { try summary.write(to: out.path("summary.json")) } catch { throw .output(error) }
        do { try out.commit() } catch { throw RunError(error) }
        return RunResult(status: status, summary: summary, outputDirectory: out.finalPath)
    }

    /// What the run reads: inputs, rules, the previous period, waivers. The output never replaces
    /// any of them or a directory holding one.
    private var protectedPaths: [String] {
        options.inputs + [options.rulesDirectory] + [options.previous, options.waivers].compactMap { $0 }
    }

    public static func makeRunID(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date) + "-" + String(UInt32.random(in: 0...0xFFFF), radix: 16)
    }

    // MARK: - Inputs

    public struct Input {
        public var path: String
        public var display: String
    }

    public struct FilePlan {
        public var input: Input
        public var index: Int32
        public var reader: TableFileReader
        public var header: HeaderMap
        public var headerLine: Int
        public var headerOrdinal: Int
        public var titleRows: [Int]
    }

    public static let dataExtensions: Set<String> = ["csv", "tsv", "txt", "xlsx"]

    /// Finds the files to read: named ones, and in named directories every regular `.csv`, `.tsv`,
    /// `.txt` and `.xlsx` file, searched recursively (through symbolic links, each directory once)
    /// in sorted order. Directories holding schoolstat's own outputs are not read. Whatever is
    /// skipped otherwise — a pipe or device, a directory that cannot be opened, a broken link, an
    /// `.xls` workbook — comes back as a finding, to be recorded once the ledger is open.
    private func discoverInputs() throws(RunError) -> (inputs: [Input], skipped: [LedgerEntry], outputs: [String]) {
        var found: [Input] = []
        var skipped: [LedgerEntry] = []
        var outputs: [String] = []
        func skip(_ path: String, _ rule: String, _ severity: Severity, _ zh: String, _ en: String, expected: String = "") {
            skipped.append(LedgerEntry(table: "", sourceFile: path, line: 0, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                                       ruleID: rule, severity: severity, messageZh: zh, messageEn: en, expected: expected))
        }
        func isCandidate(_ name: String) -> Bool { Self.dataExtensions.contains((name as NSString).pathExtension.lowercased()) }
        func notRegular(_ path: String, _ mode: mode_t) {
            let kind = switch mode & S_IFMT {
            case S_IFIFO: ("命名管道", "a named pipe")
            case S_IFSOCK: ("套接字", "a socket")
            case S_IFCHR, S_IFBLK: ("设备文件", "a device")
            default: ("特殊文件", "a special file")
            }
            skip(path, "read.not_regular_file", .error,
                 "\(path) 是\(kind.0)，不是普通文件，未读取。请把导出的数据保存为普通文件后再检查。",
                 "\(path) is \(kind.1), not a regular file; not read. Save the export as a regular file and check that.")
        }
        var visited: Set<[UInt64]> = []
        // Walks one directory; `relative` is its path under the argument, for sorting.
        func walk(_ directory: String, relative: String, into entries: inout [(String, Input)]) {
            guard let handle = opendir(directory) else {
                let reason = String(cString: strerror(errno))
                skip(directory, "read.unreadable_directory", .error,
                     "无法打开目录 \(directory)（\(reason)），其中的文件未读取。请检查目录的权限。",
                     "Cannot open the directory \(directory) (\(reason)); the files in it were not read. Check its permissions.")
                return
            }
            closedir(handle)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names {
                let full = directory + "/" + name
                let rel = relative.isEmpty ? name : relative + "/" + name
                var st = stat()
                guard lstat(full, &st) == 0 else { continue }
                let isLink = (st.st_mode & S_IFMT) == S_IFLNK
                if isLink && stat(full, &st) != 0 {
                    if isCandidate(name) {
                        skip(full, "read.broken_link", .error, "\(full) 是一个指向不存在文件的符号链接，未读取。", "\(full) is a symbolic link to nothing; not read.")
                    }
                    continue
                }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    if OutputMarker.kind(of: full) != nil { outputs.append(full); continue }
                    guard visited.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { continue } // a link back up the tree
                    walk(full, relative: rel, into: &entries)
                case S_IFREG:
                    if isCandidate(name) {
                        entries.append((rel, Input(path: full, display: full)))
                    } else if (name as NSString).pathExtension.lowercased() == "xls" {
                        skip(full, "read.unsupported_format", .warning,
                             "旧版 Excel 97-2003 工作簿（.xls）不能直接读取，已跳过。请在 Excel 中“另存为” .xlsx 或 CSV 后再检查。",
                             "Excel 97-2003 workbooks (.xls) are not read; skipped. Save the sheet as .xlsx or CSV and check that file.", expected: "xlsx / CSV")
                    }
                default:
                    if isCandidate(name) { notRegular(full, st.st_mode) }
                }
            }
        }
        for argument in options.inputs {
            var st = stat()
            guard stat(argument, &st) == 0 else {
                let reason = String(cString: strerror(errno))
                throw .arguments("找不到输入文件或目录：\(argument)（\(reason)）。请检查路径。 (input not found: \(argument): \(reason))")
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                let base = argument.hasSuffix("/") && argument.count > 1 ? String(argument.dropLast()) : argument
                if OutputMarker.kind(of: base) != nil { outputs.append(base); continue }
                visited.insert([UInt64(st.st_dev), UInt64(st.st_ino)])
                var entries: [(String, Input)] = []
                walk(base, relative: "", into: &entries)
                found += entries.sorted { $0.0 < $1.0 }.map(\.1)
            case S_IFREG:
                found.append(Input(path: argument, display: argument))
            default:
                notRegular(argument, st.st_mode)
            }
        }
        if found.isEmpty {
            let why = skipped.map(\.messageZh).joined(separator: "\n")
            throw .arguments("没有找到可检查的文件（.csv、.tsv、.txt、.xlsx）。 (no input files found)" + (why.isEmpty ? "" : "\n" + why))
        }
        return (found, skipped, outputs)
    }

    /// Reads the first records of a file to find its header row: the first of
    /// the first ten records that matches a table. Records before it are title rows.
    private func locateHeader(reader: TableFileReader, input: Input, index: Int32, matcher: HeaderMatcher) throws(ReadError) -> FilePlan? {
        var candidates: [RawRecord] = []
        try reader.readPrefix(records: 10) { candidates.append($0) }
        var best: [(String, Int)] = []
        var bestRecord: Int?
        for (n, record) in candidates.enumerated() {
            let headers = (0..<record.fieldCount).map { record.lossyString($0) }
            let (map, scores) = matcher.recognise(headers: headers, named: options.table)
            if let map {
                var reader = reader
                reader.minimumFields = record.fieldCount
                return FilePlan(input: input, index: index, reader: reader, header: map, headerLine: record.line,
                                headerOrdinal: record.ordinal, titleRows: candidates[..<n].map(\.line))
            }
            if best.isEmpty || (scores.map(\.1).max() ?? 0) > (best.map(\.1).max() ?? 0) {
                best = scores
                bestRecord = n
            }
        }
        // A table named on the command line: take the closest row as the header and report what is missing.
        if let named = options.table, let schema = matcher.ruleSet.table(named: named), let n = bestRecord {
            let record = candidates[n]
            let headers = (0..<record.fieldCount).map { record.lossyString($0) }
            var reader = reader
            reader.minimumFields = record.fieldCount
            return FilePlan(input: input, index: index, reader: reader, header: matcher.map(headers: headers, to: schema),
                            headerLine: record.line, headerOrdinal: record.ordinal, titleRows: candidates[..<n].map(\.line))
        }
        // An encoding given on the command line that the bytes do not fit: say so, not "unknown header".
        if let forced = options.encoding, reader.facts.format != "xlsx",
           candidates.contains(where: { r in (0..<r.fieldCount).contains { r.lossyString($0).contains("\u{FFFD}") } }),
           let detected = TableFileReader.detectedEncoding(path: input.path), detected != forced {
            record(LedgerEntry(table: "", sourceFile: input.display, line: candidates.first?.line ?? 1, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                               ruleID: "read.wrong_encoding", severity: .error,
                               messageZh: "按 --encoding \(forced.rawValue) 读取时，文件开头的字节不是有效的 \(forced.rawValue) 编码；它们看起来是 \(detected.rawValue)。请去掉 --encoding 让程序自动识别，或改为 --encoding \(detected.rawValue)。",
                               messageEn: "The bytes at the start are not valid \(forced.rawValue), the encoding given with --encoding; they look like \(detected.rawValue). Leave --encoding out or pass --encoding \(detected.rawValue).",
                               expected: detected.rawValue))
            return nil
        }
        let scoreText = best.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
        record(LedgerEntry(table: "", sourceFile: input.display, line: candidates.first?.line ?? 1, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                           ruleID: "read.unknown_table", severity: .error,
                           messageZh: candidates.isEmpty ? "文件是空的，没有表头也没有数据。" : "无法从表头识别这是哪张表（各表匹配到的列数：\(scoreText)）。请检查表头是否为标准列名，或用 --table 指定表名。",
                           messageEn: candidates.isEmpty ? "The file is empty." : "Cannot tell which table this is from its header (matched columns: \(scoreText)). Check the header or name the table with --table.",
                           expected: ""))
        return nil
    }

    /// One batch's unique keys: each record's ordinal and line, and per unique constraint
    /// of the table its fingerprint (nil when the record has no complete key), row by row.
    private struct BatchKeys {
        var positions: [(ordinal: Int32, line: Int32)] = []
        var keys: [(UInt64, UInt64)?] = []
    }

    /// A file the pre-pass read to the end: what reading established, and where its batches are kept.
    private struct FirstPass {
        var facts: FileFacts
        /// The spill files in file order, each with what is added to its line numbers and
        /// ordinals (two when the file was parsed in two parts at once); empty when writing
        /// one failed (the main pass then reads the file itself).
        var spills: [(path: String, offset: PartEnd)]
    }

    /// One part of a file in the pre-pass: worker threads fingerprint each batch's keys, which
    /// are added to `finders` in file order on a thread of their own (sorting and spilling
    /// runs takes time, and the reading thread is what this pass waits for).
    private final class KeyStage: @unchecked Sendable {
        let finders: [DuplicateFinder]
        private let fileIndex: Int32
        private let workers: OrderedWorkers<RecordBatch, BatchKeys>
        private let queue = DispatchQueue(label: "schoolstat.keys")
        private let waiting = DispatchSemaphore(value: 8)

        /// `readers` gives each worker the normaliser and field of each key column the file has (one
        /// set per worker, so that the threads do not contend on shared reference counts);
        /// `positions` lists each unique constraint's columns as indices into that set.
        init(finders: [DuplicateFinder], fileIndex: Int32, readers: [[(normaliser: CellNormaliser, field: Int)?]], positions: [[Int]]) {
            self.finders = finders
            self.fileIndex = fileIndex
            workers = OrderedWorkers(threads: readers.count, window: 4 * readers.count) { worker, batch in
                Self.keys(of: batch, readers: readers[worker], positions: positions)
            }
        }

        func submit(_ batch: RecordBatch) { workers.submit(batch, consume: add) }

        /// Waits until every submitted batch's keys are in the finders.
        func finish() {
            workers.finish(consume: add)
            queue.sync {}
        }

        private func add(_ batch: BatchKeys) {
            waiting.wait()
            queue.async { [self] in
                let constraints = finders.count
                for (row, position) in batch.positions.enumerated() {
                    for u in 0..<constraints {
                        if let key = batch.keys[row * constraints + u] {
                            finders[u].add(fingerprint: key, position: RowPosition(file: fileIndex, record: position.ordinal), line: Int(position.line))
                        }
                    }
                }
                waiting.signal()
            }
        }

        private static func keys(of batch: RecordBatch, readers: [(normaliser: CellNormaliser, field: Int)?], positions: [[Int]]) -> BatchKeys {
            let constraints = positions.count
            var out = BatchKeys()
            out.keys.reserveCapacity(batch.count * constraints)
            var values = [String?](repeating: nil, count: readers.count)
            batch.forEachItem { item in
                guard case .record(let r) = item, !r.isBlank else { return }
                out.positions.append((Int32(r.ordinal), Int32(truncatingIfNeeded: r.line)))
                // A one-column key written as it is canonically: fingerprinted straight from its bytes.
                var general = false
                for p in positions {
                    if p.count == 1, let reader = readers[p[0]], reader.field < r.fieldCount,
                       let key = r.withField(reader.field, { reader.normaliser.isAcceptedAsWritten($0) ? DuplicateFinder.fingerprint($0) : nil }) {
                        out.keys.append(key)
                    } else {
                        out.keys.append(nil)
                        general = true
                    }
                }
                guard general else { return }
                // Otherwise the general way: normalise the key cells, join multi-column keys.
                for (k, reader) in readers.enumerated() {
                    values[k] = nil
                    guard let reader, reader.field < r.fieldCount,
                          case .success(let v)? = r.withField(reader.field, reader.normaliser.normalise(field:)), !v.isMissing else { continue }
                    values[k] = v.description
                }
                let base = out.keys.count - constraints
                for (u, p) in positions.enumerated() where out.keys[base + u] == nil {
                    if p.count == 1 { out.keys[base + u] = values[p[0]].map(DuplicateFinder.fingerprint); continue }
                    guard !p.isEmpty, p.allSatisfy({ values[$0] != nil }) else { continue }
                    out.keys[base + u] = DuplicateFinder.fingerprint(p.map { values[$0]! }.joined(separator: "\u{1F}"))
                }
            }
            return out
        }
    }

    /// The second part of a large file, parsed on a thread of its own while the calling thread
    /// parses the first: its batches go to a spill file of their own and its keys to finders of
    /// their own, all numbered from the part's start until the first part's end is known.
    private final class SecondPart: @unchecked Sendable {
        let spill: BatchSpill.Writer?
        let stage: KeyStage
        private let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var stopRequested = false
        private var outcome: (kept: Bool, invalidSequences: Int)?

        init(reader: TableFileReader, from start: Int, spillPath: String, stage: KeyStage) {
            spill = BatchSpill.Writer(path: spillPath)
            self.stage = stage
            let thread = Thread { [self] in
                var reader = reader
                var read = true
                do {
                    try reader.readLastPart(of: TableValidator.batchSize, from: start, stopWhen: { self.lock.withLock { self.stopRequested } }) { batch in
                        self.spill?.write(batch)
                        self.stage.submit(batch)
                    }
                } catch {
                    read = false // the main pass reads the whole file again and reports what went wrong
                }
                stage.finish()
                let kept = spill?.finish() ?? false
                lock.withLock { outcome = read && !stopRequested ? (kept, reader.facts.invalidSequences) : nil }
                done.signal()
            }
            thread.stackSize = 8 << 20
            thread.name = "schoolstat-second-part"
            thread.start()
        }

        /// Waits for the part to be read; nil when it could not be read to the end.
        func wait() -> (kept: Bool, invalidSequences: Int)? {
            done.wait()
            return lock.withLock { outcome }
        }

        /// The first part's reader went on to the end of the file: stops this part and forgets it.
        func cancel() {
            lock.withLock { stopRequested = true }
            done.wait()
            stage.finders.forEach { $0.discard() }
            if let spill { unlink(spill.path) }
        }
    }

    /// The pre-pass: reads every file of a table and keeps the unique keys, and the batches
    /// for the main pass. Worker threads normalise the key cells of a batch; the keys are
    /// added in file order. A large UTF-8 file is parsed in two parts at once, one per thread
    /// (`--threads` above 1): libcsv is most of what this pass waits for.
    private func findDuplicates(table: TableSchema, plans: [FilePlan], ruleSet: RuleSet, converter: ChineseConverter, tempDir: String,
                                firstPasses: inout [Int32: FirstPass]) -> DuplicateFiles {
        let finders = table.unique.enumerated().map { DuplicateFinder(tempDirectory: tempDir, name: "\(table.name).\($0.offset)") }
        let keyColumns = table.unique.map { u in u.columns.compactMap { table.columnIndex($0) } }
        let threads = max(1, options.threads)
        for plan in plans {
            let columns = Array(Set(keyColumns.flatMap { $0 })).sorted()
            let positions = keyColumns.map { u in u.map { columns.firstIndex(of: $0)! } }
            func stage(_ finders: [DuplicateFinder]) -> KeyStage {
                let readers = (0..<threads).map { _ in
                    columns.map { i -> (normaliser: CellNormaliser, field: Int)? in
                        guard let field = plan.header.fieldForColumn[i] else { return nil }
                        return (CellNormaliser(column: table.columns[i], vocabulary: ruleSet.vocabulary, converter: converter,
                                               headerUnit: plan.header.unitForColumn[i]), field)
                    }
                }
                return KeyStage(finders: finders, fileIndex: plan.index, readers: readers, positions: positions)
            }
            let first = stage(finders)
            var reader = plan.reader
            let (headerLine, headerOrdinal) = (plan.headerLine, plan.headerOrdinal)
            let spillPath = "\(tempDir)/\(plan.index).batches"
            let spill = BatchSpill.Writer(path: spillPath)
            let split = threads > 1 ? reader.splitPoint(minimumBytes: options.splitParseMinimumBytes) : nil
            let second = split.map { start in
                SecondPart(reader: plan.reader, from: start, spillPath: "\(tempDir)/\(plan.index).part2.batches",
                           stage: stage(table.unique.indices.map {
                               // Half the usual run: this part's finders come on top of the file's own. Named after
                               // the file: their runs stay on disk, taken over by the table's finders, until the merge.
                               DuplicateFinder(tempDirectory: tempDir, name: "\(table.name).\($0).file\(plan.index).part2",
                                               runCapacity: DuplicateFinder.defaultRunCapacity / 2)
                           }))
            }
            let keep: (EntrySummary) -> Bool = { TableValidator.isAfterHeader($0, headerLine: headerLine, headerOrdinal: headerOrdinal) }
            let submit: (RecordBatch) -> Void = { batch in
                spill?.write(batch)
                first.submit(batch)
            }
            var end: PartEnd?
            var read = true
            do {
                if let split, let second {
                    end = try reader.readFirstPart(of: TableValidator.batchSize, until: split, from: headerOrdinal, keeping: keep, submit)
                    if end == nil { second.cancel() } // the first part's reader read the whole file
                } else {
                    try reader.readBatches(of: TableValidator.batchSize, keeping: keep, submit)
                }
            } catch {
                read = false // the main pass reads the file again and reports what went wrong
                if end == nil, let second { second.cancel() }
            }
            first.finish()
            let kept = spill?.finish() ?? false
            guard read else { continue }
            var pass = FirstPass(facts: reader.facts, spills: kept ? [(spillPath, .start)] : [])
            if let end, let second {
                let part = second.wait()
                for (u, finder) in finders.enumerated() { finder.absorb(second.stage.finders[u], offset: end) }
                if let part, part.kept, kept {
                    pass.spills.append((second.spill!.path, end))
                    pass.facts.invalidSequences += part.invalidSequences
                } else {
                    pass.spills = [] // not all of the file is kept: the main pass reads it itself
                }
            }
            firstPasses[plan.index] = pass
        }
        // Each constraint's runs are merged on its own thread: the merges share nothing, and the
        // pass would otherwise leave all but one core idle while they run.
        guard threads > 1, finders.count > 1 else { return finders.map { $0.duplicates(sortingIn: tempDir) } }
        let merged = MergedDuplicates(count: finders.count)
        DispatchQueue.concurrentPerform(iterations: finders.count) { i in merged.set(i, finders[i].duplicates(sortingIn: tempDir)) }
        return merged.all
    }

    /// What the constraints' merges found, each set once from its own thread.
    private final class MergedDuplicates: @unchecked Sendable {
        private let lock = NSLock()
        private var results: DuplicateFiles
        init(count: Int) { results = Array(repeating: [:], count: count) }
        func set(_ i: Int, _ found: [Int32: String]) { lock.withLock { results[i] = found } }
        var all: DuplicateFiles { lock.withLock { results } }
    }
}
