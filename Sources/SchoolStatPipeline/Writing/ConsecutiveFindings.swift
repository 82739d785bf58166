// Writing: findings of one kind on consecutive lines — the same rule, column, value and severity
// in the same file, one line after another (a thousand blank rows, the same column missing on
// every row, the same mistake copied down a million rows) — become one ledger entry naming the range,
// so that the ledger grows with the kinds of problem, not with the rows they repeat on. Entries
// leave in the order they came; one still growing holds back those after it, at most
// `maximumPending` of them. Finding the entry a finding extends is a scan of the few held
// entries that end on the line before, comparing numbers first: no hashing on the row pass.
import DequeModule
import SchoolStatModel

struct ConsecutiveFindings {
    private struct Pending {
        var entry: LedgerEntry
        /// The value as written, when it can be compared (nil: never one with another).
        var value: String?
        var last: Int
        var rows: Int

        /// Whether `other` (on the line after `last`) is the same finding. A finding about no
        /// column (a rule pack's verdict on a school, a teacher of a rejected school) is about
        /// its record: only the same record's findings are one.
        func extends(to other: LedgerEntry, value: String) -> Bool {
            return entry.severity == other.severity && entry.ruleID == other.ruleID && entry.column == other.column && self.value == value
                && entry.sourceFile == other.sourceFile && entry.table == other.table && entry.expected == other.expected
                && entry.note == other.note && entry.sheet == other.sheet && (!entry.column.isEmpty || entry.recordKey == other.recordKey)
        }
    }

    /// Entries held at most: past this the oldest is written as it stands.
    static let maximumPending = 256

    private var pending: Deque<Pending> = []

    /// Takes `entry`, whose value as written is `value` (nil: a value that cannot be compared, such
    /// as a masked ID number, never taken for the same as another); `emit` is given each entry
    /// that can no longer grow, with the rows it covers.
    mutating func add(_ entry: consuming LedgerEntry, value: String?, emit: (LedgerEntry, Int) -> Void) {
        let line = entry.line, sourceFile = entry.sourceFile
        if line > 0, let value {
            var i = pending.count - 1
            while i >= 0 {
                if pending[i].last == line - 1, pending[i].value != nil, pending[i].extends(to: entry, value: value) {
                    pending[i].last = line
                    pending[i].rows += 1
                    release(before: line, of: sourceFile, emit: emit)
                    return
                }
                i -= 1
            }
        }
        pending.append(Pending(entry: entry, value: line > 0 ? value : nil, last: line, rows: 1))
        release(before: line, of: sourceFile, emit: emit)
    }

    /// Writes everything held.
    mutating func finish(emit: (LedgerEntry, Int) -> Void) {
        while !pending.isEmpty { pop(emit: emit) }
    }

    /// Writes the entries at the front that an entry on `line` of `sourceFile` cannot extend any
    /// more (each looked at in place, not copied).
    private mutating func release(before line: Int, of sourceFile: String, emit: (LedgerEntry, Int) -> Void) {
        while !pending.isEmpty {
            let alive = pending[0].value != nil && line > 0 && pending[0].last >= line - 1 && pending[0].last <= line
                && pending[0].entry.sourceFile == sourceFile
            if alive && pending.count <= Self.maximumPending { break }
            pop(emit: emit)
        }
    }

    private mutating func pop(emit: (LedgerEntry, Int) -> Void) {
        let p = pending.removeFirst()
        guard p.rows > 1 else { emit(p.entry, 1); return }
        var entry = p.entry
        let first = entry.line
        entry.lastLine = p.last
        entry.messageZh += "（第 \(first)–\(p.last) 行的同一列都有这个问题，共 \(p.rows) 行，合并记为一条。）"
        entry.messageEn += " (The same problem on lines \(first)–\(p.last), \(p.rows) rows, recorded once.)"
        emit(entry, p.rows)
    }
}
