// Writing: findings of one kind on consecutive lines — the same rule, column, value and severity
// in the same file, one line after another (a thousand blank rows, the same column missing on
// every row, the same mistake copied down a million rows) — become one ledger entry naming the range,
// so that the ledger grows with the kinds of problem, not with the rows they repeat on. Entries
// leave in the order they came; one still growing holds back those after it, at most
// `maximumPending` of them.
import SchoolStatModel

struct ConsecutiveFindings {
    /// What must be equal for two findings to be one. A finding about no column (a rule pack's
    /// verdict on a school, a teacher of a rejected school) is about its record: only the same
    /// record's findings are one.
    private struct Kind: Hashable {
        var table: String, file: String, rule: String, column: String, raw: String, expected: String, note: String, record: String
        var severity: Severity
        init(_ e: LedgerEntry, value: String) {
            table = e.table; file = e.sourceFile; rule = e.ruleID; column = e.column; raw = value; expected = e.expected
            note = e.note; severity = e.severity
            record = e.column.isEmpty ? e.recordKey : ""
        }
    }

    private struct Pending {
        var entry: LedgerEntry
        var kind: Kind?
        var last: Int
        var rows: Int
    }

    /// Entries held at most: past this the oldest is written as it stands.
    static let maximumPending = 256

    private var pending: [Pending] = []
    /// Index into `pending` (offset by `dropped`) of the run each kind may still extend.
    private var growing: [Kind: Int] = [:]
    private var dropped = 0
    private var head = 0

    /// Takes `entry`, whose value as written is `value` (nil: a value that cannot be compared, such
    /// as a masked ID number, never taken for the same as another); `emit` is given each entry
    /// that can no longer grow, with the rows it covers.
    mutating func add(_ entry: LedgerEntry, value: String?, emit: (LedgerEntry, Int) -> Void) {
        if entry.line > 0, let value {
            let kind = Kind(entry, value: value)
            if let at = growing[kind] {
                let i = at - dropped
                if i >= head, i < pending.count, pending[i].last == entry.line - 1 {
                    pending[i].last = entry.line
                    pending[i].rows += 1
                    release(before: entry, emit: emit)
                    return
                }
            }
            growing[kind] = pending.count + dropped
            pending.append(Pending(entry: entry, kind: kind, last: entry.line, rows: 1))
        } else {
            pending.append(Pending(entry: entry, kind: nil, last: 0, rows: 1))
        }
        release(before: entry, emit: emit)
    }

    /// Writes everything held.
    mutating func finish(emit: (LedgerEntry, Int) -> Void) {
        while head < pending.count { pop(emit: emit) }
        compact()
    }

    /// Writes the entries at the front that `entry` cannot extend any more.
    private mutating func release(before entry: LedgerEntry, emit: (LedgerEntry, Int) -> Void) {
        while head < pending.count {
            let p = pending[head]
            let alive = p.kind != nil && entry.line > 0 && p.entry.sourceFile == entry.sourceFile && p.entry.table == entry.table
                && p.last >= entry.line - 1 && p.last <= entry.line
            if alive && pending.count - head <= Self.maximumPending { break }
            pop(emit: emit)
        }
        if head > 4096 { compact() }
    }

    private mutating func pop(emit: (LedgerEntry, Int) -> Void) {
        let p = pending[head]
        if let kind = p.kind, growing[kind] == head + dropped { growing[kind] = nil }
        head += 1
        var entry = p.entry
        if p.rows > 1 {
            let first = entry.line
            entry.lastLine = p.last
            entry.messageZh += "（第 \(first)–\(p.last) 行的同一列都有这个问题，共 \(p.rows) 行，合并记为一条。）"
            entry.messageEn += " (The same problem on lines \(first)–\(p.last), \(p.rows) rows, recorded once.)"
        }
        emit(entry, p.rows)
    }

    private mutating func compact() {
        pending.removeFirst(head)
        dropped += head
        head = 0
    }
}
