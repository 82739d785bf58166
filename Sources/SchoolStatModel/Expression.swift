// Model: the syntax tree of the rule language (Rules/ parses it; see ExpressionParser.swift there).
/// A parsed expression with the text it came from and where that text is.
public struct Expression: Sendable {
    public init(text: String, location: SourceLocation, root: ExpressionNode) {
        self.text = text; self.location = location; self.root = root
    }

    public var text: String
    public var location: SourceLocation
    public var root: ExpressionNode
}

public indirect enum ExpressionNode: Sendable {
    case literal(Value, offset: Int)
    case column(String, offset: Int)
    case parameter(String, offset: Int)
    case call(String, [ExpressionNode], offset: Int)
    case negate(ExpressionNode, offset: Int)
    case not(ExpressionNode, offset: Int)
    case binary(BinaryOperator, ExpressionNode, ExpressionNode, offset: Int)
    case membership(ExpressionNode, [ExpressionNode], negated: Bool, offset: Int)
    case between(ExpressionNode, ExpressionNode, ExpressionNode, offset: Int)
    case isMissing(ExpressionNode, negated: Bool, offset: Int)
    case conditional(ExpressionNode, ExpressionNode, ExpressionNode, offset: Int)

    public var offset: Int {
        switch self {
        case let .literal(_, o), let .column(_, o), let .parameter(_, o), let .call(_, _, o), let .negate(_, o),
             let .not(_, o), let .binary(_, _, _, o), let .membership(_, _, _, o), let .between(_, _, _, o),
             let .isMissing(_, _, o), let .conditional(_, _, _, o):
            return o
        }
    }

    /// The expression as text without positions: two nodes with the same text compute the same value.
    public var canonicalText: String {
        switch self {
        case let .literal(v, _): return "lit(\(String(reflecting: v)))"
        case let .column(n, _): return n
        case let .parameter(n, _): return "$" + n
        case let .call(n, args, _): return n + "(" + args.map(\.canonicalText).joined(separator: ",") + ")"
        case let .negate(e, _): return "-(" + e.canonicalText + ")"
        case let .not(e, _): return "not(" + e.canonicalText + ")"
        case let .binary(op, l, r, _): return "(" + l.canonicalText + " " + op.rawValue + " " + r.canonicalText + ")"
        case let .membership(s, items, neg, _):
            return "(" + s.canonicalText + (neg ? " not in [" : " in [") + items.map(\.canonicalText).joined(separator: ",") + "])"
        case let .between(s, lo, hi, _): return "(" + s.canonicalText + " between " + lo.canonicalText + " and " + hi.canonicalText + ")"
        case let .isMissing(e, neg, _): return "(" + e.canonicalText + (neg ? " is not missing)" : " is missing)")
        case let .conditional(c, y, n, _): return "if(" + c.canonicalText + "," + y.canonicalText + "," + n.canonicalText + ")"
        }
    }

    /// Every function call in the expression, nested ones included, as canonical text.
    public func forEachCall(_ body: (String) -> Void) {
        switch self {
        case .literal, .column, .parameter: return
        case let .call(_, args, _):
            body(canonicalText)
            for a in args { a.forEachCall(body) }
        case let .negate(e, _), let .not(e, _), let .isMissing(e, _, _): e.forEachCall(body)
        case let .binary(_, l, r, _): l.forEachCall(body); r.forEachCall(body)
        case let .membership(s, items, _, _): s.forEachCall(body); for i in items { i.forEachCall(body) }
        case let .between(a, b, c, _), let .conditional(a, b, c, _): a.forEachCall(body); b.forEachCall(body); c.forEachCall(body)
        }
    }
}

public enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/"
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and, or
}

extension ExpressionNode {
    /// Every column name `node` reads, into `names`.
    public static func collectNames(_ node: ExpressionNode, into names: inout Set<String>) {
        switch node {
        case let .column(n, _): names.insert(n)
        case let .call(_, args, _): args.forEach { collectNames($0, into: &names) }
        case let .negate(a, _), let .not(a, _), let .isMissing(a, _, _): collectNames(a, into: &names)
        case let .binary(_, l, r, _): collectNames(l, into: &names); collectNames(r, into: &names)
        case let .membership(s, items, _, _): collectNames(s, into: &names); items.forEach { collectNames($0, into: &names) }
        case let .between(a, b, c, _), let .conditional(a, b, c, _): [a, b, c].forEach { collectNames($0, into: &names) }
        case .literal, .parameter: break
        }
    }
}
