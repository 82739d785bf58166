// History: a run's clean tables and findings loaded into PostgreSQL (COPY through libpq,
// PostgresClient.swift) or into a local SQLite file. Columns are typed from the rules' schemas: integers, exact decimals
// (NUMERIC in PostgreSQL; text in SQLite, whose numbers are floating point), dates, booleans.
// Every table has a run_id column: one fixed set of tables holds every run exported, so runs can
// be compared with a query. An export is one transaction and replaces that run's rows, so
// exporting the same run again changes nothing.
import Foundation
import GRDB
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

public struct ExportError: Error, Sendable, CustomStringConvertible {
    /// Why the export did not happen, as the exit code tells it.
    public enum Kind: Sendable {
        /// The target or the rules are not ones the export may use; nothing was written (exit 2).
        case refused
        /// A file of the run directory cannot be read (exit 3).
        case unreadableInput
        /// The export was attempted and failed (exit 4).
        case failed
    }

    public var zh: String
    public var en: String
    public var kind: Kind
    public init(_ zh: String, _ en: String, kind: Kind = .failed) { self.zh = zh; self.en = en; self.kind = kind }
    public var description: String { "\(zh) (\(en))" }

    public var status: RunStatus {
        switch kind {
        case .refused: .badRulesOrArguments
        case .unreadableInput: .unreadableInput
        case .failed: .outputFailed
        }
    }
}

public enum ExportTarget: Sendable {
    case postgres(PostgresTarget)
    case sqlite(path: String)

    /// `sqlite:PATH`, or a PostgreSQL connection as libpq reads it: a URI
    /// (`postgresql://user@host:port/database[?schema=NAME&host=/socket/dir&sslmode=…]`) or a
    /// key=value string (`service=county schema=NAME`); what it leaves out comes from the PG*
    /// variables, ~/.pgpass and pg_service.conf.
    public static func parse(_ text: String) throws(ExportError) -> ExportTarget {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ExportError("sqlite: 后面应写文件路径", "sqlite: needs a file path", kind: .refused) }
            return .sqlite(path: path)
        }
        return .postgres(try PostgresTarget.parse(text))
    }
}

/// What an export loaded.
public struct ExportReport: Sendable {
    public var runID: String
    public var tables: [String: Int]
    public var findings: Int
}

public enum RunExport {
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
        return s.count <= 63 && s.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// A column of an exported table.
    struct Column {
        var name: String
        var type: ColumnType?
        var postgres: String {
            switch type {
            case .integer: return "BIGINT"
            case .decimal: return "NUMERIC"
            case .date: return "DATE"
            case .boolean: return "BOOLEAN"
            default: return name == "source_line" ? "BIGINT" : "TEXT"
            }
        }
        var sqlite: String {
            switch type {
            case .integer, .boolean: return "INTEGER"
            default: return name == "source_line" ? "INTEGER" : "TEXT"
            }
        }
    }

    /// A run's output directory read for export.
    struct LoadedRun {
        var summary: RunSummary
        var tables: [(name: String, columns: [Column], path: String)]
        var ledger: String
    }

    static let findingColumns = ["table_name", "source_file", "line", "record_key", "column_name", "raw_value", "normalised_value", "rule_id",
                                 "severity", "message_zh", "message_en", "expected", "waiver"]

    static func load(runDirectory: String, rulesDirectory: String) throws(ExportError) -> LoadedRun {
        let data: [UInt8]?
        do { data = try RegularFile.contents(runDirectory + "/summary.json", limit: 64 << 20) } catch {
            throw ExportError(error.description, "the run's summary.json cannot be read", kind: .unreadableInput)
        }
        guard let data, let summary = try? JSONDecoder().decode(RunSummary.self, from: Data(data)) else {
            throw ExportError("\(runDirectory) 不是 schoolstat 的输出目录（没有可读的 summary.json）", "\(runDirectory) is not a schoolstat output directory (no readable summary.json)",
                              kind: .refused)
        }
        let ruleSet: RuleSet
        do { ruleSet = try RuleSetLoader.load(directory: rulesDirectory, profile: summary.profile) } catch {
            throw ExportError("规则目录无法读取：\(error.description)", "the rules could not be read", kind: .refused)
        }
        // Every file the export will read is a regular file (or absent): a named pipe in the run
        // directory is refused before anything is opened for writing.
        for path in [runDirectory + "/ledger.csv"] + summary.tables.keys.map({ runDirectory + "/clean/\($0).csv" }) {
            switch PathKind(path: path, followingLinks: true) {
            case .absent, .regular: continue
            case let kind:
                throw ExportError("\(path) 是\(kind.description)，不是普通文件，未读取", "\(path) is not a regular file; not read", kind: .unreadableInput)
            }
        }
        var tables: [(String, [Column], String)] = []
        for name in summary.tables.keys.sorted() {
            let path = runDirectory + "/clean/\(name).csv"
            guard isIdentifier(name), PathKind(path: path, followingLinks: true) == .regular,
                  let header = try? CleanTableReader(path: path).header() else { continue }
            let schema = ruleSet.table(named: name)
            let columns = header.map { h in Column(name: h, type: schema?.columns.first { $0.name == h }?.type) }
            guard columns.allSatisfy({ isIdentifier($0.name) }) else { continue }
            tables.append((name, columns, path))
        }
        return LoadedRun(summary: summary, tables: tables, ledger: runDirectory + "/ledger.csv")
    }

    /// The rows of a run's table, one array of cells (nil: empty) per row.
    static func forEachRow(_ path: String, _ body: ([String?]) throws -> Void) throws {
        var reader = try CleanTableReader(path: path)
        var failure: (any Error)?
        try reader.forEachRow { _, cells, _ in
            guard failure == nil else { return }
            // Every text through the ID-number scrub: a file's name in source_file, a finding's fields.
            do { try body(cells.map { $0.isEmpty ? nil : IDNumber.scrub($0) }) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The ledger's findings as the export's columns.
    static func forEachFinding(_ path: String, _ body: ([String?]) throws -> Void) throws {
        guard PathKind(path: path, followingLinks: true) != .absent else { return }
        try forEachRow(path) { cells in
            // run_id, table, source_file, line, record_key, column, raw, normalised, rule, severity, zh, en, expected, waiver
            var row = Array(cells.dropFirst())
            while row.count < findingColumns.count { row.append(nil) }
            try body(Array(row.prefix(findingColumns.count)))
        }
    }

    // MARK: PostgreSQL

    /// A value in COPY's text format.
    static func copyText(_ value: String?) -> String {
        guard let value else { return "\\N" }
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public static func export(runDirectory: String, rulesDirectory: String, to target: ExportTarget) throws(ExportError) -> ExportReport {
        let run = try load(runDirectory: runDirectory, rulesDirectory: rulesDirectory)
        switch target {
        case .sqlite(let path): return try exportSQLite(run, path: path)
        case .postgres(let target):
            let connection = try PostgresConnection(target)
            do {
                return try exportPostgres(run, connection: connection, schema: target.schema)
            } catch {
                try? connection.execute("ROLLBACK")
                if let error = error as? ExportError { throw error }
                throw ExportError("导出到 PostgreSQL 失败：\(target.clean(String(describing: error)))", "export to PostgreSQL failed")
            }
        }
    }

    static func exportPostgres(_ run: LoadedRun, connection: PostgresConnection, schema: String) throws -> ExportReport {
        let id = run.summary.runID
        try connection.execute("BEGIN")
        try connection.execute("CREATE SCHEMA IF NOT EXISTS \(schema)")
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS \(schema).runs (run_id TEXT PRIMARY KEY, report_date TEXT, profile TEXT, exit_code INTEGER,
                errors INTEGER, warnings INTEGER, rows_read BIGINT, exported_at TIMESTAMPTZ NOT NULL DEFAULT now())
            """)
        try connection.execute("CREATE TABLE IF NOT EXISTS \(schema).findings (run_id TEXT NOT NULL, "
                            + findingColumns.map { "\($0) \($0 == "line" ? "BIGINT" : "TEXT")" }.joined(separator: ", ") + ")")
        for table in run.tables {
            try connection.execute("CREATE TABLE IF NOT EXISTS \(schema).\(table.name) (run_id TEXT NOT NULL)")
            for c in table.columns { try connection.execute("ALTER TABLE \(schema).\(table.name) ADD COLUMN IF NOT EXISTS \(c.name) \(c.postgres)") }
        }
        for name in ["runs", "findings"] + run.tables.map(\.name) {
            try connection.execute("DELETE FROM \(schema).\(name) WHERE run_id = $1", [id])
        }
        var counts: [String: Int] = [:]
        for table in run.tables {
            let columns = table.columns.count
            counts[table.name] = try connection.copy(into: "\(schema).\(table.name)", columns: ["run_id"] + table.columns.map(\.name)) { emit in
                try forEachRow(table.path) { cells in
                    var line = copyText(id)
                    for i in 0..<columns { line += "\t" + copyText(i < cells.count ? cells[i] : nil) }
                    try emit(line + "\n")
                }
            }
        }
        let findings = try connection.copy(into: "\(schema).findings", columns: ["run_id"] + findingColumns) { emit in
            try forEachFinding(run.ledger) { cells in try emit(([copyText(id)] + cells.map(copyText)).joined(separator: "\t") + "\n") }
        }
        let s = run.summary
        let rowsRead = s.tables.values.reduce(0) { $0 + $1.rowsRead }
        try connection.execute("""
            INSERT INTO \(schema).runs (run_id, report_date, profile, exit_code, errors, warnings, rows_read)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, [id, s.reportDate, s.profile, String(Int(s.status)), String(s.totals.errors), String(s.totals.warnings), String(rowsRead)])
        try connection.execute("COMMIT")
        return ExportReport(runID: id, tables: counts, findings: findings)
    }

    // MARK: SQLite

    static let sqliteMarker = "schoolstat_export"

    static func exportSQLite(_ run: LoadedRun, path: String) throws(ExportError) -> ExportReport {
        do {
            switch PathKind(path: path) {
            case .absent: break
            case .regular:
                let tables = HistoryDatabase.tableNames(path: path) ?? ["(unreadable)"]
                guard tables.isEmpty || tables.contains(sqliteMarker) else {
                    throw ExportError("\(path) 不是 schoolstat 导出的数据库，不会改动它", "\(path) is not a database schoolstat exported to; left alone",
                                      kind: .refused)
                }
            case let kind:
                // SQLite would write a journal beside a link's target, or block on a named pipe.
                throw ExportError("\(path) 是\(kind.description)，不是普通文件，不会改动它", "\(path) is not a regular file; left alone", kind: .refused)
            }
            var configuration = Configuration()
            configuration.busyMode = .timeout(30)
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let id = run.summary.runID
            var counts: [String: Int] = [:]
            var findings = 0
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(sqliteMarker) (format INTEGER NOT NULL)")
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, report_date TEXT, profile TEXT, exit_code INTEGER, errors INTEGER, warnings INTEGER, rows_read INTEGER, exported_at TEXT)")
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS findings (run_id TEXT NOT NULL, "
                               + findingColumns.map { "\($0) \($0 == "line" ? "INTEGER" : "TEXT")" }.joined(separator: ", ") + ")")
                for table in run.tables {
                    try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(table.name) (run_id TEXT NOT NULL)")
                    let existing = Set(try Row.fetchAll(db, sql: "PRAGMA table_info(\(table.name))").map { $0["name"] as String })
                    for c in table.columns where !existing.contains(c.name) {
                        try db.execute(sql: "ALTER TABLE \(table.name) ADD COLUMN \(c.name) \(c.sqlite)")
                    }
                }
                for name in ["runs", "findings"] + run.tables.map(\.name) {
                    try db.execute(sql: "DELETE FROM \(name) WHERE run_id = ?", arguments: [id])
                }
                for table in run.tables {
                    let names = ["run_id"] + table.columns.map(\.name)
                    let insert = try db.makeStatement(sql: "INSERT INTO \(table.name) (\(names.joined(separator: ", "))) VALUES (\(names.map { _ in "?" }.joined(separator: ", ")))")
                    var n = 0
                    try forEachRow(table.path) { cells in
                        var values: [(any DatabaseValueConvertible)?] = [id]
                        for (i, c) in table.columns.enumerated() {
                            let text = i < cells.count ? cells[i] : nil
                            switch c.type {
                            case .integer: values.append(text.flatMap { Int64($0) })
                            case .boolean: values.append(text.map { $0 == "true" ? 1 : 0 })
                            default: values.append(c.name == "source_line" ? text.flatMap { Int64($0) } : text)
                            }
                        }
                        try insert.execute(arguments: StatementArguments(values))
                        n += 1
                    }
                    counts[table.name] = n
                }
                let insert = try db.makeStatement(sql: "INSERT INTO findings (run_id, \(findingColumns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: findingColumns.count + 1).joined(separator: ", ")))")
                try forEachFinding(run.ledger) { cells in
                    var values: [(any DatabaseValueConvertible)?] = [id]
                    for (i, c) in cells.enumerated() { values.append(findingColumns[i] == "line" ? c.flatMap { Int64($0) } : c) }
                    try insert.execute(arguments: StatementArguments(values))
                    findings += 1
                }
                let s = run.summary
                try db.execute(sql: "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", arguments: [
                    id, s.reportDate, s.profile, Int(s.status), s.totals.errors, s.totals.warnings, s.tables.values.reduce(0) { $0 + $1.rowsRead },
                    HistoryDatabase.timestamp(Date())])
            }
            return ExportReport(runID: id, tables: counts, findings: findings)
        } catch let error as ExportError {
            throw error
        } catch {
            throw ExportError("导出到 SQLite 失败：\(error)", "export to SQLite failed")
        }
    }
}
