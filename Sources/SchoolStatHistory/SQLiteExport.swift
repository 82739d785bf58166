// History: a run's tables loaded into a local SQLite file (GRDB), which the export alone writes.
import Foundation
import GRDB
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

extension RunExport {
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
