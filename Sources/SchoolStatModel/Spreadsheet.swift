// Model: how a spreadsheet names places, as a clerk sees them in Excel.

public enum Spreadsheet {
    /// The sheet listing every problem that `schoolstat check` puts first in a clerk's annotated
    /// workbook; the workbook reader passes over it when the clerk sends the copy back.
    public static let problemListSheet = "问题清单"

    /// A cell as a clerk finds it in Excel: 「第 17 行 D 列（D17）」.
    public static func cellPlace(row: Int, column: Int) -> (zh: String, en: String, reference: String) {
        let letter = columnLetter(column)
        return ("第 \(row) 行 \(letter) 列（\(letter)\(row)）", "row \(row), column \(letter) (\(letter)\(row))", "\(letter)\(row)")
    }

    /// Excel's letters for the column at zero-based `index`: A, B, … Z, AA, … XFD.
    public static func columnLetter(_ index: Int) -> String {
        var n = index + 1
        var s = ""
        while n > 0 {
            let r = (n - 1) % 26
            s = String(UnicodeScalar(UInt8(65 + r))) + s
            n = (n - 1) / 26
        }
        return s
    }
}
