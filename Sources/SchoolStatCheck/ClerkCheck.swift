// Check: one school's files checked before submission. The files go through the same validation
// as a county run, in a private directory removed afterwards; what comes back is every problem
// placed where the clerk finds it in Excel (「第 17 行 D 列（D17）」), and on request the clerk's own
// workbook with each problem cell filled and commented.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

/// What a clerk's check is asked to do.
public struct CheckOptions: Sendable {
    /// The clerk's files (workbooks or text exports).
    public var files: [String]
    /// Names to show for `files` instead of their paths (the web page shows the uploaded name).
    public var displayNames: [String]?
    /// The county's schools table: the roster's schools are checked against it.
    public var schools: String?
    public var rulesDirectory: String
    public var profile: String?
    public var asOf: String?
    public var encoding: TextEncoding?
    public var readLimits = ReadLimits()
    public var threads = max(1, min(2, ProcessInfo.processInfo.activeProcessorCount))
    /// Where the run's private working directory is made (removed when the check returns).
    public var workDirectory: String = NSTemporaryDirectory()

    public init(files: [String], rulesDirectory: String) {
        self.files = files
        self.rulesDirectory = rulesDirectory
    }
}

/// One problem, placed as the clerk finds it.
public struct CheckProblem: Sendable, Codable, Equatable {
    public var file: String
    /// The row Excel shows (0: about the whole file).
    public var row: Int
    /// The column Excel shows, 0-based (nil: the whole row or file).
    public var columnIndex: Int?
    /// 「D」, empty when there is no column.
    public var columnLetter: String
    /// 「D17」, empty when there is no cell.
    public var cell: String
    /// 「第 17 行 D 列（D17）」, 「第 17 行」 or 「整个文件」.
    public var placeZh: String
    public var placeEn: String
    /// The column's key and its heading in the clerk's file.
    public var column: String
    public var heading: String
    /// The value as written (ID numbers masked).
    public var value: String
    public var severity: Severity
    public var rule: String
    public var messageZh: String
    public var messageEn: String
    /// The row's business key (`teacher_id=T500110004`), for matching a problem across versions of the file.
    public var recordKey: String

    enum CodingKeys: String, CodingKey {
        case file, row, columnIndex = "column_index", columnLetter = "column_letter", cell, placeZh = "place_zh", placeEn = "place_en"
        case column, heading, value, severity, rule, messageZh = "message_zh", messageEn = "message_en", recordKey = "record_key"
    }
}

/// What each of the clerk's files held.
public struct CheckedFile: Sendable, Codable {
    public var file: String
    /// The table recognised from the header (empty: not recognised).
    public var table: String
    public var tableTitleZh: String
    public var tableTitleEn: String
    public var encoding: String
    public var rowsRead: Int
    public var rowsClean: Int
    public var rowsRejected: Int

    enum CodingKeys: String, CodingKey {
        case file, table, tableTitleZh = "table_title_zh", tableTitleEn = "table_title_en", encoding
        case rowsRead = "rows_read", rowsClean = "rows_clean", rowsRejected = "rows_rejected"
    }
}

/// A row of a clerk's file with a problem, as written (ID numbers masked), for showing it.
public struct ProblemRow: Sendable, Codable {
    public var file: String
    public var row: Int
    public var cells: [String]
    /// 0-based columns with an error, and with a warning only.
    public var errorColumns: [Int]
    public var warningColumns: [Int]

    enum CodingKeys: String, CodingKey { case file, row, cells, errorColumns = "error_columns", warningColumns = "warning_columns" }
}

/// The outcome of a check.
public struct CheckReport: Sendable, Codable {
    /// As for `validate`: 0 no errors, 1 errors in the data, 3 a file could not be read.
    public var status: Int32
    public var files: [CheckedFile]
    public var problems: [CheckProblem]
    /// Each file's header row and the rows with problems (at most `ClerkCheck.shownRows` per file).
    public var headers: [String: [String]]
    public var rows: [ProblemRow]
    public var errors: Int { problems.filter { $0.severity == .error }.count }
    public var warnings: Int { problems.filter { $0.severity == .warning }.count }

    enum CodingKeys: String, CodingKey { case status, files, problems, headers, rows, errors, warnings }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(files, forKey: .files)
        try c.encode(problems, forKey: .problems)
        try c.encode(headers, forKey: .headers)
        try c.encode(rows, forKey: .rows)
        try c.encode(errors, forKey: .errors)
        try c.encode(warnings, forKey: .warnings)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(Int32.self, forKey: .status)
        files = try c.decode([CheckedFile].self, forKey: .files)
        problems = try c.decode([CheckProblem].self, forKey: .problems)
        headers = try c.decode([String: [String]].self, forKey: .headers)
        rows = try c.decode([ProblemRow].self, forKey: .rows)
    }

    init(status: Int32, files: [CheckedFile], problems: [CheckProblem], headers: [String: [String]], rows: [ProblemRow]) {
        self.status = status; self.files = files; self.problems = problems; self.headers = headers; self.rows = rows
    }
}

public enum CheckError: Error, Sendable, CustomStringConvertible {
    case run(RunError)
    case output(WriteError)
    /// The annotated workbook would replace a file schoolstat did not write.
    case refused(path: String)

    public var description: String {
        switch self {
        case .run(let e): return e.description
        case .output(let e): return e.description
        case .refused(let path):
            return "\(path) 已存在，且不是 schoolstat 写出的标注工作簿，不会覆盖它；请换一个文件名。 (\(path) exists and is not an annotated workbook schoolstat wrote; it is left alone — choose another name)"
        }
    }

    public var status: RunStatus {
        switch self {
        case .run(let e): return e.status
        case .output: return .outputFailed
        case .refused: return .badRulesOrArguments
        }
    }
}

public enum ClerkCheck {
    /// Rows with problems kept per file for showing on the page.
    public static let shownRows = 500
    /// The mark an annotated workbook carries in its properties.
    public static let workbookMark = "schoolstat check: annotated workbook"

    /// Checks the files; with `annotate`, writes the annotated workbook there (atomically: a
    /// temporary file beside it, renamed into place).
    public static func run(_ options: CheckOptions, annotate: String? = nil) throws(CheckError) -> CheckReport {
        if let annotate {
            guard !FileManager.default.fileExists(atPath: annotate) || XLSXWriter.isMarked(path: annotate, workbookMark) else {
                throw .refused(path: annotate)
            }
            let target = URL(fileURLWithPath: annotate).standardizedFileURL.path
            let inputs = (options.files + [options.schools].compactMap { $0 }).map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            guard !inputs.contains(target) else { throw .refused(path: annotate) }
        }
        let work = options.workDirectory + "/schoolstat-check-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .output(WriteError(path: work, reason: "\(error.localizedDescription)"))
        }
        defer { try? FileManager.default.removeItem(atPath: work) }

        var validation = ValidationOptions(inputs: options.files + [options.schools].compactMap { $0 }, rulesDirectory: options.rulesDirectory,
                                           outputDirectory: work + "/run")
        validation.profile = options.profile
        validation.asOf = options.asOf
        validation.encoding = options.encoding
        validation.readLimits = options.readLimits
        validation.threads = options.threads

        var entries: [LedgerEntry] = []
        var plans: [String: ValidationRun.FilePlan] = [:]
        let run = ValidationRun(options: validation) { entries.append($0) }
        run.onFilePlanned = { plans[$0.input.display] = $0 }
        let result: RunResult
        do { result = try run.run() } catch { throw .run(error) }

        let names = options.displayNames ?? options.files
        let display = Dictionary(zip(options.files, names), uniquingKeysWith: { a, _ in a })
        let clerkFiles = Set(options.files)
        // Rule ids of the packs start with the pack's name (`consistency.…`); the tables' own checks with the table's.
        let packs = Set(result.summary.packs.map(\.name))

        // Each clerk file read again: Excel's row for each line, the rows with problems, the school codes.
        var layouts: [String: FileLayout] = [:]
        for file in options.files {
            guard let plan = plans[file] else { continue }
            layouts[file] = FileLayout.read(plan: plan)
        }
        let schoolCodes = Set(layouts.values.flatMap(\.schoolCodes))

        var problems: [CheckProblem] = []
        for entry in entries {
            let inClerkFile = clerkFiles.contains(entry.sourceFile)
            if !inClerkFile {
                // The county's schools table: only what the rules found about this school's own rows.
                guard options.schools != nil, entry.sourceFile == options.schools, entry.ruleID.split(separator: ".").first.map({ packs.contains(String($0)) }) == true,
                      schoolCodes.contains(where: { entry.recordKey.contains("school_code=\($0)") }) else { continue }
            }
            problems.append(place(entry, clerk: inClerkFile, layout: layouts[entry.sourceFile], display: display, options: options))
        }
        problems.sort { a, b in
            let fa = names.firstIndex(of: a.file) ?? names.count, fb = names.firstIndex(of: b.file) ?? names.count
            if fa != fb { return fa < fb }
            if a.row != b.row { return a.row < b.row }
            return (a.columnIndex ?? -1) < (b.columnIndex ?? -1)
        }

        var files: [CheckedFile] = []
        for (file, name) in zip(options.files, names) {
            let summary = result.summary.inputs.first { $0.path == file }
            let table = summary?.table ?? ""
            let schema = plans[file]?.header.schema
            var read = layouts[file]?.dataRows ?? 0
            // The table's counts when this is its only file; otherwise the rows with an error.
            let rejected: Int
            if let t = result.summary.tables[table], t.files == [file] {
                read = t.rowsRead
                rejected = t.rowsRejected
            } else {
                rejected = Set(problems.filter { $0.file == name && $0.severity == .error && $0.row > 0 }.map(\.row)).count
            }
            files.append(CheckedFile(file: name, table: table, tableTitleZh: schema?.titleZh ?? "", tableTitleEn: schema?.titleEn ?? "",
                                     encoding: summary?.encoding ?? "", rowsRead: read, rowsClean: read - rejected, rowsRejected: rejected))
        }

        var headers: [String: [String]] = [:]
        var rows: [ProblemRow] = []
        for (file, name) in zip(options.files, names) {
            guard let layout = layouts[file] else { continue }
            headers[name] = layout.header.map { IDNumber.mayHoldIDNumber($0) ? IDNumber.scrub($0) : $0 }
            let marks = CellMarks(problems.filter { $0.file == name })
            for (row, cells) in layout.rows.sorted(by: { $0.key < $1.key }) where marks.rows.contains(row) {
                guard rows.filter({ $0.file == name }).count < shownRows else { break }
                rows.append(ProblemRow(file: name, row: row, cells: cells.map { IDNumber.mayHoldIDNumber($0) ? IDNumber.scrub($0) : $0 },
                                       errorColumns: marks.columns(row: row, severity: .error),
                                       warningColumns: marks.columns(row: row, severity: .warning)))
            }
        }

        let unreadable = result.status == .unreadableInput || options.files.contains { plans[$0] == nil }
        let status: Int32 = unreadable ? RunStatus.unreadableInput.rawValue
            : (problems.contains { $0.severity == .error } ? RunStatus.dataErrors.rawValue : RunStatus.clean.rawValue)
        let report = CheckReport(status: status, files: files, problems: problems, headers: headers, rows: rows)
        if let annotate {
            let partial = annotate + ".partial-" + UUID().uuidString.prefix(8)
            do {
                try AnnotatedWorkbook.write(report: report, layouts: options.files.compactMap { f in layouts[f].map { (display[f] ?? f, $0) } },
                                            to: partial, temporaryDirectory: work)
            } catch {
                unlink(partial)
                throw .output(error)
            }
            guard rename(partial, annotate) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(partial)
                throw .output(WriteError(path: annotate, reason: reason))
            }
        }
        return report
    }

    /// A ledger entry placed in the clerk's file.
    static func place(_ entry: LedgerEntry, clerk: Bool, layout: FileLayout?, display: [String: String], options: CheckOptions) -> CheckProblem {
        let file = display[entry.sourceFile] ?? (entry.sourceFile == options.schools ? URL(fileURLWithPath: entry.sourceFile).lastPathComponent : entry.sourceFile)
        var messageZh = entry.messageZh, messageEn = entry.messageEn
        if file != entry.sourceFile, !entry.sourceFile.isEmpty {
            // Read errors name the file they are about: the clerk's name for it, never a server path.
            messageZh = messageZh.replacingOccurrences(of: entry.sourceFile, with: file)
            messageEn = messageEn.replacingOccurrences(of: entry.sourceFile, with: file)
        }
        var problem = CheckProblem(file: file, row: 0, columnIndex: nil, columnLetter: "", cell: "", placeZh: "整个文件", placeEn: "whole file",
                                   column: entry.column, heading: "", value: entry.rawValue, severity: entry.severity, rule: entry.ruleID,
                                   messageZh: messageZh, messageEn: messageEn, recordKey: entry.recordKey)
        guard clerk, let layout else {
            if !clerk, !entry.sourceFile.isEmpty {
                problem.placeZh = "本校在学校表中的记录"
                problem.placeEn = "this school's record in the schools table"
            }
            return problem
        }
        var line = entry.line
        if line == 0, let (field, value) = layout.keyField(entry.recordKey) {
            // A finding about a group of rows (all the rows with one school code): its first row.
            line = layout.firstLine(field: field, value: value) ?? 0
        }
        guard line > 0 else { return problem }
        // Messages name physical lines; the clerk looks for Excel's rows.
        problem.messageZh = layout.rowsForLines(problem.messageZh, pattern: zhLine, template: "第 %d 行")
        problem.messageEn = layout.rowsForLines(problem.messageEn, pattern: enLine, template: "row %d")
        let row = layout.excelRow[line] ?? line
        problem.row = row
        problem.placeZh = "第 \(row) 行"
        problem.placeEn = "row \(row)"
        if let column = layout.field(for: entry) {
            let place = Spreadsheet.cellPlace(row: row, column: column)
            problem.columnIndex = column
            problem.columnLetter = Spreadsheet.columnLetter(column)
            problem.cell = place.reference
            problem.placeZh = place.zh
            problem.placeEn = place.en
            if column < layout.header.count { problem.heading = layout.header[column] }
        }
        return problem
    }
}

nonisolated(unsafe) let zhLine = try! NSRegularExpression(pattern: "第 ([0-9]+) 行")
nonisolated(unsafe) let enLine = try! NSRegularExpression(pattern: "\\b[Ll]ine ([0-9]+)")

extension FileLayout {
    /// `text` with each line number the `pattern` captures written as Excel's row.
    func rowsForLines(_ text: String, pattern: NSRegularExpression, template: String) -> String {
        let ns = text as NSString
        var out = ""
        var last = 0
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            guard let line = Int(ns.substring(with: match.range(at: 1))), let row = excelRow[line] else { continue }
            var place = String(format: template, row)
            if match.range.location == 0, let first = place.first { place = first.uppercased() + place.dropFirst() }
            out += ns.substring(with: NSRange(location: last, length: match.range.location - last)) + place
            last = match.range.location + match.range.length
        }
        return out + ns.substring(from: last)
    }
}

/// Where problems fall, by row and column.
struct CellMarks {
    var rows: Set<Int> = []
    var cells: [Int: [Int: Severity]] = [:]

    init(_ problems: [CheckProblem]) {
        for p in problems where p.row > 0 {
            rows.insert(p.row)
            let c = p.columnIndex ?? 0
            if cells[p.row]?[c] != .error { cells[p.row, default: [:]][c] = p.severity }
        }
    }

    func columns(row: Int, severity: Severity) -> [Int] {
        (cells[row] ?? [:]).filter { $0.value == severity }.map(\.key).sorted()
    }
}
