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
        let list = book.addSheet(Spreadsheet.problemListSheet)
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
        let columns: [(String, Double)] = [("序号", 6), ("级别", 6), ("位置（点击跳转）", 24), ("文件", 20), ("列", 16), ("填写的值", 20),
                                           ("问题与改法", 80), ("规则编号", 28)]
        for (i, (title, width)) in columns.enumerated() {
            list.write(row: 0, column: i, title, style: heading)
            list.setWidth(column: i, width, style: i == 6 ? XLSXWriter.Style(wrap: true) : nil)
        }
        var row = 0
        let room = XLSXWriter.maximumRows - 2
        func listed(_ problem: CheckProblem) {
            // The problem list is the clerk's to forward: every text through the ID-number scrub.
            let p = CheckReport.scrubbed(problem)
            row += 1
            let fill = XLSXWriter.Style(fill: p.severity == .error ? errorFill : warningFill)
            list.write(row: row, column: 0, String(row))
            list.write(row: row, column: 1, p.severity == .error ? "错误" : "警告", style: fill)
            if let sheet = sheets[key(p.file, p.sheet)] {
                list.writeLink(row: row, column: 2, to: sheet.name, cell: p.cell.isEmpty ? "A\(max(p.row, 1))" : p.cell, text: p.placeZh)
            } else {
                list.write(row: row, column: 2, p.placeZh)
            }
            list.write(row: row, column: 3, p.sheet.isEmpty ? p.file : "\(p.file) [\(p.sheet)]")
            list.write(row: row, column: 4, p.heading.isEmpty ? p.column : p.heading)
            list.write(row: row, column: 5, p.value)
            list.write(row: row, column: 6, p.messageZh, style: XLSXWriter.Style(wrap: true))
            list.write(row: row, column: 7, p.rule)
        }
        for p in extra { listed(p) }
        for p in placed where row < room {
            guard let entry = spill.entry(at: p.offset) else { continue }
            listed(problem(entry))
        }
        let unlisted = extra.count + placed.count - row
        if unlisted > 0 {
            row += 1
            list.write(row: row, column: 6, "另有 \(unlisted) 处问题超出了 Excel 一张表的行数，未列出；问题单元格在各表中仍已标色。", style: XLSXWriter.Style(wrap: true))
        }
        if row == 0 { list.write(row: 1, column: 6, "没有发现问题。") }
        list.freeze(rows: 1)
        list.filter(headerRow: 0, columns: columns.count, lastRow: max(row, 1))

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

    /// One file's rows in order, each problem cell filled and (up to the limit) commented.
    static func writeSheet(_ sheet: XLSXWriter.Sheet, source: Source, placed: [ClerkCheck.Placed], spill: ProblemSpill, limits: CheckLimits,
                           heading: XLSXWriter.Style) {
        let layout = source.layout
        // This file's findings on a row, in row order (placed is sorted by file, row, column).
        let mine = placed.filter { $0.order == source.order && $0.row > 0 }
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
        var reader = source.plan.reader
        reader.computesDigest = false
        // A file damaged part-way: the run reported where; the rows up to the damage are in the sheet.
        try? reader.read({ event in
            guard case .record(let record) = event, let row = layout.excelRow(record.line) else { return }
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
            for column in 0..<record.fieldCount where byColumn[column] == nil {
                sheet.write(row: row - 1, column: column, record.lossyString(column), style: style)
            }
            for (column, problems) in byColumn.sorted(by: { $0.key < $1.key }) {
                let worst = problems.contains { $0.isError }
                let text = column < record.fieldCount ? record.lossyString(column) : ""
                sheet.write(row: row - 1, column: column, text, style: XLSXWriter.Style(fill: worst ? errorFill : warningFill))
                // A range's comment on its first row only: the message names the range.
                let starting = problems.filter { Int($0.row) == row }
                guard !starting.isEmpty, comments < limits.comments else { continue }
                comments += 1
                let note = starting.compactMap { p -> String? in
                    spill.entry(at: p.offset).map { (p.isError ? "【错误】" : "【警告】") + layout.rowsForLines($0.messageZh, pattern: zhLine, template: "第 %d 行") }
                }.joined(separator: "\n")
                sheet.comment(row: row - 1, column: column, note)
            }
        }, stopWhen: { false })
    }
}
