// Check: the clerk's own file handed back as a workbook with every problem marked. First a sheet
// 问题清单 listing each problem with a link to its cell; then each file as a sheet of its own, its
// rows and columns where they were and as they were written, each problem cell filled (red: an
// error, yellow: a warning) with a comment saying what is wrong and how to put it right. The
// header row is frozen and filtered. The workbook can be corrected and checked again: the reader
// passes over the problem list.
//
// Written in libxlsxwriter's constant-memory mode, row after row: the problem list in the order
// the findings were placed, each file read again as it is written, so that neither the clerk's
// rows nor the findings' texts are held, however many there are.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

enum AnnotatedWorkbook {
    static let errorFill: UInt32 = 0xFFC7CE
    static let warningFill: UInt32 = 0xFFEB9C
    static let headerFill: UInt32 = 0xDDEBF7

    /// One of the clerk's files.
    struct Source {
        /// The clerk's name for the file, and the sheet of a workbook of several (empty otherwise).
        var name: String
        var sheet: String
        var order: Int32
        /// Its place among the sheets handed back: the file's, then the sheet's in its workbook.
        var position: Int
        var plan: ValidationRun.FilePlan
        var layout: FileLayout
    }

    /// A sheet of the clerk's workbook that is not a table (notes, a list of choices): handed back as it was.
    struct PlainSheet {
        var path: String
        var sheet: String
        /// Its place among the sheets handed back, as for `Source`.
        var position: Int
    }

    /// Writes the workbook: `placed` in order (their texts read from `spill` and placed by
    /// `problem`), after the `extra` problems about whole files.
    static func write(placed: [ClerkCheck.Placed], spill: ProblemSpill, extra: [CheckProblem], sources: [Source], plain: [PlainSheet] = [],
                      limits: CheckLimits, to path: String, temporaryDirectory: String, problem: (LedgerEntry) -> CheckProblem) throws(WriteError) {
        let book = try XLSXWriter(path: path, temporaryDirectory: temporaryDirectory, constantMemory: true)
        book.mark(title: "schoolstat 检查结果", ClerkCheck.workbookMark)
        let listSheet = book.addSheet(Spreadsheet.problemListSheet)
        // Sheet names first, so that the list can link to them.
        // Keyed by file and sheet; a workbook's sheet keeps its name, a file is named after itself.
        var sheets: [String: XLSXWriter.Sheet] = [:]
        func key(_ file: String, _ sheet: String) -> String { file + "\u{0}" + sheet }
        // Every sheet of the clerk's workbooks in their order: table sheets and the others.
        var order: [(position: Int, plain: Bool, index: Int)] = sources.indices.map { (sources[$0].position, false, $0) }
        order += plain.indices.map { (plain[$0].position, true, $0) }
        order.sort { $0.position < $1.position }
        var plainSheets: [(PlainSheet, XLSXWriter.Sheet)] = []
        for item in order {
            if item.plain {
                let p = plain[item.index]
                plainSheets.append((p, book.addSheet(IDNumber.scrub(p.sheet))))
            } else {
                let source = sources[item.index]
                let base = (source.name as NSString).lastPathComponent
                sheets[key(source.name, source.sheet)] = book.addSheet(IDNumber.scrub(source.sheet.isEmpty ? (base as NSString).deletingPathExtension : source.sheet))
            }
        }

        // 问题清单
        let heading = XLSXWriter.Style(fill: headerFill, bold: true)
        var list = ProblemList(listSheet, heading: heading)
        for p in extra { list.add(p, link: sheets[key(p.file, p.sheet)]?.name) }
        for p in placed where list.hasRoom {
            guard let entry = spill.entry(at: p.offset) else { continue }
            let problem = problem(entry)
            list.add(problem, link: sheets[key(problem.file, problem.sheet)]?.name)
        }
        list.finish(total: extra.count + placed.count)

        // The clerk's files, each as written, problems marked.
        for source in sources {
            guard let sheet = sheets[key(source.name, source.sheet)] else { continue }
            writeSheet(sheet, source: source, placed: placed, spill: spill, limits: limits, heading: heading)
        }
        for (p, sheet) in plainSheets {
            guard var reader = try? TableFileReader(path: p.path, sheet: p.sheet) else { continue }
            reader.computesDigest = false
            try? reader.read({ event in
                guard case .record(let record) = event else { return }
                for column in 0..<record.fieldCount { sheet.write(row: record.line - 1, column: column, record.lossyString(column)) }
            }, stopWhen: { false })
        }
        try book.close()
    }

    /// The problem list: a row per problem with a link to its cell, after the header; past Excel's
    /// rows a count of the rest. `extraColumns` follow the check's own.
    struct ProblemList {
        static let columns: [(String, Double)] = [("序号", 6), ("级别", 6), ("位置（点击跳转）", 24), ("文件", 20), ("列", 16), ("填写的值", 20),
                                                  ("问题与改法", 80), ("规则编号", 28)]
        let sheet: XLSXWriter.Sheet
        let width: Int
        private(set) var row = 0
        let room = XLSXWriter.maximumRows - 2

        init(_ sheet: XLSXWriter.Sheet, heading: XLSXWriter.Style, extraColumns: [(String, Double)] = []) {
            self.sheet = sheet
            let all = Self.columns + extraColumns
            width = all.count
            for (i, (title, width)) in all.enumerated() {
                sheet.write(row: 0, column: i, title, style: heading)
                sheet.setWidth(column: i, width, style: i == 6 ? XLSXWriter.Style(wrap: true) : nil)
            }
        }

        var hasRoom: Bool { row < room }

        /// One problem; `link` is the sheet its cell is on (nil: no link), `extra` the extra columns' texts.
        mutating func add(_ problem: CheckProblem, link: String?, extra: [String] = []) {
            guard hasRoom else { return }
            // The problem list is the clerk's to forward: every text through the ID-number scrub.
            let p = CheckReport.scrubbed(problem)
            row += 1
            let fill = XLSXWriter.Style(fill: p.severity == .error ? errorFill : warningFill)
            sheet.write(row: row, column: 0, String(row))
            sheet.write(row: row, column: 1, p.severity == .error ? "错误" : "警告", style: fill)
            if let link {
                sheet.writeLink(row: row, column: 2, to: link, cell: p.cell.isEmpty ? "A\(max(p.row, 1))" : p.cell, text: p.placeZh)
            } else {
                sheet.write(row: row, column: 2, p.placeZh)
            }
            sheet.write(row: row, column: 3, p.sheet.isEmpty ? p.file : "\(p.file) [\(p.sheet)]")
            sheet.write(row: row, column: 4, p.heading.isEmpty ? p.column : p.heading)
            sheet.write(row: row, column: 5, p.value)
            sheet.write(row: row, column: 6, p.messageZh, style: XLSXWriter.Style(wrap: true))
            sheet.write(row: row, column: 7, p.rule)
            for (i, text) in extra.enumerated() { sheet.write(row: row, column: Self.columns.count + i, IDNumber.scrub(text)) }
        }

        /// The count of problems not listed, or that there are none; the header frozen and filtered.
        mutating func finish(total: Int) {
            let unlisted = total - row
            if unlisted > 0 {
                row += 1
                sheet.write(row: row, column: 6, "另有 \(unlisted) 处问题超出了 Excel 一张表的行数，未列出；问题单元格在各表中仍已标色。", style: XLSXWriter.Style(wrap: true))
            }
            if row == 0 { sheet.write(row: 1, column: 6, "没有发现问题。") }
            sheet.freeze(rows: 1)
            sheet.filter(headerRow: 0, columns: width, lastRow: max(row, 1))
        }
    }

    /// One file's rows in order, each problem cell filled and (up to the limit) commented.
    static func writeSheet(_ sheet: XLSXWriter.Sheet, source: Source, placed: [ClerkCheck.Placed], spill: ProblemSpill, limits: CheckLimits,
                           heading: XLSXWriter.Style) {
        let layout = source.layout
        var reader = source.plan.reader
        reader.computesDigest = false
        // This file's findings on a row, in row order (placed is sorted by file, row, column).
        let mine = placed.filter { $0.order == source.order && $0.row > 0 }
        writeRows(sheet, layout: layout, placed: mine, spill: spill, limits: limits, heading: heading,
                  message: { layout.rowsForLines($0, pattern: zhLine, template: "第 %d 行") }) { row in
            withoutActuallyEscaping(row) { row in
                // A file damaged part-way: the run reported where; the rows up to the damage are in the sheet.
                try? reader.read({ event in
                    guard case .record(let record) = event, let at = layout.excelRow(record.line) else { return }
                    row(at, record.fieldCount) { record.lossyString($0) }
                }, stopWhen: { false })
            }
        }
    }

    /// A sheet's rows, each problem cell filled and (up to the limit) commented: `rows` gives each
    /// row in order (its Excel row, its number of cells and each cell's text); `placed` are the
    /// findings on this sheet's rows in row order; `message` turns a finding's message into what the
    /// comment says.
    static func writeRows(_ sheet: XLSXWriter.Sheet, layout: FileLayout, placed mine: [ClerkCheck.Placed], spill: ProblemSpill, limits: CheckLimits,
                          heading: XLSXWriter.Style, message: @escaping (String) -> String,
                          rows: (_ row: (_ at: Int, _ count: Int, _ cell: (Int) -> String) -> Void) -> Void) {
        var next = 0
        /// Findings whose range of rows is still under way.
        var open: [ClerkCheck.Placed] = []
        var comments = 0
        for column in 0..<min(layout.widest, XLSXWriter.maximumColumns) {
            let title = column < layout.header.count ? layout.header[column] : ""
            sheet.setWidth(column: column, min(max(Double(title.utf8.count) * 0.8 + 4, 10), 40))
        }
        if layout.headerRow > 0 {
            sheet.freeze(rows: layout.headerRow)
            sheet.filter(headerRow: layout.headerRow - 1, columns: max(layout.header.count, 1), lastRow: max(layout.lastRow - 1, layout.headerRow - 1))
        }
        rows { row, fieldCount, cell in
            // The findings on this row: ranges still open, and those starting here.
            open.removeAll { Int(max($0.row, $0.lastRow)) < row }
            var here: [ClerkCheck.Placed] = open
            while next < mine.count, Int(mine[next].row) <= row {
                let p = mine[next]
                next += 1
                if Int(max(p.row, p.lastRow)) < row { continue }
                here.append(p)
                if p.lastRow > p.row { open.append(p) }
            }
            var byColumn: [Int: [ClerkCheck.Placed]] = [:]
            for p in here { byColumn[Int(max(p.column, 0)), default: []].append(p) }
            let style: XLSXWriter.Style? = row == layout.headerRow ? heading : nil
            for column in 0..<fieldCount where byColumn[column] == nil {
                sheet.write(row: row - 1, column: column, cell(column), style: style)
            }
            for (column, problems) in byColumn.sorted(by: { $0.key < $1.key }) {
                let worst = problems.contains { $0.isError }
                let text = column < fieldCount ? cell(column) : ""
                sheet.write(row: row - 1, column: column, text, style: XLSXWriter.Style(fill: worst ? errorFill : warningFill))
                // A range's comment on its first row only: the message names the range.
                let starting = problems.filter { Int($0.row) == row }
                guard !starting.isEmpty, comments < limits.comments else { continue }
                comments += 1
                let note = starting.compactMap { p -> String? in
                    spill.entry(at: p.offset).map { (p.isError ? "【错误】" : "【警告】") + message($0.messageZh) }
                }.joined(separator: "\n")
                sheet.comment(row: row - 1, column: column, note)
            }
        }
    }
}
