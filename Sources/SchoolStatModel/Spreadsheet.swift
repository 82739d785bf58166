// Model: how a spreadsheet names places, as a clerk sees them in Excel.

public enum Spreadsheet {
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
