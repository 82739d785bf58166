// Check: the clerk's own file handed back as a workbook with every problem marked. First a sheet
// 问题清单 listing each problem with a link to its cell; then each file as a sheet of its own, its
// rows and columns where they were and as they were written, each problem cell filled (red: an
// error, yellow: a warning) with a comment saying what is wrong and how to put it right. The
// header row is frozen and filtered. The workbook can be corrected and checked again: the reader
// passes over the problem list.
import Foundation
import SchoolStatModel
import SchoolStatBytes

enum AnnotatedWorkbook {
    static let errorFill: UInt32 = 0xFFC7CE
    static let warningFill: UInt32 = 0xFFEB9C
    static let headerFill: UInt32 = 0xDDEBF7

    static func write(report: CheckReport, layouts: [(name: String, layout: FileLayout)], to path: String, temporaryDirectory: String) throws(WriteError) {
        let book = try XLSXWriter(path: path, temporaryDirectory: temporaryDirectory)
        book.mark(title: "schoolstat 检查结果", ClerkCheck.workbookMark)
        let list = book.addSheet(Spreadsheet.problemListSheet)
        // Sheet names first, so that the list can link to them.
        var sheets: [String: XLSXWriter.Sheet] = [:]
        for (name, _) in layouts {
            let base = (name as NSString).lastPathComponent
            sheets[name] = book.addSheet((base as NSString).deletingPathExtension)
        }

        // 问题清单
        let heading = XLSXWriter.Style(fill: headerFill, bold: true)
        let columns: [(String, Double)] = [("序号", 6), ("级别", 6), ("位置（点击跳转）", 24), ("文件", 20), ("列", 16), ("填写的值", 20),
                                           ("问题与改法", 80), ("规则编号", 28)]
        for (i, (title, width)) in columns.enumerated() {
            list.write(row: 0, column: i, title, style: heading)
            list.setWidth(column: i, width, style: i == 6 ? XLSXWriter.Style(wrap: true) : nil)
        }
        for (n, p) in report.problems.enumerated() {
            let row = n + 1
            let fill = XLSXWriter.Style(fill: p.severity == .error ? errorFill : warningFill)
            list.write(row: row, column: 0, String(row))
            list.write(row: row, column: 1, p.severity == .error ? "错误" : "警告", style: fill)
            if let sheet = sheets[p.file] {
                list.writeLink(row: row, column: 2, to: sheet.name, cell: p.cell.isEmpty ? "A\(max(p.row, 1))" : p.cell, text: p.placeZh)
            } else {
                list.write(row: row, column: 2, p.placeZh)
            }
            list.write(row: row, column: 3, p.file)
            list.write(row: row, column: 4, p.heading.isEmpty ? p.column : p.heading)
            list.write(row: row, column: 5, p.value)
            list.write(row: row, column: 6, p.messageZh, style: XLSXWriter.Style(wrap: true))
            list.write(row: row, column: 7, p.rule)
        }
        if report.problems.isEmpty { list.write(row: 1, column: 6, "没有发现问题。") }
        list.freeze(rows: 1)
        list.filter(headerRow: 0, columns: columns.count, lastRow: max(report.problems.count, 1))

        // The clerk's files, each as written, problems marked.
        for (name, layout) in layouts {
            guard let sheet = sheets[name] else { continue }
            var marks: [Int: [Int: [CheckProblem]]] = [:]
            for p in report.problems where p.file == name && p.row > 0 {
                marks[p.row, default: [:]][p.columnIndex ?? 0, default: []].append(p)
            }
            for (row, cells) in layout.rows {
                for (column, text) in cells.enumerated() {
                    let style: XLSXWriter.Style? = row == layout.headerRow ? heading : nil
                    if marks[row]?[column] == nil { sheet.write(row: row - 1, column: column, text, style: style) }
                }
            }
            for (row, byColumn) in marks {
                for (column, problems) in byColumn {
                    let worst: Severity = problems.contains { $0.severity == .error } ? .error : .warning
                    let text = column < (layout.rows[row]?.count ?? 0) ? layout.rows[row]![column] : ""
                    sheet.write(row: row - 1, column: column, text, style: XLSXWriter.Style(fill: worst == .error ? errorFill : warningFill))
                    let note = problems.map { ($0.severity == .error ? "【错误】" : "【警告】") + $0.messageZh }.joined(separator: "\n")
                    sheet.comment(row: row - 1, column: column, note)
                }
            }
            for column in 0..<min(layout.widest, XLSXWriter.maximumColumns) {
                let title = column < layout.header.count ? layout.header[column] : ""
                sheet.setWidth(column: column, min(max(Double(title.utf8.count) * 0.8 + 4, 10), 40))
            }
            if layout.headerRow > 0 {
                sheet.freeze(rows: layout.headerRow)
                sheet.filter(headerRow: layout.headerRow - 1, columns: max(layout.header.count, 1), lastRow: max(layout.lastRow - 1, layout.headerRow - 1))
            }
        }
        try book.close()
    }
}
