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
        let read: RunSummary?
        do { read = try RunSummary.read(directory: runDirectory) } catch {
            throw ExportError(error.description, "the run's summary.json cannot be read", kind: .unreadableInput)
        }
        guard let summary = read else {
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
}
