import Foundation
import SchoolStatBytes
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import SchoolStatServer

/// The page's limits: each check in a process of its own, stopped past its rows, time or memory
/// and answered with a sentence for the clerk; the next upload still answered.
@Suite("The check page's limits", .serialized)
struct ServerLimitTests {
    static let roster = TestSupport.fixture("check/roster_gbk.csv")

    /// The page's application as the other server tests make it.
    func app(_ configure: (inout ServerOptions) -> Void = { _ in }) -> (some ApplicationProtocol, String) { ServerTests().app(configure) }

    static func json(_ response: TestResponse) throws -> [String: Any] { try ServerTests.json(response) }

    /// The roster's check answered as usual: three errors and the annotated workbook.
    static func answersRoster(_ client: some TestClientProtocol) async throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: roster))
        try await client.execute(uri: "/api/check?name=roster.csv", method: .post, body: ByteBuffer(bytes: bytes)) { response in
            #expect(response.status == .ok)
            let body = try Self.json(response)
            #expect(body["errors"] as? Int == 3)
            #expect((body["workbook"] as? String)?.isEmpty == false)
        }
    }

    @Test("a million-row workbook (6 MB) is answered at once with the row limit, and the next upload is checked")
    func millionRows() async throws {
        let workbook = try BoundedCheckTests.large("workbook", rows: 1_000_000, ext: "xlsx")
        let (app, work) = app()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: workbook))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=全县.xlsx", method: .post, body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                #expect(body["status"] as? Int == 3)
                let notes = body["notes_zh"] as? [String] ?? []
                #expect(notes.contains { $0.contains("超过 100000 行数据") && $0.contains("全县.xlsx") })
                // Stopped at the limit, not after reading the million rows.
                let files = body["files"] as? [[String: Any]] ?? []
                #expect(files.count == 1)
                #expect(files.allSatisfy { ($0["rows_read"] as? Int).map { $0 <= 100_000 } ?? false })
            }
            try await Self.answersRoster(client)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
    }

    @Test("a check past its time is stopped and the clerk told so; the next upload is checked")
    func timeLimit() async throws {
        let roster = try BoundedCheckTests.large("errors", rows: 30_000, ext: "csv")
        let (slow, work) = app { $0.checkSeconds = 1 }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: roster))
        try await slow.test(.router) { client in
            let started = Date()
            try await client.execute(uri: "/api/check?name=big.csv", method: .post, body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .unprocessableContent)
                let body = try Self.json(response)
                #expect((body["error_zh"] as? String)?.contains("检查了 1 秒还没有完成") == true)
                #expect((body["error_zh"] as? String)?.contains("--check-timeout") == true)
            }
            #expect(Date().timeIntervalSince(started) < 30)
        }
        // Stopped, its files went with it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
        let (app, _) = app()
        try await app.test(.router) { client in try await Self.answersRoster(client) }
    }

    @Test("a check past its memory is stopped and the clerk told so")
    func memoryLimit() async throws {
        let (app, work) = app { $0.checkMemoryMB = 64 }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.roster))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=roster.csv", method: .post, body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .unprocessableContent)
                let body = try Self.json(response)
                #expect((body["error_zh"] as? String)?.contains("内存超过了上限（64 MB）") == true)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
    }

    @Test("under an address-space ceiling a check ends at once: it never waits for a thread it cannot have",
          arguments: [64, 192, 256, 512])
    func ceilingNeverHangs(megabytes: Int) throws {
        // Too small a ceiling ends the check by the failed allocation; a larger one leaves room for
        // the check but not for every thread it would start, whose work it then does itself. (Where
        // one ends and the other begins depends on the build.)
        for _ in 0..<3 {
            let started = Date()
            let r = try TestSupport.runBinary(["check", Self.roster, "--rules", TestSupport.rules, "--format", "json",
                                               "--memory-limit-mb", String(megabytes)], timeout: 20)
            #expect(r.status != -1, "still running after 20 s under \(megabytes) MB")
            #expect(Date().timeIntervalSince(started) < 20)
        }
    }

    @Test("past the answer's limit the workbook is left out with a note; an answer that cannot fit is refused with a message")
    func answerLimit() async throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.roster))
        let (tiny, _) = app { $0.maxAnswerBytes = 1_000 }
        try await tiny.test(.router) { client in
            try await client.execute(uri: "/api/check?name=roster.csv", method: .post, body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .unprocessableContent)
                let body = try Self.json(response)
                #expect((body["error_zh"] as? String)?.contains("检查结果太大") == true)
            }
        }
        let (small, _) = app { $0.maxAnswerBytes = 16_000 }
        try await small.test(.router) { client in
            try await client.execute(uri: "/api/check?name=roster.csv", method: .post, body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                #expect(body["errors"] as? Int == 3)
                #expect(body["workbook"] == nil)
                #expect((body["notes_zh"] as? [String])?.contains { $0.contains("check --annotate") } == true)
                #expect(response.body.readableBytes <= 16_000)
            }
        }
    }

    @Test("past the checks that may wait, an upload is asked to try again; the others are answered")
    func busy() async throws {
        let (app, _) = app { $0.concurrentChecks = 1; $0.waitingChecks = 0 }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.roster))
        try await app.test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await client.execute(uri: "/api/check?name=roster.csv", method: .post, body: ByteBuffer(bytes: bytes)) { response in
                            if response.status == .serviceUnavailable {
                                let body = try Self.json(response)
                                #expect((body["error_zh"] as? String)?.contains("请过一两分钟再试") == true)
                            }
                            return response.status
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.contains(.ok))
            #expect(statuses.contains(.serviceUnavailable))
            try await Self.answersRoster(client)
        }
    }

    /// One upload to a running server at `base`, answered with its status and JSON body.
    static func upload(_ path: String, name: String, to base: String) throws -> (status: Int, body: [String: Any]) {
        var request = URLRequest(url: URL(string: base + "api/check?name=" + name)!)
        request.httpMethod = "POST"
        request.httpBody = try Data(contentsOf: URL(fileURLWithPath: path))
        request.timeoutInterval = 300
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, [String: Any]) = (0, [:])
        URLSession.shared.dataTask(with: request) { data, response, _ in
            result = ((response as? HTTPURLResponse)?.statusCode ?? 0,
                      (data.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:])
            done.signal()
        }.resume()
        done.wait()
        return result
    }

    @Test("the real server holds no more open files after a hundred checks than after five: a county's day of uploads never runs it out of them")
    func noDescriptorsLeft() throws {
        let (process, address) = try TestSupport.startServer(["--rules", TestSupport.rules])
        defer { process.stop() }
        let base = String(address.prefix { $0 != "?" })
        func openFiles() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.pid)/fd")) ?? []).count }
        // The first checks open what the server keeps (its connections, its thread pool's).
        for _ in 0..<5 {
            let first = try Self.upload(Self.roster, name: "roster.csv", to: base)
            #expect(first.status == 200 && first.body["errors"] as? Int == 3)
        }
        let before = openFiles()
        #expect(before > 0, "the server's descriptors could not be listed")
        var answered = 0
        for _ in 0..<100 {
            let next = try Self.upload(Self.roster, name: "roster.csv", to: base)
            if next.status == 200 && next.body["errors"] as? Int == 3 { answered += 1 }
        }
        #expect(answered == 100)
        #expect(openFiles() <= before + 2, "\(before) open files after five checks, \(openFiles()) after a hundred more")
    }

    @Test("a server started with SIGCHLD ignored (inherited from what started it) still answers every check as usual")
    func childSignalIgnored() throws {
        let (process, address) = try TestSupport.startServer(["--rules", TestSupport.rules], ignoringChildSignal: true)
        defer { process.stop() }
        let base = String(address.prefix { $0 != "?" })
        for _ in 0..<3 {
            let answer = try Self.upload(Self.roster, name: "roster.csv", to: base)
            #expect(answer.status == 200 && answer.body["errors"] as? Int == 3, "\(answer.body)")
        }
    }

    @Test("the real server stays small through a million-row workbook and a roster with an error on every row, and answers the next upload")
    func realServerMemory() throws {
        let workbook = try BoundedCheckTests.large("workbook", rows: 1_000_000, ext: "xlsx")
        let errors = try BoundedCheckTests.large("errors", rows: 177_000, ext: "csv")
        let (process, address) = try TestSupport.startServer(["--rules", TestSupport.rules])
        defer { process.stop() }
        // The address printed at start, without its query.
        let base = String(address.prefix { $0 != "?" })

        func upload(_ path: String, name: String) throws -> (status: Int, body: [String: Any]) { try Self.upload(path, name: name, to: base) }
        func peakMB() -> Double {
            let status = (try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
            return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
        }
        let big = try upload(workbook, name: "million.xlsx")
        #expect(big.status == 200 && big.body["status"] as? Int == 3)
        let wide = try upload(errors, name: "errors.csv")
        #expect(wide.status == 200 && wide.body["status"] as? Int == 3)
        #expect((wide.body["notes_zh"] as? [String])?.first?.contains("--max-rows") == true)
        let next = try upload(Self.roster, name: "roster.csv")
        #expect(next.status == 200 && next.body["errors"] as? Int == 3)
        #expect(peakMB() < 300, "server peak \(peakMB()) MB")
    }

    @Test("an .xls upload is recognised by its content, checked sheet by sheet, and its annotated copy comes as .xlsx with a note saying so")
    func legacyUpload() async throws {
        let (app, work) = app()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("xls/sheets.xls")))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=名册", method: .post, body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                let files = try #require(body["files"] as? [[String: Any]])
                #expect(files.contains { $0["sheet"] as? String == "教师名册" && $0["table"] as? String == "teachers" })
                let problems = try #require(body["problems"] as? [[String: Any]])
                #expect(problems.contains { ($0["place_zh"] as? String)?.hasPrefix("「教师名册」工作表第 5 行") == true })
                #expect((body["notes_zh"] as? [String])?.contains { $0.contains(".xlsx 格式提供") } == true)
                #expect(body["workbook_name"] as? String == "名册-标注.xlsx")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
    }
}
