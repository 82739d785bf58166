// Model (normalising): the typed values a cell becomes, with their canonical text forms.

/// An exact decimal number: `mantissa × 10^exponent`.
///
/// Amounts such as `15.4203万` must become exactly 154203 yuan; binary
/// floating point would give 154202.99999999997.
public struct FixedDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var mantissa: Int64
    public var exponent: Int

    @inlinable
    public init(mantissa: Int64, exponent: Int) {
        self.mantissa = mantissa
        self.exponent = exponent
        normalise()
    }

    @inlinable public init(_ integer: Int64) { self.init(mantissa: integer, exponent: 0) }

    /// Drops trailing zeros so equal numbers have equal representations.
    @inlinable mutating func normalise() {
        if mantissa == 0 { exponent = 0; return }
        while mantissa % 10 == 0 && exponent < 0 { mantissa /= 10; exponent += 1 }
        while exponent > 0 {
            let (m, overflow) = mantissa.multipliedReportingOverflow(by: 10)
            if overflow { break }
            mantissa = m
            exponent -= 1
        }
    }

    /// Multiplies by 10^power exactly (unit scaling: 万 is 4, % is -2); nil when the result
    /// cannot be held exactly (a whole number beyond 64 bits), so the caller reports the cell
    /// instead of trapping or keeping a wrong value.
    public func scaled(byPowerOfTen power: Int) -> FixedDecimal? {
        let (e, overflow) = exponent.addingReportingOverflow(power)
        guard !overflow, e <= Self.largestExponent, e >= -Self.largestExponent else { return nil }
        let result = FixedDecimal(mantissa: mantissa, exponent: e)
        return result.exponent > 0 ? nil : result
    }

    /// The furthest power of ten a scaled value may reach: beyond what a cell can hold (18
    /// digits, an exponent of three digits, a unit's power) and small enough that the loops
    /// over the exponent stay short.
    public static let largestExponent = 1_100

    @inlinable
    public var doubleValue: Double {
        var v = Double(mantissa)
        if exponent > 0 { for _ in 0..<exponent { v *= 10 } }
        if exponent < 0 { for _ in 0..<(-exponent) { v /= 10 } }
        return v
    }

    /// The value as an integer if it has no fractional part.
    public var integerValue: Int64? {
        exponent >= 0 ? mantissa : nil
    }

    /// Plain decimal notation with `.`, no separators, no exponent: `1814.2`, `-0.05`, `154203`.
    public var description: String {
        if exponent >= 0 { return String(mantissa) }
        let negative = mantissa < 0
        var digits = String(mantissa.magnitude)
        let places = -exponent
        if digits.count <= places {
            digits = String(repeating: "0", count: places - digits.count + 1) + digits
        }
        let cut = digits.index(digits.endIndex, offsetBy: -places)
        return (negative ? "-" : "") + digits[..<cut] + "." + digits[cut...]
    }

    @inlinable
    public static func < (a: FixedDecimal, b: FixedDecimal) -> Bool {
        a.doubleValue < b.doubleValue
    }
}

/// A calendar date without time zone.
public struct Day: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Returns nil for dates that do not exist (2023-02-29, month 13).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= Day.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Whole years from `self` to `other` (an age on a given date).
    public func wholeYears(until other: Day) -> Int {
        var years = other.year - year
        if (other.month, other.day) < (month, day) { years -= 1 }
        return years
    }

    /// ISO 8601: `2024-12-01`.
    public var description: String {
        func pad(_ n: Int, _ w: Int) -> String {
            let s = String(n)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Calendar order: every `Day` is a real date, so (year, month, day) orders them as the days since the epoch would.
    @inlinable public static func < (a: Day, b: Day) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

/// A normalised cell value.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case missing
    case integer(Int64)
    case decimal(FixedDecimal)
    case text(String)
    case date(Day)
    case boolean(Bool)
    /// A computed number that has no exact decimal form (a quotient).
    case real(Double)

    @inlinable
    public var isMissing: Bool { if case .missing = self { return true } else { return false } }

    /// Whether this is the boolean true (what a check's condition must give to pass).
    @inlinable
    public var isTrue: Bool { if case .boolean(true) = self { return true } else { return false } }

    /// The canonical textual form written to clean outputs.
    @inlinable
    public var description: String {
        switch self {
        case .missing: return ""
        case .integer(let i): return String(i)
        case .decimal(let d): return d.description
        case .text(let s): return s
        case .date(let d): return d.description
        case .boolean(let b): return b ? "true" : "false"
        case .real(let r): return Value.format(r)
        }
    }

    /// The numeric value, for arithmetic in rules.
    @inlinable
    public var number: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .decimal(let d): return d.doubleValue
        case .real(let r): return r
        default: return nil
        }
    }

    /// Up to six decimal places, trailing zeros dropped: deterministic across runs.
    public static func format(_ r: Double) -> String {
        guard r.isFinite else { return r.isNaN ? "NaN" : (r > 0 ? "Infinity" : "-Infinity") }
        let scaled = (r * 1_000_000).rounded()
        guard abs(scaled) < 9e17 else { return String(r) }
        return FixedDecimal(mantissa: Int64(scaled), exponent: -6).description
    }
}
