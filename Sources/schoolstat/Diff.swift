// `schoolstat diff`: what changed between two recorded runs.
import ArgumentParser
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatHistory

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "比较两次记录的运行：新增、修复、仍未解决的问题 (what changed between two recorded runs).")

    @Argument(help: "较早的运行 (the earlier run id).")
    var runA: String

    @Argument(help: "较晚的运行 (the later run id).")
    var runB: String

    @Option(name: .long, help: "运行历史数据库 (the history database).")
    var db: String = "schoolstat-history.sqlite"

    @Option(name: .long, help: "输出格式 (text or json).")
    var format: OutputFormat = .text

    @Option(name: .long, help: "把明细写成 CSV (write the new, fixed and open findings to this CSV file; a new file only).")
    var csv: String?

    @Option(name: .long, help: "消息语言 (zh or en).")
    var lang: Language = .zh

    func run() throws {
        let database = try openHistory(db)
        do {
            for id in [runA, runB] where try !database.runExists(id) {
                FileHandle.standardError.write(Data("schoolstat: 运行历史中没有运行 \(id)。 (no run \(id) in the history)\n".utf8))
                throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
            }
            let finished = try database.run(runA)?.finished
            let staging = try FindingStaging()
            try staging.attach(history: db)
            try staging.load(recordedRun: runB)
            let summary = try staging.compare(previousRun: runA, previousFinished: finished)
            if let csv {
                guard !FileManager.default.fileExists(atPath: csv) else {
                    FileHandle.standardError.write(Data("schoolstat: \(csv) 已存在，不会覆盖。 (\(csv) exists; not replaced)\n".utf8))
                    throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
                }
                do { try staging.writeCSV(to: csv) } catch {
                    FileHandle.standardError.write(Data("schoolstat: \(error.description)\n".utf8))
                    throw ExitCode(RunStatus.outputFailed.rawValue)
                }
            }
            if format == .json {
                try printJSON(summary)
            } else {
                Changes.describe(summary, zh: lang == .zh, limit: 20).forEach { print($0) }
                try staging.forEachChange { change, f in
                    guard change != .open else { return }
                    let word = lang == .zh ? (change == .new ? "新增" : "修复") : change.rawValue
                    print("  [\(word)] \(f.school.isEmpty ? "-" : f.school) \(f.key) \(f.rule) \(f.column): \(lang == .zh ? f.messageZh : f.messageEn)")
                }
            }
        } catch let error as HistoryError {
            FileHandle.standardError.write(Data("schoolstat: \(error.description)\n".utf8))
            throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
        }
    }
}
