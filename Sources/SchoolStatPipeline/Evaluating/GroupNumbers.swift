// Evaluating: groups — their numbers in order of first sight, their accumulators — and the
// streamers that feed a table's rows into them.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// Per-group accumulators fed by a streaming table. Groups live in slots, in the
/// order they were first seen; one hash lookup per row finds the slot.
public final class GroupState {
    public private(set) var order: [String] = []
    private var slots: [String: Int] = [:]
    public private(set) var keyValues: [[Value]] = []
    /// Every slot's accumulators, one after another (`calls` per slot).
    public var accumulators: [Accumulator] = []
    private var calls = 0
    /// Where each group's first row is, so a finding about the group can point a clerk at the file.
    public private(set) var firstRows: [(file: String, line: Int)] = []

    /// Slots by group number (see `PackEvaluator.groupNumber`); -1 where the group has none yet.
    private var slotOfGroup: [Int] = []

    /// Asks for the accumulators of the group numbered `group` to be brought into the cache, when
    /// the group has a slot already.
    @inline(__always)
    public func prefetch(group: Int, calls: Int) {
        guard group < slotOfGroup.count, case let s = slotOfGroup[group], s >= 0 else { return }
        CacheHint.prefetchForWrite(accumulators, at: s * calls)
    }

    /// The slot of the group numbered `group`, found by number; made on its first row.
    public func slot(group: Int, _ key: () -> String, keyValues: @autoclosure () -> [Value], calls: Int, file: String, line: Int) -> Int {
        if group < slotOfGroup.count, slotOfGroup[group] >= 0 { return slotOfGroup[group] }
        let s = slot(key(), keyValues: keyValues(), calls: calls, file: file, line: line)
        if group >= slotOfGroup.count { slotOfGroup.append(contentsOf: repeatElement(-1, count: group + 1 - slotOfGroup.count)) }
        slotOfGroup[group] = s
        return s
    }

    /// The slot of group `key`, made on its first row.
    public func slot(_ key: String, keyValues: @autoclosure () -> [Value], calls: Int, file: String, line: Int) -> Int {
        if let s = slots[key] { return s }
        let s = order.count
        slots[key] = s
        order.append(key)
        self.keyValues.append(keyValues())
        self.calls = calls
        accumulators.append(contentsOf: repeatElement(Accumulator(), count: calls))
        firstRows.append((file, line))
        return s
    }

    public func group(_ key: String) -> (keyValues: [Value], accumulators: [Accumulator], firstRow: (file: String, line: Int))? {
        guard let s = slots[key] else { return nil }
        return (keyValues[s], Array(accumulators[(s * calls)..<((s + 1) * calls)]), firstRows[s])
    }
}

/// What a streaming table's row feeds: a derived value from another table or a group rule.
final class Streamer {
    let filter: CompiledExpression?
    let byColumns: [Int]
    let kinds: [AggregateCall.Kind]
    let arguments: [[CompiledExpression]]
    let state: GroupState
    /// Group rules keep each group's key values and first row; derived values need only the key text.
    let keepsGroupFacts: Bool
    /// Which set of group columns (numbered among all streamers) `byColumns` is.
    var grouping = 0

    init(filter: CompiledExpression?, byColumns: [Int], kinds: [AggregateCall.Kind], arguments: [[CompiledExpression]], state: GroupState, keepsGroupFacts: Bool) {
        self.filter = filter
        self.byColumns = byColumns
        self.kinds = kinds
        self.arguments = arguments
        self.state = state
        self.keepsGroupFacts = keepsGroupFacts
    }
}

/// Group keys numbered in order of first sight: open addressing over an FNV-1a hash of the
/// key's UTF-8 bytes, cheaper than `Dictionary<String, Int>`'s SipHash on the thread every row
/// passes through (docs/performance.md).
public struct GroupNumbers {
    public init() {}
    /// Hash and number of each key, at the key's slot or after it; number -1 for an empty slot.
    private var slots = [(hash: UInt64, number: Int)](repeating: (0, -1), count: 64)
    private var keys: [String] = []

    public var count: Int { keys.count }

    /// The key's number, given the next number when it is new.
    public mutating func number(for key: String) -> Int {
        let hash = key.withBytes(FNV1a.hash)
        let mask = slots.count - 1
        var i = Self.home(hash, mask)
        while slots[i].number >= 0 {
            if slots[i].hash == hash && keys[slots[i].number] == key { return slots[i].number }
            i = (i + 1) & mask
        }
        let number = keys.count
        keys.append(key)
        slots[i] = (hash, number)
        if 2 * keys.count > slots.count { grow() }
        return number
    }

    /// The slot a key's search starts at (the hash's high bits folded in: slots are few).
    @inline(__always)
    private static func home(_ hash: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: (0, -1), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.number >= 0 {
            var i = Self.home(slot.hash, mask)
            while slots[i].number >= 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }
}
