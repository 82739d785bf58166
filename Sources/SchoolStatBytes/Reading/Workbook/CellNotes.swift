// Bytes (reading): what a worksheet holds beside its cells' values — a formula without its
// result, a value merged down over several rows — the same for .xlsx and .xls sheets, and the
// filling of merged ranges that both readers share.
import SchoolStatModel

/// What a worksheet holds that its cells' values alone do not say.
public enum CellNote: Sendable, Equatable {
    /// A formula whose result the file does not hold (saved by a program that does not compute
    /// formulas): the cell reads as empty. `column` is 0-based; `formula` as written, shortened.
    case formulaWithoutValue(row: Int, column: Int, formula: String)
    /// Further formulas without a stored result past those named one by one: how many, and the
    /// row of the last.
    case moreFormulasWithoutValue(count: Int, lastRow: Int)
    /// A value merged down over the rows `top` to `bottom` (`range` as Excel writes it, `D3:D9`),
    /// filled into its column in each row of the range that has anything else.
    case mergedDown(range: String, top: Int, column: Int, value: String)
}

/// A merged range: rows and 0-based columns, inclusive.
struct MergedRange: Equatable {
    var top: Int, left: Int, bottom: Int, right: Int
    var reference: String

    /// "D3:D9" → its corners; nil for anything else.
    init?(_ ref: [UInt8]) {
        guard let colon = ref.firstIndex(of: 0x3A) else { return nil }
        func corner(_ part: ArraySlice<UInt8>) -> (row: Int, column: Int)? {
            let letters = part.prefix { $0 >= 65 && $0 <= 90 }
            guard let column = XLSXReader.columnIndex(Array(letters)) else { return nil }
            let digits = part.dropFirst(letters.count)
            guard !digits.isEmpty, digits.count <= 7, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let row = Int(String(decoding: digits, as: UTF8.self)), row >= 1, row <= XLSXReader.maximumRow else { return nil }
            return (row, column)
        }
        guard let a = corner(ref[..<colon]), let b = corner(ref[(colon + 1)...]) else { return nil }
        top = min(a.row, b.row); bottom = max(a.row, b.row)
        left = min(a.column, b.column); right = max(a.column, b.column)
        reference = String(decoding: ref.prefix(40), as: UTF8.self)
    }

    /// A range from its corners (rows 1-based, columns 0-based), named as Excel writes it.
    init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
        reference = Spreadsheet.columnLetter(left) + String(top) + ":" + Spreadsheet.columnLetter(right) + String(bottom)
    }
}

/// Fills the value of each range merged down over several rows into every row of the range, as
/// the rows of a sheet go by in order, and names each range once it is met: the same for .xlsx
/// and .xls sheets.
struct MergeFiller {
    /// Ranges over several rows, by top row; `next` is the first not yet reached, `filling` those
    /// reached whose value is being filled down.
    private let merges: [MergedRange]
    private var next = 0
    private var filling: [(range: MergedRange, value: String)] = []

    init(_ ranges: [MergedRange]) {
        merges = ranges.filter { $0.bottom > $0.top }.sorted { ($0.top, $0.left) < ($1.top, $1.left) }
    }

    var isEmpty: Bool { merges.isEmpty }

    /// Fills row `row` (its cells read, trailing empty ones still there): a range starting here
    /// takes its value from this row; a row further down gets it in the range's first column when
    /// it has anything else (a row left empty stays empty).
    mutating func fill(row: Int, cells: inout [String], notes: (CellNote) -> Void) {
        while next < merges.count && merges[next].top <= row {
            let range = merges[next]
            next += 1
            // A range whose top row holds nothing has nothing to fill.
            guard range.top == row, range.left < cells.count, !cells[range.left].isEmpty else { continue }
            let value = cells[range.left]
            filling.append((range, value))
            notes(.mergedDown(range: range.reference, top: range.top, column: range.left, value: value))
        }
        guard !filling.isEmpty else { return }
        filling.removeAll { $0.range.bottom < row }
        guard cells.contains(where: { !$0.isEmpty }) else { return }
        for (range, value) in filling where range.top < row {
            if range.left >= cells.count { cells.append(contentsOf: repeatElement("", count: range.left + 1 - cells.count)) }
            cells[range.left] = value
        }
    }
}
