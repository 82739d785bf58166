// Check: each school's own workbook from a county run. A run's ledger and the raw files it read
// are turned into one workbook per school with a finding — the problem list first, each problem
// linked to its cell, then that school's rows of each file as they were read, each problem cell
// filled and commented as the clerk's check does it — and one workbook for the county office with
// the rows whose school code is unknown or missing and what concerns no one school. An index
// (index.csv, index.html) lists the schools by errors.
//
// The run directory is only read. Its raw inputs are read again and must be the bytes the run
// read (their SHA-256 is in summary.json): a file changed or gone since the run is refused by
// name, so that no finding is placed on a cell it is not about.
//
// Memory: the rows are partitioned once into a file of the private working directory, a few
// bytes each kept in memory (school, file, line, offset); each workbook is then written alone in
// libxlsxwriter's constant-memory mode and closed before the next is begun.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

public struct FeedbackOptions: Sendable {
    /// A `validate` output directory.
    public var run: String
    /// Where the workbooks and the index go (replaced atomically, under the same rules as `--out`).
    public var outputDirectory: String
    public var rulesDirectory: String
    public var readLimits = ReadLimits()
    public var limits = CheckLimits()
    /// Where the private working directory is made (removed when done).
    public var workDirectory: String = NSTemporaryDirectory()

    public init(run: String, outputDirectory: String, rulesDirectory: String) {
        self.run = run
        self.outputDirectory = outputDirectory
        self.rulesDirectory = rulesDirectory
    }
}

/// One workbook written: a school's, or the county office's (`code` empty).
public struct FeedbackWorkbook: Sendable, Equatable {
    public var code: String
    public var name: String
    public var file: String
    /// Findings counted by the rows they are on, as the run's totals count them (waived ones apart).
    public var errors: Int
    public var warnings: Int
    /// Findings new since the previous run over the same inputs, and fixed since (nil: no run history).
    public var new: Int?
    public var fixed: Int?
    /// Ledger entries in the workbook.
    public var findings: Int
}

public struct FeedbackResult: Sendable {
    public var outputDirectory: String
    /// The schools' workbooks by errors, most first; then the county office's, if any.
    public var workbooks: [FeedbackWorkbook]
    public var withHistory: Bool
}

public enum FeedbackError: Error, Sendable, CustomStringConvertible {
    /// Not a directory a `validate` run wrote.
    case notARun(String)
    /// One of the run's own files cannot be read as the run wrote it (`path`, and why).
    case damagedRun(path: String, reason: String)
    case rules(RunError)
    case output(OutputError)
    /// Raw inputs changed or gone since the run: nothing written.
    case inputsChanged([String])
    case failed(WriteError)

    public var description: String {
        switch self {
        case .notARun(let path):
            return "\(path) 不是 schoolstat validate 写出的输出目录（没有标记文件或 summary.json）；请指定 validate 的 --out 目录。 (\(path) is not an output directory of schoolstat validate)"
        case let .damagedRun(path, reason):
            return "运行目录中的 \(path) 无法按 schoolstat 写出的样子读取（\(reason)），未写出任何反馈工作簿；请重新运行 validate。 (\(path), written by the run, cannot be read as written: \(reason); nothing was written: run validate again)"
        case .rules(let e): return e.description
        case .output(let e): return e.description
        case .inputsChanged(let files):
            return "运行之后这些输入文件已被修改、移走或无法读取，问题无法准确定位到单元格，未写出任何反馈工作簿；请对现在的文件重新运行 validate，"
                + "或在运行 validate 的目录中执行本命令：\n" + files.map { "  " + $0 }.joined(separator: "\n")
                + "\n(these inputs changed, moved or cannot be read since the run; nothing was written: run validate again on the files as they are now, or run this from the directory validate ran in)"
        case .failed(let e): return e.description
        }
    }

    public var status: RunStatus {
        switch self {
        case .notARun: return .badRulesOrArguments
        case .damagedRun: return .unreadableInput
        case .rules(let e): return e.status
        case .output(let e): if case .refused = e { return .badRulesOrArguments } else { return .outputFailed }
        case .inputsChanged: return .unreadableInput
        case .failed: return .outputFailed
        }
    }
}

public enum SchoolFeedback {
    /// The mark each workbook carries in its properties.
    public static let workbookMark = "schoolstat feedback: school workbook"
    public static let unmatchedFile = "未匹配学校.xlsx"

    /// One of the run's inputs read again.
    struct Source {
        var plan: ValidationRun.FilePlan
        var layout: FileLayout
        /// The file's own name, without folders (a school sees no server path), and the sheet.
        var name: String
        var sheet: String
        var title: String
        var schoolField: Int?
        var nameField: Int?
        var isSchoolsTable: Bool
    }

    /// A data row of an input: its school code (an index into the codes seen; -1 none), the
    /// workbook it goes to, and where its cells are in the row spill.
    struct RowRef {
        var code: Int32
        var owner: Int32
        var source: Int32
        var line: Int32
        var offset: Int64
    }

    /// A ledger entry: where its text is, and what decides its workbook and cell.
    struct Finding {
        var offset: UInt64
        var owner: Int32 = 0
        var source: Int32
        var line: Int32
        var lastLine: Int32
        var isError: Bool
        var waived: Bool
        /// -1: no run history; 0: new since the previous run; n: open n runs in a row.
        var runs: Int32 = -1
        var rows: Int { lastLine > line ? Int(lastLine - line) + 1 : 1 }
    }

    public static func write(_ options: FeedbackOptions) throws(FeedbackError) -> FeedbackResult {
        // 1. The run: its marker, summary and ledger.
        let run = options.run
        guard OutputMarker.kind(of: run) == .validate, let summary = (try? RunSummary.read(directory: run)) ?? nil else { throw .notARun(run) }
        let ledgerPath = run + "/ledger.jsonl"
        guard isRegularFile(ledgerPath) else { throw .notARun(run) }

        // 2. The inputs as the run read them.
        var changed: [String] = []
        var groups: [String: (table: String, encoding: TextEncoding?, delimiter: UInt8?, files: [String], sheets: [String])] = [:]
        var wanted: [String: InputSummary] = [:]
        for input in summary.inputs {
            guard let table = input.table else { continue }
            var file = input.path, sheet: String?
            if !isRegularFile(file), input.path.hasSuffix("]"), let open = input.path.range(of: " [", options: .backwards) {
                file = String(input.path[..<open.lowerBound])
                sheet = String(input.path[open.upperBound...].dropLast())
            }
            guard isRegularFile(file) else { changed.append(input.path); continue }
            // As the run read it: its table, an encoding it was told, the delimiter it used.
            let encoding = input.encodingDetected ? nil : TextEncoding(rawValue: input.encoding)
            let delimiter = input.dialect?.delimiter
            let key = table + "\u{0}" + (encoding?.rawValue ?? "") + "\u{0}" + (delimiter.map { String($0) } ?? "")
            var group = groups[key] ?? (table, encoding, delimiter, [], [])
            if !group.files.contains(file) { group.files.append(file) }
            if let sheet { group.sheets.append(sheet) }
            groups[key] = group
            wanted[input.path] = input
        }
        var plans: [ValidationRun.FilePlan] = []
        for key in groups.keys.sorted() {
            let group = groups[key]!
            var validation = ValidationOptions(inputs: group.files, rulesDirectory: options.rulesDirectory, outputDirectory: options.outputDirectory)
            validation.table = group.table
            validation.encoding = group.encoding
            validation.delimiter = group.delimiter
            validation.sheets = group.sheets
            validation.readLimits = options.readLimits
            validation.profile = summary.profile
            do throws(RunError) {
                plans += try ValidationRun(options: validation).planInputs().filter { wanted[$0.input.display] != nil }
            } catch { throw .rules(error) }
        }
        let position = Dictionary(summary.inputs.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { a, _ in a })
        plans.sort { (position[$0.input.display] ?? 0) < (position[$1.input.display] ?? 0) }
        for path in wanted.keys.sorted() where !plans.contains(where: { $0.input.display == path }) { changed.append(path) }
        guard changed.isEmpty else { throw .inputsChanged(changed.sorted()) }

        // 3. The output directory, vetted before the work.
        let protected = [run, options.rulesDirectory] + plans.map(\.input.file)
        let out: OutputDirectory
        do { out = try OutputDirectory(path: options.outputDirectory, kind: .feedback, runID: summary.runID, protecting: protected) } catch { throw .output(error) }
        defer { out.abandon() }
        let work = options.workDirectory + "/schoolstat-feedback-" + UniqueName.make()
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .failed(WriteError(path: work, reason: "\(error.localizedDescription)"))
        }
        defer { try? FileManager.default.removeItem(atPath: work) }

        // 4. Every data row of every input, once: its school, its cells into the spill.
        let spillRows: RowSpill
        do { spillRows = try RowSpill(path: work + "/rows") } catch { throw .failed(error) }
        var sources: [Source] = []
        var rows: [RowRef] = []
        var codeIndex: [String: Int32] = [:]
        var codes: [String] = []
        var schoolNames: [Int32: String] = [:]
        var inSchoolsTable: Set<Int32> = []
        var spillError: WriteError?
        for plan in plans {
            let layout = FileLayout.read(plan: plan)
            let schema = plan.header.schema
            let source = Source(plan: plan, layout: layout, name: (plan.input.file as NSString).lastPathComponent, sheet: plan.input.sheet?.name ?? "",
                                title: schema.titleZh.isEmpty ? schema.name : schema.titleZh, schoolField: layout.fieldForColumn["school_code"],
                                nameField: layout.fieldForColumn["school_name"], isSchoolsTable: schema.name == "schools")
            let index = Int32(sources.count)
            sources.append(source)
            var reader = plan.reader
            reader.computesDigest = true
            do {
                try reader.read({ event in
                    guard case .record(let record) = event, record.line > plan.headerLine, record.line != plan.columnNumbersLine, spillError == nil else { return }
                    var code: Int32 = -1
                    if let f = source.schoolField, f < record.fieldCount {
                        let text = schoolCode(record.lossyString(f))
                        if !text.isEmpty {
                            if let known = codeIndex[text] { code = known } else {
                                code = Int32(codes.count)
                                codeIndex[text] = code
                                codes.append(text)
                            }
                            if source.isSchoolsTable {
                                inSchoolsTable.insert(code)
                                if schoolNames[code] == nil, let n = source.nameField, n < record.fieldCount {
                                    let name = TextCleaner.clean(record.lossyString(n), folding: .all)
                                    if !name.isEmpty { schoolNames[code] = name }
                                }
                            }
                        }
                    }
                    do throws(WriteError) {
                        let offset = try spillRows.append(count: record.fieldCount) { record.lossyString($0) }
                        rows.append(RowRef(code: code, owner: 0, source: index, line: Int32(clamping: record.line), offset: offset))
                    } catch { spillError = error }
                }, stopWhen: { false })
            } catch {
                changed.append(plan.input.display)
                continue
            }
            if reader.facts.sha256 != wanted[plan.input.display]?.sha256 { changed.append(plan.input.display) }
        }
        if let spillError { throw .failed(spillError) }
        guard changed.isEmpty else { throw .inputsChanged(changed.sorted()) }
        do { try spillRows.flush() } catch { throw .failed(error) }

        // The schools: every code the schools table gives in digits (any code seen, without one).
        let hasSchoolsTable = sources.contains { $0.isSchoolsTable }
        let schoolCodes = codes.indices.filter { i in
            codes[i].utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && (!hasSchoolsTable || inSchoolsTable.contains(Int32(i)))
        }.sorted { codes[$0] < codes[$1] }
        let county = Int32(schoolCodes.count)
        var ownerOfCode = [Int32](repeating: county, count: codes.count)
        for (owner, code) in schoolCodes.enumerated() { ownerOfCode[code] = Int32(owner) }
        for i in rows.indices { rows[i].owner = rows[i].code >= 0 ? ownerOfCode[Int(rows[i].code)] : county }
        // Each source's rows lie together, in line order: where they start, and whose they all are when one school's.
        var sourceStart = [Int](repeating: 0, count: sources.count + 1)
        for r in rows { sourceStart[Int(r.source) + 1] += 1 }
        for i in 0..<sources.count { sourceStart[i + 1] += sourceStart[i] }
        var soleOwner = [Int32](repeating: county, count: sources.count)
        for s in sources.indices {
            let owners = Set(rows[sourceStart[s]..<sourceStart[s + 1]].map(\.owner))
            if owners.count == 1, let only = owners.first { soleOwner[s] = only }
        }
        func rowIndex(source: Int, line: Int) -> Int? {
            var low = sourceStart[source], high = sourceStart[source + 1]
            while low < high {
                let mid = (low + high) / 2
                if Int(rows[mid].line) < line { low = mid + 1 } else { high = mid }
            }
            return low < sourceStart[source + 1] && Int(rows[low].line) == line ? low : nil
        }

        // 5. What changed since the previous run, from the run's changes.csv (when it kept a history).
        let history = readChanges(run + "/changes.csv")
        var status = history?.status ?? [:]

        // 6. Every ledger entry: its workbook.
        let spill: ProblemSpill
        do { spill = try ProblemSpill(path: work + "/findings") } catch { throw .failed(error) }
        var sourceOf: [String: Int32] = [:]
        for (i, s) in sources.enumerated() { sourceOf[IDNumber.scrub(s.plan.input.file) + "\u{0}" + IDNumber.scrub(s.sheet)] = Int32(i) }
        var findings: [Finding] = []
        var readFailure: String?
        forEachLine(ledgerPath, failure: &readFailure) { object in
            guard spillError == nil else { return }
            let entry = ledgerEntry(object)
            let offset: UInt64
            do throws(WriteError) { offset = try spill.append(entry) } catch { spillError = error; return }
            let source = sourceOf[entry.sourceFile + "\u{0}" + entry.sheet] ?? -1
            var finding = Finding(offset: offset, source: source, line: Int32(clamping: entry.line), lastLine: Int32(clamping: entry.lastLine),
                                  isError: entry.severity == .error, waived: !entry.note.isEmpty)
            var owner = county
            if source >= 0, entry.line > 0, let i = rowIndex(source: Int(source), line: entry.line) {
                owner = rows[i].owner
            } else if entry.line == 0, let code = keySchool(entry.recordKey), let c = codeIndex[code], ownerOfCode[Int(c)] != county {
                owner = ownerOfCode[Int(c)]
            } else if source >= 0 {
                owner = soleOwner[Int(source)]
            }
            finding.owner = owner
            if history != nil {
                let key = statusKey(table: entry.table, key: entry.recordKey.isEmpty ? "file=" + entry.sourceFile : entry.recordKey,
                                    rule: entry.ruleID, column: entry.column, line: entry.line)
                if var runs = status[key], !runs.isEmpty {
                    finding.runs = Int32(clamping: runs.removeFirst())
                    status[key] = runs.isEmpty ? nil : runs
                }
            }
            // The same mistake on consecutive rows, recorded once: each school is told of its own rows of the range.
            if source >= 0, entry.line > 0, entry.lastLine > entry.line, var i = rowIndex(source: Int(source), line: entry.line) {
                let end = sourceStart[Int(source) + 1]
                while i < end, Int(rows[i].line) <= entry.lastLine {
                    var part = finding
                    part.owner = rows[i].owner
                    part.line = rows[i].line
                    while i + 1 < end, Int(rows[i + 1].line) <= entry.lastLine, rows[i + 1].owner == part.owner { i += 1 }
                    part.lastLine = rows[i].line > part.line ? rows[i].line : 0
                    findings.append(part)
                    i += 1
                }
                return
            }
            findings.append(finding)
        }
        if let spillError { throw .failed(spillError) }
        if let readFailure { throw .damagedRun(path: run + "/ledger.jsonl", reason: readFailure) }
        do { try spill.flush() } catch { throw .failed(error) }
        status = [:]

        // 7. One workbook at a time, schools in order of their code, the county office's last.
        rows.sort { ($0.owner, $0.source, $0.line) < ($1.owner, $1.source, $1.line) }
        findings.sort { ($0.owner, $0.source, $0.line, $0.offset) < ($1.owner, $1.source, $1.line, $1.offset) }
        var taken: Set<String> = [unmatchedFile.lowercased(), "index.csv", "index.html"]
        var written: [FeedbackWorkbook] = []
        var r = 0, f = 0
        let fixedBySchool = history?.fixed ?? [:]
        for owner in 0...county {
            let rowStart = r
            while r < rows.count, rows[r].owner == owner { r += 1 }
            let findingStart = f
            while f < findings.count, findings[f].owner == owner { f += 1 }
            let mine = findings[findingStart..<f], myRows = rows[rowStart..<r]
            let isCounty = owner == county
            guard !mine.isEmpty || (isCounty && !myRows.isEmpty) else { continue }
            let code = isCounty ? "" : codes[schoolCodes[Int(owner)]]
            let name = isCounty ? "未匹配学校" : (schoolNames[Int32(schoolCodes[Int(owner)])] ?? "")
            let file = isCounty ? unmatchedFile : fileName(code: code, name: name, taken: &taken)
            let fixed = isCounty ? history?.fixedElsewhere(known: Set(schoolCodes.map { codes[$0] })) ?? [] : fixedBySchool[code] ?? []
            let book = Book(path: out.path(file), temporaryDirectory: work, isCounty: isCounty, code: code, name: name)
            do throws(WriteError) {
                try book.write(findings: mine, rows: myRows, sources: sources, codes: codes, spill: spill, rowSpill: spillRows,
                               fixed: history == nil ? nil : fixed, limits: options.limits)
            } catch { throw .failed(error) }
            var counts = FeedbackWorkbook(code: code, name: name, file: file, errors: 0, warnings: 0, new: history == nil ? nil : 0,
                                          fixed: history == nil ? nil : fixed.count, findings: mine.count)
            for finding in mine where !finding.waived {
                if finding.isError { counts.errors += finding.rows } else { counts.warnings += finding.rows }
            }
            if history != nil { counts.new = mine.filter { $0.runs == 0 }.count }
            written.append(counts)
        }

        // 8. The index, by errors.
        var schools = written.filter { !$0.code.isEmpty }
        schools.sort { ($1.errors, $1.warnings, $0.code) < ($0.errors, $0.warnings, $1.code) }
        let ordered = schools + written.filter { $0.code.isEmpty }
        do {
            try writeIndexCSV(ordered, to: out.path("index.csv"))
            try writeIndexHTML(ordered, runID: summary.runID, withHistory: history != nil, to: out.path("index.html"))
        } catch { throw .failed(error) }
        do { try out.commit() } catch { throw .output(error) }
        return FeedbackResult(outputDirectory: out.finalPath, workbooks: ordered, withHistory: history != nil)
    }

    // MARK: - One workbook

    final class Book {
        let path: String
        let temporaryDirectory: String
        let isCounty: Bool
        let code: String
        let name: String

        init(path: String, temporaryDirectory: String, isCounty: Bool, code: String, name: String) {
            self.path = path; self.temporaryDirectory = temporaryDirectory; self.isCounty = isCounty; self.code = code; self.name = name
        }

        func write(findings: ArraySlice<Finding>, rows: ArraySlice<RowRef>, sources: [Source], codes: [String], spill: ProblemSpill,
                   rowSpill: RowSpill, fixed: [FixedFinding]?, limits: CheckLimits) throws(WriteError) {
            let book = try XLSXWriter(path: path, temporaryDirectory: temporaryDirectory, constantMemory: true)
            book.mark(title: isCounty ? "schoolstat 未匹配学校的数据与全县问题" : "schoolstat 学校反馈：\(code) \(name)", SchoolFeedback.workbookMark)
            let listSheet = book.addSheet(Spreadsheet.problemListSheet)
            // This workbook's rows of each source, in line order.
            var lines: [Int32: ArraySlice<RowRef>] = [:]
            var at = rows.startIndex
            while at < rows.endIndex {
                let source = rows[at].source
                var end = at
                while end < rows.endIndex, rows[end].source == source { end += 1 }
                lines[source] = rows[at..<end]
                at = end
            }
            var sheets: [Int32: XLSXWriter.Sheet] = [:]
            for source in lines.keys.sorted() {
                let s = sources[Int(source)]
                // A workbook's sheet keeps the name the clerk gave it; a text file is named after its table.
                sheets[source] = book.addSheet(IDNumber.scrub(s.sheet.isEmpty ? s.title : s.sheet))
            }
            /// The row a line of `source` takes in this workbook's sheet (the header is row 1).
            func sheetRow(_ source: Int32, line: Int32, atOrBefore: Bool = false) -> Int? {
                guard let mine = lines[source] else { return nil }
                var low = mine.startIndex, high = mine.endIndex
                while low < high {
                    let mid = (low + high) / 2
                    if mine[mid].line <= line { low = mid + 1 } else { high = mid }
                }
                // low: the first row past `line`.
                guard low > mine.startIndex else { return nil }
                if !atOrBefore && mine[low - 1].line != line { return nil }
                return low - mine.startIndex + 1
            }

            // 问题清单, with where each problem was in the file the county received and, with a history, since when.
            let heading = XLSXWriter.Style(fill: AnnotatedWorkbook.headerFill, bold: true)
            var extra: [(String, Double)] = [("原文件中的位置", 28)]
            if fixed != nil { extra.append(("与上次运行相比", 16)) }
            var list = AnnotatedWorkbook.ProblemList(listSheet, heading: heading, extraColumns: extra)
            var placed: [Int32: [ClerkCheck.Placed]] = [:]
            for finding in findings {
                guard let entry = spill.entry(at: finding.offset) else { continue }
                let source = finding.source >= 0 ? sources[Int(finding.source)] : nil
                var row = 0, lastRow = 0, column: Int?
                if let source, finding.source >= 0 {
                    if finding.line > 0 {
                        row = sheetRow(finding.source, line: finding.line) ?? 0
                        if row > 0, finding.lastLine > finding.line, let last = sheetRow(finding.source, line: finding.lastLine, atOrBefore: true), last > row {
                            lastRow = last
                        }
                    } else if let key = keySchool(entry.recordKey), let mine = lines[finding.source],
                              let first = mine.firstIndex(where: { $0.code >= 0 && codes[Int($0.code)] == key }) {
                        // A finding about all the rows of one school code: its first row.
                        row = first - mine.startIndex + 2
                    }
                    if row > 0 { column = source.layout.field(for: entry) }
                }
                var problem = Self.problem(entry, source: source, row: row, lastRow: lastRow, column: column)
                if let source { problem.messageZh = source.layout.rowsForLines(problem.messageZh, pattern: zhLine, template: "原表第 %d 行") }
                var texts = [Self.originalPlace(finding, source: source)]
                if fixed != nil { texts.append(finding.runs < 0 ? "" : finding.runs <= 1 ? "新增" : "已连续 \(finding.runs) 次") }
                list.add(problem, link: sheets[finding.source]?.name, extra: texts)
                if row > 0 {
                    placed[finding.source, default: []].append(ClerkCheck.Placed(offset: finding.offset, order: finding.source, row: Int32(row),
                                                                                 lastRow: Int32(lastRow), column: Int32(column ?? -1), isError: finding.isError))
                }
            }
            list.finish(total: findings.count)
            if let fixed {
                // What was fixed since the previous run, under the list.
                var row = list.row + 2
                listSheet.write(row: row, column: 2, fixed.isEmpty ? "与上次运行相比，没有已改正的问题。" : "与上次运行相比，已改正 \(fixed.count) 处问题：", style: heading)
                for item in fixed.prefix(XLSXWriter.maximumRows - row - 2) {
                    row += 1
                    listSheet.write(row: row, column: 1, "已改正")
                    listSheet.write(row: row, column: 3, item.file)
                    listSheet.write(row: row, column: 4, item.column)
                    listSheet.write(row: row, column: 5, IDNumber.scrub(item.value))
                    listSheet.write(row: row, column: 6, IDNumber.scrub(item.messageZh), style: XLSXWriter.Style(wrap: true))
                    listSheet.write(row: row, column: 7, item.rule)
                }
            }

            // Each source's rows of this workbook, the problem cells marked by the clerk's check's own code.
            for source in lines.keys.sorted() {
                guard let sheet = sheets[source], let mine = lines[source] else { continue }
                let original = sources[Int(source)].layout
                var layout = FileLayout()
                layout.header = original.header
                layout.headerRow = 1
                layout.lastRow = mine.count + 1
                layout.widest = original.widest
                let marks = (placed[source] ?? []).sorted { ($0.row, $0.column, $0.offset) < ($1.row, $1.column, $1.offset) }
                AnnotatedWorkbook.writeRows(sheet, layout: layout, placed: marks, spill: spill, limits: limits, heading: heading,
                                            message: { original.rowsForLines($0, pattern: zhLine, template: "原表第 %d 行") }) { row in
                    row(1, original.header.count) { original.header[$0] }
                    for (i, ref) in mine.enumerated() {
                        let cells = rowSpill.cells(at: ref.offset)
                        row(i + 2, cells.count) { cells[$0] }
                    }
                }
            }
            try book.close()
        }

        /// A finding placed on this workbook's sheet.
        static func problem(_ entry: LedgerEntry, source: Source?, row: Int, lastRow: Int, column: Int?) -> CheckProblem {
            var problem = CheckProblem(file: source?.name ?? (entry.sourceFile as NSString).lastPathComponent, row: 0, columnIndex: nil, columnLetter: "", cell: "",
                                       placeZh: entry.line == 0 && entry.sourceFile.isEmpty ? "全县" : "整个文件", placeEn: "whole file",
                                       column: entry.column, heading: "", value: entry.rawValue, severity: entry.severity, rule: entry.ruleID,
                                       messageZh: entry.messageZh, messageEn: entry.messageEn, recordKey: entry.recordKey)
            problem.sheet = entry.sheet
            guard row > 0 else { return problem }
            problem.row = row
            problem.lastRow = lastRow
            let rows = lastRow > row ? "\(row)–\(lastRow)" : "\(row)"
            problem.placeZh = "第 \(rows) 行"
            problem.placeEn = lastRow > row ? "rows \(rows)" : "row \(rows)"
            if let column {
                let place = Spreadsheet.cellPlace(row: row, column: column)
                let letter = Spreadsheet.columnLetter(column)
                problem.columnIndex = column
                problem.columnLetter = letter
                problem.cell = place.reference
                if lastRow > row {
                    problem.placeZh = "第 \(rows) 行 \(letter) 列（\(letter)\(row):\(letter)\(lastRow)）"
                    problem.placeEn = "rows \(rows), column \(letter) (\(letter)\(row):\(letter)\(lastRow))"
                } else {
                    problem.placeZh = place.zh
                    problem.placeEn = place.en
                }
                if let source, column < source.layout.header.count { problem.heading = source.layout.header[column] }
            }
            return problem
        }

        /// Where the finding was in the file as the county received it: 「teachers.csv 第 17 行」.
        static func originalPlace(_ finding: Finding, source: Source?) -> String {
            guard let source else { return "" }
            let file = source.sheet.isEmpty ? source.name : "\(source.name) [\(source.sheet)]"
            guard finding.line > 0, let row = source.layout.excelRow(Int(finding.line)) else { return file }
            if finding.lastLine > finding.line, let last = source.layout.excelRow(Int(finding.lastLine)), last > row {
                return "\(file) 第 \(row)–\(last) 行"
            }
            return "\(file) 第 \(row) 行"
        }
    }

    // MARK: - Reading the run

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Each line of a JSON Lines file as an object; a line that is not one stops the reading with `failure`.
    static func forEachLine(_ path: String, failure: inout String?, _ body: ([String: Any]) -> Void) {
        guard let handle = FileHandle(forReadingAtPath: path) else { failure = "无法打开 (cannot be opened)"; return }
        defer { try? handle.close() }
        var pending = Data()
        var number = 0
        func take(_ line: Data) -> Bool {
            number += 1
            guard !line.isEmpty else { return true }
            guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else {
                failure = "第 \(number) 行不是 JSON 对象 (line \(number) is not a JSON object)"
                return false
            }
            body(object)
            return true
        }
        while true {
            guard let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                guard take(pending.subdata(in: start..<newline)) else { return }
                start = newline + 1
            }
            pending = pending.subdata(in: start..<pending.endIndex)
            guard pending.count < 256 << 20 else { failure = "第 \(number + 1) 行过长 (line \(number + 1) is too long)"; return }
        }
        _ = take(pending)
    }

    static func ledgerEntry(_ o: [String: Any]) -> LedgerEntry {
        func s(_ key: String) -> String { o[key] as? String ?? "" }
        func n(_ key: String) -> Int { (o[key] as? NSNumber)?.intValue ?? 0 }
        var entry = LedgerEntry(table: s("table"), sourceFile: s("source_file"), line: n("line"), recordKey: s("record_key"), column: s("column"),
                                rawValue: s("raw_value"), normalisedValue: s("normalised_value"), ruleID: s("rule_id"),
                                severity: s("severity") == "error" ? .error : .warning, messageZh: s("message_zh"), messageEn: s("message_en"),
                                expected: s("expected"), note: s("waiver"))
        entry.lastLine = n("last_line")
        entry.sheet = s("sheet")
        return entry
    }

    /// The school code a record key names (`school_code=3150010001`).
    static func keySchool(_ recordKey: String) -> String? {
        guard let range = recordKey.range(of: "school_code=") else { return nil }
        let code = String(recordKey[range.upperBound...].prefix { $0 != "," && $0 != ";" && $0 != " " })
        return code.isEmpty ? nil : code
    }

    /// A school code as written, the way it is compared: spaces and invisible characters gone,
    /// full-width digits folded, Excel's leading apostrophe dropped.
    static func schoolCode(_ raw: String) -> String {
        var text = TextCleaner.clean(raw, folding: .all)
        while text.hasPrefix("'") { text.removeFirst() }
        return text.trimmingCharacters(in: .whitespaces)
    }

    static func statusKey(table: String, key: String, rule: String, column: String, line: Int) -> String {
        [table, key, rule, column, String(line)].joined(separator: "\u{0}")
    }

    struct FixedFinding {
        var school: String
        var rule: String
        var column: String
        var value: String
        var file: String
        var messageZh: String
    }

    struct Changes {
        /// New and open findings by key: how many runs each has been open (1: new).
        var status: [String: [Int]] = [:]
        var fixed: [String: [FixedFinding]] = [:]

        /// The fixed findings of no school listed.
        func fixedElsewhere(known: Set<String>) -> [FixedFinding] {
            fixed.filter { !known.contains($0.key) }.sorted { $0.key < $1.key }.flatMap(\.value)
        }
    }

    /// The run's changes.csv (nil when the run kept no history).
    static func readChanges(_ path: String) -> Changes? {
        guard isRegularFile(path), var reader = try? TableFileReader(path: path, encoding: .utf8BOM) else { return nil }
        reader.computesDigest = false
        var changes = Changes()
        var columns: [String: Int] = [:]
        do {
            try reader.read({ event in
                guard case .record(let record) = event else { return }
                let cells = (0..<record.fieldCount).map { record.lossyString($0) }
                if columns.isEmpty {
                    for (i, name) in cells.enumerated() { columns[name.replacingOccurrences(of: "\u{FEFF}", with: "")] = i }
                    return
                }
                func c(_ name: String) -> String {
                    guard let i = columns[name], i < cells.count else { return "" }
                    let v = cells[i]
                    // The CSV's own apostrophe before a value a spreadsheet would run.
                    if v.hasPrefix("'"), let second = v.dropFirst().first, "=+-@\t\r".contains(second) { return String(v.dropFirst()) }
                    return v
                }
                switch c("change") {
                case "new", "open":
                    let key = statusKey(table: c("table"), key: c("record_key"), rule: c("rule_id"), column: c("column"), line: Int(c("source_line")) ?? 0)
                    changes.status[key, default: []].append(c("change") == "new" ? 0 : max(Int(c("runs_open")) ?? 1, 1))
                case "fixed":
                    let file = (c("source_file") as NSString).lastPathComponent
                    changes.fixed[c("school_code"), default: []].append(FixedFinding(school: c("school_code"), rule: c("rule_id"), column: c("column"),
                                                                                     value: c("value"), file: file, messageZh: c("message_zh")))
                default: break
                }
            }, stopWhen: { false })
        } catch { return nil }
        return changes
    }

    // MARK: - Names and the index

    /// `<code>-<name>.xlsx`, safe on Windows and in zip archives: none of `/ \ : * ? " < > |` nor
    /// control characters, no leading dot, no trailing dot or space, at most 80 characters, and
    /// unique in the directory whatever the case.
    static func fileName(code: String, name: String, taken: inout Set<String>) -> String {
        let raw = IDNumber.scrub(name.isEmpty ? code : code + "-" + name)
        var base = String(String.UnicodeScalarView(raw.unicodeScalars.map { s in
            s.value < 0x20 || s.value == 0x7F || "/\\:*?\"<>|".unicodeScalars.contains(s) ? "_" : s
        }))
        base = String(base.prefix(80))
        while base.hasSuffix(".") || base.hasSuffix(" ") { base.removeLast() }
        while base.hasPrefix(".") || base.hasPrefix(" ") { base.removeFirst() }
        if base.isEmpty { base = "学校" }
        var candidate = base
        var n = 2
        while taken.contains((candidate + ".xlsx").lowercased()) {
            candidate = base + "(\(n))"
            n += 1
        }
        taken.insert((candidate + ".xlsx").lowercased())
        return candidate + ".xlsx"
    }

    static let indexColumns = ["学校名称", "学校标识码", "错误", "警告", "新增", "已改正", "问题条数", "文件"]

    static func writeIndexCSV(_ books: [FeedbackWorkbook], to path: String) throws(WriteError) {
        let file = try BufferedFile(path: path)
        file.write([0xEF, 0xBB, 0xBF])
        let csv = CSVWriter(file: file)
        csv.writeRow(indexColumns, defuse: false)
        for b in books {
            csv.writeRow([IDNumber.scrub(b.name), b.code, String(b.errors), String(b.warnings), b.new.map(String.init) ?? "", b.fixed.map(String.init) ?? "",
                          String(b.findings), b.file])
        }
        try file.close()
    }

    static func writeIndexHTML(_ books: [FeedbackWorkbook], runID: String, withHistory: Bool, to path: String) throws(WriteError) {
        func h(_ text: String) -> String { HTMLText.escape(IDNumber.scrub(text)) }
        func href(_ file: String) -> String {
            file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: ":?#[]@!$&'()*+,;="))) ?? file
        }
        let schools = books.filter { !$0.code.isEmpty }
        var html = """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>各校问题反馈 \(h(runID))</title>
        <style>
        body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
        table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .7em;text-align:left}
        th{background:#ddebf7;white-space:nowrap}td.n{text-align:right}tr.e td.err{background:#ffc7ce;font-weight:bold}
        caption{text-align:left;margin-bottom:.5em;color:#555}
        </style></head><body>
        <h1>各校问题反馈</h1>
        <p>运行 \(h(runID))：\(schools.count) 所学校有问题，按错误数从多到少排列。每所学校的工作簿第一张表是问题清单，点击位置即跳到该单元格。</p>
        <table><caption>错误、警告按所在行数计\(withHistory ? "；新增、已改正与同样输入的上一次运行相比" : "")</caption>
        <thead><tr>\(indexColumns.map { "<th>\($0)</th>" }.joined())</tr></thead><tbody>

        """
        for b in books {
            html += "<tr class=\"\(b.errors > 0 ? "e" : "w")\"><td>\(h(b.name))</td><td>\(h(b.code))</td><td class=\"n err\">\(b.errors)</td>"
                + "<td class=\"n\">\(b.warnings)</td><td class=\"n\">\(b.new.map(String.init) ?? "—")</td><td class=\"n\">\(b.fixed.map(String.init) ?? "—")</td>"
                + "<td class=\"n\">\(b.findings)</td><td><a href=\"\(href(b.file))\">\(h(b.file))</a></td></tr>\n"
        }
        html += "</tbody></table>\n</body></html>\n"
        let file = try BufferedFile(path: path)
        file.write(Array(html.utf8))
        try file.close()
    }
}

/// The rows of a run's inputs as written, appended to a file of the private working directory and
/// read back by offset: each row's cells, length-prefixed.
final class RowSpill {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var flushed: Int64 = 0

    init(path: String) throws(WriteError) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        self.path = path
    }

    deinit { close(fd) }

    private static func put(_ value: Int, into bytes: inout [UInt8]) {
        let v = UInt32(clamping: value)
        bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8 & 0xFF)); bytes.append(UInt8(v >> 16 & 0xFF)); bytes.append(UInt8(v >> 24))
    }

    private static func get(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> Int {
        Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
    }

    /// Appends a row of `count` cells; returns its offset.
    func append(count: Int, cell: (Int) -> String) throws(WriteError) -> Int64 {
        let offset = flushed + Int64(buffer.count)
        let start = buffer.count
        Self.put(0, into: &buffer)
        Self.put(count, into: &buffer)
        for i in 0..<count {
            let text = cell(i)
            Self.put(text.utf8.count, into: &buffer)
            buffer.append(contentsOf: text.utf8)
        }
        let length = buffer.count - start - 4
        buffer.withUnsafeMutableBytes { raw in
            raw[start] = UInt8(length & 0xFF); raw[start + 1] = UInt8(length >> 8 & 0xFF)
            raw[start + 2] = UInt8(length >> 16 & 0xFF); raw[start + 3] = UInt8(length >> 24 & 0xFF)
        }
        if buffer.count >= 1 << 20 { try flush() }
        return offset
    }

    func flush() throws(WriteError) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(flushed) + off_t(written)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
            written += n
        }
        flushed += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// The cells of the row at `offset` (after `flush`); none when it cannot be read.
    func cells(at offset: Int64) -> [String] {
        var head = [UInt8](repeating: 0, count: 4)
        guard head.withUnsafeMutableBytes({ pread(fd, $0.baseAddress!, 4, off_t(offset)) }) == 4 else { return [] }
        let length = head.withUnsafeBytes { Self.get($0, 0) }
        guard length >= 4, length < 1 << 30 else { return [] }
        var record = [UInt8](repeating: 0, count: length)
        var got = 0
        while got < length {
            let n = record.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, length - got, off_t(offset) + 4 + off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return [] }
            got += n
        }
        return record.withUnsafeBytes { raw -> [String] in
            let count = Self.get(raw, 0)
            var cells: [String] = []
            cells.reserveCapacity(min(count, 1 << 16))
            var at = 4
            for _ in 0..<count {
                guard at + 4 <= raw.count else { break }
                let n = Self.get(raw, at)
                at += 4
                guard at + n <= raw.count else { break }
                cells.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[at..<(at + n)]), as: UTF8.self))
                at += n
            }
            return cells
        }
    }
}
