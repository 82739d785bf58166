// `schoolstat check`: a school clerk's check before submission, on the command line.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatCheck
import SchoolStatServer

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "提交前检查本校的文件，可写出标注了问题的工作簿 (check one school's files before submission; optionally write the annotated workbook).",
        discussion: """
        每个问题都给出 Excel 中的位置（第 17 行 D 列（D17））、填写的值和改法。只判断本校自己的行和本校指标，
        不显示需要全县数据的指标。退出码与 validate 相同 (exit codes as for validate): 0 没有错误, 1 有错误,
        2 命令行或规则有误, 3 文件无法读取, 4 输出无法写入。
        """)

    @Argument(help: "本校的文件 (the school's files: xlsx, csv, tsv, txt).")
    var files: [String]

    @Option(name: .long, help: "全县的学校表 (the county's schools table): the roster's school codes are checked against it.")
    var schools: String?

    @Option(name: .long, help: "写出标注工作簿 (write the annotated workbook here, .xlsx). An existing file is replaced only if schoolstat wrote it.")
    var annotate: String?

    @OptionGroup var ruleOptions: RuleOptions
    var rules: String { ruleOptions.rules }
    var asOf: String? { ruleOptions.asOf }
    var profile: String? { ruleOptions.profile }

    @Option(name: .long, help: "输入编码 (input encoding); detected when omitted.")
    var encoding: String?

    @Option(name: .long, help: "输出格式 (console output format): text or json.")
    var format: OutputFormat = .text

    @Option(name: .long, help: "消息语言 (message language): zh or en.")
    var lang: Language = .zh

    @Option(name: .long, help: "每个文件最多检查的数据行数 (data rows a file may have to be checked; 0: no limit). Default 100000.")
    var maxRows: Int = CheckLimits().rows

    @Option(name: .long, help: "最多逐条列出的问题数，其余只计数并写入标注工作簿 (problems listed in detail; the rest are counted and in the annotated workbook; 0: all). Default 1000.")
    var maxProblems: Int = CheckLimits().problemsShown

    /// The names the files are shown under (the page's uploads), one per file.
    @Option(name: .long, help: .hidden)
    var displayName: [String] = []

    /// A ceiling on the process's memory in MB, set by the page for each check it runs.
    @Option(name: .long, help: .hidden)
    var memoryLimitMb: Int = 0

    func validate() throws {
        if maxRows < 0 { throw ValidationError("--max-rows 不能为负数。 (--max-rows must be 0 or more)") }
        if maxProblems < 0 { throw ValidationError("--max-problems 不能为负数。 (--max-problems must be 0 or more)") }
        if !displayName.isEmpty && displayName.count != files.count {
            throw ValidationError("--display-name 的个数应与文件个数相同。 (one --display-name per file)")
        }
        if let encoding, TextEncoding(userName: encoding) == nil {
            throw ValidationError("不认识的编码“\(encoding)”；可用 utf-8、utf-8-bom、gb18030（gbk）、utf-16le、utf-16be。 (unknown encoding)")
        }
        if let annotate, !annotate.lowercased().hasSuffix(".xlsx") {
            throw ValidationError("--annotate 的文件名应以 .xlsx 结尾。 (--annotate must name an .xlsx file)")
        }
    }

    func run() throws {
        if memoryLimitMb > 0 { MemoryCeiling.set(megabytes: memoryLimitMb) }
        var options = CheckOptions(files: files, rulesDirectory: rules)
        // The files are named as they are shown: ID numbers masked, in the listing, the JSON and
        // the annotated workbook (its problem list and its sheets' names).
        options.displayNames = (displayName.isEmpty ? files : displayName).map(IDNumber.scrub)
        options.limits.rows = maxRows
        options.limits.problemsShown = maxProblems
        options.schools = schools
        options.profile = profile
        options.asOf = asOf
        options.encoding = encoding.flatMap(TextEncoding.init(userName:))
        let report: CheckReport
        do {
            report = try ClerkCheck.run(options, annotate: annotate)
        } catch {
            FileHandle.standardError.write(Data("schoolstat check: \(error.description)\n".utf8))
            throw ExitCode(error.status.rawValue)
        }
        if format == .json {
            try printJSON(report.scrubbed())
        } else {
            print(CheckListing.text(report.scrubbed(), zh: lang == .zh, annotated: annotate))
        }
        if report.status != 0 { throw ExitCode(report.status) }
    }
}

enum CheckListing {
    static func text(_ report: CheckReport, zh: Bool, annotated: String?) -> String {
        var lines: [String] = []
        for f in report.files {
            let table = f.table.isEmpty ? (zh ? "未识别的表" : "table not recognised") : (zh ? f.tableTitleZh : f.tableTitleEn)
            let file = f.sheet.isEmpty ? f.file : "\(f.file) [\(f.sheet)]"
            lines.append(zh ? "\(file)（\(table)）：读取 \(f.rowsRead) 行，合格 \(f.rowsClean) 行，有错误 \(f.rowsRejected) 行。"
                            : "\(file) (\(table)): \(f.rowsRead) rows read, \(f.rowsClean) clean, \(f.rowsRejected) with errors.")
        }
        lines.append(zh ? "错误 \(report.errors) 处，警告 \(report.warnings) 处。" : "\(report.errors) errors, \(report.warnings) warnings.")
        for note in zh ? report.notesZh : report.notesEn { lines.append(note) }
        for p in report.problems {
            let level = p.severity == .error ? (zh ? "错误" : "error") : (zh ? "警告" : "warning")
            let value = p.value.isEmpty ? "" : (zh ? " “\(p.value)”" : " \"\(p.value)\"")
            let heading = p.heading.isEmpty ? "" : (zh ? " 「\(p.heading)」" : " [\(p.heading)]")
            lines.append("  [\(level)] \(p.file) \(zh ? p.placeZh : p.placeEn)\(heading)\(value)" + (zh ? "：\(p.messageZh)" : ": \(p.messageEn)"))
        }
        if let annotated {
            lines.append(zh ? "已写出标注工作簿 \(annotated)：第一张表“问题清单”列出全部问题，问题单元格标红（错误）或标黄（警告），批注中有改法。"
                            : "Annotated workbook written to \(annotated): the first sheet lists every problem; problem cells are red (error) or yellow (warning) with a comment saying how to fix them.")
        }
        return lines.joined(separator: "\n")
    }
}
