// Run: finding the inputs — files and directories named on the command line, what is skipped and
// why — and where each file's header is.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

extension ValidationRun {
    // MARK: - Inputs

    public struct Input {
        public var path: String
        /// The name the run gives it: the file as named, and for a sheet of a workbook of several
        /// the sheet too (`全县报表.xlsx [教师名册]`).
        public var display: String
        /// The sheet read, for a workbook of several sheets (nil: a text file, or a workbook of one).
        public var sheet: WorkbookSheet?
        /// The file as named, without the sheet.
        public var file: String

        public init(path: String, display: String, sheet: WorkbookSheet? = nil, file: String? = nil) {
            self.path = path; self.display = display; self.sheet = sheet; self.file = file ?? display
        }
    }

    public struct FilePlan {
        public var input: Input
        public var index: Int32
        public var reader: TableFileReader
        public var header: HeaderMap
        public var headerLine: Int
        public var headerOrdinal: Int
        public var titleRows: [Int]
        /// The text of each title row, its non-empty fields joined by spaces (「万盛经开区2024年……统计表」).
        public var titleTexts: [String] = []
        /// The line of the column-number row (栏次) right under the header, skipped; `headerOrdinal`
        /// is then that row's, so that reading starts after it.
        public var columnNumbersLine: Int?
    }

    /// The names of files of delimited text, and of every file a directory's search takes.
    public static let textExtensions: Set<String> = ["csv", "tsv", "txt"]
    public static let dataExtensions: Set<String> = textExtensions.union(["xlsx", "xls"])

    /// Finds the files to read: named ones, and in named directories every regular `.csv`, `.tsv`,
    /// `.txt` and `.xlsx` file, searched recursively (through symbolic links, each directory once)
    /// in sorted order. Directories holding schoolstat's own outputs are not read. Whatever is
    /// skipped otherwise — a pipe or device, a directory that cannot be opened, a broken link, an
    /// `.xls` workbook — comes back as a finding, to be recorded once the ledger is open.
    func discoverInputs() throws(RunError) -> (inputs: [Input], skipped: [LedgerEntry], outputs: [String]) {
        var found: [Input] = []
        var skipped: [LedgerEntry] = []
        var outputs: [String] = []
        func skip(_ path: String, _ rule: String, _ severity: Severity, _ message: FileMessage, expected: String = "") {
            skipped.append(LedgerEntry(table: "", file: path, line: 0, rule: rule, severity: severity, message: message, expected: expected))
        }
        func isCandidate(_ name: String) -> Bool { Self.dataExtensions.contains((name as NSString).pathExtension.lowercased()) }
        func notRegular(_ path: String, _ mode: mode_t) {
            let kind: SpecialFile = switch mode & S_IFMT {
            case S_IFIFO: .pipe
            case S_IFSOCK: .socket
            case S_IFCHR, S_IFBLK: .device
            default: .other
            }
            skip(path, "read.not_regular_file", .error, .notRegularFile(path: path, kind: kind))
        }
        var visited: Set<[UInt64]> = []
        // Walks one directory; `relative` is its path under the argument, for sorting.
        func walk(_ directory: String, relative: String, into entries: inout [(String, Input)]) {
            guard let handle = opendir(directory) else {
                let reason = String(cString: strerror(errno))
                skip(directory, "read.unreadable_directory", .error, .unreadableDirectory(path: directory, reason: reason))
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
                        skip(full, "read.broken_link", .error, .brokenLink(path: full))
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
        // Every worksheet of a workbook of several is an input of its own.
        var expanded: [Input] = []
        var chosenSheets: Set<String> = []
        for input in found {
            let lowered = input.path.lowercased()
            let listing: [WorkbookSheet]?
            if lowered.hasSuffix(".xlsx") { listing = try? XLSXReader.sheets(path: input.path, limits: options.readLimits) }
            else if lowered.hasSuffix(".xls") { listing = try? XLSReader.sheets(path: input.path) }
            else { listing = nil }
            guard let sheets = listing else {
                expanded.append(input)
                continue
            }
            let listed = sheets.filter { $0.name != Spreadsheet.problemListSheet }
            let worksheets = listed.filter { $0.kind == .worksheet }
            if worksheets.count <= 1 && options.sheets.isEmpty && listed.count == worksheets.count {
                expanded.append(input)
                continue
            }
            for sheet in listed {
                let hidden = sheet.visibility != .visible
                func skipSheet(_ why: SheetSkip) {
                    var entry = LedgerEntry(table: "", file: input.display, line: 0, rule: "read.sheet_skipped", severity: .warning,
                                            message: .sheetSkipped(sheet: sheet.name, why: why, hidden: hidden))
                    entry.sheet = sheet.name
                    skipped.append(entry)
                }
                if sheet.kind != .worksheet { skipSheet(sheet.kind == .chart ? .chart : .notAWorksheet); continue }
                if !options.sheets.isEmpty && !options.sheets.contains(sheet.name) { skipSheet(.notChosen); continue }
                chosenSheets.insert(sheet.name)
                expanded.append(Input(path: input.path, display: "\(input.display) [\(sheet.name)]", sheet: sheet, file: input.display))
            }
        }
        if let missing = options.sheets.first(where: { !chosenSheets.contains($0) }) {
            throw .arguments("--sheet 指定的工作表“\(missing)”不在任何输入的工作簿中；请核对工作表的名称（区分大小写）。 (no workbook among the inputs has a sheet named \(missing))")
        }
        found = expanded
        if found.isEmpty {
            let why = skipped.map(\.messageZh).joined(separator: "\n")
            throw .arguments("没有找到可检查的文件（.csv、.tsv、.txt、.xlsx、.xls）。 (no input files found)" + (why.isEmpty ? "" : "\n" + why))
        }
        return (found, skipped, outputs)
    }

    /// Reads the first records of a file to find its header row: the first of
    /// the first ten records that matches a table. Records before it are title rows.
    func locateHeader(reader: TableFileReader, input: Input, index: Int32, matcher: HeaderMatcher) throws(ReadError) -> FilePlan? {
        var candidates: [RawRecord] = []
        // One record past the ten that may be the header: the one under it may number the columns.
        try reader.readPrefix(records: 11) { candidates.append($0) }
        // A column-number row under the header at `n` is skipped as the header is.
        func plan(_ header: HeaderMap, _ n: Int, _ reader: TableFileReader) -> FilePlan {
            let record = candidates[n]
            var plan = FilePlan(input: input, index: index, reader: reader, header: header, headerLine: record.line,
                                headerOrdinal: record.ordinal, titleRows: candidates[..<n].map(\.line))
            plan.titleTexts = candidates[..<n].map { title in
                (0..<title.fieldCount).compactMap { title.string($0) }.map { TextCleaner.clean($0, folding: .all) }.filter { !$0.isEmpty }
                    .joined(separator: " ")
            }
            if n + 1 < candidates.count, Self.isColumnNumbersRow(candidates[n + 1]) {
                plan.columnNumbersLine = candidates[n + 1].line
                plan.headerOrdinal = candidates[n + 1].ordinal
            }
            return plan
        }
        var best: [(String, Int)] = []
        var bestRecord: Int?
        for (n, record) in candidates.prefix(10).enumerated() {
            let headers = (0..<record.fieldCount).map { record.lossyString($0) }
            let (map, scores) = matcher.recognise(headers: headers, named: options.table)
            if var map {
                var n = n, record = record
                // A two-row header (a group row, some cells merged down over both rows): the second
                // row, when it names more of the same table's columns, is the header.
                if n + 1 < min(candidates.count, 10) {
                    let next = candidates[n + 1]
                    let (nextMap, _) = matcher.recognise(headers: (0..<next.fieldCount).map { next.lossyString($0) }, named: options.table)
                    if let nextMap, nextMap.schema.name == map.schema.name, nextMap.matched > map.matched {
                        (n, record, map) = (n + 1, next, nextMap)
                    }
                }
                var reader = reader
                reader.minimumFields = record.fieldCount
                return plan(map, n, reader)
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
            return plan(matcher.map(headers: headers, to: schema), n, reader)
        }
        // An encoding given on the command line that the bytes do not fit: say so, not "unknown header".
        if let forced = options.encoding, reader.facts.format == "csv",
           candidates.contains(where: { r in (0..<r.fieldCount).contains { r.lossyString($0).contains("\u{FFFD}") } }),
           let detected = TableFileReader.detectedEncoding(path: input.path), detected != forced {
            record(LedgerEntry(table: "", file: input.display, line: candidates.first?.line ?? 1, rule: "read.wrong_encoding", severity: .error,
                               message: .wrongEncoding(given: forced.rawValue, detected: detected.rawValue), expected: detected.rawValue))
            return nil
        }
        let scoreText = best.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
        if input.sheet != nil {
            // A sheet of a workbook of several: named once the workbook's other sheets are known.
            unrecognisedSheets[input.display] = candidates.isEmpty ? .empty : .notATable(scores: scoreText)
            return nil
        }
        record(LedgerEntry(table: "", file: input.display, line: candidates.first?.line ?? 1, rule: "read.unknown_table", severity: .error,
                           message: candidates.isEmpty ? .emptyFile : .unknownTable(scores: scoreText)))
        return nil
    }

    /// Each input as a run with these options settles it — its table, encoding and header —
    /// without validating or writing anything: for reading a run's inputs again as it read them.
    /// An input whose header is no longer found has no plan.
    public func planInputs() throws(RunError) -> [FilePlan] {
        let loaded: LoadedRules
        do { loaded = try LoadedRules.load(directory: options.rulesDirectory, profile: options.profile) } catch { throw .rules(error) }
        if let table = options.table, loaded.ruleSet.table(named: table) == nil {
            throw .arguments("未知的表 `\(table)`；可用 (known tables): \(loaded.ruleSet.tables.map(\.name).joined(separator: ", "))")
        }
        let matcher = HeaderMatcher(ruleSet: loaded.ruleSet, converter: ChineseConverter())
        let (inputs, _, _) = try discoverInputs()
        var plans: [FilePlan] = []
        for (index, input) in inputs.enumerated() {
            guard var reader = try? TableFileReader(path: input.path, encoding: options.encoding, delimiter: options.delimiter, sheet: input.sheet?.name) else { continue }
            reader.readLimits = options.readLimits
            if let plan = try? locateHeader(reader: reader, input: input, index: Int32(index), matcher: matcher) { plans.append(plan) }
        }
        return plans
    }

    public static let heavenlyStems: [String] = ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬", "癸"]

    /// Whether a record is the column-number row (栏次) that statistical report forms put under
    /// their headers: its non-empty cells, in order, are an optional 栏次 / 栏号, then 甲、乙、丙 …
    /// from 甲, then 1, 2, 3 … from 1, each following the one before. Told conservatively: at least
    /// two numbers, and without 栏次 or 甲 at least three integers filling half the row.
    public static func isColumnNumbersRow(_ record: RawRecord) -> Bool {
        var cells: [String] = []
        for i in 0..<record.fieldCount {
            let text = TextCleaner.clean(record.lossyString(i), folding: .all)
            if !text.isEmpty { cells.append(text) }
        }
        guard cells.count >= 2, cells.count <= 2_000 else { return false }
        var labelled = false
        if cells[0] == "栏次" || cells[0] == "栏号" {
            labelled = true
            cells.removeFirst()
        }
        var stems = 0
        while stems < cells.count, stems < heavenlyStems.count, cells[stems] == heavenlyStems[stems] { stems += 1 }
        var expected = 1
        for cell in cells[stems...] {
            guard cell.utf8.count <= 5, cell.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), Int(cell) == expected else { return false }
            expected += 1
        }
        let numbers = stems + expected - 1
        guard numbers >= 2 else { return false }
        if labelled || stems > 0 { return true }
        return numbers >= 3 && numbers * 2 >= record.fieldCount
    }
}
