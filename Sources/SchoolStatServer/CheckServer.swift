// Server: the clerk's check as a local web page. One binary, every asset embedded, no network
// needed. A file posted to /api/check is written to a private temporary directory under a name
// the server chooses, checked with the rules fixed at start, and removed before the response
// leaves; the answer carries the problems and the annotated workbook, so nothing is kept.
import Foundation
import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import SchoolStatModel
import SchoolStatBytes
import SchoolStatCheck

public struct ServerOptions: Sendable {
    public var rulesDirectory: String
    public var profile: String?
    public var schools: String?
    public var asOf: String?
    public var host = "127.0.0.1"
    /// 0: any free port (the one chosen is told to `onRunning`).
    public var port = 8765
    /// Largest upload in bytes.
    public var maxUploadBytes = ServerOptions.defaultMaxUploadBytes
    /// Required on every request when set (`?token=` or the `X-Schoolstat-Token` header).
    public var token: String?
    /// Checks running at once; more wait their turn, up to `waitingChecks`, and the rest are
    /// told to try again shortly.
    public var concurrentChecks = 2
    public var waitingChecks = 8
    public var workDirectory = NSTemporaryDirectory()
    /// The program each check runs in: a process of its own, so that no upload can take the page
    /// down and each check's memory returns when it ends. nil: this program.
    public var executable: String?
    /// Rows a file may have, problems listed in detail (`check`'s limits).
    public var limits = CheckLimits()
    /// Largest answer in bytes, the annotated workbook included; past it the workbook is left out.
    public var maxAnswerBytes = 32 << 20
    /// Seconds a check may take before it is stopped.
    public var checkSeconds = 120
    /// Memory one check may use, in MB of address space.
    public var checkMemoryMB = 2048
    /// Seconds a connection may send nothing (no request begun, a request's head or body
    /// stalled, nothing after a response) before it is closed. A check being run does not count.
    public var idleTimeoutSeconds = ServerOptions.defaultIdleTimeoutSeconds
    /// Connections open at once; further ones wait, unaccepted, until one closes.
    public var maxConnections = ServerOptions.defaultMaxConnections

    public static let defaultMaxUploadBytes = 20 << 20
    public static let defaultIdleTimeoutSeconds = 30
    public static let defaultMaxConnections = 128

    public init(rulesDirectory: String) { self.rulesDirectory = rulesDirectory }

    /// Whether `host` is a loopback address, which needs no token.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// A random token of 32 hex digits.
    public static func makeToken() -> String {
        (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max)) }.joined()
    }
}

public enum CheckServer {
    /// The router: the page and its assets, and the check.
    public static func router(_ options: ServerOptions) -> Router<BasicRequestContext> {
        let router = Router()
        if let token = options.token { router.add(middleware: TokenMiddleware(token: token)) }
        router.add(middleware: SecurityHeaders())
        router.get("/") { _, _ in page(PageAssets.html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in page(PageAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in page(PageAssets.style, type: "text/css; charset=utf-8") }
        router.get("/health") { _, _ in "ok" }
        let gate = Gate(slots: options.concurrentChecks)
        router.post("/api/check") { request, context in
            try await check(request: request, context: context, options: options, gate: gate)
        }
        return router
    }

    /// Serves until stopped; `onRunning` is told the address and port once it listens.
    public static func run(_ options: ServerOptions, onRunning: @escaping @Sendable (String, Int) -> Void) async throws {
        var logger = Logger(label: "schoolstat.serve")
        logger.logLevel = .warning
        // A client that connects and sends nothing, or dribbles a request's head, is dropped after
        // the idle timeout; however many connect, only so many connections are held at once.
        let app = Application(
            router: router(options),
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(max(1, options.idleTimeoutSeconds))))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "schoolstat",
                                 availableConnectionsDelegate: MaximumAvailableConnections(max(1, options.maxConnections), logger: logger)),
            onServerRunning: { channel in onRunning(options.host, channel.localAddress?.port ?? options.port) },
            logger: logger)
        try await app.runService()
    }

    static func page(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ status: HTTPResponse.Status, _ data: Data) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A message for the page, in both languages.
    static func failure(_ status: HTTPResponse.Status, zh: String, en: String) -> Response {
        let body = try? JSONSerialization.data(withJSONObject: ["error_zh": zh, "error_en": en], options: [.sortedKeys])
        return json(status, body ?? Data())
    }

    /// The extensions the reader takes; any other name is checked by its content.
    static let extensions: Set<String> = ["xlsx", "xls", "csv", "tsv", "txt"]

    static func check(request: Request, context: BasicRequestContext, options: ServerOptions, gate: Gate) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: options.maxUploadBytes)
        } catch {
            let mb = Double(options.maxUploadBytes) / 1_048_576
            return failure(.contentTooLarge, zh: "文件超过 \(String(format: "%g", mb)) MB 的上限，未作检查。请只上传本校的表格，或请管理员调高上限（--max-upload-mb）。",
                           en: "The file is larger than the \(String(format: "%g", mb)) MB limit and was not checked. Upload only your school's table, or ask for a higher limit (--max-upload-mb).")
        }
        guard body.readableBytes > 0 else {
            return failure(.badRequest, zh: "没有收到文件内容；请重新选择文件。", en: "No file content was received; choose the file again.")
        }
        // The name is shown to the clerk and never reaches the file system; its extension only
        // chooses between the workbook and text readers.
        let given = request.uri.queryParameters["name"].map { String($0) } ?? ""
        let shown = displayName(given)
        let named = (shown as NSString).pathExtension.lowercased()
        let zip = body.getBytes(at: body.readerIndex, length: min(4, body.readableBytes)) == [0x50, 0x4B, 0x03, 0x04]
        // Excel 97-2003 workbooks are OLE compound files.
        let ole = body.getBytes(at: body.readerIndex, length: min(4, body.readableBytes)) == [0xD0, 0xCF, 0x11, 0xE0]
        let ext = extensions.contains(named) ? named : (zip ? "xlsx" : (ole ? "xls" : "csv"))

        guard await gate.enter(waiting: options.waitingChecks) else {
            return failure(.serviceUnavailable, zh: "现在同时检查的文件太多，请过一两分钟再试。",
                           en: "Too many files are being checked at the moment; try again in a minute or two.")
        }
        let outcome: CheckOutcome = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: runCheck(body: body, ext: ext, shown: shown, options: options))
            }
        }
        await gate.leave()
        switch outcome {
        case .answer(let data): return json(.ok, data)
        case .refused(let status, let zh, let en): return failure(status, zh: zh, en: en)
        }
    }

    enum CheckOutcome: Sendable {
        case answer(Data)
        case refused(HTTPResponse.Status, zh: String, en: String)
    }

    /// The upload's name as shown: its last path component, printable, ID numbers masked, at most
    /// 100 characters. The page, the problems and the annotated workbook's sheets know it by no other.
    static func displayName(_ given: String) -> String {
        let last = given.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let printable = IDNumber.scrub(String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init)))
        let trimmed = String(printable.prefix(100)).trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed == "." || trimmed == ".." ? "上传的文件" : trimmed
    }

    /// This program, for running each check in a process of its own.
    public static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The check in a directory of its own, removed before returning, and in a process of its own,
    /// stopped when it runs past its time; its memory is bounded and returns when it ends.
    static func runCheck(body: ByteBuffer, ext: String, shown: String, options: ServerOptions) -> CheckOutcome {
        let directory = options.workDirectory + "/schoolstat-upload-" + UniqueName.make()
        let broken = CheckOutcome.refused(.internalServerError, zh: "服务器无法写临时文件，请联系管理员。", en: "The server cannot write its temporary files; tell the administrator.")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            return broken
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upload = directory + "/upload." + ext
        guard FileManager.default.createFile(atPath: upload, contents: Data(body.readableBytesView), attributes: [.posixPermissions: 0o600]) else { return broken }
        let annotated = directory + "/annotated.xlsx"
        var arguments = ["check", upload, "--rules", options.rulesDirectory, "--format", "json", "--annotate", annotated,
                         "--display-name", shown, "--max-rows", String(options.limits.rows), "--max-problems", String(options.limits.problemsShown),
                         "--memory-limit-mb", String(options.checkMemoryMB)]
        if let schools = options.schools { arguments += ["--schools", schools] }
        if let profile = options.profile { arguments += ["--profile", profile] }
        if let asOf = options.asOf { arguments += ["--as-of", asOf] }
        // The check's own working files go under the upload's directory, removed with it whatever happens.
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = directory
        // A check stopped by its memory ceiling ends at once, without the runtime's backtrace.
        environment["SWIFT_BACKTRACE"] = "enable=no"
        // Its end is seen by waiting for it (`ChildProcess`): however many checks run at once,
        // none is waited on after it ended.
        let check: ChildProcess
        do {
            check = try ChildProcess(options.executable ?? ownExecutable(), arguments, environment: environment,
                                     output: directory + "/answer.json", errors: directory + "/messages.txt")
        } catch {
            return broken
        }
        guard let termination = check.wait(seconds: Double(max(1, options.checkSeconds))) else {
            check.signal(SIGKILL)
            check.wait()
            return .refused(.unprocessableContent,
                            zh: "这个文件检查了 \(options.checkSeconds) 秒还没有完成，已停止。一所学校的表通常几秒就能查完：请确认上传的是本校的表；确实需要时，请管理员调高上限（--check-timeout）。",
                            en: "Checking this file took longer than \(options.checkSeconds) seconds and was stopped. A school's table is usually checked in seconds: make sure this is your school's table, or ask for a higher limit (--check-timeout).")
        }
        let answerBytes = (try? FileManager.default.attributesOfItem(atPath: directory + "/answer.json"))?[.size] as? Int ?? 0
        switch termination {
        case .exited(0), .exited(1), .exited(3):
            guard answerBytes > 0, answerBytes <= options.maxAnswerBytes else {
                return .refused(.unprocessableContent, zh: "这个文件的检查结果太大（超过 \(options.maxAnswerBytes >> 20) MB），无法在网页上显示。请确认上传的是本校的表，或在本机用 schoolstat check 检查。",
                                en: "The result of this check is too large to show on the page (over \(options.maxAnswerBytes >> 20) MB). Make sure this is your school's table, or check it on this computer with schoolstat check.")
            }
            guard let data = FileManager.default.contents(atPath: directory + "/answer.json"),
                  var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return broken }
            var notesZh = object["notes_zh"] as? [String] ?? [], notesEn = object["notes_en"] as? [String] ?? []
            let workbookBytes = (try? FileManager.default.attributesOfItem(atPath: annotated))?[.size] as? Int ?? 0
            if workbookBytes > 0, answerBytes + (workbookBytes + 2) / 3 * 4 <= options.maxAnswerBytes,
               let workbook = FileManager.default.contents(atPath: annotated) {
                object["workbook"] = workbook.base64EncodedString()
                object["workbook_name"] = ((shown as NSString).deletingPathExtension.isEmpty ? "检查结果" : (shown as NSString).deletingPathExtension) + "-标注.xlsx"
            } else if workbookBytes > 0 {
                notesZh.append("标注工作簿太大（\(workbookBytes >> 20) MB），网页上不提供下载；请在本机用 schoolstat check --annotate 生成。")
                notesEn.append("The annotated workbook is too large (\(workbookBytes >> 20) MB) to download from the page; make it on this computer with schoolstat check --annotate.")
            }
            if ext == "xls", object["workbook"] != nil {
                notesZh.append("上传的是旧版 Excel 97-2003 工作簿（.xls）；标注工作簿以 .xlsx 格式提供，Excel 2007 及以后的版本和 WPS 都能打开。")
                notesEn.append("The upload is a legacy Excel 97-2003 workbook (.xls); the annotated workbook comes as .xlsx, which Excel 2007 and later and WPS open.")
            }
            object["notes_zh"] = notesZh
            object["notes_en"] = notesEn
            return .answer((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
        case .exited:
            // Refused before the check (rules, arguments) or an output that could not be written: the check's own message.
            var text = (FileManager.default.contents(atPath: directory + "/messages.txt").map { String(decoding: $0.prefix(4096), as: UTF8.self) } ?? "")
                .replacingOccurrences(of: "schoolstat check: ", with: "")
            // The check's messages are scrubbed of ID numbers: a working directory whose path holds
            // a run of digits (the one the page was given) is in them masked.
            for (path, replacement) in [(upload, shown), (directory, "")] {
                for form in Set([path, IDNumber.scrub(path)]) { text = text.replacingOccurrences(of: form, with: replacement) }
            }
            text = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return .refused(.unprocessableContent, zh: "无法检查这个文件：" + text, en: "The file could not be checked: " + text)
        case .lost:
            // The system took the check's end before the page could learn how it ended.
            return .refused(.internalServerError, zh: "服务器没能得知这次检查的结果。请把同一个文件再上传一次；如果仍然这样，请联系管理员。",
                            en: "The server could not learn how the check of this file ended. Upload the same file again; if this happens again, tell the administrator.")
        case .signalled:
            return .refused(.unprocessableContent,
                            zh: "检查这个文件时程序中止了，最可能是所需的内存超过了上限（\(options.checkMemoryMB) MB）。请确认上传的是本校的表；确实需要时，请管理员调高上限（--check-memory-mb）；如果本校的小表也这样，请把文件交给县里的数据管理员。",
                            en: "The check of this file stopped, most likely because it needed more memory than the limit (\(options.checkMemoryMB) MB). Make sure this is your school's table, or ask for a higher limit (--check-memory-mb); if a small school table does this too, hand the file to the county's data office.")
        }
    }
}

/// Every request must carry the token printed at start: in the `X-Schoolstat-Token` header, as
/// `?token=` (the printed address), or in the cookie the first token-bearing request sets, so that
/// the page's own requests (its style sheet, its script, the check) carry it without being told.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String
    /// One name per running server, so that two servers on one host (cookies ignore the port)
    /// never overwrite each other's.
    let cookieName: String

    init(token: String, cookieName: String = "schoolstat_token_" + String(format: "%08x", UInt32.random(in: .min ... .max))) {
        self.token = token
        self.cookieName = cookieName
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = request.headers[HTTPField.Name("X-Schoolstat-Token")!] ?? request.uri.queryParameters["token"].map(String.init)
        if let given, constantTimeEqual(given, token) {
            var response = try await next(request, context)
            // HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it.
            response.setCookie(Cookie(name: cookieName, value: token, path: "/", httpOnly: true, sameSite: .strict))
            return response
        }
        // A wrong header or query is refused even with a good cookie: whoever sent it is told.
        if given == nil, let cookie = request.cookies[cookieName]?.value, constantTimeEqual(cookie, token) {
            return try await next(request, context)
        }
        return CheckServer.failure(.unauthorized, zh: "需要访问令牌：请使用启动时显示的完整网址。",
                                   en: "An access token is needed: use the full address printed at start.")
    }

    func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The page may load only its own assets.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = BasicRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return response
    }
}

/// At most `slots` checks at once.
actor Gate {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []
    init(slots: Int) { free = max(1, slots) }
    /// Waits for a slot; false at once when `waiting` checks already wait.
    func enter(waiting limit: Int) async -> Bool {
        if free > 0 { free -= 1; return true }
        guard waiting.count < max(0, limit) else { return false }
        await withCheckedContinuation { waiting.append($0) }
        return true
    }
    func leave() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
