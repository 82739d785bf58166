// Check: a clerk's file as Excel shows it — each record at the row Excel gives it, the header, the
// field each column came from — read again with the encoding and header its run settled. What is
// kept does not grow with the rows: the header, where a record spanning several lines shifts the
// rows after it, the first row of each key a finding names, and a bounded set of school codes.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

struct FileLayout {
    /// The header row's cells as written, and its Excel row.
    var header: [String] = []
    var headerRow = 0
    /// Where Excel's rows fall behind the physical lines: from `line` on, rows are `shift` fewer.
    /// A text file's record whose quoted value holds line breaks spans several lines but is one
    /// row in Excel.
    var shifts: [(line: Int, shift: Int)] = []
    /// The last physical line of the file.
    var lastLine = 0
    /// The field position each schema column came from.
    var fieldForColumn: [String: Int] = [:]
    /// Data rows after the header.
    var dataRows = 0
    /// Codes in the school_code column (at most `schoolCodeLimit` of them).
    var schoolCodes: Set<String> = []
    static let schoolCodeLimit = 10_000
    /// The last Excel row and the widest row.
    var lastRow = 0
    var widest = 0
    /// The first physical line of each record key asked for (`school_code=3150010001`).
    var firstLines: [String: Int] = [:]

    /// Reads the file of `plan` once, learning the first line of each of `keys`.
    static func read(plan: ValidationRun.FilePlan, keys: Set<String> = []) -> FileLayout {
        var layout = FileLayout()
        let schema = plan.header.schema
        for (i, field) in plan.header.fieldForColumn.enumerated() {
            if let field, i < schema.columns.count { layout.fieldForColumn[schema.columns[i].name] = field }
        }
        layout.header = plan.header.headers
        let schoolField = layout.fieldForColumn["school_code"]
        // The keys asked for, by field: value → key.
        var wanted: [Int: [String: String]] = [:]
        for key in keys {
            if let (field, value) = layout.keyField(key) { wanted[field, default: [:]][value] = key }
        }
        var reader = plan.reader
        reader.computesDigest = false
        var extraLines = 0
        try? reader.read({ event in
            switch event {
            case .blankLine(let line):
                layout.lastLine = max(layout.lastLine, line)
            case .record(let record):
                let row = record.line - extraLines
                layout.lastLine = max(layout.lastLine, record.line + record.lineCount - 1)
                if record.lineCount > 1 {
                    extraLines += record.lineCount - 1
                    layout.shifts.append((record.line + record.lineCount, extraLines))
                }
                layout.lastRow = max(layout.lastRow, row)
                layout.widest = max(layout.widest, record.fieldCount)
                if record.line == plan.headerLine {
                    layout.headerRow = row
                    layout.header = (0..<record.fieldCount).map { record.lossyString($0) }
                }
                // The column-number row (栏次) under the header is not data either.
                guard record.line > plan.headerLine, record.line != plan.columnNumbersLine else { return }
                layout.dataRows += 1
                if let f = schoolField, f < record.fieldCount, layout.schoolCodes.count < schoolCodeLimit {
                    let code = record.lossyString(f).trimmingCharacters(in: .whitespaces)
                    if !code.isEmpty { layout.schoolCodes.insert(code) }
                }
                for (field, values) in wanted where field < record.fieldCount {
                    let value = record.lossyString(field).trimmingCharacters(in: .whitespaces)
                    if let key = values[value], layout.firstLines[key] == nil { layout.firstLines[key] = record.line }
                }
            }
        }, stopWhen: { false })
        layout.widest = max(layout.widest, layout.header.count)
        return layout
    }

    /// Excel's row for a physical line of the file (nil past its end).
    func excelRow(_ line: Int) -> Int? {
        guard line > 0, line <= max(lastLine, 1) else { return nil }
        var low = 0, high = shifts.count
        while low < high {
            let mid = (low + high) / 2
            if shifts[mid].line <= line { low = mid + 1 } else { high = mid }
        }
        return line - (low == 0 ? 0 : shifts[low - 1].shift)
    }

    /// The cells of the records at the given Excel rows, each cut to `characters` and at most
    /// `columns` of them, for showing.
    static func cells(plan: ValidationRun.FilePlan, layout: FileLayout, rows wanted: Set<Int>, characters: Int, columns: Int) -> [Int: [String]] {
        guard !wanted.isEmpty else { return [:] }
        var found: [Int: [String]] = [:]
        var reader = plan.reader
        reader.computesDigest = false
        let last = wanted.max() ?? 0
        var passed = false
        try? reader.read({ event in
            guard case .record(let record) = event, let row = layout.excelRow(record.line) else { return }
            if row >= last { passed = true }
            guard wanted.contains(row) else { return }
            found[row] = (0..<min(record.fieldCount, columns)).map { shown(record.lossyString($0), characters) }
        }, stopWhen: { passed })
        return found
    }

    /// `text` cut to `characters` with a mark.
    static func shown(_ text: String, _ characters: Int) -> String {
        guard text.utf8.count > characters, text.count > characters else { return text }
        return String(text.prefix(characters)) + "…"
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

    /// `D` → 3.
    static func index(letters: Substring) -> Int? {
        var n = 0
        for c in letters.utf8 {
            guard c >= 65, c <= 90, n < 1 << 20 else { return nil }
            n = n * 26 + Int(c - 64)
        }
        return n > 0 ? n - 1 : nil
    }
}
