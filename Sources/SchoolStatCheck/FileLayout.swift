// Check: a clerk's file as Excel shows it — each record at the row Excel gives it, the header, the
// field each column came from — read again with the encoding and header its run settled.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

struct FileLayout {
    /// The header row's cells as written, and its Excel row.
    var header: [String] = []
    var headerRow = 0
    /// Every record's cells as written, by Excel row.
    var rows: [Int: [String]] = [:]
    /// Excel's row for each physical line a record starts on. A text file's record whose quoted
    /// value holds line breaks spans several lines but is one row in Excel, so rows after it
    /// are fewer than lines.
    var excelRow: [Int: Int] = [:]
    /// The field position each schema column came from, and each field's column.
    var fieldForColumn: [String: Int] = [:]
    /// Data rows after the header.
    var dataRows = 0
    /// Codes in the school_code column.
    var schoolCodes: Set<String> = []
    /// The last Excel row and the widest row.
    var lastRow = 0
    var widest = 0

    static func read(plan: ValidationRun.FilePlan) -> FileLayout {
        var layout = FileLayout()
        let schema = plan.header.schema
        for (i, field) in plan.header.fieldForColumn.enumerated() {
            if let field, i < schema.columns.count { layout.fieldForColumn[schema.columns[i].name] = field }
        }
        layout.header = plan.header.headers
        let schoolField = layout.fieldForColumn["school_code"]
        var reader = plan.reader
        reader.computesDigest = false
        var extraLines = 0
        try? reader.read({ event in
            switch event {
            case .blankLine(let line):
                layout.excelRow[line] = line - extraLines
            case .record(let record):
                let row = record.line - extraLines
                layout.excelRow[record.line] = row
                extraLines += record.lineCount - 1
                let cells = (0..<record.fieldCount).map { record.lossyString($0) }
                layout.rows[row] = cells
                layout.lastRow = max(layout.lastRow, row)
                layout.widest = max(layout.widest, cells.count)
                if record.line == plan.headerLine { layout.headerRow = row }
                if record.line > plan.headerLine {
                    layout.dataRows += 1
                    if let f = schoolField, f < cells.count, !cells[f].isEmpty {
                        layout.schoolCodes.insert(cells[f].trimmingCharacters(in: .whitespaces))
                    }
                }
            }
        }, stopWhen: { false })
        if let header = layout.rows[layout.headerRow] { layout.header = header }
        layout.widest = max(layout.widest, layout.header.count)
        return layout
    }

    /// The field a finding is about: its column, a field beyond the header (`#N`), or the column
    /// of the row's key (`school_code=…`) for a finding about a group of rows.
    func field(for entry: LedgerEntry) -> Int? {
        if !entry.column.isEmpty {
            if let f = fieldForColumn[entry.column] { return f }
            if entry.column.hasPrefix("#") { return Self.index(letters: entry.column.dropFirst()) }
            return nil
        }
        if let equals = entry.recordKey.firstIndex(of: "=") {
            return fieldForColumn[String(entry.recordKey[..<equals])]
        }
        return nil
    }

    /// The field and value of a record key such as `school_code=3150010001`.
    func keyField(_ recordKey: String) -> (Int, String)? {
        guard let equals = recordKey.firstIndex(of: "="), let field = fieldForColumn[String(recordKey[..<equals])] else { return nil }
        return (field, String(recordKey[recordKey.index(after: equals)...]))
    }

    /// The physical line of the first data row whose `field` holds `value`.
    func firstLine(field: Int, value: String) -> Int? {
        let lines = Dictionary(excelRow.map { ($0.value, $0.key) }, uniquingKeysWith: min)
        for row in rows.keys.sorted() where row > headerRow {
            if let cells = rows[row], field < cells.count, cells[field].trimmingCharacters(in: .whitespaces) == value { return lines[row] }
        }
        return nil
    }

    /// `D` → 3.
    static func index(letters: Substring) -> Int? {
        var n = 0
        for c in letters.utf8 {
            guard c >= 65, c <= 90 else { return nil }
            n = n * 26 + Int(c - 64)
        }
        return n > 0 ? n - 1 : nil
    }
}
