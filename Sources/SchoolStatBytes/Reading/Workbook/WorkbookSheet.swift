// Bytes (reading): one sheet of a workbook, as the workbook lists it — the same for an .xlsx
// workbook and a legacy .xls one — so that every sheet can be read, and a sheet that is not
// read can be named with the reason.
import SchoolStatModel

public struct WorkbookSheet: Sendable, Equatable {
    public enum Visibility: String, Sendable { case visible, hidden, veryHidden = "very hidden" }
    public enum Kind: String, Sendable { case worksheet, chart, other }

    /// The sheet's name as Excel shows it on its tab.
    public var name: String
    public var visibility: Visibility
    /// A worksheet holds cells; a chart sheet, a dialog or macro sheet does not.
    public var kind: Kind
    /// Its position in the workbook, from 0.
    public var index: Int

    public init(name: String, visibility: Visibility = .visible, kind: Kind = .worksheet, index: Int) {
        self.name = name; self.visibility = visibility; self.kind = kind; self.index = index
    }
}
