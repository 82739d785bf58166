// Check: one school's files checked before submission. The files go through the same validation
// as a county run, in a private directory removed afterwards; what comes back is every problem
// placed where the clerk finds it in Excel (「第 17 行 D 列（D17）」), and on request the clerk's own
// workbook with each problem cell filled and commented.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

/// What a check may take on, each with a flag to raise it. The defaults suit one school's files:
/// a school's roster has hundreds of rows, not hundreds of thousands.
public struct CheckLimits: Sendable, Equatable {
    /// Data rows in one file; a larger file is not checked (0: no limit). `--max-rows`.
    public var rows = 100_000
    /// Problems listed in detail; the rest are counted, and all are in the annotated workbook
    /// (0: no limit). `--max-problems`.
    public var problemsShown = 1_000
    /// Rows shown with their problems, per file.
    public var rowsShown = 500
    /// Characters of a cell, and cells of a row, shown with a problem.
    public var cellCharacters = 300
    public var cellsShown = 200
    /// Cells given a comment in each sheet of the annotated workbook; past these a problem cell is
    /// still coloured, and the problem list still has every message.
    public var comments = 10_000

    public init() {}
}

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
    public var limits = CheckLimits()
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
    /// The worksheet, for a workbook of several (empty otherwise).
    public var sheet: String = ""
    /// The row Excel shows (0: about the whole file).
    public var row: Int
    /// The last row of a range of rows with the same problem (0: the problem is about `row` alone).
    public var lastRow: Int = 0
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

    /// The rows the problem is on.
    public var rows: Int { row > 0 && lastRow > row ? lastRow - row + 1 : 1 }

    enum CodingKeys: String, CodingKey {
        case file, sheet, row, lastRow = "last_row", columnIndex = "column_index", columnLetter = "column_letter", cell, placeZh = "place_zh", placeEn = "place_en"
        case column, heading, value, severity, rule, messageZh = "message_zh", messageEn = "message_en", recordKey = "record_key"
    }

    public init(file: String, row: Int, lastRow: Int = 0, columnIndex: Int?, columnLetter: String, cell: String, placeZh: String, placeEn: String,
                column: String, heading: String, value: String, severity: Severity, rule: String, messageZh: String, messageEn: String, recordKey: String) {
        self.file = file; self.row = row; self.lastRow = lastRow; self.columnIndex = columnIndex; self.columnLetter = columnLetter; self.cell = cell
        self.placeZh = placeZh; self.placeEn = placeEn; self.column = column; self.heading = heading; self.value = value; self.severity = severity
        self.rule = rule; self.messageZh = messageZh; self.messageEn = messageEn; self.recordKey = recordKey
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        file = try c.decode(String.self, forKey: .file)
        sheet = try c.decodeIfPresent(String.self, forKey: .sheet) ?? ""
        row = try c.decode(Int.self, forKey: .row)
        lastRow = try c.decodeIfPresent(Int.self, forKey: .lastRow) ?? 0
        columnIndex = try c.decodeIfPresent(Int.self, forKey: .columnIndex)
        columnLetter = try c.decode(String.self, forKey: .columnLetter)
        cell = try c.decode(String.self, forKey: .cell)
        placeZh = try c.decode(String.self, forKey: .placeZh)
        placeEn = try c.decode(String.self, forKey: .placeEn)
        column = try c.decode(String.self, forKey: .column)
        heading = try c.decode(String.self, forKey: .heading)
        value = try c.decode(String.self, forKey: .value)
        severity = try c.decode(Severity.self, forKey: .severity)
        rule = try c.decode(String.self, forKey: .rule)
        messageZh = try c.decode(String.self, forKey: .messageZh)
        messageEn = try c.decode(String.self, forKey: .messageEn)
        recordKey = try c.decode(String.self, forKey: .recordKey)
    }
}

/// What each of the clerk's files held.
public struct CheckedFile: Sendable, Codable {
    public var file: String
    /// The worksheet, for a workbook of several (empty otherwise).
    public var sheet: String = ""
    /// The table recognised from the header (empty: not recognised).
    public var table: String
    public var tableTitleZh: String
    public var tableTitleEn: String
    public var encoding: String
    public var rowsRead: Int
    public var rowsClean: Int
    public var rowsRejected: Int

    enum CodingKeys: String, CodingKey {
        case file, sheet, table, tableTitleZh = "table_title_zh", tableTitleEn = "table_title_en", encoding
        case rowsRead = "rows_read", rowsClean = "rows_clean", rowsRejected = "rows_rejected"
    }
}

/// A row of a clerk's file with a problem, as written (ID numbers masked), for showing it.
public struct ProblemRow: Sendable, Codable {
    /// The file, with the sheet of a workbook of several (`名册.xlsx [教师名册]`).
    public var file: String
    public var sheet: String = ""
    public var row: Int
    public var cells: [String]
    /// 0-based columns with an error, and with a warning only.
    public var errorColumns: [Int]
    public var warningColumns: [Int]

    enum CodingKeys: String, CodingKey { case file, sheet, row, cells, errorColumns = "error_columns", warningColumns = "warning_columns" }
}

/// The outcome of a check.
public struct CheckReport: Sendable, Codable {
    /// As for `validate`: 0 no errors, 1 errors in the data, 3 a file could not be read (or was
    /// larger than the check takes).
    public var status: Int32
    public var files: [CheckedFile]
    /// The problems listed in detail: the first `CheckLimits.problemsShown` by file, row and column.
    public var problems: [CheckProblem]
    /// Each file's header row and the rows with problems (at most `CheckLimits.rowsShown` per file).
    public var headers: [String: [String]]
    public var rows: [ProblemRow]
    /// Every problem found, by the rows it is on, listed or not.
    public var errors: Int
    public var warnings: Int
    /// Problems found but not listed in `problems` (all of them are in the annotated workbook).
    public var problemsNotShown: Int
    /// What the check left out and why, for the clerk.
    public var notesZh: [String]
    public var notesEn: [String]

    enum CodingKeys: String, CodingKey {
        case status, files, problems, headers, rows, errors, warnings, problemsNotShown = "problems_not_shown", notesZh = "notes_zh", notesEn = "notes_en"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(Int32.self, forKey: .status)
        files = try c.decode([CheckedFile].self, forKey: .files)
        problems = try c.decode([CheckProblem].self, forKey: .problems)
        headers = try c.decode([String: [String]].self, forKey: .headers)
        rows = try c.decode([ProblemRow].self, forKey: .rows)
        errors = try c.decodeIfPresent(Int.self, forKey: .errors) ?? problems.filter { $0.severity == .error }.count
        warnings = try c.decodeIfPresent(Int.self, forKey: .warnings) ?? problems.filter { $0.severity == .warning }.count
        problemsNotShown = try c.decodeIfPresent(Int.self, forKey: .problemsNotShown) ?? 0
        notesZh = try c.decodeIfPresent([String].self, forKey: .notesZh) ?? []
        notesEn = try c.decodeIfPresent([String].self, forKey: .notesEn) ?? []
    }

    init(status: Int32, files: [CheckedFile], problems: [CheckProblem], headers: [String: [String]], rows: [ProblemRow],
         errors: Int, warnings: Int, problemsNotShown: Int, notesZh: [String], notesEn: [String]) {
        self.status = status; self.files = files; self.problems = problems; self.headers = headers; self.rows = rows
        self.errors = errors; self.warnings = warnings; self.problemsNotShown = problemsNotShown; self.notesZh = notesZh; self.notesEn = notesEn
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
    /// The mark an annotated workbook carries in its properties.
    public static let workbookMark = "schoolstat check: annotated workbook"

    /// A finding's place, kept for every finding while the full text stays on disk.
    struct Placed {
        var offset: UInt64
        /// The file's position among the clerk's files (the schools table after them).
        var order: Int32
        var row: Int32
        var lastRow: Int32
        /// -1: no column.
        var column: Int32
        var isError: Bool
    }

    /// Checks the files; with `annotate`, writes the annotated workbook there (atomically: a
    /// temporary file beside it, renamed into place). Memory does not grow with the rows or the
    /// findings: findings are kept in a file of the check's private directory, and the clerk's
    /// files are read again rather than held.
    public static func run(_ options: CheckOptions, annotate: String? = nil) throws(CheckError) -> CheckReport {
        if let annotate { try vetAnnotationTarget(annotate, options: options) }
        let work = options.workDirectory + "/schoolstat-check-" + UniqueName.make()
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .output(WriteError(path: work, reason: "\(error.localizedDescription)"))
        }
        defer { try? FileManager.default.removeItem(atPath: work) }
        let limits = options.limits
        let names = options.displayNames ?? options.files
        let display = Dictionary(zip(options.files, names), uniquingKeysWith: { a, _ in a })

        // 1. The limits, before the work: a file with more rows than a school's is not checked.
        let tooLarge = limits.rows == 0 ? [] : Set(options.files.filter { file in
            (countRecords(file, encoding: options.encoding, readLimits: options.readLimits, stopAfter: limits.rows + 1) ?? 0) > limits.rows + 1
        })
        let refusals = tooLargeProblems(tooLarge, limit: limits.rows, display: display)
        let accepted = options.files.filter { !tooLarge.contains($0) }

        // 2. The same validation as a county run, its findings spilled to disk as they come.
        let spill: ProblemSpill
        do { spill = try ProblemSpill(path: work + "/findings") } catch { throw .output(error) }
        let (result, plans, keys) = try validate(accepted, options: options, spill: spill, work: work)

        // 3. Each clerk file read again: Excel's row for each line, the school codes, the first row of each key named.
        var check = Placing(options: options, display: display, accepted: accepted, plans: plans,
                            packs: Set(result?.summary.packs.map(\.name) ?? []))
        check.readLayouts(keys: keys)

        // 4. Every finding placed, in a few bytes each; counted by the rows it is on.
        check.placeAll(spill)

        // 5. The problems listed in detail, after the files refused.
        var (problems, notesZh, notesEn) = check.listed(spill, limit: limits.problemsShown)
        problems.insert(contentsOf: refusals, at: 0)
        check.errors += refusals.count
        notesZh += refusals.map(\.messageZh)
        notesEn += refusals.map(\.messageEn)

        // 6. What each file held; 7. each input's header and the rows of the problems listed.
        let files = check.checkedFiles(names: names, summary: result?.summary)
        let (headers, rows) = check.shownRows(problems)

        let unreadable = !tooLarge.isEmpty || result?.status == .unreadableInput || accepted.contains { f in !plans.values.contains { $0.input.file == f } }
        let status: Int32 = unreadable ? RunStatus.unreadableInput.rawValue : (check.errors > 0 ? RunStatus.dataErrors.rawValue : RunStatus.clean.rawValue)
        let report = CheckReport(status: status, files: files, problems: problems, headers: headers, rows: rows,
                                 errors: check.errors, warnings: check.warnings, problemsNotShown: check.placed.count - (problems.count - refusals.count),
                                 notesZh: notesZh, notesEn: notesEn)
        if let annotate { try check.writeAnnotated(to: annotate, spill: spill, refusals: refusals, work: work) }
        return report
    }

    /// The clerk's accepted files (and the county's schools table) validated as a county run
    /// validates them, every finding spilled: the run's result, each input's plan by its
    /// display name, and the record keys of findings about a whole record.
    private static func validate(_ accepted: [String], options: CheckOptions, spill: ProblemSpill,
                                 work: String) throws(CheckError) -> (RunResult?, [String: ValidationRun.FilePlan], Set<String>) {
        var spillError: WriteError?
        var keys: Set<String> = []
        var plans: [String: ValidationRun.FilePlan] = [:]
        var result: RunResult?
        if !accepted.isEmpty {
            var validation = ValidationOptions(inputs: accepted + [options.schools].compactMap { $0 }, rulesDirectory: options.rulesDirectory,
                                               outputDirectory: work + "/run")
            validation.profile = options.profile
            validation.asOf = options.asOf
            validation.encoding = options.encoding
            validation.readLimits = options.readLimits
            validation.threads = options.threads
            let run = ValidationRun(options: validation) { entry in
                guard spillError == nil else { return }
                do throws(WriteError) { try spill.append(entry) } catch { spillError = error }
                if entry.line == 0, !entry.recordKey.isEmpty, keys.count < 100_000 { keys.insert(entry.recordKey) }
            }
            run.onFilePlanned = { plans[$0.input.display] = $0 }
            do throws(RunError) { result = try run.run() } catch { throw .run(error) }
        }
        if let spillError { throw .output(spillError) }
        do { try spill.flush() } catch { throw .output(error) }
        return (result, plans, keys)
    }

    /// The findings of one check placed on the clerk's files as Excel shows them.
    private struct Placing {
        let options: CheckOptions
        let display: [String: String]
        let accepted: [String]
        let plans: [String: ValidationRun.FilePlan]
        /// Rule ids of the packs start with the pack's name (`consistency.…`); the tables' own checks with the table's.
        let packs: Set<String>
        let clerkFiles: Set<String>
        let acceptedOrder: [String: Int]
        /// The clerk's inputs in order: each file, and each table sheet of a workbook of several in its order.
        let inputs: [String]
        let order: [String: Int32]
        var layouts: [String: FileLayout] = [:]
        var schoolCodes: Set<String> = []
        var placed: [Placed] = []
        var errors = 0, warnings = 0
        var rowsWithErrors: [String: RowSet] = [:]

        init(options: CheckOptions, display: [String: String], accepted: [String], plans: [String: ValidationRun.FilePlan], packs: Set<String>) {
            self.options = options
            self.display = display
            self.accepted = accepted
            self.plans = plans
            self.packs = packs
            clerkFiles = Set(options.files)
            let acceptedOrder = Dictionary(zip(accepted, accepted.indices), uniquingKeysWith: { a, _ in a })
            self.acceptedOrder = acceptedOrder
            inputs = plans.values.filter { acceptedOrder[$0.input.file] != nil }.sorted {
                (acceptedOrder[$0.input.file]!, $0.input.sheet?.index ?? 0) < (acceptedOrder[$1.input.file]!, $1.input.sheet?.index ?? 0)
            }.map(\.input.display)
            order = Dictionary(zip(inputs, inputs.indices.map { Int32($0) }), uniquingKeysWith: { a, _ in a })
        }

        mutating func readLayouts(keys: Set<String>) {
            for input in inputs {
                guard let plan = plans[input] else { continue }
                layouts[input] = FileLayout.read(plan: plan, keys: keys)
            }
            schoolCodes = Set(layouts.values.flatMap(\.schoolCodes))
        }

        /// A finding placed in the clerk's file, or as about this school's record in the schools table.
        func problem(_ entry: LedgerEntry) -> CheckProblem {
            let inClerkFile = clerkFiles.contains(entry.sourceFile)
            return ClerkCheck.place(entry, clerk: inClerkFile, layout: inClerkFile ? layouts[entry.input] : nil, display: display, options: options)
        }

        /// Every finding of the clerk's files, and of the schools table about this school's own
        /// rows, placed and counted by the rows it covers; sorted by file, row and column.
        mutating func placeAll(_ spill: ProblemSpill) {
            spill.forEach { offset, entry in
                let inClerkFile = clerkFiles.contains(entry.sourceFile)
                if !inClerkFile {
                    // The county's schools table: only what the rules found about this school's own rows.
                    guard options.schools != nil, entry.sourceFile == options.schools, entry.ruleID.split(separator: ".").first.map({ packs.contains(String($0)) }) == true,
                          schoolCodes.contains(where: { entry.recordKey.contains("school_code=\($0)") }) else { return }
                }
                let layout = inClerkFile ? layouts[entry.input] : nil
                let place = ClerkCheck.locate(entry, layout: layout)
                let rows = place.row > 0 && place.lastRow > place.row ? place.lastRow - place.row + 1 : 1
                if entry.severity == .error {
                    errors += rows
                    if inClerkFile, place.row > 0 { rowsWithErrors[entry.input, default: RowSet()].insert(place.row, through: max(place.row, place.lastRow)) }
                } else {
                    warnings += rows
                }
                placed.append(Placed(offset: offset, order: order[entry.input] ?? Int32(inputs.count + (acceptedOrder[entry.sourceFile] ?? options.files.count)), row: Int32(clamping: place.row),
                                     lastRow: Int32(clamping: place.lastRow), column: Int32(clamping: place.column ?? -1), isError: entry.severity == .error))
            }
            placed.sort { a, b in
                if a.order != b.order { return a.order < b.order }
                if a.row != b.row { return a.row < b.row }
                if a.column != b.column { return a.column < b.column }
                return a.offset < b.offset
            }
        }

        /// The first `limit` problems (0: all), with a note when there are more.
        func listed(_ spill: ProblemSpill, limit: Int) -> (problems: [CheckProblem], notesZh: [String], notesEn: [String]) {
            let shownCount = limit > 0 ? min(limit, placed.count) : placed.count
            var problems: [CheckProblem] = []
            problems.reserveCapacity(shownCount)
            for p in placed.prefix(shownCount) {
                guard let entry = spill.entry(at: p.offset) else { continue }
                problems.append(problem(entry))
            }
            let notShown = placed.count - problems.count
            guard notShown > 0 else { return (problems, [], []) }
            return (problems,
                    ["共发现 \(placed.count) 处问题，这里列出前 \(problems.count) 处；其余 \(notShown) 处都在标注工作簿的“问题清单”中（或用 --max-problems 调高显示上限）。"],
                    ["\(placed.count) problems found; the first \(problems.count) are listed here, and the other \(notShown) are in the annotated workbook's problem list (or raise the limit with --max-problems)."])
        }

        /// What each file held: each table sheet of a workbook of several on its own.
        func checkedFiles(names: [String], summary: RunSummary?) -> [CheckedFile] {
            var files: [CheckedFile] = []
            for (file, name) in zip(options.files, names) {
                let mine = inputs.filter { plans[$0]?.input.file == file }
                for input in mine.isEmpty ? [file] : mine {
                    let inputSummary = summary?.inputs.first { $0.path == input }
                    let table = inputSummary?.table ?? ""
                    let schema = plans[input]?.header.schema
                    var read = layouts[input]?.dataRows ?? 0
                    // The table's counts when this is its only input; otherwise the rows with an error.
                    let rejected: Int
                    if let t = summary?.tables[table], t.files == [input] {
                        read = t.rowsRead
                        rejected = t.rowsRejected
                    } else {
                        rejected = rowsWithErrors[input]?.count ?? 0
                    }
                    var checked = CheckedFile(file: name, table: table, tableTitleZh: schema?.titleZh ?? "", tableTitleEn: schema?.titleEn ?? "",
                                              encoding: inputSummary?.encoding ?? "", rowsRead: read, rowsClean: read - rejected, rowsRejected: rejected)
                    checked.sheet = plans[input]?.input.sheet?.name ?? ""
                    files.append(checked)
                }
            }
            return files
        }

        /// Each input's header and the rows of the problems listed, as written, cut for showing.
        func shownRows(_ problems: [CheckProblem]) -> (headers: [String: [String]], rows: [ProblemRow]) {
            let limits = options.limits
            var headers: [String: [String]] = [:]
            var rows: [ProblemRow] = []
            for input in inputs {
                guard let layout = layouts[input], let plan = plans[input] else { continue }
                let name = ClerkCheck.shownName(plan.input, display: display)
                let sheet = plan.input.sheet?.name ?? ""
                headers[name] = layout.header.prefix(limits.cellsShown).map { ClerkCheck.scrubbed(FileLayout.shown($0, limits.cellCharacters)) }
                let mine = problems.filter { $0.file == (display[plan.input.file] ?? plan.input.file) && $0.sheet == sheet && $0.row > 0 }
                let marks = CellMarks(mine)
                let wanted = Set(marks.rows.sorted().prefix(limits.rowsShown))
                let cells = FileLayout.cells(plan: plan, layout: layout, rows: wanted, characters: limits.cellCharacters, columns: limits.cellsShown)
                for row in wanted.sorted() {
                    var shown = ProblemRow(file: name, row: row, cells: (cells[row] ?? []).map(ClerkCheck.scrubbed),
                                           errorColumns: marks.columns(row: row, severity: .error),
                                           warningColumns: marks.columns(row: row, severity: .warning))
                    shown.sheet = sheet
                    rows.append(shown)
                }
            }
            return (headers, rows)
        }

        /// The clerk's workbook handed back with every problem marked, written beside `annotate`
        /// and renamed into place.
        func writeAnnotated(to annotate: String, spill: ProblemSpill, refusals: [CheckProblem], work: String) throws(CheckError) {
            let partial = annotate + ".partial-" + UniqueName.make().prefix(8)
            do {
                let sources = inputs.compactMap { input -> AnnotatedWorkbook.Source? in
                    guard let layout = layouts[input], let plan = plans[input] else { return nil }
                    return AnnotatedWorkbook.Source(name: display[plan.input.file] ?? plan.input.file, sheet: plan.input.sheet?.name ?? "",
                                                    order: order[input] ?? 0, position: (acceptedOrder[plan.input.file] ?? 0) * 100_000 + (plan.input.sheet?.index ?? 0),
                                                    plan: plan, layout: layout)
                }
                // The other sheets of the clerk's workbooks (notes, lists of choices) are handed back too.
                var plain: [AnnotatedWorkbook.PlainSheet] = []
                for file in accepted {
                    let lowered = file.lowercased()
                    let listing = lowered.hasSuffix(".xlsx") ? try? XLSXReader.sheets(path: file, limits: options.readLimits)
                        : (lowered.hasSuffix(".xls") ? try? XLSReader.sheets(path: file) : nil)
                    guard let listed = listing, listed.count > 1 else { continue }
                    for sheet in listed where sheet.kind == .worksheet && sheet.name != Spreadsheet.problemListSheet
                        && !sources.contains(where: { $0.plan.input.file == file && $0.sheet == sheet.name }) {
                        plain.append(AnnotatedWorkbook.PlainSheet(path: file, sheet: sheet.name,
                                                                  position: (acceptedOrder[file] ?? 0) * 100_000 + sheet.index))
                    }
                }
                try AnnotatedWorkbook.write(placed: placed, spill: spill, extra: refusals, sources: sources,
                                            plain: plain, limits: options.limits, to: partial, temporaryDirectory: work, problem: problem)
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
    }

    /// The annotated workbook may replace only a workbook schoolstat wrote, never an input, a link
    /// or anything but a regular file (a pipe there would never be opened).
    static func vetAnnotationTarget(_ annotate: String, options: CheckOptions) throws(CheckError) {
        var st = stat()
        if lstat(annotate, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFREG, XLSXWriter.isMarked(path: annotate, workbookMark) else { throw .refused(path: annotate) }
        }
        let target = URL(fileURLWithPath: annotate).standardizedFileURL.path
        let inputs = (options.files + [options.schools].compactMap { $0 }).map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard !inputs.contains(target) else { throw .refused(path: annotate) }
    }

    /// Records in `file`, counting up to `stopAfter` + 1 (nil: not a regular file, or unreadable;
    /// the run reports that itself).
    static func countRecords(_ file: String, encoding: TextEncoding?, readLimits: ReadLimits, stopAfter: Int) -> Int? {
        guard let type = (try? FileManager.default.attributesOfItem(atPath: file))?[.type] as? FileAttributeType, type == .typeRegular,
              var reader = try? TableFileReader(path: file, encoding: encoding) else { return nil }
        reader.readLimits = readLimits
        reader.computesDigest = false
        var count = 0
        try? reader.read({ event in if case .record = event { count += 1 } }, stopWhen: { count > stopAfter })
        return count
    }

    /// A problem for each file larger than the check takes.
    static func tooLargeProblems(_ tooLarge: Set<String>, limit: Int, display: [String: String]) -> [CheckProblem] {
        tooLarge.sorted().map { file in
            let name = display[file] ?? file
            return CheckProblem(file: name, row: 0, columnIndex: nil, columnLetter: "", cell: "", placeZh: "整个文件", placeEn: "whole file",
                                column: "", heading: "", value: "", severity: .error, rule: "check.too_many_rows",
                                messageZh: "文件“\(name)”有超过 \(limit) 行数据，超出了检查的上限，没有检查。一所学校的表通常只有几百行：请确认选的是本校的表，而不是全县的汇总表；确实需要时，可用 --max-rows 调高上限。",
                                messageEn: "\(name) has more than \(limit) data rows, more than a check takes, and was not checked. A school's table usually has a few hundred rows: make sure this is your school's table, not the county's; if it really is, raise the limit with --max-rows.",
                                recordKey: "")
        }
    }

    /// The name an input is shown under: the clerk's name for the file, and the sheet of a workbook of several.
    static func shownName(_ input: ValidationRun.Input, display: [String: String]) -> String {
        let name = display[input.file] ?? input.file
        return input.sheet.map { "\(name) [\($0.name)]" } ?? name
    }

    static func scrubbed(_ text: String) -> String { IDNumber.mayHoldIDNumber(text) ? IDNumber.scrub(text) : text }

    /// Where a finding falls in the clerk's file: Excel's row (0: the whole file), the last row of
    /// a range, and the column.
    static func locate(_ entry: LedgerEntry, layout: FileLayout?) -> (row: Int, lastRow: Int, column: Int?) {
        guard let layout else { return (0, 0, nil) }
        var line = entry.line
        if line == 0, !entry.recordKey.isEmpty {
            // A finding about a group of rows (all the rows with one school code): its first row.
            line = layout.firstLines[entry.recordKey] ?? 0
        }
        guard line > 0, let row = layout.excelRow(line) else { return (0, 0, nil) }
        let last = entry.lastLine > entry.line ? (layout.excelRow(entry.lastLine) ?? row) : 0
        return (row, last > row ? last : 0, layout.field(for: entry))
    }

    /// A ledger entry placed in the clerk's file; in a workbook of several sheets, the place names
    /// the sheet as Excel's tab shows it (「教师名册」工作表第 7 行 F 列（F7））.
    static func place(_ entry: LedgerEntry, clerk: Bool, layout: FileLayout?, display: [String: String], options: CheckOptions) -> CheckProblem {
        var problem = placeInFile(entry, clerk: clerk, layout: layout, display: display, options: options)
        guard !entry.sheet.isEmpty else { return problem }
        let zh = "「\(entry.sheet)」工作表", en = "sheet \"\(entry.sheet)\""
        if problem.row > 0 {
            problem.placeZh = zh + problem.placeZh
            problem.placeEn = en + ", " + problem.placeEn
        } else {
            problem.placeZh = zh
            problem.placeEn = en
        }
        return problem
    }

    static func placeInFile(_ entry: LedgerEntry, clerk: Bool, layout: FileLayout?, display: [String: String], options: CheckOptions) -> CheckProblem {
        let file = display[entry.sourceFile] ?? (entry.sourceFile == options.schools ? URL(fileURLWithPath: entry.sourceFile).lastPathComponent : entry.sourceFile)
        var messageZh = entry.messageZh, messageEn = entry.messageEn
        if file != entry.sourceFile, !entry.sourceFile.isEmpty {
            // Read errors name the file they are about: the clerk's name for it, never a server path.
            // The messages were scrubbed of ID numbers and the path kept as it is: a path with a
            // run of digits that looks like one (a random directory name) is in them masked.
            for path in Set([entry.sourceFile, IDNumber.scrub(entry.sourceFile)]) {
                messageZh = messageZh.replacingOccurrences(of: path, with: file)
                messageEn = messageEn.replacingOccurrences(of: path, with: file)
            }
        }
        var problem = CheckProblem(file: file, row: 0, columnIndex: nil, columnLetter: "", cell: "", placeZh: "整个文件", placeEn: "whole file",
                                   column: entry.column, heading: "", value: entry.rawValue, severity: entry.severity, rule: entry.ruleID,
                                   messageZh: messageZh, messageEn: messageEn, recordKey: entry.recordKey)
        problem.sheet = entry.sheet
        guard clerk, let layout else {
            if !clerk, !entry.sourceFile.isEmpty {
                problem.placeZh = "本校在学校表中的记录"
                problem.placeEn = "this school's record in the schools table"
            }
            return problem
        }
        let (row, lastRow, column) = locate(entry, layout: layout)
        guard row > 0 else { return problem }
        // Messages name physical lines; the clerk looks for Excel's rows.
        problem.messageZh = layout.rowsForLines(problem.messageZh, pattern: zhLine, template: "第 %d 行")
        problem.messageEn = layout.rowsForLines(problem.messageEn, pattern: enLine, template: "row %d")
        problem.row = row
        problem.lastRow = lastRow
        let rows = lastRow > row ? "\(row)–\(lastRow)" : "\(row)"
        problem.placeZh = "第 \(rows) 行"
        problem.placeEn = lastRow > row ? "rows \(rows)" : "row \(rows)"
        if let column {
            let place = Spreadsheet.cellPlace(row: row, column: column)
            problem.columnIndex = column
            problem.columnLetter = Spreadsheet.columnLetter(column)
            problem.cell = place.reference
            if lastRow > row {
                let letter = problem.columnLetter
                problem.placeZh = "第 \(rows) 行 \(letter) 列（\(letter)\(row):\(letter)\(lastRow)）"
                problem.placeEn = "rows \(rows), column \(letter) (\(letter)\(row):\(letter)\(lastRow))"
            } else {
                problem.placeZh = place.zh
                problem.placeEn = place.en
            }
            if column < layout.header.count { problem.heading = layout.header[column] }
        }
        return problem
    }
}

/// Rows of a file as bits: which rows have an error, whatever their number.
struct RowSet {
    private var words: [UInt64] = []
    private(set) var count = 0

    mutating func insert(_ first: Int, through last: Int) {
        guard first > 0, last >= first, last < 1 << 31 else { return }
        let needed = last / 64 + 1
        if words.count < needed { words.append(contentsOf: repeatElement(0, count: needed - words.count)) }
        for row in first...last {
            let bit = UInt64(1) << UInt64(row % 64)
            if words[row / 64] & bit == 0 { words[row / 64] |= bit; count += 1 }
        }
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
            guard let line = Int(ns.substring(with: match.range(at: 1))), let row = excelRow(line) else { continue }
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
