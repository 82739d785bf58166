// History: a run's tables loaded into PostgreSQL, in one transaction, with COPY … FROM STDIN
// through libpq (PostgresClient.swift).
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

extension RunExport {

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
}
