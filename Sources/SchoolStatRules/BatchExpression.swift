// Rules: a table's row checks run over a whole batch of rows at once. Each node of an expression
// is one loop over the batch's rows that leaves the node's values in a buffer of its own; a node
// several checks share (`id_checksum_ok(id_number)`) runs once per batch. The per-row closures of
// `ExpressionCompiler` stay for what is rendered only for failing rows (a message's values).
import Synchronization
import SchoolStatModel

/// A batch's normalised values as the checks read them: `rows` rows of `width` values, row after row.
public struct BatchValues {
    public let base: UnsafePointer<Value>
    public let width: Int
    public let rows: Int

    public init(base: UnsafePointer<Value>, width: Int, rows: Int) {
        self.base = base; self.width = width; self.rows = rows
    }
}

/// A node's values for a batch: row `r`'s is `base[r * stride]` (stride 0 for a constant, the
/// row width for a column read in place, 1 for a computed node).
public struct StridedValues {
    @usableFromInline let base: UnsafePointer<Value>
    @usableFromInline let stride: Int

    @inlinable @inline(__always)
    public subscript(row: Int) -> Value { base[row &* stride] }

    /// Row `row`'s value in place, to be read without a copy.
    @inlinable @inline(__always)
    public func at(_ row: Int) -> UnsafePointer<Value> { base + row &* stride }
}

/// `Arithmetic.compare` of two values read in place: the same answer, with dates, whole numbers
/// and texts of the same kind compared without copying either value.
@inline(__always)
func compareInPlace(_ a: UnsafePointer<Value>, _ b: UnsafePointer<Value>) -> Int? {
    switch a.pointee {
    case .date(let x): if case .date(let y) = b.pointee { return x == y ? 0 : (x < y ? -1 : 1) }
    case .integer(let x): if case .integer(let y) = b.pointee { return x == y ? 0 : (x < y ? -1 : 1) }
    case .text(let x): if case .text(let y) = b.pointee { return x == y ? 0 : (x < y ? -1 : 1) }
    default: break
    }
    return Arithmetic.compare(a.pointee, b.pointee)
}

/// One node of an expression compiled for batches. A worker's file rules own their nodes (each
/// keeps its last results), so nodes are never shared between threads.
public class BatchNode {
    private static let batches = Atomic<Int>(0)

    /// A number for a new batch, never given before in this process: a node's results are kept
    /// for the batch number they were computed for, whichever validator asks.
    public static func newBatchNumber() -> Int {
        batches.add(1, ordering: .relaxed).newValue
    }

    public let type: ValueType
    /// The batch the values in `output` belong to; 0 for none yet.
    private var ranFor = 0
    private var last: StridedValues?
    /// The node's own results, one per row (computed nodes only).
    private var output: UnsafeMutablePointer<Value>?
    private var capacity = 0

    init(type: ValueType) { self.type = type }

    deinit {
        if let output {
            output.deinitialize(count: capacity)
            output.deallocate()
        }
    }

    /// The node's values for `batch` (a number its caller gives each batch, never 0), computed once.
    public final func values(_ b: BatchValues, batch: Int) -> StridedValues {
        if ranFor == batch, let last { return last }
        let v = compute(b, batch: batch)
        last = v
        ranFor = batch
        return v
    }

    func compute(_ b: BatchValues, batch: Int) -> StridedValues { fatalError("abstract") }

    /// The result buffer for `rows` rows, grown when needed; the previous batch's values are still in it.
    final func results(_ rows: Int) -> UnsafeMutablePointer<Value> {
        if let output, capacity >= rows { return output }
        if let output {
            output.deinitialize(count: capacity)
            output.deallocate()
        }
        let grown = max(rows, 1024)
        let fresh = UnsafeMutablePointer<Value>.allocate(capacity: grown)
        fresh.initialize(repeating: .missing, count: grown)
        output = fresh
        capacity = grown
        return fresh
    }

    /// Runs `each` for every row of the batch and keeps what it gives as this node's values.
    @inline(__always)
    final func fill(_ b: BatchValues, _ each: (Int) -> Value) -> StridedValues {
        let out = results(b.rows)
        for r in 0..<b.rows { out[r] = each(r) }
        return StridedValues(base: UnsafePointer(out), stride: 1)
    }
}

private final class ConstantNode: BatchNode {
    private let cell: UnsafeMutablePointer<Value>
    init(_ value: Value) {
        cell = .allocate(capacity: 1)
        cell.initialize(to: value)
        super.init(type: ExpressionCompiler.type(of: value))
    }
    deinit { cell.deinitialize(count: 1); cell.deallocate() }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues { StridedValues(base: UnsafePointer(cell), stride: 0) }
}

private final class ColumnNode: BatchNode {
    private let index: Int
    init(_ index: Int, type: ValueType) { self.index = index; super.init(type: type) }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues { StridedValues(base: b.base + index, stride: b.width) }
}

private final class CallNode: BatchNode {
    private let args: [BatchNode]
    private let implementation: @Sendable (Arguments) -> Value
    private let unary: (@Sendable (Value) -> Value)?
    private let binary: (@Sendable (Value, Value) -> Value)?
    private let propagates: Bool
    init(_ args: [BatchNode], _ function: BuiltinFunction, type: ValueType) {
        self.args = args; implementation = function.implementation; propagates = function.propagatesMissing
        unary = function.unary; binary = function.binary
        super.init(type: type)
    }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues {
        let f = implementation, propagates = propagates
        // Arguments are read in place and lent to the function, not copied (an ID number's text
        // would otherwise be retained and released for each call).
        if args.count == 1, let g = unary {
            let a = args[0].values(b, batch: batch)
            return fill(b) { r in
                let x = a.at(r)
                return propagates && x.pointee.isMissing ? .missing : g(x.pointee)
            }
        }
        if args.count == 2, let g = binary {
            let a = args[0].values(b, batch: batch), c = args[1].values(b, batch: batch)
            return fill(b) { r in
                let x = a.at(r)
                if propagates && x.pointee.isMissing { return .missing }
                let y = c.at(r)
                return propagates && y.pointee.isMissing ? .missing : g(x.pointee, y.pointee)
            }
        }
        switch args.count {
        case 1:
            let a = args[0].values(b, batch: batch)
            return fill(b) { r in
                let x = a[r]
                return propagates && x.isMissing ? .missing : f(Arguments(x))
            }
        case 2:
            let a = args[0].values(b, batch: batch), c = args[1].values(b, batch: batch)
            return fill(b) { r in
                let x = a[r]
                if propagates && x.isMissing { return .missing }
                let y = c[r]
                return propagates && y.isMissing ? .missing : f(Arguments(x, y))
            }
        default:
            let all = args.map { $0.values(b, batch: batch) }
            return fill(b) { r in
                var values: [Value] = []
                values.reserveCapacity(all.count)
                for a in all {
                    let v = a[r]
                    if propagates && v.isMissing { return .missing }
                    values.append(v)
                }
                return f(Arguments(values))
            }
        }
    }
}

private final class UnaryNode: BatchNode {
    enum Kind { case negate, not, isMissing(negated: Bool) }
    private let kind: Kind
    private let inner: BatchNode
    init(_ kind: Kind, _ inner: BatchNode, type: ValueType) { self.kind = kind; self.inner = inner; super.init(type: type) }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues {
        let a = inner.values(b, batch: batch)
        switch kind {
        case .negate:
            return fill(b) { Arithmetic.negate(a[$0]) }
        case .not:
            return fill(b) { r in
                if case .boolean(let x) = a[r] { return .boolean(!x) }
                return .missing
            }
        case .isMissing(let negated):
            return fill(b) { .boolean(a[$0].isMissing != negated) }
        }
    }
}

private final class BinaryNode: BatchNode {
    private let op: BinaryOperator
    private let left: BatchNode, right: BatchNode
    private let datesSubtracted: Bool
    init(_ op: BinaryOperator, _ left: BatchNode, _ right: BatchNode, type: ValueType) {
        self.op = op; self.left = left; self.right = right
        datesSubtracted = op == .subtract && left.type == .date && right.type == .date
        super.init(type: type)
    }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues {
        let l = left.values(b, batch: batch), rv = right.values(b, batch: batch)
        let op = op
        switch op {
        case .and, .or:
            // Both sides are already computed for the batch: the same logic as the row closures.
            let isAnd = op == .and
            return fill(b) { Arithmetic.logic(isAnd: isAnd, l[$0], rv[$0]) }
        case .add, .subtract, .multiply, .divide:
            if datesSubtracted {
                return fill(b) { Arithmetic.daysBetween(l[$0], rv[$0]) }
            }
            return fill(b) { Arithmetic.apply(op, l[$0], rv[$0]) }
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            return fill(b) { Arithmetic.verdict(op, compareInPlace(l.at($0), rv.at($0))) }
        }
    }
}

private final class MembershipNode: BatchNode {
    private let subject: BatchNode
    private let items: [BatchNode]
    private let literals: [Value]?
    private let negated: Bool
    init(_ subject: BatchNode, _ items: [BatchNode], literals: [Value]?, negated: Bool) {
        self.subject = subject; self.items = items; self.literals = literals; self.negated = negated
        super.init(type: .boolean)
    }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues {
        let s = subject.values(b, batch: batch)
        let negated = negated
        if let literals {
            return fill(b) { r in
                let v = s.at(r)
                if v.pointee.isMissing { return .missing }
                return .boolean(literals.contains { Arithmetic.isEqual(v.pointee, $0) } != negated)
            }
        }
        let parts = items.map { $0.values(b, batch: batch) }
        return fill(b) { r in
            let v = s[r]
            if v.isMissing { return .missing }
            return .boolean(parts.contains { Arithmetic.isEqual(v, $0[r]) } != negated)
        }
    }
}

private final class BetweenNode: BatchNode {
    private let subject: BatchNode, low: BatchNode, high: BatchNode
    init(_ subject: BatchNode, _ low: BatchNode, _ high: BatchNode) {
        self.subject = subject; self.low = low; self.high = high
        super.init(type: .boolean)
    }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues {
        let s = subject.values(b, batch: batch), lo = low.values(b, batch: batch), hi = high.values(b, batch: batch)
        return fill(b) { r in
            let v = s.at(r)
            guard let x = compareInPlace(v, lo.at(r)), let y = compareInPlace(v, hi.at(r)) else { return .missing }
            return .boolean(x >= 0 && y <= 0)
        }
    }
}

private final class ConditionalNode: BatchNode {
    private let condition: BatchNode, yes: BatchNode, no: BatchNode
    init(_ condition: BatchNode, _ yes: BatchNode, _ no: BatchNode, type: ValueType) {
        self.condition = condition; self.yes = yes; self.no = no
        super.init(type: type)
    }
    override func compute(_ b: BatchValues, batch: Int) -> StridedValues {
        // Both branches run for every row: the rule language has no side effects, and a row's
        // value is taken from the branch its condition chooses.
        let c = condition.values(b, batch: batch), y = yes.values(b, batch: batch), n = no.values(b, batch: batch)
        return fill(b) { r in
            switch c[r] {
            case .boolean(true): return y[r]
            case .boolean(false): return n[r]
            default: return .missing
            }
        }
    }
}

/// Compiles expressions for batches, sharing one node among all the places an identical
/// subexpression occurs (across every check given to the same compiler).
public final class BatchCompiler {
    private let compiler: ExpressionCompiler
    private var nodes: [String: BatchNode] = [:]

    public init(_ compiler: ExpressionCompiler) { self.compiler = compiler }

    /// The batch form of an expression that `ExpressionCompiler.compile` accepts: the same values,
    /// row for row. Names are resolved as it does; an error it would report is reported here too.
    public func compile(_ node: ExpressionNode) throws(ExpressionCompileError) -> BatchNode {
        let key = node.canonicalText
        if let known = nodes[key] { return known }
        let made = try make(node)
        nodes[key] = made
        return made
    }

    private func make(_ node: ExpressionNode) throws(ExpressionCompileError) -> BatchNode {
        switch node {
        case let .literal(value, _):
            return ConstantNode(value)
        case let .column(name, offset):
            guard let index = compiler.schema.columnIndex(name) else { throw try failure(node, offset) }
            return ColumnNode(index, type: ValueType(compiler.schema.columns[index].type))
        case let .parameter(name, offset):
            guard let value = compiler.parameters[name] else { throw try failure(node, offset) }
            return ConstantNode(value)
        case let .call(name, args, offset):
            guard let function = BuiltinFunctions.all[name] else { throw try failure(node, offset) }
            let parts = try args.map { (a: ExpressionNode) throws(ExpressionCompileError) -> BatchNode in try compile(a) }
            return CallNode(parts, function, type: try function.check(parts.map(\.type), offset))
        case let .negate(inner, _):
            return UnaryNode(.negate, try compile(inner), type: .number)
        case let .not(inner, _):
            return UnaryNode(.not, try compile(inner), type: .boolean)
        case let .isMissing(inner, negated, _):
            return UnaryNode(.isMissing(negated: negated), try compile(inner), type: .boolean)
        case let .binary(op, l, r, _):
            let left = try compile(l), right = try compile(r)
            let type: ValueType
            switch op {
            case .add, .subtract, .multiply, .divide: type = .number
            default: type = .boolean
            }
            return BinaryNode(op, left, right, type: type)
        case let .membership(subject, items, negated, _):
            let s = try compile(subject)
            let list = try items.map { (i: ExpressionNode) throws(ExpressionCompileError) -> BatchNode in try compile(i) }
            let literals = items.compactMap { item -> Value? in if case let .literal(v, _) = item { v } else { nil } }
            return MembershipNode(s, list, literals: literals.count == items.count ? literals : nil, negated: negated)
        case let .between(subject, low, high, _):
            return BetweenNode(try compile(subject), try compile(low), try compile(high))
        case let .conditional(condition, yes, no, _):
            let c = try compile(condition), y = try compile(yes), n = try compile(no)
            return ConditionalNode(c, y, n, type: y.type == .any ? n.type : y.type)
        }
    }

    /// The row compiler's own message for a name it cannot resolve.
    private func failure(_ node: ExpressionNode, _ offset: Int) throws(ExpressionCompileError) -> ExpressionCompileError {
        _ = try compiler.compile(node)
        return ExpressionCompileError(offset: offset, message: "unresolved name")
    }
}
