// `schoolstat feedback`: a county run's findings handed back to each school as its own workbook.
import ArgumentParser
import Foundation
import SchoolStatModel
import SchoolStatPipeline
import SchoolStatCheck

struct Feedback: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "把一次运行的问题按学校写成工作簿 (one workbook per school from a validate run: its problems, its rows, the problem cells marked).",
        discussion: """
        每所有问题的学校一个工作簿 <学校标识码>-<学校名称>.xlsx：第一张表是问题清单（点击位置跳到单元格；有运行历史时注明
        新增或已连续几次，以及上次以来已改正的问题），其后每张表是本校在各文件中的行，问题单元格标色并附批注。学校标识码未知或
        缺失的行、与某一所学校无关的问题在 未匹配学校.xlsx；index.csv 和 index.html 按错误数列出各校。运行之后被修改或移走的
        输入文件会被拒绝（退出码 3），不会把问题标到错的单元格上。退出码 (exit codes): 0 已写出, 2 参数或输出目录有误,
        3 输入文件已变, 4 无法写入。
        """)

    @Argument(help: "validate 的输出目录 (a validate --out directory).")
    var runDirectory: String

    @Option(name: .long, help: "反馈目录 (where the workbooks go): a new path, or one schoolstat feedback wrote before, replaced atomically. Any other existing path is refused.")
    var out: String = "feedback"

    @Option(name: .long, help: "规则目录 (rules directory); default ./Rules, or the installed rules beside the program.")
    var rules: String = RulesLocation.defaultDirectory

    @Flag(name: .long, help: "不打印摘要 (print nothing when all goes well).")
    var quiet = false

    func run() throws {
        let status = Self.write(run: runDirectory, out: out, rules: rules, quiet: quiet)
        if status != 0 { throw ExitCode(status) }
    }

    /// Writes the feedback of the run at `run` into `out`; returns 0, or the exit status of the failure (told on stderr).
    static func write(run: String, out: String, rules: String, quiet: Bool) -> Int32 {
        let result: FeedbackResult
        do {
            result = try SchoolFeedback.write(FeedbackOptions(run: run, outputDirectory: out, rulesDirectory: rules))
        } catch {
            FileHandle.standardError.write(Data("schoolstat feedback: \(error.description)\n".utf8))
            return error.status.rawValue
        }
        if !quiet {
            let schools = result.workbooks.filter { !$0.code.isEmpty }
            print("各校反馈：\(schools.count) 所学校的工作簿、index.csv 和 index.html 已写入 \(result.outputDirectory)")
            for b in schools.prefix(10) {
                print("  \(b.file)  错误 \(b.errors)，警告 \(b.warnings)" + (b.new.map { "，新增 \($0)" } ?? ""))
            }
            if schools.count > 10 { print("  ……其余 \(schools.count - 10) 所见 index.html") }
            if let county = result.workbooks.first(where: { $0.code.isEmpty }) {
                print("  \(county.file)  学校标识码未知或缺失的行、全县的问题：错误 \(county.errors)，警告 \(county.warnings)")
            }
        }
        return 0
    }
}
