// Evaluating: aggregate functions — count, sum, mean, min, max, share,
// weighted mean and the pupil-weighted variation coefficient — and the
// rewriting that turns an expression using them into per-group state.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// One aggregate call found in an expression, such as `sum(total_pupils)`.
public struct AggregateCall {
    public enum Kind: String {
        case count, sum, mean, min, max, share, cv, first
        case weightedMean = "weighted_mean"
    }
    public var kind: Kind
    public var arguments: [ExpressionNode]
}

public enum AggregateRewriter {
    public static let names: Set<String> = ["count", "sum", "mean", "share", "cv", "weighted_mean", "min", "max", "first"]

    /// Replaces each aggregate call by a reference to a slot column `__agg<n>`
    /// and returns the calls in slot order. `min`/`max` with one argument are
    /// aggregates; with more they stay the scalar functions.
    public static func rewrite(_ node: ExpressionNode, into calls: inout [AggregateCall]) throws(ExpressionCompileError) -> ExpressionNode {
        switch node {
        case let .call(name, args, offset) where names.contains(name) && !((name == "min" || name == "max") && args.count != 1):
            let kind = AggregateCall.Kind(rawValue: name)!
            let arity: ClosedRange<Int>
            switch kind {
            case .count: arity = 0...1
            case .cv, .weightedMean: arity = 2...2
            default: arity = 1...1
            }
            guard arity.contains(args.count) else {
                throw ExpressionCompileError(offset: offset, message: "聚合函数 \(name) 需要 \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound)–\(arity.upperBound)") 个参数 (wrong number of arguments)")
            }
            for a in args {
                var nested: [AggregateCall] = []
                _ = try rewrite(a, into: &nested)
                if !nested.isEmpty { throw ExpressionCompileError(offset: offset, message: "聚合函数不能嵌套 (aggregates cannot be nested)") }
            }
            calls.append(AggregateCall(kind: kind, arguments: args))
            return .column("__agg\(calls.count - 1)", offset: offset)
        case let .call(name, args, offset):
            return .call(name, try args.map { (a: ExpressionNode) throws(ExpressionCompileError) -> ExpressionNode in try rewrite(a, into: &calls) }, offset: offset)
        case let .negate(a, o): return .negate(try rewrite(a, into: &calls), offset: o)
        case let .not(a, o): return .not(try rewrite(a, into: &calls), offset: o)
        case let .binary(op, l, r, o): return .binary(op, try rewrite(l, into: &calls), try rewrite(r, into: &calls), offset: o)
        case let .membership(s, items, n, o):
            return .membership(try rewrite(s, into: &calls), try items.map { (i: ExpressionNode) throws(ExpressionCompileError) -> ExpressionNode in try rewrite(i, into: &calls) }, negated: n, offset: o)
        case let .between(s, l, h, o): return .between(try rewrite(s, into: &calls), try rewrite(l, into: &calls), try rewrite(h, into: &calls), offset: o)
        case let .isMissing(a, n, o): return .isMissing(try rewrite(a, into: &calls), negated: n, offset: o)
        case let .conditional(c, y, n, o): return .conditional(try rewrite(c, into: &calls), try rewrite(y, into: &calls), try rewrite(n, into: &calls), offset: o)
        case .literal, .column, .parameter: return node
        }
    }
}

/// The running state of one aggregate (always of the same kind) for one group.
///
/// Kept small (88 bytes): a row touches one accumulator per aggregate of each rule it
/// feeds, in whichever group it belongs to, so their size decides how much of the cache
/// a run over thousands of groups needs. Fields serve several kinds where they can.
public struct Accumulator {
    public init() {}
    public var rows = 0
    /// Rows with a usable value (mean's divisor).
    public var known = 0
    /// count and share: rows whose condition is true.
    public var trues = 0
    /// sum: the exact sum as mantissa × 10^exponent, not reduced while adding (reducing
    /// divides); given up once a value is not exact or the sum would overflow.
    public var exactMantissa: Int64 = 0
    public var exactExponent = 0
    public var isExact = true
    /// sum and mean: Σx; cv and weighted mean: Σw·x.
    public var sum = 0.0
    public var weightSum = 0.0
    public var weightedSquares = 0.0
    /// min, max: the extreme so far; first: the first row's value.
    public var value: Value = .missing

    /// Adds one row's argument values.
    public mutating func add(_ kind: AggregateCall.Kind, _ args: [Value]) {
        add(kind, count: args.count, args.first ?? .missing, args.count > 1 ? args[1] : .missing)
    }

    /// Adds one row's arguments: `count` of them (0, 1 or 2), in `one` and `two`.
    public mutating func add(_ kind: AggregateCall.Kind, count: Int, _ one: Value, _ two: Value) {
        rows += 1
        switch kind {
        case .first:
            // The first row's value: how a rule reads a column of another table by key.
            if rows == 1 { value = one }
        case .count, .share:
            if count == 0 { known += 1; trues += 1; return }
            guard case .boolean(let b) = one else { return }
            known += 1
            if b { trues += 1 }
        case .sum, .mean:
            guard let x = one.number else { return }
            known += 1
            sum += x
            if kind == .sum { addExactly(one) }
        case .min:
            guard one.number != nil else { return }
            known += 1
            if value.isMissing || Arithmetic.compare(one, value) == -1 { value = one }
        case .max:
            guard one.number != nil else { return }
            known += 1
            if value.isMissing || Arithmetic.compare(one, value) == 1 { value = one }
        case .cv, .weightedMean:
            guard let x = one.number, let w = two.number, w > 0 else { return }
            known += 1
            weightSum += w
            sum += w * x
            weightedSquares += w * x * x
        }
    }

    private mutating func addExactly(_ value: Value) {
        guard isExact else { return }
        let v: FixedDecimal
        switch value {
        case .integer(let i): v = FixedDecimal(mantissa: i, exponent: 0)
        case .decimal(let d): v = d
        default: isExact = false; return
        }
        if let (mantissa, exponent) = Self.add(exactMantissa, exactExponent, v.mantissa, v.exponent) {
            (exactMantissa, exactExponent) = (mantissa, exponent)
            return
        }
        // Reduced, the sum may still fit (the same as adding reduced values all along).
        let reduced = FixedDecimal(mantissa: exactMantissa, exponent: exactExponent)
        if let (mantissa, exponent) = Self.add(reduced.mantissa, reduced.exponent, v.mantissa, v.exponent) {
            (exactMantissa, exactExponent) = (mantissa, exponent)
        } else {
            isExact = false
        }
    }

    /// a × 10^ea + b × 10^eb at the smaller exponent; nil on overflow.
    private static func add(_ a: Int64, _ ea: Int, _ b: Int64, _ eb: Int) -> (Int64, Int)? {
        var (a, b) = (a, b)
        let e = min(ea, eb)
        for _ in 0..<(ea - e) {
            let (n, o) = a.multipliedReportingOverflow(by: 10)
            if o { return nil }
            a = n
        }
        for _ in 0..<(eb - e) {
            let (n, o) = b.multipliedReportingOverflow(by: 10)
            if o { return nil }
            b = n
        }
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : (r, e)
    }

    /// The aggregate's value once every row is in.
    public func result(_ kind: AggregateCall.Kind) -> Value {
        switch kind {
        case .count: return .integer(Int64(trues))
        case .share: return rows == 0 ? .missing : .real(Double(trues) / Double(rows))
        case .sum:
            if isExact {
                let e = FixedDecimal(mantissa: exactMantissa, exponent: exactExponent)
                return e.exponent >= 0 ? .integer(e.mantissa) : .decimal(e)
            }
            return .real(sum)
        case .mean: return known == 0 ? .missing : .real(sum / Double(known))
        case .first, .min, .max: return value
        case .weightedMean: return weightSum == 0 ? .missing : .real(sum / weightSum)
        case .cv:
            // DOMAIN.md 3.1: X̄ = ΣPᵢXᵢ / ΣPᵢ; CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄.
            guard weightSum > 0 else { return .missing }
            let mean = sum / weightSum
            guard mean != 0 else { return .missing }
            let variance = max(0, weightedSquares / weightSum - mean * mean)
            return .real(variance.squareRoot() / mean)
        }
    }
}

/// An expression with aggregates, compiled in two halves: the per-row
/// arguments of each aggregate, and the outer expression over the results.
public struct GroupExpression {
    public let calls: [AggregateCall]
    public let arguments: [[CompiledExpression]]
    public let outer: CompiledExpression

    /// Adds one row (evaluated in the row context) to a group's accumulators.
    public func add(_ row: RowValues, to state: inout [Accumulator]) {
        for (i, call) in calls.enumerated() {
            state[i].add(call.kind, arguments[i].map { $0.evaluate(row) })
        }
    }

    /// Writes the aggregate results into the group row's slot columns.
    public func finish(_ state: [Accumulator], into group: RowValues, slotOffset: Int) {
        for (i, call) in calls.enumerated() { group.values[slotOffset + i] = state[i].result(call.kind) }
    }
}
