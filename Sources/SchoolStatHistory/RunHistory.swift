// History: a validate run tied to its history. The run's findings are collected as they are
// recorded; before the outputs are committed, the previous run over the same inputs is looked
// up, changes.csv written beside the ledger and summary.json told what changed; once the outputs
// are in place the run is recorded in one transaction.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

public enum FailOn: String, Sendable, CaseIterable {
    /// Exit 1 when the data has any error (the default).
    case anyErrors = "any-errors"
    /// Exit 1 only when an error is new since the previous run over the same inputs.
    case newErrors = "new-errors"
}

public final class RunHistory {
    /// The database's path. It is opened only once the run has outputs to commit, and created
    /// only once they are committed: a run refused or failed leaves no database behind.
    public let databasePath: String
    private var database: HistoryDatabase?
    let inputsKey: String
    let failOn: FailOn
    let started = Date()
    private var findings: [RecordedFinding] = []
    private var record: RunRecord?

    /// The default database: `schoolstat-history.sqlite` in the directory holding the output directory.
    public static func defaultPath(outputDirectory: String) -> String {
        let parent = (URL(fileURLWithPath: outputDirectory).standardizedFileURL.path as NSString).deletingLastPathComponent
        return (parent.isEmpty ? "." : parent) + "/schoolstat-history.sqlite"
    }

    /// What identifies "the same inputs": the inputs named (as absolute paths, sorted) and the table forced on them.
    public static func inputsKey(inputs: [String], table: String?) -> String {
        let paths = inputs.map { OutputDirectory.realPath($0) ?? URL(fileURLWithPath: $0).standardizedFileURL.path }.sorted()
        return SHA256.hexDigest(Array((paths.joined(separator: "\n") + "\n" + (table ?? "")).utf8))
    }

    public init(path: String, options: ValidationOptions, failOn: FailOn) {
        self.databasePath = path
        inputsKey = Self.inputsKey(inputs: options.inputs, table: options.table)
        self.failOn = failOn
    }

    /// Wires the history into `run`.
    public func attach(to run: ValidationRun) {
        run.onEntry = { [unowned self] entry in
            let key = entry.recordKey.isEmpty ? "file=" + entry.sourceFile : entry.recordKey
            findings.append(RecordedFinding(table: entry.table, key: key, school: entry.school.isEmpty ? Self.school(entry.recordKey) : entry.school, rule: entry.ruleID,
                                            severity: entry.severity.rawValue, column: entry.column, value: entry.rawValue,
                                            file: entry.sourceFile, line: entry.line, messageZh: entry.messageZh, messageEn: entry.messageEn,
                                            waived: !entry.note.isEmpty))
        }
        run.beforeCommit = { [unowned self] path, summary throws(RunError) in
            try self.prepare(path: path, summary: &summary)
        }
    }

    static func school(_ recordKey: String) -> String {
        guard let range = recordKey.range(of: "school_code=") else { return "" }
        return String(recordKey[range.upperBound...].prefix { $0 != "," && $0 != ";" && $0 != " " })
    }

    func prepare(path: (String) -> String, summary: inout RunSummary) throws(RunError) {
        let previous: (id: String, finished: String)?
        let earlier: [RecordedFinding]
        do {
            if FileManager.default.fileExists(atPath: databasePath) {
                let database = try HistoryDatabase(path: databasePath)
                self.database = database
                previous = try database.previousRun(inputsKey: inputsKey)
                earlier = try previous.map { p throws(HistoryError) in try database.findings(run: p.id, messages: false) } ?? []
            } else {
                previous = nil
                earlier = []
            }
        } catch { throw .arguments(error.description) }
        var (changes, rows) = Changes.compare(previous: earlier, current: &findings, previousRun: previous?.id, previousFinished: previous?.finished)
        // The previous run was read without its messages; the fixed findings need theirs.
        let fixedIDs = rows.compactMap { $0.change == .fixed ? $0.finding.id : nil }
        if !fixedIDs.isEmpty, let database {
            let messages: [Int64: (zh: String, en: String)]
            do { messages = try database.messages(of: fixedIDs) } catch { throw .arguments(error.description) }
            for i in rows.indices where rows[i].change == .fixed {
                if let id = rows[i].finding.id, let m = messages[id] { rows[i].finding.messageZh = m.zh; rows[i].finding.messageEn = m.en }
            }
        }
        do { try Changes.writeCSV(rows, to: path("changes.csv")) } catch { throw .output(error) }
        summary.changes = changes
        if failOn == .newErrors, summary.status == RunStatus.dataErrors.rawValue, changes.newErrors == 0 {
            summary.status = RunStatus.clean.rawValue
        }
        let digest = SHA256.hexDigest(Array(summary.ruleFiles.map { $0.path + " " + $0.sha256 }.joined(separator: "\n").utf8))
        record = RunRecord(summary: summary, started: HistoryDatabase.timestamp(started), finished: HistoryDatabase.timestamp(Date()),
                           rulesDigest: digest, inputsKey: inputsKey, outputDirectory: "", findings: findings,
                           verdicts: Self.verdicts(path("evaluations.csv")))
    }

    /// Records the run once its outputs are committed to `outputDirectory`.
    public func recordRun(outputDirectory: String) throws(HistoryError) {
        guard var record else { return }
        record.outputDirectory = OutputDirectory.realPath(outputDirectory) ?? outputDirectory
        let database: HistoryDatabase
        if let opened = self.database { database = opened } else { database = try HistoryDatabase(path: databasePath) }
        try database.record(record)
        self.record = nil
    }

    static func verdicts(_ path: String) -> [(rule: String, table: String, key: String, verdict: String, figures: String, file: String, line: Int)] {
        guard var reader = try? CleanTableReader(path: path) else { return [] }
        var out: [(String, String, String, String, String, String, Int)] = []
        try? reader.forEachRow { _, c, _ in
            guard c.count >= 7 else { return }
            out.append((c[0], c[1], c[2], c[5], c[6], c[3], Int(c[4]) ?? 0))
        }
        return out
    }
}
