// Pipeline: summary.json — what was read, what came out, and what was found.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

public struct InputSummary: Sendable, Codable {
    public init(path: String, table: String? = nil, encoding: String, encodingDetected: Bool, dialect: Dialect? = nil, sha256: String, bytes: Int, invalidSequences: Int = 0, error: String? = nil) {
        self.path = path; self.table = table; self.encoding = encoding; self.encodingDetected = encodingDetected; self.dialect = dialect; self.sha256 = sha256; self.bytes = bytes; self.invalidSequences = invalidSequences; self.error = error
    }

    public var path: String
    public var table: String?
    public var encoding: String
    public var encodingDetected: Bool
    public var dialect: Dialect?
    public var sha256: String
    public var bytes: Int
    public var invalidSequences: Int = 0
    public var error: String?

    public enum CodingKeys: String, CodingKey {
        case path, table, encoding, dialect, sha256, bytes, error
        case encodingDetected = "encoding_detected"
        case invalidSequences = "invalid_byte_sequences"
    }
}

public struct TableSummary: Sendable, Codable {
    public init(files: [String], rowsRead: Int, rowsClean: Int, rowsRejected: Int, blankLines: Int, repeatedHeaders: Int, titleRows: Int) {
        self.files = files; self.rowsRead = rowsRead; self.rowsClean = rowsClean; self.rowsRejected = rowsRejected; self.blankLines = blankLines; self.repeatedHeaders = repeatedHeaders; self.titleRows = titleRows
    }

    public var files: [String]
    /// Data rows: every one is either clean or rejected.
    public var rowsRead: Int
    public var rowsClean: Int
    public var rowsRejected: Int
    /// Lines that are not data and were skipped with a warning.
    public var blankLines: Int
    public var repeatedHeaders: Int
    public var titleRows: Int
    /// The title rows' text (at most ten, each cut at 200 characters): where a table names its county.
    public var titles: [String]?

    public enum CodingKeys: String, CodingKey {
        case files, titles
        case rowsRead = "rows_read", rowsClean = "rows_clean", rowsRejected = "rows_rejected"
        case blankLines = "blank_lines_skipped", repeatedHeaders = "repeated_headers_skipped", titleRows = "title_rows_skipped"
    }
}

public struct FindingTotals: Sendable, Codable {
    public init(errors: Int, warnings: Int, waived: Int) {
        self.errors = errors; self.warnings = warnings; self.waived = waived
    }

    public var errors: Int
    public var warnings: Int
    /// Findings covered by a waiver in force: in the ledger, not counted above.
    public var waived: Int
}

public struct RuleFileSummary: Sendable, Codable {
    public init(path: String, sha256: String) {
        self.path = path; self.sha256 = sha256
    }

    public var path: String
    public var sha256: String
}

/// Where a run's time went, in seconds of wall time.
public struct Timings: Sendable, Codable {
    public init(loadRulesSeconds: Double, uniqueKeysSeconds: Double, mainPassSeconds: Double, rulePacksSeconds: Double, totalSeconds: Double) {
        self.loadRulesSeconds = loadRulesSeconds; self.uniqueKeysSeconds = uniqueKeysSeconds; self.mainPassSeconds = mainPassSeconds; self.rulePacksSeconds = rulePacksSeconds; self.totalSeconds = totalSeconds
    }

    public var loadRulesSeconds: Double
    /// Finding each file's header, then the pre-pass that finds repeated keys (and keeps the parsed batches).
    public var uniqueKeysSeconds: Double
    /// Reading, validating and writing every row.
    public var mainPassSeconds: Double
    /// Rule packs, quarantines, closing the outputs.
    public var rulePacksSeconds: Double
    public var totalSeconds: Double

    public enum CodingKeys: String, CodingKey {
        case loadRulesSeconds = "load_rules_seconds", uniqueKeysSeconds = "unique_keys_seconds", mainPassSeconds = "main_pass_seconds",
             rulePacksSeconds = "rule_packs_seconds", totalSeconds = "total_seconds"
    }
}

public struct PackSummary: Sendable, Codable {
    public init(name: String, version: String) {
        self.name = name; self.version = version
    }

    public var name: String
    public var version: String
}

public struct RunSummary: Sendable, Codable {
    public init(runID: String, status: Int32, reportDate: String, profile: String? = nil, packs: [PackSummary], ruleResults: [String: [String: Int]], rulesNotRun: [String: String] = [:], skippedOutputDirectories: [String]? = nil, inputs: [InputSummary], tables: [String: TableSummary], findings: [String: [String: Int]], totals: FindingTotals, ruleFiles: [RuleFileSummary], timings: Timings) {
        self.runID = runID; self.status = status; self.reportDate = reportDate; self.profile = profile; self.packs = packs; self.ruleResults = ruleResults; self.rulesNotRun = rulesNotRun; self.skippedOutputDirectories = skippedOutputDirectories; self.inputs = inputs; self.tables = tables; self.findings = findings; self.totals = totals; self.ruleFiles = ruleFiles; self.timings = timings
    }

    public var runID: String
    public var status: Int32
    public var reportDate: String
    public var profile: String?
    public var packs: [PackSummary]
    /// Pack rule id → verdict (met / not_met / not_evaluable) → count of entities or groups.
    public var ruleResults: [String: [String: Int]]
    /// Pack rules that did not run, and why (a table they need had no input file).
    public var rulesNotRun: [String: String] = [:]
    /// Directories under the inputs that hold schoolstat's own outputs, and so were not read.
    public var skippedOutputDirectories: [String]?
    public var inputs: [InputSummary]
    public var tables: [String: TableSummary]
    /// Rule id → severity → count.
    public var findings: [String: [String: Int]]
    public var totals: FindingTotals
    public var ruleFiles: [RuleFileSummary]
    public var timings: Timings
    /// What changed since the previous recorded run over the same inputs (with a run history).
    public var changes: ChangeSummary?

    public enum CodingKeys: String, CodingKey {
        case runID = "run_id", status = "exit_code", reportDate = "report_date", profile, packs, inputs, tables, findings, totals, changes
        case ruleResults = "rule_results", rulesNotRun = "rules_not_run"
        case skippedOutputDirectories = "skipped_output_directories"
        case ruleFiles = "rule_files", timings
    }

    /// This summary with ID numbers masked in every name and message it holds (digests, counts
    /// and rule ids are left as they are): what summary.json and `--format json` show.
    public func scrubbed() -> RunSummary {
        func s(_ text: String) -> String { IDNumber.scrub(text) }
        var summary = self
        summary.inputs = inputs.map { input in
            var input = input
            input.path = s(input.path)
            input.error = input.error.map(s)
            return input
        }
        summary.tables = tables.mapValues { t in
            var t = t
            t.files = t.files.map(s)
            return t
        }
        summary.rulesNotRun = rulesNotRun.mapValues(s)
        summary.skippedOutputDirectories = skippedOutputDirectories?.map(s)
        summary.ruleFiles = ruleFiles.map { RuleFileSummary(path: s($0.path), sha256: $0.sha256) }
        return summary
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(scrubbed())
        data.append(0x0A)
        return data
    }

    /// The largest summary.json read back.
    public static let maximumBytes = 64 << 20

    /// The summary.json of the run written to `directory`, the one way every command reads it:
    /// never waiting on a named pipe or reading past `maximumBytes`. Nil when there is none, or
    /// when what is there is not a schoolstat summary; throws when the path is not a regular
    /// file or cannot be read.
    public static func read(directory: String) throws(ReadError) -> RunSummary? {
        guard let data = try RegularFile.contents(directory + "/summary.json", limit: maximumBytes) else { return nil }
        return try? JSONDecoder().decode(RunSummary.self, from: Data(data))
    }

    public func write(to path: String) throws(WriteError) {
        do {
            let file = try BufferedFile(path: path)
            file.write([UInt8](try jsonData()))
            try file.close()
        } catch let e as WriteError {
            throw e
        } catch {
            throw WriteError(path: path, reason: "\(error)")
        }
    }
}

/// Findings new since the previous run, fixed since it, and still open.
public struct ChangeCounts: Sendable, Codable, Equatable {
    public init(new: Int = 0, fixed: Int = 0, open: Int = 0) { self.new = new; self.fixed = fixed; self.open = open }
    public var new: Int
    public var fixed: Int
    public var open: Int
}

/// What changed between two runs over the same inputs, findings matched by table, the row's
/// business key, rule and column (not by line, which moves when a row is inserted).
public struct ChangeSummary: Sendable, Codable {
    public init(previousRun: String?, previousFinished: String?, totals: ChangeCounts, newErrors: Int, byRule: [String: ChangeCounts], bySchool: [String: ChangeCounts]) {
        self.previousRun = previousRun; self.previousFinished = previousFinished; self.totals = totals; self.newErrors = newErrors; self.byRule = byRule; self.bySchool = bySchool
    }
    /// nil: no earlier run over the same inputs is recorded, so every finding is new.
    public var previousRun: String?
    public var previousFinished: String?
    public var totals: ChangeCounts
    /// New findings of severity error (what `--fail-on new-errors` acts on).
    public var newErrors: Int
    public var byRule: [String: ChangeCounts]
    /// By school code; findings not tied to a school are under "".
    public var bySchool: [String: ChangeCounts]

    public enum CodingKeys: String, CodingKey {
        case previousRun = "previous_run", previousFinished = "previous_finished", totals, newErrors = "new_errors"
        case byRule = "by_rule", bySchool = "by_school"
    }
}
