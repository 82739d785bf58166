// Rules: the functions rule files can call. Each is a small, separately
// testable unit; docs/rules.md lists them.
import SchoolStatModel
import SchoolStatBytes

/// A call's argument values: one or two held inline, so that a call on the per-row path
/// allocates nothing; three or more in an array.
public struct Arguments: RandomAccessCollection {
    private let one: Value
    private let two: Value
    private let all: [Value]
    public let endIndex: Int
    public var startIndex: Int { 0 }

    public init(_ one: Value) { self.one = one; two = .missing; all = []; endIndex = 1 }
    public init(_ one: Value, _ two: Value) { self.one = one; self.two = two; all = []; endIndex = 2 }
    public init(_ values: [Value]) { one = .missing; two = .missing; all = values; endIndex = values.count }

    public subscript(i: Int) -> Value { all.isEmpty ? (i == 0 ? one : two) : all[i] }
}

/// A function of the rule language.
public struct BuiltinFunction: Sendable {
    public init(name: String, summary: String, parameters: [ValueType], variadic: Bool = false, result: ValueType? = nil, propagatesMissing: Bool = true, implementation: @escaping @Sendable (Arguments) -> Value) {
        self.name = name; self.summary = summary; self.parameters = parameters; self.variadic = variadic; self.result = result; self.propagatesMissing = propagatesMissing; self.implementation = implementation
    }

    public var name: String
    public var summary: String
    /// Argument types; the last repeats when `variadic`.
    public var parameters: [ValueType]
    public var variadic: Bool = false
    /// Result type; `nil` means "the type of the first argument".
    public var result: ValueType?
    /// Most functions give `missing` when an argument is missing; `coalesce` and `present` do not.
    public var propagatesMissing: Bool = true
    public var implementation: @Sendable (Arguments) -> Value
    /// The same function of one or of two arguments, called without building `Arguments` (the
    /// functions row checks call on every row); nil for the others.
    public var unary: (@Sendable (Value) -> Value)?
    public var binary: (@Sendable (Value, Value) -> Value)?

    public init(name: String, summary: String, parameters: [ValueType], result: ValueType? = nil, unary: @escaping @Sendable (Value) -> Value) {
        self.init(name: name, summary: summary, parameters: parameters, result: result) { a in unary(a[0]) }
        self.unary = unary
    }

    public init(name: String, summary: String, parameters: [ValueType], result: ValueType? = nil, binary: @escaping @Sendable (Value, Value) -> Value) {
        self.init(name: name, summary: summary, parameters: parameters, result: result) { a in binary(a[0], a[1]) }
        self.binary = binary
    }

    public func check(_ types: [ValueType], _ offset: Int) throws(ExpressionCompileError) -> ValueType {
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

public enum BuiltinFunctions {
    public static let all: [String: BuiltinFunction] = {
        var table: [String: BuiltinFunction] = [:]
        for f in list { table[f.name] = f }
        return table
    }()

    public static let list: [BuiltinFunction] = [
        BuiltinFunction(name: "id_checksum_ok", summary: "身份证号第18位校验码正确 (ISO 7064 MOD 11-2)", parameters: [.text], result: .boolean, unary: { a in
            guard case .text(let s) = a else { return .missing }
            return .boolean(IDNumber.checksumIsValid(s))
        }),
        BuiltinFunction(name: "id_birth_date", summary: "身份证号中的出生日期", parameters: [.text], result: .date, unary: { a in
            guard case .text(let s) = a, let d = IDNumber.birthDate(s) else { return .missing }
            return .date(d)
        }),
        BuiltinFunction(name: "id_sex", summary: "身份证号中的性别：male 或 female", parameters: [.text], result: .text, unary: { a in
            guard case .text(let s) = a, let sex = IDNumber.sex(s) else { return .missing }
            return .text(sex)
        }),
        BuiltinFunction(name: "age", summary: "到某日为止的周岁：age(birth_date, $report_date)", parameters: [.date, .date], result: .number, binary: { a, b in
            guard case .date(let born) = a, case .date(let on) = b else { return .missing }
            return .integer(Int64(born.wholeYears(until: on)))
        }),
        BuiltinFunction(name: "year", summary: "日期的年份", parameters: [.date], result: .number, unary: { a in
            guard case .date(let d) = a else { return .missing }
            return .integer(Int64(d.year))
        }),
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
            // Clamped, not trapping: any whole numbers may come here (both branches of an `if` are computed).
            let from = Int(clamping: start > 1 ? start - 1 : 0)
            let (sum, overflow) = Int64(from).addingReportingOverflow(max(0, length))
            let to = Int(clamping: overflow ? Int64(chars.count) : min(Int64(chars.count), sum))
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

/// A double's whole part as a 64-bit integer, or nil when it has none (NaN, infinite, out of range):
/// a built-in given such an argument is not evaluable, as a division by zero is.
public func wholeNumber(_ x: Double) -> Int64? {
    guard x.isFinite, x > -9.2e18, x < 9.2e18 else { return nil }
    return Int64(x.rounded(.towardZero))
}
