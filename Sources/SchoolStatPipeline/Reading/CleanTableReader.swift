// Reading: a table schoolstat wrote itself — clean/<table>.csv or rejected/<table>.csv of a run
// (UTF-8, comma, a header row of canonical names) — read back row by row. The one reader of a
// run's outputs: the previous period, `schoolstat score` and the quarantine all use it.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

public struct CleanTableReader {
    private var reader: TableFileReader

    /// Opens `path`; throws `ReadError.cannotOpen` when there is no such file.
    public init(path: String) throws(ReadError) {
        reader = try TableFileReader(path: path, encoding: .utf8, delimiter: 0x2C)
    }

    /// The header row alone, read without the rest of the file.
    public func header() throws(ReadError) -> [String] {
        var header: [String] = []
        try reader.readPrefix(records: 1) { r in header = (0..<r.fieldCount).map { r.string($0) ?? r.lossyString($0) } }
        return header
    }

    /// Calls `onHeader` with the header (canonical column names, then `source_file`,
    /// `source_line` in clean/), then `body` with each data row's cells and line. A cell that is
    /// not valid UTF-8, which schoolstat never writes, is read with replacement characters.
    public mutating func forEachRow(header onHeader: ([String]) -> Void = { _ in },
                                    _ body: (_ header: [String], _ cells: [String], _ line: Int) -> Void) throws(ReadError) {
        var header: [String] = []
        try withoutActuallyEscaping(onHeader) { onHeader throws(ReadError) in
            try withoutActuallyEscaping(body) { body throws(ReadError) in
                try reader.read { event in
                    guard case .record(let r) = event else { return }
                    let cells = (0..<r.fieldCount).map { r.string($0) ?? r.lossyString($0) }
                    if r.ordinal == 1 {
                        header = cells
                        onHeader(cells)
                        return
                    }
                    body(header, cells, r.line)
                }
            }
        }
    }

    /// Reads a value in the canonical form clean outputs are written in.
    public static func canonicalValue(_ text: String, _ type: ColumnType) -> Value {
        if text.isEmpty { return .missing }
        switch type {
        case .integer, .decimal:
            guard let d = NumberText.parsePlainDecimal(text) else { return .missing }
            return d.exponent >= 0 ? .integer(d.mantissa) : .decimal(d)
        case .date: return DateText.parse(text).map(Value.date) ?? .missing
        case .boolean: return text == "true" ? .boolean(true) : (text == "false" ? .boolean(false) : .missing)
        default: return .text(text.hasPrefix("'") && CSVWriter.isFormulaLike(String(text.dropFirst())) ? String(text.dropFirst()) : text)
        }
    }
}
