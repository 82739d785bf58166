// History: what changed between two runs. Findings are matched by table, the row's business key,
// rule and column — never by line, which moves when a clerk inserts a row. A key seen twice in
// one run and once in the other counts once as open and once as new (or fixed).
//
// The matching is done in SQL, in a private temporary SQLite database that holds the later run's
// findings (SQLite keeps its pages in memory up to its cache size, spills the rest to a file it
// has already unlinked, and the file is gone when the database is closed or the process dies), with
// the history attached: a run's memory does not grow with the number of its findings.
import Foundation
import GRDB
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

public enum Change: String, Sendable, Codable {
    case new, fixed, open
}

/// The later run's findings, matched against an earlier run's in the history.
public final class FindingStaging {
    let queue: DatabaseQueue
    private var pending: [RecordedFinding] = []
    private(set) var attachedHistory: String?
    /// The first error met while findings were being added (they are added where nothing can throw).
    private(set) var failure: HistoryError?
    static let batch = 4_096

    public init() throws(HistoryError) {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "schoolstat.history.staging"
        do {
            // An empty path: a private, temporary on-disk database, deleted when it is closed.
            queue = try DatabaseQueue(path: "", configuration: configuration)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE current_findings (
                        seq INTEGER PRIMARY KEY, table_name TEXT NOT NULL, business_key TEXT NOT NULL, school_code TEXT NOT NULL,
                        rule TEXT NOT NULL, severity TEXT NOT NULL, column_name TEXT NOT NULL, value TEXT NOT NULL, file TEXT NOT NULL,
                        line INTEGER NOT NULL, message_zh TEXT NOT NULL, message_en TEXT NOT NULL, waived INTEGER NOT NULL,
                        open_runs INTEGER NOT NULL DEFAULT 1, change TEXT);
                    CREATE TABLE matched (seq INTEGER PRIMARY KEY, previous_rowid INTEGER NOT NULL, open_runs INTEGER NOT NULL);
                    CREATE TABLE fixed_findings (seq INTEGER PRIMARY KEY, previous_rowid INTEGER NOT NULL);
                    CREATE TABLE previous_findings (
                        pid INTEGER PRIMARY KEY, table_name TEXT NOT NULL, business_key TEXT NOT NULL, rule TEXT NOT NULL,
                        column_name TEXT NOT NULL, n INTEGER NOT NULL, open_runs INTEGER NOT NULL);
                    CREATE INDEX previous_key ON previous_findings (table_name, business_key, rule, column_name, n);
                    """)
            }
        } catch {
            throw HistoryError.temporary(error)
        }
    }

    /// Adds a finding of the later run, in the order they were found.
    public func add(_ finding: RecordedFinding) {
        pending.append(finding)
        if pending.count >= Self.batch { flush() }
    }

    private func flush() {
        guard !pending.isEmpty, failure == nil else { pending.removeAll(keepingCapacity: true); return }
        do {
            try queue.write { db in
                let statement = try db.cachedStatement(sql: """
                    INSERT INTO current_findings (table_name, business_key, school_code, rule, severity, column_name, value, file, line,
                        message_zh, message_en, waived) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for f in pending {
                    try statement.execute(arguments: [f.table, f.key, f.school, f.rule, f.severity, f.column, f.value, f.file, f.line,
                                                      f.messageZh, f.messageEn, f.waived])
                }
            }
        } catch {
            failure = HistoryError.temporary(error)
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Makes the history at `path` readable and writable as `history` on the staging connection.
    public func attach(history path: String) throws(HistoryError) {
        guard attachedHistory == nil else { return }
        do {
            try queue.writeWithoutTransaction { db in try db.execute(sql: "ATTACH DATABASE ? AS history", arguments: [path]) }
        } catch { throw HistoryError(path: path, error) }
        attachedHistory = path
    }

    /// Takes the later run's findings from the history instead (for `schoolstat diff`).
    public func load(recordedRun run: String) throws(HistoryError) {
        do {
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO current_findings (table_name, business_key, school_code, rule, severity, column_name, value, file, line,
                        message_zh, message_en, waived)
                    SELECT table_name, business_key, school_code, rule, severity, column_name, value, file, line, message_zh, message_en, waived
                    FROM history.findings WHERE run_id = ? ORDER BY rowid
                    """, arguments: [run])
            }
        } catch { throw HistoryError(path: attachedHistory ?? "", error) }
    }

    /// Matches the later run's findings with `previousRun`'s (none: every finding is new). Each
    /// continued finding gets one more run open than the one it continues; waived findings, on
    /// either side, are left out.
    public func compare(previousRun: String?, previousFinished: String?) throws(HistoryError) -> ChangeSummary {
        flush()
        if let failure { throw failure }
        var totals = ChangeCounts(), newErrors = 0
        var byRule: [String: ChangeCounts] = [:], bySchool: [String: ChangeCounts] = [:]
        do {
            try queue.write { db in
                try db.execute(sql: """
                    DELETE FROM matched; DELETE FROM fixed_findings; DELETE FROM previous_findings;
                    UPDATE current_findings SET change = NULL, open_runs = 1
                    """)
                if let previousRun {
                    // The k-th finding with a key in one run continues the k-th with that key in the
                    // other. The earlier run's are numbered into a table with an index on the key, and
                    // the later run's looked up in it: one pass over each, not one over their product.
                    try db.execute(sql: """
                        INSERT INTO previous_findings (pid, table_name, business_key, rule, column_name, n, open_runs)
                        SELECT rowid, table_name, business_key, rule, column_name,
                               row_number() OVER (PARTITION BY table_name, business_key, rule, column_name ORDER BY rowid), open_runs
                        FROM history.findings WHERE run_id = ? AND waived = 0
                        """, arguments: [previousRun])
                    try db.execute(sql: """
                        INSERT INTO matched (seq, previous_rowid, open_runs)
                        SELECT c.seq, p.pid, p.open_runs
                        FROM (SELECT seq, table_name, business_key, rule, column_name,
                                     row_number() OVER (PARTITION BY table_name, business_key, rule, column_name ORDER BY seq) AS n
                              FROM current_findings WHERE waived = 0) AS c
                        CROSS JOIN previous_findings AS p
                        ON p.table_name = c.table_name AND p.business_key = c.business_key AND p.rule = c.rule
                           AND p.column_name = c.column_name AND p.n = c.n
                        """)
                    try db.execute(sql: """
                        UPDATE current_findings SET change = 'open', open_runs = m.open_runs + 1 FROM matched m WHERE m.seq = current_findings.seq
                        """)
                    try db.execute(sql: """
                        INSERT INTO fixed_findings (previous_rowid)
                        SELECT pid FROM previous_findings WHERE pid NOT IN (SELECT previous_rowid FROM matched) ORDER BY pid
                        """)
                }
                try db.execute(sql: "UPDATE current_findings SET change = 'new' WHERE waived = 0 AND change IS NULL")
                let fixed = previousRun == nil ? "" : """
                    UNION ALL
                    SELECT 'fixed', f.rule, f.school_code, count(*), 0
                    FROM fixed_findings x JOIN history.findings f ON f.rowid = x.previous_rowid GROUP BY f.rule, f.school_code
                    """
                let counts = try Row.fetchCursor(db, sql: """
                    SELECT change, rule, school_code, count(*) AS n, sum(change = 'new' AND severity = 'error') AS errors
                    FROM current_findings WHERE change IS NOT NULL GROUP BY change, rule, school_code
                    \(fixed)
                    """)
                while let row = try counts.next() {
                    let n: Int = row["n"], rule: String = row["rule"], school: String = row["school_code"]
                    newErrors += row["errors"] as Int? ?? 0
                    switch Change(rawValue: row["change"]) {
                    case .new: totals.new += n; byRule[rule, default: .init()].new += n; bySchool[school, default: .init()].new += n
                    case .open: totals.open += n; byRule[rule, default: .init()].open += n; bySchool[school, default: .init()].open += n
                    case .fixed: totals.fixed += n; byRule[rule, default: .init()].fixed += n; bySchool[school, default: .init()].fixed += n
                    case nil: break
                    }
                }
            }
        } catch { throw attachedHistory.map { HistoryError(path: $0, error) } ?? HistoryError.temporary(error) }
        return ChangeSummary(previousRun: previousRun, previousFinished: previousFinished, totals: totals, newErrors: newErrors,
                             byRule: byRule, bySchool: bySchool)
    }

    /// Every new, open and fixed finding, new first, then open, then fixed; by school within each,
    /// in the order found within a school. Fixed ones are read from the history.
    public func forEachChange(_ body: (Change, RecordedFinding) throws -> Void) throws {
        let fixed = attachedHistory == nil ? "" : """
            UNION ALL
            SELECT 'fixed' AS change, 2 AS ord, x.seq AS seq, f.table_name, f.school_code, f.business_key, f.rule, f.severity, f.column_name,
                   f.value, f.file, f.line, f.open_runs, f.message_zh, f.message_en
            FROM fixed_findings x JOIN history.findings f ON f.rowid = x.previous_rowid
            """
        try queue.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT change, CASE change WHEN 'new' THEN 0 ELSE 1 END AS ord, seq, table_name, school_code, business_key, rule, severity,
                       column_name, value, file, line, open_runs, message_zh, message_en
                FROM current_findings WHERE change IS NOT NULL
                \(fixed)
                ORDER BY ord, school_code, seq
                """)
            while let r = try rows.next() {
                guard let change = Change(rawValue: r["change"]) else { continue }
                try body(change, RecordedFinding(table: r["table_name"], key: r["business_key"], school: r["school_code"], rule: r["rule"],
                                                 severity: r["severity"], column: r["column_name"], value: r["value"], file: r["file"],
                                                 line: r["line"], messageZh: r["message_zh"], messageEn: r["message_en"], waived: false,
                                                 openRuns: r["open_runs"]))
            }
        }
    }

    /// `changes.csv`: one line per new, fixed and still-open finding, with how many runs it has been open.
    public func writeCSV(to path: String) throws(WriteError) {
        let file = try BufferedFile(path: path)
        file.write([0xEF, 0xBB, 0xBF])
        let csv = CSVWriter(file: file)
        csv.writeRow(["change", "table", "school_code", "record_key", "rule_id", "severity", "column", "value", "source_file", "source_line",
                      "runs_open", "message_zh", "message_en"], defuse: false)
        do {
            try forEachChange { change, f in
                // Every field through the ID-number scrub, also for findings recorded before it knew every form.
                csv.writeRow([change.rawValue, f.table, f.school, f.key, f.rule, f.severity, f.column, f.value, f.file, String(f.line),
                              change == .fixed ? "" : String(f.openRuns), f.messageZh, f.messageEn].map(IDNumber.scrub))
            }
        } catch {
            // The file is ours (just created): nothing half-written stays behind.
            try? file.close()
            try? FileManager.default.removeItem(atPath: path)
            throw WriteError(path: path, reason: "\(error)")
        }
        try file.close()
    }

    /// Records `run` and the staged findings into the attached history, in one transaction that
    /// takes the history's write lock at once (waiting while another run holds it).
    func record(_ run: RunRecord) throws(HistoryError) {
        do {
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try HistoryDatabase.insert(run, into: db, schema: "history")
                    try db.execute(sql: """
                        INSERT INTO history.findings
                        SELECT ?, table_name, business_key, school_code, rule, severity, column_name, value, file, line, message_zh, message_en,
                               waived, open_runs
                        FROM current_findings ORDER BY seq
                        """, arguments: [run.summary.runID])
                    return .commit
                }
            }
        } catch { throw HistoryError(path: attachedHistory ?? "", error) }
    }
}

public enum Changes {
    /// Console lines: the totals, then per rule and per school, in the chosen language.
    public static func describe(_ summary: ChangeSummary, zh: Bool, limit: Int = 10) -> [String] {
        var lines: [String] = []
        let t = summary.totals
        if let previous = summary.previousRun {
            lines.append(zh ? "与上次运行 \(previous) 相比：新增问题 \(t.new) 条（其中错误 \(summary.newErrors) 条），已修复 \(t.fixed) 条，仍未解决 \(t.open) 条。"
                            : "Since run \(previous): \(t.new) new findings (\(summary.newErrors) errors), \(t.fixed) fixed, \(t.open) still open.")
        } else {
            lines.append(zh ? "运行历史中没有对同样输入的上一次运行：全部 \(t.new) 条问题记为新增。"
                            : "No earlier run over the same inputs is recorded: all \(t.new) findings count as new.")
        }
        guard summary.previousRun != nil else { return lines }
        let rules = summary.byRule.filter { $0.value.new + $0.value.fixed > 0 }.sorted { ($1.value.new + $1.value.fixed, $0.key) < ($0.value.new + $0.value.fixed, $1.key) }
        for (rule, c) in rules.prefix(limit) {
            lines.append(zh ? "  规则 \(rule)：新增 \(c.new)，修复 \(c.fixed)，仍未解决 \(c.open)" : "  rule \(rule): \(c.new) new, \(c.fixed) fixed, \(c.open) open")
        }
        let schools = summary.bySchool.filter { !$0.key.isEmpty && $0.value.new + $0.value.fixed > 0 }
            .sorted { ($1.value.new + $1.value.fixed, $0.key) < ($0.value.new + $0.value.fixed, $1.key) }
        for (school, c) in schools.prefix(limit) {
            lines.append(zh ? "  学校 \(school)：新增 \(c.new)，修复 \(c.fixed)，仍未解决 \(c.open)" : "  school \(school): \(c.new) new, \(c.fixed) fixed, \(c.open) open")
        }
        return lines
    }
}
