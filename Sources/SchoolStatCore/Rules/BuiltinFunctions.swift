// Rules: the functions rule files can call. Each is a small, separately
// testable unit; docs/rules.md lists them.
import CSupport

/// A call's argument values: one or two held inline, so that a call on the per-row path
/// allocates nothing; three or more in an array.
struct Arguments: RandomAccessCollection {
    private let one: Value
    private let two: Value
    private let all: [Value]
    let endIndex: Int
    var startIndex: Int { 0 }

    init(_ one: Value) { self.one = one; two = .missing; all = []; endIndex = 1 }
    init(_ one: Value, _ two: Value) { self.one = one; self.two = two; all = []; endIndex = 2 }
    init(_ values: [Value]) { one = .missing; two = .missing; all = values; endIndex = values.count }

    subscript(i: Int) -> Value { all.isEmpty ? (i == 0 ? one : two) : all[i] }
}

/// A function of the rule language.
struct BuiltinFunction: Sendable {
    var name: String
    var summary: String
    /// Argument types; the last repeats when `variadic`.
    var parameters: [ValueType]
    var variadic: Bool = false
    /// Result type; `nil` means "the type of the first argument".
    var result: ValueType?
    /// Most functions give `missing` when an argument is missing; `coalesce` and `present` do not.
    var propagatesMissing: Bool = true
    var implementation: @Sendable (Arguments) -> Value

    func check(_ types: [ValueType], _ offset: Int) throws(ExpressionCompileError) -> ValueType {
        let countOK = variadic ? types.count >= parameters.count : types.count == parameters.count
        guard countOK else {
            throw ExpressionCompileError(offset: offset, message: "函数 \(name) 需要 \(parameters.count)\(variadic ? " 个或更多" : " 个")参数，实际给了 \(types.count) 个 (\(name) takes \(parameters.count)\(variadic ? "+" : "") arguments, got \(types.count))")
        }
        for (i, t) in types.enumerated() {
            let expected = parameters[min(i, parameters.count - 1)]
            guard expected.accepts(t) else {
                throw ExpressionCompileError(offset: offset, message: "函数 \(name) 的第 \(i + 1) 个参数应为 \(expected.label)，实际为 \(t.label) (argument \(i + 1) of \(name): type mismatch)")
            }
        }
        return result ?? (types.first { $0 != .any } ?? .any)
    }
}

enum BuiltinFunctions {
    static let all: [String: BuiltinFunction] = {
        var table: [String: BuiltinFunction] = [:]
        for f in list { table[f.name] = f }
        return table
    }()

    static let list: [BuiltinFunction] = [
        BuiltinFunction(name: "id_checksum_ok", summary: "身份证号第18位校验码正确 (ISO 7064 MOD 11-2)", parameters: [.text], result: .boolean) { a in
            guard case .text(let s) = a[0] else { return .missing }
            return .boolean(IDNumber.checksumIsValid(s))
        },
        BuiltinFunction(name: "id_birth_date", summary: "身份证号中的出生日期", parameters: [.text], result: .date) { a in
            guard case .text(let s) = a[0], let d = IDNumber.birthDate(s) else { return .missing }
            return .date(d)
        },
        BuiltinFunction(name: "id_sex", summary: "身份证号中的性别：male 或 female", parameters: [.text], result: .text) { a in
            guard case .text(let s) = a[0], let sex = IDNumber.sex(s) else { return .missing }
            return .text(sex)
        },
        BuiltinFunction(name: "age", summary: "到某日为止的周岁：age(birth_date, $report_date)", parameters: [.date, .date], result: .number) { a in
            guard case .date(let born) = a[0], case .date(let on) = a[1] else { return .missing }
            return .integer(Int64(born.wholeYears(until: on)))
        },
        BuiltinFunction(name: "year", summary: "日期的年份", parameters: [.date], result: .number) { a in
            guard case .date(let d) = a[0] else { return .missing }
            return .integer(Int64(d.year))
        },
        BuiltinFunction(name: "date", summary: "把文字转为日期：date('2024-09-01')", parameters: [.text], result: .date) { a in
            guard case .text(let s) = a[0], let d = DateText.parse(s) else { return .missing }
            return .date(d)
        },
        BuiltinFunction(name: "len", summary: "文字的字符数", parameters: [.text], result: .number) { a in
            guard case .text(let s) = a[0] else { return .missing }
            return .integer(Int64(s.count))
        },
        BuiltinFunction(name: "starts_with", summary: "文字是否以某前缀开头", parameters: [.text, .text], result: .boolean) { a in
            guard case .text(let s) = a[0], case .text(let p) = a[1] else { return .missing }
            return .boolean(s.hasPrefix(p))
        },
        BuiltinFunction(name: "contains", summary: "文字是否包含某段文字", parameters: [.text, .text], result: .boolean) { a in
            guard case .text(let s) = a[0], case .text(let p) = a[1] else { return .missing }
            return .boolean(s.contains(p))
        },
        BuiltinFunction(name: "substr", summary: "子串：substr(text, start, length)，start 从 1 起", parameters: [.text, .number, .number], result: .text) { a in
            guard case .text(let s) = a[0], let start = a[1].number.flatMap(wholeNumber), let length = a[2].number.flatMap(wholeNumber) else { return .missing }
            let chars = Array(s)
            let from = Int(clamping: max(0, start - 1)), to = Int(clamping: min(Int64(chars.count), Int64(from) + max(0, length)))
            return .text(from < to ? String(chars[from..<to]) : "")
        },
        BuiltinFunction(name: "abs", summary: "绝对值", parameters: [.number], result: .number) { a in
            let v = a[0]
            if let n = v.number, n < 0 { return Arithmetic.negate(v) }
            return v
        },
        BuiltinFunction(name: "round", summary: "四舍五入到若干位小数：round(x, 2)", parameters: [.number, .number], result: .number) { a in
            // Places beyond what a double holds, or a result beyond 64-bit integers: not evaluable.
            guard let x = a[0].number, let places = a[1].number.flatMap(wholeNumber), (-15...15).contains(places) else { return .missing }
            let p = Int(places)
            var factor = 1.0
            for _ in 0..<max(0, p) { factor *= 10 }
            guard let r = wholeNumber((x * factor).rounded(.toNearestOrAwayFromZero)) else { return .missing }
            return .decimal(FixedDecimal(mantissa: r, exponent: -max(0, p)))
        },
        BuiltinFunction(name: "ceil", summary: "向上取整", parameters: [.number], result: .number) { a in
            guard let x = a[0].number, let r = wholeNumber(x.rounded(.up)) else { return .missing }
            return .integer(r)
        },
        BuiltinFunction(name: "floor", summary: "向下取整", parameters: [.number], result: .number) { a in
            guard let x = a[0].number, let r = wholeNumber(x.rounded(.down)) else { return .missing }
            return .integer(r)
        },
        BuiltinFunction(name: "min", summary: "最小值", parameters: [.number, .number], variadic: true, result: .number) { a in
            a.min { Arithmetic.compare($0, $1) == -1 } ?? .missing
        },
        BuiltinFunction(name: "max", summary: "最大值", parameters: [.number, .number], variadic: true, result: .number) { a in
            a.max { Arithmetic.compare($0, $1) == -1 } ?? .missing
        },
        BuiltinFunction(name: "coalesce", summary: "第一个非缺失的值：coalesce(junior_pupils, 0)", parameters: [.any, .any], variadic: true, propagatesMissing: false) { a in
            a.first { !$0.isMissing } ?? .missing
        },
        BuiltinFunction(name: "present", summary: "值是否已填写（非缺失）", parameters: [.any], result: .boolean, propagatesMissing: false) { a in
            .boolean(!a[0].isMissing)
        },
    ]
}

/// The 18-character resident ID number (GB 11643-1999).
enum IDNumber {
    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checkCharacters: [UInt8] = Array("10X98765432".utf8)

    /// ISO 7064 MOD 11-2 over the first 17 digits gives the 18th character.
    static func checksumIsValid(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { b in
            guard b.count == 18 else { return false }
            var sum = 0
            for i in 0..<17 {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return false }
                sum += Int(b[i] - 0x30) * weights[i]
            }
            let last = b[17] == 0x78 ? 0x58 : b[17]
            return checkCharacters[sum % 11] == last
        }
    }

    static func birthDate(_ id: String) -> Day? {
        var id = id
        return id.withUTF8 { b in
            guard b.count == 18, b[6..<14].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            func n(_ r: Range<Int>) -> Int { b[r].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
            return Day(year: n(6..<10), month: n(10..<12), day: n(12..<14))
        }
    }

    /// The 17th digit is odd for men and even for women.
    static func sex(_ id: String) -> String? {
        var id = id
        return id.withUTF8 { b in
            guard b.count == 18, b[16] >= 0x30 && b[16] <= 0x39 else { return nil }
            return (b[16] - 0x30) % 2 == 1 ? "male" : "female"
        }
    }

    /// Digits in a run that make it look like an ID number (18, or 15 for the first-generation cards).
    static let scrubbedRunLength = 15

    /// `text` with every run that looks like an ID number masked as `mask` does: 15 or more
    /// digits (ASCII or full-width), with a final `X` if there is one. Whatever column a number
    /// landed in (a comma in a name shifts it into the next one), it never reaches a message or
    /// the ledger whole. Text without such a run is returned as it is, after one pass over its bytes.
    /// The quick test `scrub` starts with: false when `text` cannot hold a run of digits long
    /// enough, after a look at a fraction of its bytes (without copying it).
    @inline(__always)
    static func mayHoldIDNumber(_ text: String) -> Bool {
        let utf8 = text.utf8
        if utf8.count < scrubbedRunLength { return false }
        return utf8.withContiguousStorageIfAvailable { schoolstat_may_hold_digit_run($0.baseAddress, $0.count, scrubbedRunLength) != 0 } ?? true
    }

    static func scrub(_ text: String) -> String {
        // A quick look first: a run of 15 digits is 15 bytes in a row that can belong to a digit
        // (ASCII 0–9, or EF BC 90–99, a full-width one). Looking at every 15th byte and around
        // the few that can, most text is passed over in a fraction of its bytes; only text with
        // such a run of bytes takes the exact pass below.
        guard mayHoldIDNumber(text) else { return text }
        func isDigit(_ c: Unicode.Scalar) -> Bool { (0x30...0x39).contains(c.value) || (0xFF10...0xFF19).contains(c.value) }
        func isCheck(_ c: Unicode.Scalar) -> Bool { c == "X" || c == "x" || c == "Ｘ" || c == "ｘ" }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var changed = false
        while i < scalars.count {
            guard isDigit(scalars[i]) else { out.append(scalars[i]); i += 1; continue }
            var j = i
            while j < scalars.count && isDigit(scalars[j]) { j += 1 }
            if j - i >= scrubbedRunLength {
                if j < scalars.count && isCheck(scalars[j]) { j += 1 }
                let count = j - i
                for k in 0..<count { out.append(keeps(k, of: count) ? scalars[i + k] : "*") }
                changed = true
            } else {
                out.append(contentsOf: scalars[i..<j])
            }
            i = j
        }
        return changed ? String(out) : text
    }

    /// `500102********123X`: region kept for context, birth date and serial hidden.
    static func mask(_ id: String) -> String {
        var text = id
        let ascii = text.withUTF8 { b -> String? in
            guard b.allSatisfy({ $0 < 0x80 }) else { return nil }
            return String(unsafeUninitializedCapacity: b.count) { out in
                for i in 0..<b.count { out[i] = keeps(i, of: b.count) ? b[i] : UInt8(ascii: "*") }
                return b.count
            }
        }
        if let ascii { return ascii }
        let chars = Array(id)
        return String(chars.indices.map { i in keeps(i, of: chars.count) ? chars[i] : "*" })
    }

    /// The masking rule, by character: of more than eight, the first six and the last four are
    /// kept (for nine they overlap); of eight or fewer, none.
    @inline(__always)
    static func keeps(_ i: Int, of count: Int) -> Bool {
        count > 8 && (i < keptHead || i >= count - keptTail)
    }

    /// How many characters `keeps` keeps at each end of a long one.
    static let keptHead = 6, keptTail = 4
}

/// A double's whole part as a 64-bit integer, or nil when it has none (NaN, infinite, out of range):
/// a built-in given such an argument is not evaluable, as a division by zero is.
func wholeNumber(_ x: Double) -> Int64? {
    guard x.isFinite, x > -9.2e18, x < 9.2e18 else { return nil }
    return Int64(x.rounded(.towardZero))
}
