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
            // `schoolstat validate …`, the nightly job's command, is parsed by its own command
            // alone: building the whole tree of subcommands looks up every one's arguments, a few
            // milliseconds of every run. Anything it does not take (help, a mistake) is parsed
            // again below, from the root, for the usual messages.
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments.first == "validate", let validate = try? Validate.parse(Array(arguments.dropFirst())) {
                try validate.run()
                return
            }
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            // A command's own verdict (a run with errors, an unreadable input): nothing to print,
            // and nothing for ArgumentParser to build (its error path lays out the command's help
            // first, some 14 million instructions at the end of every such run).
            Foundation.exit(code.rawValue)
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
