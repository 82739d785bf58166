// Model (messages): what can be wrong with one cell, as the message catalogue names it. The
// words are not here: CellMessage+zh.swift holds the Chinese catalogue, CellMessage+en.swift the
// English one; code that finds a problem names the case and the values, never a sentence.

/// The column a cell message is about, as messages name it. Built once per column.
public struct CellSubject: Sendable {
    /// `出生日期（birth_date）`.
    public var label: String
    public var titleZh: String
    public var titleEn: String
    public var name: String
    /// The schema's hint, ready to append: `（18 位，最后一位可以是 X）`, or empty.
    public var hintZh: String
    /// ` Use 18 characters.`, or empty.
    public var hintEn: String

    public init(_ column: ColumnSpec) {
        label = column.label
        titleZh = column.titleZh
        titleEn = column.titleEn
        name = column.name
        hintZh = column.hintZh.map { "（\($0)）" } ?? ""
        hintEn = column.hintEn.map { " \($0)" } ?? ""
    }
}

/// A problem with one cell. `shown` is the value as a message may show it (an ID number masked).
public enum CellMessage: Sendable {
    case required
    case length(expected: String, found: Int, shown: String)
    case pattern(shown: String)
    /// Excel turned a long code into `5.00102E+17`.
    case scientific(shown: String)
    case digits(shown: String)
    case notNumber(integer: Bool, unit: String?, shown: String)
    case misplacedGrouping(shown: String)
    case tooManyDigits(shown: String)
    case unknownUnit(shown: String, written: String, unit: String, spellings: String)
    case notWhole(shown: String, read: String)
    /// `headerUnit` and `read`: the header declared a unit and the value was scaled to `read`.
    case outOfRange(shown: String, range: String, unit: String, negative: Bool, headerUnit: String?, read: String)
    case notDate(shown: String)
    case dateOutOfRange(day: String, shown: String, range: String)
    case notBoolean(shown: String)
    /// `acceptedZh`: the Chinese spellings (or the schema's hint); `acceptedEn`: the hint or the canonical keys.
    case notAccepted(shown: String, acceptedZh: String, acceptedEn: String)
}
