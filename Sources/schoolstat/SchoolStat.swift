// The schoolstat command line: parses arguments and calls one entry point per subcommand in the library targets.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
import SchoolStatHistory

@main
struct SchoolStat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schoolstat",
        abstract: "校验、规范化学校统计数据 (validate and normalise school statistics exports).",
        discussion: """
        退出码 (exit codes): 0 没有错误 (no errors); 1 数据有错误 (data errors found);
        2 命令行、规则文件或输出目录有误 (bad command line, rule files or output path; nothing written);
        3 有输入文件无法读取或被跳过 (an input could not be read or was skipped); 4 输出无法写入 (an output could not be written).
        """,
        subcommands: [Validate.self, Check.self, Serve.self, Feedback.self, History.self, Diff.self, Export.self, Score.self, Generate.self],
        defaultSubcommand: Validate.self
    )

    /// Usage mistakes exit with 2, as documented, rather than ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

enum Language: String, ExpressibleByArgument, CaseIterable {
    case zh, en
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "检查导出文件并写出干净数据、隔离行和问题清单 (check exports; write clean data, rejected rows and the ledger).")

    @Argument(help: "要检查的 CSV 文件或目录 (CSV files or directories).")
    var inputs: [String]

    @OptionGroup var ruleOptions: RuleOptions
    var rules: String { ruleOptions.rules }
    var asOf: String? { ruleOptions.asOf }
    var profile: String? { ruleOptions.profile }

    @Option(name: .long, help: "输出目录 (output directory): a new path, or one schoolstat wrote before, replaced atomically when the run completes. Any other existing path is refused.")
    var out: String = "out"

    @Option(name: .long, help: "把所有输入当作这张表 (treat every input as this table): schools, teachers, county_finance …")
    var table: String?

    @Option(name: .long, help: "只读工作簿中这个名称的工作表，可重复 (read only the worksheet of this name; repeatable). Every sheet when omitted.")
    var sheet: [String] = []

    @Option(name: .long, help: "输入编码 (input encoding): utf-8, utf-8-bom, gb18030/gbk, utf-16le, utf-16be. Detected when omitted.")
    var encoding: String?

    @Option(name: .long, help: "分隔符 (delimiter): comma, tab or semicolon. Detected when omitted.")
    var delimiter: String?

    @Option(name: .long, help: "上一期的输出目录 (the previous period's --out directory), for period-over-period rules.")
    var previous: String?

    @Option(name: .long, help: "豁免文件 (waivers file, YAML): accepted findings with reason and expiry.")
    var waivers: String?

    @Option(name: .long, help: "校验后接着把问题按学校写成工作簿，写入这个目录 (write each school's feedback workbook into this directory in the same go; see schoolstat feedback).")
    var feedback: String?

    @Flag(name: .long, help: "校验后接着计算县域评估，写入 <out>/evaluation (score the run in the same go).")
    var score = false

    @Option(name: .long, help: "与 --score 同用：报告中的区县名称 (with --score: the county's name in the reports).")
    var countyName: String?

    @Option(name: .long, help: "运行编号 (run id written into the ledger); generated when omitted.")
    var runId: String?

    @Option(name: .long, help: "输出格式 (console output format): text or json.")
    var format: OutputFormat = .text

    @Option(name: .long, help: "消息语言 (message language): zh or en.")
    var lang: Language = .zh

    @Option(name: .long, help: "最多在屏幕上列出多少条问题 (findings to list on the console).")
    var maxMessages: Int = 30

    @Flag(name: .long, help: "不打印问题明细，只打印摘要 (print the summary only).")
    var quiet = false

    @Option(name: .long, help: "校验线程数 (worker threads validating rows); default: the number of CPU cores. Outputs do not depend on it.")
    var threads: Int?

    @Option(name: .long, help: "一个值最多多少字节 (largest value in bytes, a CSV field or workbook cell; default 1048576). Reading stops at a larger one.")
    var maxFieldBytes: Int?

    @Option(name: .long, help: "一条记录最多多少字节 (largest CSV record in bytes; default 8388608).")
    var maxRecordBytes: Int?

    @Option(name: .long, help: "一个工作簿解压后最多多少字节 (largest inflated size of one workbook; default 2147483648).")
    var maxWorkbookBytes: Int?

    @Option(name: .long, help: "运行历史数据库 (run history, SQLite); default schoolstat-history.sqlite beside the output directory.")
    var history: String?

    @Flag(name: .long, help: "不记录运行历史、不比较上次运行 (do not record this run or compare it with the last one).")
    var noHistory = false

    @Option(name: .long, help: "何时以退出码 1 结束 (when to exit 1): any-errors (default) or new-errors (only errors new since the last run over the same inputs).")
    var failOn: FailOn = .anyErrors

    func validate() throws {
        for (name, value) in [("--max-field-bytes", maxFieldBytes), ("--max-record-bytes", maxRecordBytes), ("--max-workbook-bytes", maxWorkbookBytes)] {
            if let value, value < 1024 { throw ValidationError("\(name) 至少为 1024。 (\(name) must be at least 1024)") }
        }
        if let threads, threads < 1 || threads > 64 { throw ValidationError("--threads 应在 1 到 64 之间。 (--threads must be 1–64)") }
        if countyName != nil && !score { throw ValidationError("--county-name 须与 --score 同用。 (--county-name needs --score)") }
        if let encoding, TextEncoding(userName: encoding) == nil {
            throw ValidationError("不认识的编码“\(encoding)”；可用 utf-8、utf-8-bom、gb18030（gbk）、utf-16le、utf-16be。 (unknown encoding)")
        }
        if let delimiter, Self.delimiterByte(delimiter) == nil {
            throw ValidationError("分隔符应为 comma、tab 或 semicolon。 (delimiter must be comma, tab or semicolon)")
        }
        if maxMessages < 0 { throw ValidationError("--max-messages 不能为负数。") }
        if noHistory && (history != nil || failOn == .newErrors) {
            throw ValidationError("--no-history 不能与 --history 或 --fail-on new-errors 同用。 (--no-history excludes --history and --fail-on new-errors)")
        }
    }

    static func delimiterByte(_ name: String) -> UInt8? {
        switch name.lowercased() {
        case "comma", ",": return 0x2C
        case "tab", "\\t", "\t": return 0x09
        case "semicolon", ";": return 0x3B
        default: return nil
        }
    }

    func run() throws {
        var options = ValidationOptions(inputs: inputs, rulesDirectory: rules, outputDirectory: out)
        options.table = table
        options.sheets = sheet
        options.encoding = encoding.flatMap(TextEncoding.init(userName:))
        options.delimiter = delimiter.flatMap(Self.delimiterByte)
        options.asOf = asOf
        options.runID = runId
        options.profile = profile
        options.previous = previous
        options.waivers = waivers
        if let threads { options.threads = threads }
        if let maxFieldBytes { options.readLimits.fieldBytes = maxFieldBytes }
        if let maxRecordBytes { options.readLimits.recordBytes = maxRecordBytes }
        if let maxWorkbookBytes { options.readLimits.inflatedBytes = maxWorkbookBytes }

        let console = Console(language: lang, quiet: quiet || format == .json, limit: maxMessages)
        let run = ValidationRun(options: options) { console.show($0) }
        // The history is read before the outputs are committed (a database that cannot be used
        // stops the run there, with nothing written) and written once they are.
        var runHistory: RunHistory?
        if !noHistory {
            runHistory = RunHistory(path: history ?? RunHistory.defaultPath(outputDirectory: out), options: options, failOn: failOn)
            runHistory?.attach(to: run)
            runHistory?.onNotice = { zh, en in console.note(zh, en) }
            do { try runHistory?.vetDatabase() } catch {
                console.fail(.arguments(error.description))
                throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
            }
        }
        // A scheduler's SIGTERM or a clerk's Ctrl-C: drop the half-written staging directory and
        // leave the previous outputs as they were.
        let cleanup = SignalCleanup()
        run.onStaging = { cleanup.staging = $0 }
        run.onNotice = { zh, en in console.note(zh, en) }
        let result: RunResult
        do {
            result = try run.run()
        } catch {
            // Told to stop: the run failed because its staging directory is being removed. The
            // signal's handler ends the process (exit 128 + signal) once that is done.
            cleanup.waitIfStopping()
            console.fail(error)
            throw ExitCode(error.status.rawValue)
        }
        // Recorded once the outputs are in place, in one transaction.
        var historyFailed = false
        if let runHistory {
            do { try runHistory.recordRun(outputDirectory: result.outputDirectory) } catch {
                // The outputs are complete and in place; only the history lacks this run (its
                // transaction was rolled back, so the history is as it was before the run).
                console.note("本次运行的输出已完整写入 \(result.outputDirectory)，但运行历史 \(runHistory.databasePath) 没有记录这次运行：\(error.description)。"
                             + "运行历史仍是本次运行之前的样子；腾出空间（或排除问题）后再运行一次同样的 validate，即可记入。",
                             "The outputs are complete in \(result.outputDirectory), but the run history \(runHistory.databasePath) did not record this run: "
                             + "\(error.description). The history is as it was before this run; free space (or fix the problem) and run the same validate again to record it.")
                historyFailed = true
            }
        }
        if score {
            var scoreOptions = ScoreOptions(run: result.outputDirectory, rulesDirectory: rules, outputDirectory: result.outputDirectory + "/evaluation")
            scoreOptions.profile = profile
            scoreOptions.waivers = waivers
            scoreOptions.previous = previous
            scoreOptions.english = lang == .en
            scoreOptions.countyName = countyName
            // The run just recorded, in the series of runs over the same inputs.
            if let runHistory, !historyFailed {
                do {
                    scoreOptions.history = try HistoryDatabase.scoreHistory(path: runHistory.databasePath, runID: result.summary.runID,
                                                                            limit: Score.defaultTrendRuns)
                } catch {
                    console.note("评估报告不含历次运行：\(error.description)", "The evaluation leaves out the recorded runs: \(error.description)")
                }
            }
            do {
                _ = try Scorer.score(scoreOptions)
            } catch {
                console.fail(error)
                throw ExitCode(error.status.rawValue)
            }
        }
        // Each school's workbook, from the run just written (and recorded, for what is new and fixed).
        var feedbackStatus: Int32 = 0
        if let feedback {
            feedbackStatus = Feedback.write(run: result.outputDirectory, out: feedback, rules: rules, quiet: format == .json)
        }
        if format == .json {
            let data = (try? result.summary.jsonData()) ?? Data()
            FileHandle.standardOutput.write(data)
        } else {
            console.summarise(result)
        }
        // A run the history did not record exits 4 even when its data had errors: a scheduler
        // must see that something was not written.
        if historyFailed { throw ExitCode(RunStatus.outputFailed.rawValue) }
        // The feedback not written: its own status (the run's outputs are in place).
        if feedbackStatus != 0 { throw ExitCode(feedbackStatus) }
        if result.status != .clean { throw ExitCode(result.status.rawValue) }
    }
}

/// Human-readable output on stderr (findings) and stdout (summary).
final class Console {
    let language: Language
    let quiet: Bool
    let limit: Int
    private var shown = 0
    private var hidden = 0

    init(language: Language, quiet: Bool, limit: Int) {
        self.language = language
        self.quiet = quiet
        self.limit = limit
    }

    private func err(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    func show(_ e: LedgerEntry) {
        guard !quiet else { return }
        guard shown < limit else { hidden += 1; return }
        shown += 1
        let level = e.severity == .error ? (language == .zh ? "错误" : "error") : (language == .zh ? "警告" : "warning")
        // Findings about a group (a county, a school's roster) have no line: name the table and the group.
        let place = e.line > 0 ? "\(e.input):\(e.line)" : (e.sourceFile.isEmpty ? "\(e.table) \(e.recordKey)" : e.input)
        let message = language == .zh ? e.messageZh : e.messageEn
        err("\(place): \(level) [\(e.ruleID)] \(message)")
    }

    /// A remark about the run itself (not a finding), shown even when findings are not.
    func note(_ zh: String, _ en: String) {
        err("schoolstat: " + (language == .zh ? zh : en))
    }

    func fail(_ error: RunError) {
        let label = language == .zh ? "schoolstat 无法运行" : "schoolstat cannot run"
        err("\(label):\n\(error.description)")
    }

    func summarise(_ result: RunResult) {
        let s = result.summary
        if hidden > 0 {
            err(language == .zh ? "……另有 \(hidden) 条问题未显示，完整清单见 \(result.outputDirectory)/ledger.csv"
                                : "… \(hidden) more findings not shown; see \(result.outputDirectory)/ledger.csv")
        }
        var lines: [String] = []
        for input in s.inputs {
            // A sheet that is not a table was named with the reason among the findings.
            let table = input.table ?? (input.path.hasSuffix("]") && input.error == nil ? (language == .zh ? "跳过（不是数据表）" : "skipped (not a table)")
                                                                                      : (language == .zh ? "未识别" : "unrecognised"))
            let dialect = input.dialect.map { ", \($0.delimiterName)/\($0.lineEnding)" } ?? ""
            lines.append("  \(input.path)  →  \(table)  [\(input.encoding)\(dialect)]")
        }
        let header = language == .zh ? "输入文件:" : "Inputs:"
        print(header)
        lines.forEach { print($0) }
        print(language == .zh ? "各表行数（读入 = 合格 + 隔离）:" : "Rows per table (read = clean + rejected):")
        for name in s.tables.keys.sorted() {
            let t = s.tables[name]!
            let words = language == .zh ? ("读入", "合格", "隔离") : ("read", "clean", "rejected")
            print("  \(pad(name, 16)) \(words.0) \(pad(String(t.rowsRead), 7)) \(words.1) \(pad(String(t.rowsClean), 7)) \(words.2) \(pad(String(t.rowsRejected), 7))")
        }
        let totals: [(rule: String, count: Int)] = s.findings.map { entry in (entry.key, entry.value.values.reduce(0, +)) }
        let top = totals.sorted { a, b in a.count != b.count ? a.count > b.count : a.rule < b.rule }.prefix(10)
        if !top.isEmpty {
            print(language == .zh ? "最常见的问题:" : "Most frequent findings:")
            for (rule, n) in top { print("  \(pad(String(n), 6)) \(rule)") }
        }
        if !s.ruleResults.isEmpty {
            let met = s.ruleResults.values.reduce(0) { $0 + ($1["met"] ?? 0) }
            let notMet = s.ruleResults.values.reduce(0) { $0 + ($1["not_met"] ?? 0) }
            let missing = s.ruleResults.values.reduce(0) { $0 + ($1["not_evaluable"] ?? 0) }
            let packs = s.packs.map { "\($0.name) \($0.version)" }.joined(separator: ", ")
            print(language == .zh
                  ? "规则包评估（\(s.profile ?? "无地区参数")；\(packs)）：达标 \(met) 次，不达标 \(notMet) 次，无法核验 \(missing) 次；明细见 evaluations.csv"
                  : "Rule packs (\(s.profile ?? "no profile"); \(packs)): \(met) met, \(notMet) not met, \(missing) not evaluable; see evaluations.csv")
        }
        if let changes = s.changes {
            Changes.describe(changes, zh: language == .zh).forEach { print($0) }
            if changes.previousRun != nil { print(language == .zh ? "新增、修复和仍未解决的问题见 changes.csv" : "New, fixed and open findings: see changes.csv") }
        }
        let verdict: String
        switch result.status {
        case .clean where s.totals.errors > 0:
            verdict = language == .zh ? "没有新增错误（仍有 \(s.totals.errors) 个错误、\(s.totals.warnings) 个警告未解决）。"
                                      : "No new errors (\(s.totals.errors) errors, \(s.totals.warnings) warnings still open)."
        case .clean: verdict = language == .zh ? "没有错误。" : "No errors."
        case .dataErrors: verdict = language == .zh ? "发现 \(s.totals.errors) 个错误、\(s.totals.warnings) 个警告。" : "\(s.totals.errors) errors, \(s.totals.warnings) warnings."
        case .unreadableInput: verdict = language == .zh ? "有文件无法读取；另有 \(s.totals.errors) 个错误。" : "Some inputs could not be read; \(s.totals.errors) errors."
        case .badRulesOrArguments, .outputFailed: verdict = ""
        }
        print(verdict + (language == .zh ? " 输出目录: \(result.outputDirectory)" : " Outputs: \(result.outputDirectory)"))
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "生成用于基准测试的模拟教师名册和学校表 (write a synthetic roster and schools file for benchmarks).")

    @Option(name: .long, help: "教师行数 (teacher rows).")
    var rows: Int = 10_000

    @Option(name: .long, help: "随机种子 (seed); the same seed gives the same files.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "学校数 (schools); default one per 60 teachers.")
    var schools: Int?

    @Option(name: .long, help: "输出目录 (directory to write teachers.csv and schools.csv into).")
    var out: String

    func validate() throws {
        if rows < 0 { throw ValidationError("--rows 不能为负数。") }
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let generator = RosterGenerator(rows: rows, seed: seed, schools: schools)
        generator.writeTeachers(to: out + "/teachers.csv")
        generator.writeSchools(to: out + "/schools.csv")
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "根据校验输出计算县域评估指标 (compute the county evaluation from a validate run's clean data).")

    @Argument(help: "schoolstat validate 的输出目录 (a validate run's --out directory).")
    var runDirectory: String

    @Option(name: .long, help: "规则目录 (rules directory).")
    var rules: String = RulesLocation.defaultDirectory

    @Option(name: .long, help: "评估结果目录 (where to write the evaluation); default, and when it names the run itself: <run>/evaluation.")
    var out: String?

    @Option(name: .long, help: "地区参数 (profile); default: the one the run used.")
    var profile: String?

    @Option(name: .long, help: "豁免文件 (waivers): findings covered by a waiver with a rectification note count as 整改后达标.")
    var waivers: String?

    @Option(name: .long, help: "上一期的输出目录 (the previous period's validate output), for period-over-period indicators.")
    var previous: String?

    @Option(name: .long, help: "报告语言 (report language): zh or en.")
    var lang: Language = .zh

    @Option(name: .long, help: "运行历史数据库 (run history), for each indicator over the recorded runs; default schoolstat-history.sqlite beside the run directory. Only read.")
    var history: String?

    @Option(name: .long, help: "报告中的区县名称 (the county's name in the reports), over county_finance's 区县名称 and the schools table's title.")
    var countyName: String?

    @Flag(name: .long, help: "报告不含历次运行 (leave the recorded runs out of the report).")
    var noHistory = false

    @Option(name: .long, help: "最多比较最近几次运行 (how many recorded runs the series cover, this one included; default 30).")
    var trendRuns: Int = Score.defaultTrendRuns

    static let defaultTrendRuns = 30

    func validate() throws {
        if trendRuns < 1 || trendRuns > 1000 { throw ValidationError("--trend-runs 应在 1 到 1000 之间。 (--trend-runs must be 1–1000)") }
        if noHistory && history != nil { throw ValidationError("--no-history 不能与 --history 同用。 (--no-history excludes --history)") }
    }

    func run() throws {
        var options = ScoreOptions(run: runDirectory, rulesDirectory: rules, outputDirectory: out)
        if !noHistory {
            // Read without waiting on a named pipe; the scorer reports a summary it cannot read.
            let runID = ((try? RegularFile.contents(runDirectory + "/summary.json", limit: 64 << 20)) ?? nil)
                .flatMap { try? JSONDecoder().decode(RunSummary.self, from: Data($0)) }?.runID ?? ""
            do {
                options.history = try HistoryDatabase.scoreHistory(path: history ?? RunHistory.defaultPath(outputDirectory: runDirectory),
                                                                   runID: runID, limit: trendRuns)
            } catch {
                // A named history that cannot be read is the user's mistake; a default one beside
                // the run is only left out.
                FileHandle.standardError.write(Data("schoolstat score: \(error.description)\n".utf8))
                if history != nil { throw ExitCode(RunStatus.badRulesOrArguments.rawValue) }
            }
            if options.history == nil, let history {
                FileHandle.standardError.write(Data("schoolstat score: 运行历史 \(history) 不存在 (no run history there)\n".utf8))
                throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
            }
        }
        options.previous = previous
        options.profile = profile
        options.waivers = waivers
        options.english = lang == .en
        options.countyName = countyName
        do {
            let result = try Scorer.score(options)
            let notMet = result.indicators.filter { $0.conclusion == .notMet }.count
            print(lang == .zh ? "评估完成：\(result.indicators.count) 项指标，其中不达标 \(notMet) 项；输出目录 \(result.outputDirectory)"
                              : "Evaluation written: \(result.indicators.count) indicators, \(notMet) not met; see \(result.outputDirectory)")
        } catch {
            FileHandle.standardError.write(Data("schoolstat score: \(error.description)\n".utf8))
            throw ExitCode(error.status.rawValue)
        }
    }
}

/// Removes a run's staging directory when the process is told to stop.
final class SignalCleanup: Sendable {
    private struct State {
        var path: String?
        var stopping = false
    }
    private final class Shared: Sendable {
        let state = Mutex(State())
    }
    private let shared = Shared()
    /// Kept for the life of the process; never touched after `init`.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]

    var staging: String? {
        get { shared.state.withLock { $0.path } }
        set { shared.state.withLock { $0.path = newValue } }
    }

    /// Blocks for good once a signal has been taken: the handler exits the process when it has
    /// removed the staging directory, with the signal's status, which an error the removal
    /// caused on this thread must not pre-empt.
    func waitIfStopping() {
        guard shared.state.withLock({ $0.stopping }) else { return }
        while true { sleep(60) }
    }

    init() {
        let shared = self.shared
        sources = [SIGTERM, SIGINT, SIGHUP].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let path = shared.state.withLock { state -> String? in
                    state.stopping = true
                    return state.path
                }
                if let path {
                    // Moved aside first: threads still writing cannot create files in it any more.
                    let doomed = path + ".removing"
                    try? FileManager.default.removeItem(atPath: rename(path, doomed) == 0 ? doomed : path)
                }
                FileHandle.standardError.write(Data("schoolstat: 已中止，上一次的输出保持不变。 (stopped; previous outputs untouched)\n".utf8))
                exit(128 + sig)
            }
            source.resume()
            return source
        }
    }
}
