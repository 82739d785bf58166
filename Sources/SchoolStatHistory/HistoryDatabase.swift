// History: every validate run recorded in an embedded SQLite database (GRDB) — the run, its
// inputs with their SHA-256, every finding with the row's business key, every evaluation verdict —
// in one transaction once the run's outputs are in place. Only masked values are stored (the
// ledger's), so the database is as safe to share as the ledger. WAL and a busy timeout let two
// runs record into one database at once.
import Foundation
import GRDB
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatReporting

/// A finding as the history keeps it.
public struct RecordedFinding: Sendable, Equatable {
    public var table: String
    /// The row's business key (`teacher_id=T500110004`), or `file=…` for a finding about a file.
    public var key: String
    public var school: String
    public var rule: String
    public var severity: String
    public var column: String
    public var value: String
    public var file: String
    public var line: Int
    public var messageZh: String
    public var messageEn: String
    public var waived: Bool
    /// Runs in a row, this one included, that the finding has been open.
    public var openRuns: Int

    public init(table: String, key: String, school: String, rule: String, severity: String, column: String, value: String,
                file: String, line: Int, messageZh: String, messageEn: String, waived: Bool, openRuns: Int = 1) {
        self.table = table; self.key = key; self.school = school; self.rule = rule; self.severity = severity; self.column = column
        self.value = value; self.file = file; self.line = line; self.messageZh = messageZh; self.messageEn = messageEn
        self.waived = waived; self.openRuns = openRuns
    }
}

/// A recorded run, as `schoolstat history` lists it.
public struct RecordedRun: Sendable, Codable {
    public var id: String
    public var started: String
    public var finished: String
    public var status: Int
    public var profile: String
    public var rulesDigest: String
    public var outputDirectory: String
    public var inputs: Int
    public var rowsRead: Int
    public var errors: Int
    public var warnings: Int
    public var new: Int?
    public var fixed: Int?
    public var open: Int?

    enum CodingKeys: String, CodingKey {
        case id = "run_id", started, finished, status = "exit_code", profile, rulesDigest = "rules_digest"
        case outputDirectory = "output_directory", inputs, rowsRead = "rows_read", errors, warnings, new, fixed, open
    }
}

public struct HistoryError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    /// The failure is the temporary directory's (where a run's findings are staged), not the history's.
    public var inTemporaryDirectory = false
    /// The file system holding the history (or the temporary directory) is full.
    public var diskFull = false
    public init(path: String, reason: String) { self.path = path; self.reason = reason }

    /// An error of SQLite's on the history at `path`: a full disk is told as such, and told apart
    /// from a full temporary directory (SQLite spills big transactions there).
    public init(path: String, _ error: any Error) {
        self.init(path: path, reason: "\(error)")
        guard (error as? DatabaseError)?.resultCode == .SQLITE_FULL else { return }
        diskFull = true
        let historyDirectory = (path as NSString).deletingLastPathComponent
        if Self.freeBytes(historyDirectory.isEmpty ? "." : historyDirectory) >= 1 << 20 && Self.freeBytes(Self.temporaryDirectory) < 1 << 20 {
            inTemporaryDirectory = true
            self.path = Self.temporaryDirectory
        }
    }

    /// An error of the run's private staging database, which lives in the temporary directory.
    public static func temporary(_ error: any Error) -> HistoryError {
        var e = HistoryError(path: temporaryDirectory, reason: "\(error)")
        e.inTemporaryDirectory = true
        e.diskFull = (error as? DatabaseError)?.resultCode == .SQLITE_FULL || freeBytes(temporaryDirectory) < 1 << 20
        return e
    }

    /// Where SQLite puts its temporary files: `SQLITE_TMPDIR`, else `TMPDIR`, else /var/tmp.
    public static var temporaryDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["SQLITE_TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp"
    }

    static func freeBytes(_ directory: String) -> Int {
        var st = statvfs()
        guard statvfs(directory, &st) == 0 else { return .max }
        return Int(st.f_bavail) &* Int(st.f_frsize)
    }

    public var description: String {
        if inTemporaryDirectory {
            let full = diskFull ? "临时目录已满" : "临时目录无法使用"
            let environment = ProcessInfo.processInfo.environment
            let variable = environment["SQLITE_TMPDIR"] == path ? "SQLITE_TMPDIR" : environment["TMPDIR"] == path ? "TMPDIR" : nil
            let how = variable.map { "，由环境变量 \($0) 指定" } ?? "，未设 TMPDIR 时的默认位置"
            return "\(full)（\(path)\(how)），无法暂存本次运行的问题：\(reason)。请清理该目录，或把 TMPDIR 设为有空间的目录后重新运行。"
                + " (the temporary directory \(path)\(variable.map { ", set by \($0)," } ?? "") is \(diskFull ? "full" : "not usable"); free space there or point TMPDIR elsewhere)"
        }
        if diskFull {
            return "运行历史数据库 \(path) 所在的磁盘已满：\(reason) (the disk holding the run history database is full)"
        }
        return "运行历史数据库 \(path) 无法使用：\(reason) (the run history database cannot be used)"
    }
}

public final class HistoryDatabase: Sendable {
    public let path: String
    private let pool: DatabasePool
    /// The history was created in an existing, empty file (which the caller says).
    public let createdInEmptyFile: Bool

    /// Opens (creating when needed) the history at `path`. Anything but an undamaged schoolstat
    /// history in a format this build knows, or an empty file, is refused before anything is
    /// written to it or beside it.
    public init(path: String) throws(HistoryError) {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "schoolstat.history"
        do {
            // Looked at read-only first: opening a pool would turn on WAL, which rewrites the
            // file's header, and a file that is not ours (or is damaged) must stay as it is.
            let state = try HistoryFile.vet(path: path)
            createdInEmptyFile = state == .empty
            pool = try Self.openPool(path: path, configuration: configuration)
            // Made in one immediate transaction, every statement idempotent: two runs creating
            // the same new history at once wait for each other instead of colliding.
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try db.execute(sql: Self.schema)
                    if try Int.fetchOne(db, sql: "SELECT count(*) FROM schoolstat_history") == 0 {
                        try db.execute(sql: "INSERT INTO schoolstat_history VALUES (\(HistoryFile.format))")
                    }
                    // The file says what it is in its header, so it is recognised before it is opened.
                    if try Int32.fetchOne(db, sql: "PRAGMA application_id") != HistoryFile.applicationID {
                        try db.execute(sql: "PRAGMA application_id = \(HistoryFile.applicationID)")
                    }
                    if try Int.fetchOne(db, sql: "PRAGMA user_version") != HistoryFile.format {
                        try db.execute(sql: "PRAGMA user_version = \(HistoryFile.format)")
                    }
                    return .commit
                }
            }
        } catch let error as HistoryError {
            throw error
        } catch {
            throw HistoryError(path: path, error)
        }
    }

    /// Opens the pool, waiting while another run holds the file: switching a new database to WAL
    /// takes a lock that SQLite does not wait for by itself, so a run that finds it taken tries
    /// again (for up to about 30 seconds).
    static func openPool(path: String, configuration: Configuration) throws -> DatabasePool {
        var attempt = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                attempt += 1
                if attempt > 600 { throw error }
                usleep(UInt32.random(in: 20_000...80_000))
            }
        }
    }

    /// Throws unless the file at `path` is absent, empty or a schoolstat history; never writes to it.
    static func vet(path: String) throws(HistoryError) {
        _ = try HistoryFile.vet(path: path)
    }

    /// The tables of the existing SQLite file at `path`, looked at read-only (a file that is not
    /// ours must stay exactly as it is, with nothing created beside it); nil when it is not a
    /// readable SQLite database.
    static func tableNames(path: String) -> [String]? {
        HistoryFile.tableNames(path: path)
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS schoolstat_history (format INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT NOT NULL, status INTEGER NOT NULL,
            profile TEXT NOT NULL, report_date TEXT NOT NULL, rules_digest TEXT NOT NULL, inputs_key TEXT NOT NULL,
            output_directory TEXT NOT NULL, rows_read INTEGER NOT NULL, rows_clean INTEGER NOT NULL,
            rows_rejected INTEGER NOT NULL, errors INTEGER NOT NULL, warnings INTEGER NOT NULL, waived INTEGER NOT NULL,
            previous_run TEXT, new INTEGER, fixed INTEGER, open INTEGER);
        CREATE INDEX IF NOT EXISTS runs_inputs ON runs(inputs_key, finished);
        CREATE TABLE IF NOT EXISTS inputs (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, path TEXT NOT NULL, table_name TEXT,
            sha256 TEXT NOT NULL, encoding TEXT NOT NULL, bytes INTEGER NOT NULL, error TEXT);
        CREATE TABLE IF NOT EXISTS run_tables (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, table_name TEXT NOT NULL,
            rows_read INTEGER NOT NULL, rows_clean INTEGER NOT NULL, rows_rejected INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS findings (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, table_name TEXT NOT NULL,
            business_key TEXT NOT NULL, school_code TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
            column_name TEXT NOT NULL, value TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL,
            message_zh TEXT NOT NULL, message_en TEXT NOT NULL, waived INTEGER NOT NULL, open_runs INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS findings_run ON findings(run_id);
        CREATE TABLE IF NOT EXISTS verdicts (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, rule TEXT NOT NULL, table_name TEXT NOT NULL,
            group_key TEXT NOT NULL, verdict TEXT NOT NULL, figures TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS verdicts_run ON verdicts(run_id);
        CREATE INDEX IF NOT EXISTS verdicts_rule ON verdicts(rule, group_key);
        """

    /// The latest run over the same inputs, finished before now.
    public func previousRun(inputsKey: String) throws(HistoryError) -> (id: String, finished: String)? {
        do {
            return try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT id, finished FROM runs WHERE inputs_key = ? ORDER BY finished DESC, id DESC LIMIT 1",
                                 arguments: [inputsKey]).map { ($0["id"], $0["finished"]) }
            }
        } catch { throw HistoryError(path: path, error) }
    }

    public func runExists(_ id: String) throws(HistoryError) -> Bool {
        do { return try pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [id]) ?? false } } catch {
            throw HistoryError(path: path, error)
        }
    }

    public func run(_ id: String) throws(HistoryError) -> RecordedRun? {
        try runs(where: "WHERE r.id = ?", [id], limit: 1).first
    }

    /// The last `limit` runs, newest first.
    public func runs(last limit: Int) throws(HistoryError) -> [RecordedRun] {
        try runs(where: "", [], limit: limit)
    }

    private func runs(where clause: String, _ arguments: [String], limit: Int) throws(HistoryError) -> [RecordedRun] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT r.*, (SELECT count(*) FROM inputs i WHERE i.run_id = r.id) AS input_count FROM runs r \(clause)
                    ORDER BY r.finished DESC, r.id DESC LIMIT ?
                    """, arguments: StatementArguments(arguments.map { $0 as (any DatabaseValueConvertible) } + [limit])).map { r in
                    RecordedRun(id: r["id"], started: r["started"], finished: r["finished"], status: r["status"], profile: r["profile"],
                                rulesDigest: r["rules_digest"], outputDirectory: r["output_directory"], inputs: r["input_count"],
                                rowsRead: r["rows_read"], errors: r["errors"], warnings: r["warnings"], new: r["new"], fixed: r["fixed"], open: r["open"])
                }
            }
        } catch { throw HistoryError(path: path, error) }
    }

    /// Removes runs that finished more than `days` days before `now`, with everything recorded about them.
    @discardableResult
    public func prune(keepDays days: Int, now: Date = Date()) throws(HistoryError) -> Int {
        let cutoff = HistoryDatabase.timestamp(now.addingTimeInterval(-Double(days) * 86_400))
        do {
            return try pool.write { db in
                try db.execute(sql: "DELETE FROM runs WHERE finished < ?", arguments: [cutoff])
                return db.changesCount
            }
        } catch { throw HistoryError(path: path, error) }
    }

    /// Inserts everything recorded about `run` but its findings (staged apart, see
    /// `FindingStaging.record`) into the history reached as `schema` on `db`.
    static func insert(_ run: RunRecord, into db: Database, schema: String) throws {
        let s = run.summary
        let tables = s.tables.values
        try db.execute(sql: """
            INSERT INTO \(schema).runs (id, started, finished, status, profile, report_date, rules_digest, inputs_key, output_directory,
                rows_read, rows_clean, rows_rejected, errors, warnings, waived, previous_run, new, fixed, open)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [s.runID, run.started, run.finished, Int(s.status), s.profile ?? "national", s.reportDate, run.rulesDigest,
                             run.inputsKey, run.outputDirectory, tables.reduce(0) { $0 + $1.rowsRead },
                             tables.reduce(0) { $0 + $1.rowsClean }, tables.reduce(0) { $0 + $1.rowsRejected },
                             s.totals.errors, s.totals.warnings, s.totals.waived, s.changes?.previousRun,
                             s.changes?.totals.new, s.changes?.totals.fixed, s.changes?.totals.open])
        for input in s.inputs {
            try db.execute(sql: "INSERT INTO \(schema).inputs VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [s.runID, IDNumber.scrub(input.path), input.table, input.sha256, input.encoding, input.bytes, input.error.map(IDNumber.scrub)])
        }
        for (name, t) in s.tables.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "INSERT INTO \(schema).run_tables VALUES (?, ?, ?, ?, ?)", arguments: [s.runID, name, t.rowsRead, t.rowsClean, t.rowsRejected])
        }
        let verdict = try db.cachedStatement(sql: "INSERT INTO \(schema).verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        for v in run.verdicts {
            try verdict.execute(arguments: [s.runID, v.rule, v.table, v.key, v.verdict, v.figures, v.file, v.line])
        }
    }

    public static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}

/// Everything recorded about one run but its findings, which are staged apart.
public struct RunRecord: Sendable {
    public var summary: RunSummary
    public var started: String
    public var finished: String
    public var rulesDigest: String
    public var inputsKey: String
    public var outputDirectory: String
    public var verdicts: [(rule: String, table: String, key: String, verdict: String, figures: String, file: String, line: Int)]
}

extension HistoryDatabase {
    /// The runs recorded over the same inputs as `runID`, oldest first, up to and including it: at
    /// most `limit` runs, each one's verdicts read when asked for, as a stream. Nil when there is no
    /// database at `path`. The file is only read: scoring never creates or changes a history.
    public static func scoreHistory(path: String, runID: String, limit: Int) throws(HistoryError) -> ScoreHistory? {
        do {
            // Absent or empty: no runs to show (and an empty file is not made a history here).
            switch try HistoryFile.vet(path: path) {
            case .absent, .empty: return nil
            case .emptyDatabase, .history: break
            }
            let queue = try readOnlyQueue(path)
            return try queue.read { db in
                let stream: @Sendable (String, (String, String, String, String) -> Void) throws -> Void = { run, body in
                    try readOnlyQueue(path).read { db in
                        let rows = try Row.fetchCursor(db, sql: "SELECT rule, group_key, verdict, figures FROM verdicts WHERE run_id = ?", arguments: [run])
                        while let r = try rows.next() { body(r[0], r[1], r[2], r[3]) }
                    }
                }
                guard let scored = try Row.fetchOne(db, sql: "SELECT inputs_key, finished FROM runs WHERE id = ?", arguments: [runID]) else {
                    return ScoreHistory(database: path, runs: [], complete: true, scoredRunRecorded: false, forEachVerdict: stream)
                }
                let inputsKey: String = scored["inputs_key"], finished: String = scored["finished"]
                let listed = try Row.fetchAll(db, sql: """
                    SELECT id, finished FROM runs WHERE inputs_key = ? AND (finished < ? OR id = ?)
                    ORDER BY finished DESC, id DESC LIMIT ?
                    """, arguments: [inputsKey, finished, runID, limit + 1]).map { RecordedRunRef(runID: $0["id"], finished: $0["finished"]) }
                return ScoreHistory(database: path, runs: Array(listed.prefix(limit).reversed()), complete: listed.count <= limit,
                                    scoredRunRecorded: true, forEachVerdict: stream)
            }
        } catch let error as HistoryError {
            throw error
        } catch {
            throw HistoryError(path: path, error)
        }
    }

    static func readOnlyQueue(_ path: String) throws -> DatabaseQueue {
        var readOnly = Configuration()
        readOnly.readonly = true
        readOnly.busyMode = .timeout(30)
        return try DatabaseQueue(path: path, configuration: readOnly)
    }
}
