// `schoolstat score`: the county evaluation and the self-evaluation draft from a run's clean data.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
import SchoolStatHistory

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
            let runID = ((try? RunSummary.read(directory: runDirectory)) ?? nil)?.runID ?? ""
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
