// Model: the values of one row as the rule language sees them, and their types.
/// The type of a value in the rule language.
public enum ValueType: String, Sendable {
    case number, text, date, boolean
    /// The literal `missing`, which fits anywhere.
    case any

    public init(_ column: ColumnType) {
        switch column {
        case .integer, .decimal: self = .number
        case .text, .code, .enumeration: self = .text
        case .date: self = .date
        case .boolean: self = .boolean
        }
    }

    public func accepts(_ other: ValueType) -> Bool { self == .any || other == .any || self == other }

    public var label: String {
        switch self {
        case .number: return "数字 (number)"
        case .text: return "文字 (text)"
        case .date: return "日期 (date)"
        case .boolean: return "是/否 (boolean)"
        case .any: return "任意 (any)"
        }
    }
}

/// The values of the row being checked, by column position.
public final class RowValues {
    public var values: [Value]
    /// Results of calls several checks share (`SharedCalls`), valid while `stamp` is unchanged.
    /// Stamp 0 means none are kept: only a caller that calls `beginRow` for each row gets them.
    @usableFromInline var stamp = 0
    @usableFromInline var kept: [Value] = []
    @usableFromInline var keptStamps: [Int] = []

    public init(count: Int) { values = Array(repeating: .missing, count: count) }

    /// Starts a new row: results kept for the previous one no longer count.
    @inlinable public func beginRow() { stamp &+= 1 }

    @inlinable @inline(__always)
    public func keptResult(_ slot: Int) -> Value? {
        stamp != 0 && slot < keptStamps.count && keptStamps[slot] == stamp ? kept[slot] : nil
    }

    public func keep(_ value: Value, _ slot: Int) {
        guard stamp != 0 else { return }
        if slot >= keptStamps.count {
            kept.append(contentsOf: repeatElement(.missing, count: slot + 1 - kept.count))
            keptStamps.append(contentsOf: repeatElement(0, count: slot + 1 - keptStamps.count))
        }
        kept[slot] = value
        keptStamps[slot] = stamp
    }
}
