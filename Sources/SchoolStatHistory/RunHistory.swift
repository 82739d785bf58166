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
    /// The run's findings, as they are found, in a temporary database of their own.
    private var staging: FindingStaging?
    private var stagingFailure: HistoryError?
    private var record: RunRecord?
    /// Told things worth a line on stderr (a history created in an existing empty file).
    public var onNotice: (_ zh: String, _ en: String) -> Void = { _, _ in }

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

    /// Looks at the history file before the run starts, so that one that cannot be used (a
    /// link, a named pipe, a damaged file, a newer format) stops the run at once; it is looked
    /// at again before the outputs are committed.
    public func vetDatabase() throws(HistoryError) {
        _ = try HistoryFile.vet(path: databasePath)
    }

    /// Wires the history into `run`.
    public func attach(to run: ValidationRun) {
        do { staging = try FindingStaging() } catch { stagingFailure = error }
        run.onEntry = { [unowned self] entry in
            // The entry's fields are scrubbed, but for its file's name: the history holds no ID number either.
            let file = IDNumber.scrub(entry.sourceFile)
            let key = entry.recordKey.isEmpty ? "file=" + file : entry.recordKey
            staging?.add(RecordedFinding(table: entry.table, key: key, school: entry.school.isEmpty ? Self.school(entry.recordKey) : entry.school,
                                         rule: entry.ruleID, severity: entry.severity.rawValue, column: entry.column, value: entry.rawValue,
                                         file: file, line: entry.line, messageZh: entry.messageZh, messageEn: entry.messageEn,
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
        let changes: ChangeSummary
        do throws(HistoryError) {
            // The history is vetted before the outputs are committed: a link, a named pipe, a
            // damaged file or a newer format stops the run here, with nothing written anywhere.
            let state = try HistoryFile.vet(path: databasePath)
            if let stagingFailure { throw stagingFailure }
            guard let staging else { return }
            var previous: (id: String, finished: String)?
            if state == .history || state == .emptyDatabase {
                let database = try HistoryDatabase(path: databasePath)
                self.database = database
                previous = try database.previousRun(inputsKey: inputsKey)
                try staging.attach(history: databasePath)
            }
            changes = try staging.compare(previousRun: previous?.id, previousFinished: previous?.finished)
        } catch {
            // A full temporary directory or disk is a failure to write, not a mistake in the arguments.
            if error.inTemporaryDirectory || error.diskFull { throw .notWritten(error.description) }
            throw .arguments(error.description)
        }
        do { try staging?.writeCSV(to: path("changes.csv")) } catch { throw .output(error) }
        summary.changes = changes
        if failOn == .newErrors, summary.status == RunStatus.dataErrors.rawValue, changes.newErrors == 0 {
            summary.status = RunStatus.clean.rawValue
        }
        let digest = SHA256.hexDigest(Array(summary.ruleFiles.map { $0.path + " " + $0.sha256 }.joined(separator: "\n").utf8))
        record = RunRecord(summary: summary, started: HistoryDatabase.timestamp(started), finished: HistoryDatabase.timestamp(Date()),
                           rulesDigest: digest, inputsKey: inputsKey, outputDirectory: "", verdicts: Self.verdicts(path("evaluations.csv")))
    }

    /// Records the run once its outputs are committed to `outputDirectory`.
    public func recordRun(outputDirectory: String) throws(HistoryError) {
        guard var record, let staging else { return }
        record.outputDirectory = OutputDirectory.realPath(outputDirectory) ?? outputDirectory
        // Created here when it did not exist: the schema is made by HistoryDatabase.
        if database == nil {
            let database = try HistoryDatabase(path: databasePath)
            self.database = database
            if database.createdInEmptyFile {
                onNotice("运行历史数据库 \(databasePath) 原是一个空文件，已在其中新建运行历史。",
                         "The run history \(databasePath) was an empty file; a new history was created in it.")
            }
        }
        try staging.attach(history: databasePath)
        try staging.record(record)
        self.record = nil
        self.staging = nil
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
