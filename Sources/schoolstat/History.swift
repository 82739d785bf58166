// `schoolstat history`: the run history for the county data office's morning questions, and the
// helpers the history's subcommands share.
import ArgumentParser
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatHistory

extension FailOn: ExpressibleByArgument {}

func openHistory(_ path: String) throws -> HistoryDatabase {
    guard FileManager.default.fileExists(atPath: path) else {
        FileHandle.standardError.write(Data("schoolstat: 没有运行历史数据库 \(path)；请用 --db 指定。 (no run history at \(path); name it with --db)\n".utf8))
        throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
    }
    // A reading command never makes a history out of an empty file.
    var st = stat()
    if lstat(path, &st) == 0, PathKind(mode: st.st_mode) == .regular, st.st_size == 0 {
        FileHandle.standardError.write(Data("schoolstat: 运行历史数据库 \(path) 是空文件，还没有记录任何运行。 (the run history at \(path) is an empty file: no runs recorded)\n".utf8))
        throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
    }
    do { return try HistoryDatabase(path: path) } catch {
        FileHandle.standardError.write(Data("schoolstat: \(error.description)\n".utf8))
        throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
    }
}

/// One JSON document on stdout, keys sorted: what `--format json` prints. Not scrubbed as a
/// whole (a digest must stay whole): its text fields are, before it gets here.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "列出记录的运行，或删除旧的运行记录 (list recorded runs, or prune old ones).")

    @Option(name: .long, help: "运行历史数据库 (the history database).")
    var db: String = "schoolstat-history.sqlite"

    @Option(name: .long, help: "列出最近几次 (how many recent runs to list).")
    var last: Int = 20

    @Option(name: .long, help: "输出格式 (text or json).")
    var format: OutputFormat = .text

    @Flag(name: .long, help: "删除旧的运行记录 (remove old runs; needs --keep-days).")
    var prune = false

    @Option(name: .long, help: "保留最近多少天的运行 (with --prune: keep runs of the last N days).")
    var keepDays: Int?

    func validate() throws {
        if prune && keepDays == nil { throw ValidationError("--prune 需要 --keep-days N。 (--prune needs --keep-days N)") }
        if let keepDays, keepDays < 0 { throw ValidationError("--keep-days 不能为负数。") }
        if last < 1 { throw ValidationError("--last 至少为 1。") }
    }

    func run() throws {
        let database = try openHistory(db)
        do {
            if prune, let keepDays {
                let removed = try database.prune(keepDays: keepDays)
                print("已删除 \(removed) 次运行的记录（保留最近 \(keepDays) 天）。 (\(removed) runs removed)")
                return
            }
            let runs = try database.runs(last: last)
            if format == .json {
                try printJSON(runs)
                return
            }
            print("run_id                    finished                  exit  rows      errors  warnings  new   fixed  open")
            for r in runs {
                func n(_ v: Int?) -> String { v.map(String.init) ?? "-" }
                print([r.id.padding(toLength: 25, withPad: " ", startingAt: 0), r.finished.padding(toLength: 25, withPad: " ", startingAt: 0),
                       String(r.status).padding(toLength: 5, withPad: " ", startingAt: 0), String(r.rowsRead).padding(toLength: 9, withPad: " ", startingAt: 0),
                       String(r.errors).padding(toLength: 7, withPad: " ", startingAt: 0), String(r.warnings).padding(toLength: 9, withPad: " ", startingAt: 0),
                       n(r.new).padding(toLength: 5, withPad: " ", startingAt: 0), n(r.fixed).padding(toLength: 6, withPad: " ", startingAt: 0), n(r.open)].joined(separator: " "))
            }
        } catch let error as HistoryError {
            FileHandle.standardError.write(Data("schoolstat: \(error.description)\n".utf8))
            throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
        }
    }
}
