// `schoolstat export`: a run's clean tables loaded into PostgreSQL or SQLite.
import ArgumentParser
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatHistory

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
            guard ((try? RunSummary.read(directory: directory)) ?? nil)?.runID == run else {
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
