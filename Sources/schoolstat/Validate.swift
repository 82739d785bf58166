// `schoolstat validate`: the county's run over every school's files, its outputs, history, evaluation and feedback.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
import SchoolStatHistory

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
