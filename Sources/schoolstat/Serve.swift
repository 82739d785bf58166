// `schoolstat serve`: the clerk's check as a local web page.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatCheck
import SchoolStatServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "在本机打开提交前检查网页 (serve the pre-submission check as a local web page).",
        discussion: """
        默认只在本机 127.0.0.1 上提供服务，启动时打印网址。绑定其他地址需要 --allow-remote，并会打印访问令牌，
        每个请求都必须带上它。规则、地区参数和学校表在启动时固定。上传的文件在检查完成后立即删除。
        (Listens on 127.0.0.1 by default and prints the address. Any other address needs --allow-remote and prints an access
        token every request must carry. Rules, profile and schools table are fixed at start. Uploads are deleted once checked.)
        """)

    @OptionGroup var ruleOptions: RuleOptions
    var rules: String { ruleOptions.rules }
    var asOf: String? { ruleOptions.asOf }
    var profile: String? { ruleOptions.profile }

    @Option(name: .long, help: "全县的学校表 (the county's schools table).")
    var schools: String?

    @Option(name: .long, help: "监听地址 (address to bind); default 127.0.0.1.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "端口 (port); 0 picks a free one. Default 8765.")
    var port: Int = 8765

    @Flag(name: .long, help: "允许绑定本机以外的地址 (allow binding a non-loopback address; a token is then required).")
    var allowRemote = false

    @Option(name: .long, help: "上传文件大小上限，单位 MB (largest upload in MB; default 20).")
    var maxUploadMb: Int = ServerOptions.defaultMaxUploadBytes >> 20

    @Option(name: .long, help: "每个文件最多检查的数据行数 (data rows an upload may have; 0: no limit). Default 100000.")
    var maxRows: Int = CheckLimits().rows

    @Option(name: .long, help: "网页上逐条列出的问题数 (problems listed on the page; the rest are counted and in the annotated workbook). Default 1000.")
    var maxProblems: Int = CheckLimits().problemsShown

    @Option(name: .long, help: "一次回答的大小上限，单位 MB，含标注工作簿 (largest answer in MB, the annotated workbook included). Default 32.")
    var maxAnswerMb: Int = ServerOptions(rulesDirectory: "").maxAnswerBytes >> 20

    @Option(name: .long, help: "每次检查的时间上限，秒 (seconds a check may take before it is stopped). Default 120.")
    var checkTimeout: Int = ServerOptions(rulesDirectory: "").checkSeconds

    @Option(name: .long, help: "每次检查的内存上限，MB (memory a check may use, MB of address space). Default 2048.")
    var checkMemoryMb: Int = ServerOptions(rulesDirectory: "").checkMemoryMB

    @Option(name: .long, help: "同时进行的检查数 (checks at once; up to 4 times as many wait, the rest are asked to try again). Default 2.")
    var concurrentChecks: Int = ServerOptions(rulesDirectory: "").concurrentChecks

    @Option(name: .long, help: "连接空闲多少秒后关闭 (seconds a connection may send nothing before it is closed; default 30).")
    var idleTimeout: Int = ServerOptions.defaultIdleTimeoutSeconds

    @Option(name: .long, help: "同时保持的连接数上限 (connections held at once; more wait their turn; default 128).")
    var maxConnections: Int = ServerOptions.defaultMaxConnections

    func validate() throws {
        if idleTimeout < 1 || idleTimeout > 3600 { throw ValidationError("--idle-timeout 应在 1 到 3600 秒之间。 (--idle-timeout must be 1 to 3600 seconds)") }
        if maxConnections < 1 || maxConnections > 100_000 { throw ValidationError("--max-connections 应在 1 到 100000 之间。 (--max-connections must be 1 to 100000)") }
        if !ServerOptions.isLoopback(host) && !allowRemote {
            throw ValidationError("绑定 \(host) 会让其他电脑访问本服务；如确需如此，请加 --allow-remote。 (binding \(host) needs --allow-remote)")
        }
        if port < 0 || port > 65535 { throw ValidationError("--port 应在 0 到 65535 之间。") }
        if maxUploadMb < 1 || maxUploadMb > 1024 { throw ValidationError("--max-upload-mb 应在 1 到 1024 之间。") }
        if maxRows < 0 { throw ValidationError("--max-rows 不能为负数。 (--max-rows must be 0 or more)") }
        if maxProblems < 0 { throw ValidationError("--max-problems 不能为负数。 (--max-problems must be 0 or more)") }
        if maxAnswerMb < 1 || maxAnswerMb > 1024 { throw ValidationError("--max-answer-mb 应在 1 到 1024 之间。") }
        if checkTimeout < 1 || checkTimeout > 86_400 { throw ValidationError("--check-timeout 应在 1 到 86400 秒之间。") }
        if checkMemoryMb < 256 || checkMemoryMb > 1 << 20 { throw ValidationError("--check-memory-mb 应在 256 到 1048576 之间。") }
        if concurrentChecks < 1 || concurrentChecks > 64 { throw ValidationError("--concurrent-checks 应在 1 到 64 之间。") }
    }

    func run() throws {
        // The rules are checked once, now: a broken rule file stops the server before it listens.
        do { _ = try LoadedRules.load(directory: rules, profile: profile) } catch {
            FileHandle.standardError.write(Data("schoolstat serve: \(error.description)\n".utf8))
            throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
        }
        if let schools, !FileManager.default.isReadableFile(atPath: schools) {
            FileHandle.standardError.write(Data("schoolstat serve: 无法读取学校表 \(schools) (cannot read the schools table)\n".utf8))
            throw ExitCode(RunStatus.unreadableInput.rawValue)
        }
        var options = ServerOptions(rulesDirectory: rules)
        options.profile = profile
        options.schools = schools
        options.asOf = asOf
        options.host = host
        options.port = port
        options.maxUploadBytes = maxUploadMb << 20
        options.limits.rows = maxRows
        options.limits.problemsShown = maxProblems
        options.maxAnswerBytes = maxAnswerMb << 20
        options.checkSeconds = checkTimeout
        options.checkMemoryMB = checkMemoryMb
        options.concurrentChecks = concurrentChecks
        options.waitingChecks = concurrentChecks * 4
        options.executable = CheckServer.ownExecutable()

        options.idleTimeoutSeconds = idleTimeout
        options.maxConnections = maxConnections
        if !ServerOptions.isLoopback(host) { options.token = ServerOptions.makeToken() }
        let serverOptions = options
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do {
                try await CheckServer.run(serverOptions) { host, port in
                    let shownHost = host.contains(":") ? "[\(host)]" : host
                    let url = "http://\(shownHost):\(port)/" + (serverOptions.token.map { "?token=\($0)" } ?? "")
                    var text = "schoolstat 检查网页已启动 (check page running): \(url)\n"
                    if serverOptions.token != nil {
                        text += "访问令牌 (access token) 已包含在上面的网址中；每个请求都必须带上它。\n"
                    }
                    text += "按 Ctrl+C 停止 (Ctrl+C to stop).\n"
                    // Unbuffered: whoever started the server reads the address at once.
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
            } catch {
                failure.set("\(error)")
            }
            done.signal()
        }
        done.wait()
        if let message = failure.get() {
            FileHandle.standardError.write(Data("schoolstat serve: 无法启动 (could not start): \(message)\n".utf8))
            throw ExitCode(RunStatus.badRulesOrArguments.rawValue)
        }
    }
}

final class FailureBox: Sendable {
    private let message = Mutex<String?>(nil)
    func set(_ m: String) { message.withLock { $0 = m } }
    func get() -> String? { message.withLock { $0 } }
}
