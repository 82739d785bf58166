// Rules: checks names and types in an expression against a table's schema
// and turns it into a closure the row evaluator calls.
import SchoolStatModel
import SchoolStatBytes

/// The function calls that occur more than once among a table's row checks
/// (`id_checksum_ok(id_number)` is the condition of one check and the `when` of
/// two others): each is computed once per row and its result kept in the row.
public final class SharedCalls {
    private var slots: [String: Int] = [:]

    /// Counts the calls in `nodes`; those seen twice or more get a slot.
    public init(_ nodes: [ExpressionNode]) {
        var seen: [String: Int] = [:]
        for node in nodes { node.forEachCall { seen[$0, default: 0] += 1 } }
        for key in seen.keys.sorted() where seen[key]! > 1 { slots[key] = slots.count }
    }

    public func slot(_ node: ExpressionNode) -> Int? { slots.isEmpty ? nil : slots[node.canonicalText] }
}

/// An expression ready to run on rows of one table.
public struct CompiledExpression {
    public init(type: ValueType, columns: Set<Int>, evaluate: @escaping (RowValues) -> Value) {
        self.type = type; self.columns = columns; self.evaluate = evaluate
    }

    public let type: ValueType
    public let columns: Set<Int>
    public let evaluate: (RowValues) -> Value
}

public struct ExpressionCompileError: Error {
    public init(offset: Int, message: String) {
        self.offset = offset; self.message = message
    }

    public var offset: Int
    public var message: String
}

/// Resolves column and parameter names and checks types.
public struct ExpressionCompiler {
    public init(schema: TableSchema, parameters: [String: Value], shared: SharedCalls? = nil) {
        self.schema = schema; self.parameters = parameters; self.shared = shared
    }

    public let schema: TableSchema
    public let parameters: [String: Value]
    /// Calls whose results are kept per row; only for rows whose owner calls `RowValues.beginRow`.
    public var shared: SharedCalls? = nil

    public func compile(_ node: ExpressionNode) throws(ExpressionCompileError) -> CompiledExpression {
        switch node {
        case let .literal(value, _):
            return CompiledExpression(type: Self.type(of: value), columns: []) { _ in value }

        case let .column(name, offset):
            guard let index = schema.columnIndex(name) else {
                let near = schema.columns.map(\.name).filter { editDistance($0, name) <= 2 }.sorted()
                let hint = near.isEmpty ? "" : "；是否想写 \(near.map { "`\($0)`" }.joined(separator: "、"))? (did you mean \(near.joined(separator: ", "))?)"
                throw ExpressionCompileError(offset: offset, message: "表 \(schema.name) 没有列 `\(name)` (unknown column)\(hint)")
            }
            return CompiledExpression(type: ValueType(schema.columns[index].type), columns: [index]) { row in row.values[index] }

        case let .parameter(name, offset):
            guard let value = parameters[name] else {
                throw ExpressionCompileError(offset: offset, message: "未定义的参数 `$\(name)` (unknown parameter); 已定义 (defined): \(parameters.keys.sorted().joined(separator: ", "))")
            }
            return CompiledExpression(type: Self.type(of: value), columns: []) { _ in value }

        case let .call(name, args, offset):
            let plain = try compileCall(name, args, offset)
            guard let slot = shared?.slot(node) else { return plain }
            let f = plain.evaluate
            return CompiledExpression(type: plain.type, columns: plain.columns) { row in
                if let kept = row.keptResult(slot) { return kept }
                let v = f(row)
                row.keep(v, slot)
                return v
            }

        case let .negate(inner, offset):
            let c = try compile(inner)
            try require(c, .number, offset, "取负 (negation)")
            let f = c.evaluate
            return CompiledExpression(type: .number, columns: c.columns) { row in
                Arithmetic.negate(f(row))
            }

        case let .not(inner, offset):
            let c = try compile(inner)
            try require(c, .boolean, offset, "not")
            let f = c.evaluate
            return CompiledExpression(type: .boolean, columns: c.columns) { row in
                if case .boolean(let b) = f(row) { return .boolean(!b) }
                return .missing
            }

        case let .binary(op, l, r, offset):
            return try binary(op, try compile(l), try compile(r), offset)

        case let .membership(subject, items, negated, offset):
            let s = try compile(subject)
            let list = try items.map { (i: ExpressionNode) throws(ExpressionCompileError) -> CompiledExpression in try compile(i) }
            for item in list where !s.type.accepts(item.type) {
                throw ExpressionCompileError(offset: offset, message: "`in` 列表中的值类型为 \(item.type.label)，与左边的 \(s.type.label) 不一致 (type mismatch in list)")
            }
            let f = s.evaluate
            let parts = list.map(\.evaluate)
            let columns = list.reduce(into: s.columns) { $0.formUnion($1.columns) }
            // A list of literals (the usual `level in ['county', 'city']`) is read once, here.
            let literals = items.compactMap { item -> Value? in if case let .literal(v, _) = item { v } else { nil } }
            if literals.count == items.count {
                return CompiledExpression(type: .boolean, columns: columns) { row in
                    let v = f(row)
                    if v.isMissing { return .missing }
                    return .boolean(literals.contains { Arithmetic.isEqual(v, $0) } != negated)
                }
            }
            return CompiledExpression(type: .boolean, columns: columns) { row in
                let v = f(row)
                if v.isMissing { return .missing }
                let found = parts.contains { Arithmetic.isEqual(v, $0(row)) }
                return .boolean(found != negated)
            }

        case let .between(subject, low, high, offset):
            let s = try compile(subject), lo = try compile(low), hi = try compile(high)
            for bound in [lo, hi] where !s.type.accepts(bound.type) {
                throw ExpressionCompileError(offset: offset, message: "`between` 的界限类型为 \(bound.type.label)，与 \(s.type.label) 不一致 (type mismatch)")
            }
            let f = s.evaluate, fl = lo.evaluate, fh = hi.evaluate
            return CompiledExpression(type: .boolean, columns: s.columns.union(lo.columns).union(hi.columns)) { row in
                let v = f(row)
                guard let a = Arithmetic.compare(v, fl(row)), let b = Arithmetic.compare(v, fh(row)) else { return .missing }
                return .boolean(a >= 0 && b <= 0)
            }

        case let .isMissing(inner, negated, _):
            let c = try compile(inner)
            let f = c.evaluate
            return CompiledExpression(type: .boolean, columns: c.columns) { row in .boolean(f(row).isMissing != negated) }

        case let .conditional(condition, yes, no, offset):
            let c = try compile(condition), y = try compile(yes), n = try compile(no)
            try require(c, .boolean, offset, "if")
            guard y.type.accepts(n.type) else {
                throw ExpressionCompileError(offset: offset, message: "`then` 与 `else` 的类型不一致：\(y.type.label) 与 \(n.type.label) (branches differ in type)")
            }
            let fc = c.evaluate, fy = y.evaluate, fn = n.evaluate
            return CompiledExpression(type: y.type == .any ? n.type : y.type, columns: c.columns.union(y.columns).union(n.columns)) { row in
                switch fc(row) {
                case .boolean(true): return fy(row)
                case .boolean(false): return fn(row)
                default: return .missing
                }
            }
        }
    }

    private func compileCall(_ name: String, _ args: [ExpressionNode], _ offset: Int) throws(ExpressionCompileError) -> CompiledExpression {
        guard let function = BuiltinFunctions.all[name] else {
            let near = BuiltinFunctions.all.keys.filter { editDistance($0, name) <= 2 || $0.hasPrefix(name) || name.hasPrefix($0) }.sorted()
            let hint = near.isEmpty ? "" : "；是否想写 `\(near[0])`? (did you mean `\(near[0])`?)"
            throw ExpressionCompileError(offset: offset, message: "未知函数 `\(name)` (unknown function)\(hint)")
        }
        let compiled = try args.map { (a: ExpressionNode) throws(ExpressionCompileError) -> CompiledExpression in try compile(a) }
        let returnType = try function.check(compiled.map(\.type), offset)
        let parts = compiled.map(\.evaluate)
        let columns = compiled.reduce(into: Set<Int>()) { $0.formUnion($1.columns) }
        let implementation = function.implementation
        let propagates = function.propagatesMissing
        // One and two arguments (nearly every call) are passed without an array.
        if parts.count == 1, let f = function.unary {
            let p0 = parts[0]
            return CompiledExpression(type: returnType, columns: columns) { row in
                let a = p0(row)
                return propagates && a.isMissing ? .missing : f(a)
            }
        }
        if parts.count == 2, let f = function.binary {
            let p0 = parts[0], p1 = parts[1]
            return CompiledExpression(type: returnType, columns: columns) { row in
                let a = p0(row)
                if propagates && a.isMissing { return .missing }
                let b = p1(row)
                return propagates && b.isMissing ? .missing : f(a, b)
            }
        }
        switch parts.count {
        case 1:
            let p0 = parts[0]
            return CompiledExpression(type: returnType, columns: columns) { row in
                let a = p0(row)
                return propagates && a.isMissing ? .missing : implementation(Arguments(a))
            }
        case 2:
            let p0 = parts[0], p1 = parts[1]
            return CompiledExpression(type: returnType, columns: columns) { row in
                let a = p0(row)
                if propagates && a.isMissing { return .missing }
                let b = p1(row)
                return propagates && b.isMissing ? .missing : implementation(Arguments(a, b))
            }
        default:
            return CompiledExpression(type: returnType, columns: columns) { row in
                var values: [Value] = []
                values.reserveCapacity(parts.count)
                for p in parts {
                    let v = p(row)
                    if propagates && v.isMissing { return .missing }
                    values.append(v)
                }
                return implementation(Arguments(values))
            }
        }
    }

    private func require(_ c: CompiledExpression, _ type: ValueType, _ offset: Int, _ what: String) throws(ExpressionCompileError) {
        guard type.accepts(c.type) else {
            throw ExpressionCompileError(offset: offset, message: "\(what) 需要 \(type.label)，这里是 \(c.type.label) (type mismatch)")
        }
    }

    private func binary(_ op: BinaryOperator, _ l: CompiledExpression, _ r: CompiledExpression, _ offset: Int) throws(ExpressionCompileError) -> CompiledExpression {
        let fl = l.evaluate, fr = r.evaluate
        let columns = l.columns.union(r.columns)
        switch op {
        case .and, .or:
            try require(l, .boolean, offset, op.rawValue)
            try require(r, .boolean, offset, op.rawValue)
            let isAnd = op == .and
            // Kleene logic: false and missing is false; true or missing is true.
            return CompiledExpression(type: .boolean, columns: columns) { row in
                Arithmetic.logic(isAnd: isAnd, fl(row), fr(row))
            }
        case .add, .subtract, .multiply, .divide:
            if op == .subtract && l.type == .date && r.type == .date {
                return CompiledExpression(type: .number, columns: columns) { row in Arithmetic.daysBetween(fl(row), fr(row)) }
            }
            try require(l, .number, offset, op.rawValue)
            try require(r, .number, offset, op.rawValue)
            return CompiledExpression(type: .number, columns: columns) { row in
                Arithmetic.apply(op, fl(row), fr(row))
            }
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard l.type.accepts(r.type) else {
                throw ExpressionCompileError(offset: offset, message: "无法比较 \(l.type.label) 与 \(r.type.label) (cannot compare different types)")
            }
            if (op != .equal && op != .notEqual) && (l.type == .boolean || l.type == .text) && r.type != .any && l.type != .text {
                throw ExpressionCompileError(offset: offset, message: "`\(op.rawValue)` 不能用于 \(l.type.label) (ordering needs numbers, dates or text)")
            }
            return CompiledExpression(type: .boolean, columns: columns) { row in
                Arithmetic.verdict(op, Arithmetic.compare(fl(row), fr(row)))
            }
        }
    }

    public static func type(of value: Value) -> ValueType {
        switch value {
        case .missing: return .any
        case .integer, .decimal, .real: return .number
        case .text: return .text
        case .date: return .date
        case .boolean: return .boolean
        }
    }
}

/// Arithmetic and comparison with missing values propagating.
public enum Arithmetic {
    public static func negate(_ v: Value) -> Value {
        switch v {
        case .integer(let i): return i == .min ? .real(-Double(i)) : .integer(-i)
        case .decimal(let d): return d.mantissa == .min ? .real(-d.doubleValue) : .decimal(FixedDecimal(mantissa: -d.mantissa, exponent: d.exponent))
        case .real(let r): return .real(-r)
        default: return .missing
        }
    }

    public static func exact(_ v: Value) -> FixedDecimal? {
        switch v {
        case .integer(let i): return FixedDecimal(i)
        case .decimal(let d): return d
        default: return nil
        }
    }

    public static func apply(_ op: BinaryOperator, _ a: Value, _ b: Value) -> Value {
        guard let x = a.number, let y = b.number else { return .missing }
        if op != .divide, let p = exact(a), let q = exact(b), let r = exactResult(op, p, q) {
            return r.exponent >= 0 ? .integer(r.mantissa) : .decimal(r)
        }
        switch op {
        case .add: return .real(x + y)
        case .subtract: return .real(x - y)
        case .multiply: return .real(x * y)
        default: return y == 0 ? .missing : .real(x / y)
        }
    }

    private static func exactResult(_ op: BinaryOperator, _ p: FixedDecimal, _ q: FixedDecimal) -> FixedDecimal? {
        if op == .multiply {
            let (m, o) = p.mantissa.multipliedReportingOverflow(by: q.mantissa)
            return o ? nil : FixedDecimal(mantissa: m, exponent: p.exponent + q.exponent)
        }
        let e = min(p.exponent, q.exponent)
        guard let pm = align(p, to: e), let qm = align(q, to: e) else { return nil }
        let (m, o) = op == .add ? pm.addingReportingOverflow(qm) : pm.subtractingReportingOverflow(qm)
        return o ? nil : FixedDecimal(mantissa: m, exponent: e)
    }

    private static func align(_ d: FixedDecimal, to exponent: Int) -> Int64? {
        var m = d.mantissa
        for _ in 0..<(d.exponent - exponent) {
            let (n, o) = m.multipliedReportingOverflow(by: 10)
            if o { return nil }
            m = n
        }
        return m
    }

    /// Kleene logic: false and missing is false; true or missing is true. `b` is computed only
    /// when `a` does not decide.
    @inlinable @inline(__always)
    public static func logic(isAnd: Bool, _ a: Value, _ b: @autoclosure () -> Value) -> Value {
        if case .boolean(let x) = a, x != isAnd { return a }
        let b = b()
        if case .boolean(let y) = b, y != isAnd { return b }
        if a.isMissing || b.isMissing { return .missing }
        return .boolean(isAnd)
    }

    /// A date minus a date, in days; missing unless both are dates.
    @inlinable
    public static func daysBetween(_ a: Value, _ b: Value) -> Value {
        guard case .date(let x) = a, case .date(let y) = b else { return .missing }
        return .integer(Int64(x.daysSinceEpoch - y.daysSinceEpoch))
    }

    /// What a comparison operator says of `compare`'s answer; missing when there is none.
    @inlinable @inline(__always)
    public static func verdict(_ op: BinaryOperator, _ c: Int?) -> Value {
        guard let c else { return .missing }
        switch op {
        case .equal: return .boolean(c == 0)
        case .notEqual: return .boolean(c != 0)
        case .less: return .boolean(c < 0)
        case .lessOrEqual: return .boolean(c <= 0)
        case .greater: return .boolean(c > 0)
        default: return .boolean(c >= 0)
        }
    }

    /// Whether `compare` would give 0, without ordering texts that differ.
    public static func isEqual(_ a: Value, _ b: Value) -> Bool {
        if case let (.text(x), .text(y)) = (a, b) { return x == y }
        return compare(a, b) == 0
    }

    /// -1, 0 or 1; nil when either side is missing or the types differ.
    public static func compare(_ a: Value, _ b: Value) -> Int? {
        switch (a, b) {
        case (.missing, _), (_, .missing): return nil
        case let (.integer(x), .integer(y)): return x == y ? 0 : (x < y ? -1 : 1)
        case let (.text(x), .text(y)): return x == y ? 0 : (x < y ? -1 : 1)
        case let (.date(x), .date(y)): return x == y ? 0 : (x < y ? -1 : 1)
        case let (.boolean(x), .boolean(y)): return x == y ? 0 : (!x ? -1 : 1)
        default:
            if let p = exact(a), let q = exact(b), let d = exactResult(.subtract, p, q) {
                return d.mantissa == 0 ? 0 : (d.mantissa < 0 ? -1 : 1)
            }
            guard let x = a.number, let y = b.number else { return nil }
            let tolerance = 1e-9 * max(1, abs(x), abs(y))
            return abs(x - y) <= tolerance ? 0 : (x < y ? -1 : 1)
        }
    }
}
