// `schoolstat history`, `schoolstat diff` and `schoolstat export`: the run history for the county
// data office's morning questions, and a run's clean tables loaded into a database.
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

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "把一次运行的干净数据和问题清单导入数据库 (load a run's clean tables and findings into PostgreSQL or SQLite).",
        discussion: """
        RUN 为运行编号（在运行历史中查找其输出目录）或输出目录。--to postgresql://用户@主机:端口/数据库[?schema=名称]、
        libpq 的 key=value 连接串（如 'service=county schema=名称'）或 sqlite:文件路径；连接 PostgreSQL 时与 psql 一样读取
        PGHOST、PGPORT、PGUSER、PGDATABASE、PGPASSWORD、~/.pgpass 和 pg_service.conf。在一个事务中完成；同一运行再次导出不会改变任何内容。
        """)

    @Argument(help: "运行编号或输出目录 (a run id from the history, or an output directory).")
    var run: String

    @Option(name: .long, help: "目标 (postgresql://user@host:port/database[?schema=NAME&host=/socket/dir&sslmode=MODE], a libpq key=value string, or sqlite:PATH).")
    var to: String

    @Option(name: .long, help: "运行历史数据库 (the history database, to find a run id's output directory).")
    var db: String = "schoolstat-history.sqlite"

    @Option(name: .long, help: "规则目录 (rules directory: the schemas type the columns).")
    var rules: String = RulesLocation.defaultDirectory

    func run() async throws {
        let target: ExportTarget
        do { target = try ExportTarget.parse(to) } catch {
            FileHandle.standardError.write(Data("schoolstat export: \(error.description)\n".utf8))
            throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
        }
        var directory = run
        var isDirectory: ObjCBool = false
        if !(FileManager.default.fileExists(atPath: run, isDirectory: &isDirectory) && isDirectory.boolValue) {
            let database = try openHistory(db)
            guard let recorded = try? database.run(run) else {
                FileHandle.standardError.write(Data("schoolstat export: 运行历史中没有运行 \(run)，也没有这个目录。 (no such run or directory)\n".utf8))
                throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
            }
            directory = recorded.outputDirectory
            // The output directory holds the latest run written there: an older run's tables are gone.
            let current = ((try? RegularFile.contents(directory + "/summary.json", limit: 64 << 20)) ?? nil).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard current.contains("\"run_id\" : \"\(run)\"") else {
                FileHandle.standardError.write(Data("schoolstat export: 运行 \(run) 的输出目录 \(directory) 已被之后的运行替换，无法导出它的数据。 (the run's outputs were replaced by a later run)\n".utf8))
                throw ExitCode(RunStatus.unreadableInput.rawValue)
            }
        }
        do {
            let report = try RunExport.export(runDirectory: directory, rulesDirectory: rules, to: target)
            let tables = report.tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("已导出运行 \(report.runID)：\(tables)；问题 \(report.findings) 条。 (exported run \(report.runID))")
        } catch {
            FileHandle.standardError.write(Data("schoolstat export: \(error.description)\n".utf8))
            throw ExitCode(error.status.rawValue)
        }
    }
}

/// The rules a run is checked with: shared by validate, check and serve.
struct RuleOptions: ParsableArguments {
    @Option(name: .long, help: "规则目录 (rules directory); default ./Rules, or the installed rules beside the program.")
    var rules: String = RulesLocation.defaultDirectory

    @Option(name: .long, help: "统计基准日 (reference date for ages), e.g. 2024-09-30; default from Rules/parameters.yaml.")
    var asOf: String?

    @Option(name: .long, help: "地区参数 (regional profile in Rules/profiles): national, yubei, shapingba, wansheng …")
    var profile: String?
}

/// Where the rules are when `--rules` is not given: `Rules` in the working directory when there is
/// one, else those installed beside the binary (`PREFIX/share/schoolstat/Rules` for
/// `PREFIX/bin/schoolstat`), else `Rules`.
enum RulesLocation {
    static var defaultDirectory: String {
        if FileManager.default.fileExists(atPath: "Rules/schemas") { return "Rules" }
        if let executable = Bundle.main.executablePath {
            let installed = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/schoolstat/Rules").path
            if FileManager.default.fileExists(atPath: installed + "/schemas") { return installed }
        }
        return "Rules"
    }
}
