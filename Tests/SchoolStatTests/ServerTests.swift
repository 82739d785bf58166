import Foundation
import Testing
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import SchoolStatServer
import SchoolStatBytes

/// `schoolstat serve`: routes and responses through Hummingbird's router testing, no sockets.
@Suite("The clerk's check page")
struct ServerTests {
    static let roster = TestSupport.fixture("check/roster_gbk.csv")

    func app(_ configure: (inout ServerOptions) -> Void = { _ in }) -> (some ApplicationProtocol, String) {
        var options = ServerOptions(rulesDirectory: TestSupport.rules)
        options.workDirectory = TestSupport.temporaryDirectory()
        // Each check runs in a process of its own: the built program.
        options.executable = TestSupport.binary
        configure(&options)
        return (Application(router: CheckServer.router(options)), options.workDirectory)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test("the page and its assets are served from the binary, with a policy allowing only its own assets")
    func page() async throws {
        let (app, _) = app()
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(html.contains("学校数据提交前检查"))
                #expect(html.contains("app.js"))
                #expect(!html.contains("http://") && !html.contains("https://"))
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'self'") == true)
            }
            try await client.execute(uri: "/app.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("api/check"))
            }
        }
    }

    @Test("an upload is checked: problems with Excel places, the annotated workbook, and nothing left on disk")
    func upload() async throws {
        let (app, work) = app()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.roster))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=..%2F..%2Fetc%2F%E5%90%8D%E5%86%8C.csv", method: .post,
                                     body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                #expect(body["errors"] as? Int == 3)
                let problems = try #require(body["problems"] as? [[String: Any]])
                #expect(problems.contains { $0["cell"] as? String == "F7" && ($0["message_zh"] as? String)?.contains("不是有效日期") == true })
                // The name is shown as its last component only, and never used as a path.
                #expect(problems.allSatisfy { $0["file"] as? String == "名册.csv" })
                #expect(body["workbook_name"] as? String == "名册-标注.xlsx")
                let workbook = try #require(Data(base64Encoded: body["workbook"] as? String ?? ""))
                #expect(workbook.starts(with: [0x50, 0x4B, 0x03, 0x04]))
                let rows = try #require(body["rows"] as? [[String: Any]])
                // ID numbers on the page are masked.
                #expect(rows.allSatisfy { ($0["cells"] as? [String] ?? []).allSatisfy { !$0.contains("500110197") } })
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
    }

    @Test("the page's working directory holding a run of digits like an ID number: the message still names the clerk's file, and no path")
    func badFileUnderDigits() async throws {
        let work = TestSupport.temporaryDirectory() + "/checks-2024-0901-1234-5678"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        #expect(IDNumber.scrub(work) != work)
        let (app, _) = app { $0.workDirectory = work }
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=x.xlsx", method: .post, body: ByteBuffer(string: "not a workbook at all")) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                let problems = try #require(body["problems"] as? [[String: Any]])
                for key in ["message_zh", "message_en"] {
                    let message = problems.first?[key] as? String ?? ""
                    #expect(message.contains("x.xlsx"), "\(message)")
                    #expect(!message.contains("checks-") && !message.contains("schoolstat-upload") && !message.contains("*"), "\(message)")
                }
            }
        }
    }

    @Test("a file that is not a table gets a message for the page, not a server error")
    func badFile() async throws {
        let (app, _) = app()
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=x.xlsx", method: .post, body: ByteBuffer(string: "not a workbook at all")) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                #expect(body["status"] as? Int == 3)
                let problems = try #require(body["problems"] as? [[String: Any]])
                let message = problems.first?["message_zh"] as? String ?? ""
                #expect(message.contains("x.xlsx"))
                #expect(!message.contains("schoolstat-upload"))
                // What a clerk can do about it, and nothing about paths they never typed.
                #expect(message.contains("另存为"), "\(message)")
                #expect(!message.contains("路径"), "\(message)")
            }
            try await client.execute(uri: "/api/check?name=x.csv", method: .post) { response in
                #expect(response.status == .badRequest)
                let body = try Self.json(response)
                #expect(body["error_zh"] as? String != nil)
            }
        }
    }

    @Test("an upload over the limit is refused with a message naming the limit")
    func tooLarge() async throws {
        let (app, work) = app { $0.maxUploadBytes = 1 << 20 }
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=big.csv", method: .post,
                                     body: ByteBuffer(repeating: 0x41, count: (1 << 20) + 1)) { response in
                #expect(response.status == .contentTooLarge)
                let body = try Self.json(response)
                #expect((body["error_zh"] as? String)?.contains("1 MB") == true)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
    }

    @Test("with a token, every request must carry it")
    func token() async throws {
        let (app, _) = app { $0.token = "s3cret" }
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/?token=wrong", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/?token=s3cret", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/check?name=a.csv", method: .post, headers: [.init("X-Schoolstat-Token")!: "s3cret"],
                                     body: ByteBuffer(string: "a,b\n1,2\n")) { #expect($0.status == .ok) }
        }
    }

    @Test("the address with the token sets a cookie the page's own requests carry instead: HttpOnly, SameSite=Strict, Path=/")
    func tokenCookie() async throws {
        let (app, _) = app { $0.token = "s3cret" }
        try await app.test(.router) { client in
            let setCookie = try await client.execute(uri: "/?token=s3cret", method: .get) { response in
                #expect(response.status == .ok)
                return response.headers[.setCookie] ?? ""
            }
            let attributes = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let pair = try #require(attributes.first?.split(separator: "=", maxSplits: 1).map(String.init))
            #expect(pair.count == 2 && pair[0].hasPrefix("schoolstat_token") && pair[1] == "s3cret")
            #expect(attributes.contains("HttpOnly"))
            #expect(attributes.contains("SameSite=Strict"))
            #expect(attributes.contains("Path=/"))
            #expect(!attributes.contains { $0.hasPrefix("Domain") || $0.hasPrefix("Max-Age") || $0.hasPrefix("Expires") })
            let name = pair[0]
            let good: HTTPFields = [.cookie: "other=1; \(name)=s3cret"]
            // The style sheet, the script and the check, as the page asks for them: no token but the cookie.
            try await client.execute(uri: "/app.css", method: .get, headers: good) { #expect($0.status == .ok) }
            try await client.execute(uri: "/app.js", method: .get, headers: good) { #expect($0.status == .ok) }
            try await client.execute(uri: "/", method: .get, headers: good) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/check?name=a.csv", method: .post, headers: good, body: ByteBuffer(string: "a,b\n1,2\n")) {
                #expect($0.status == .ok)
            }
            for wrong in ["\(name)=s3creT", "\(name)=s3cre", "\(name)=", "schoolstat_token=s3cret", "\(name)x=s3cret"] {
                try await client.execute(uri: "/app.js", method: .get, headers: [.cookie: wrong]) { response in
                    #expect(response.status == .unauthorized, "cookie \(wrong)")
                    #expect(response.headers[.setCookie] == nil)
                }
            }
            // A wrong token in the address is refused even alongside a good cookie.
            try await client.execute(uri: "/?token=wrong", method: .get, headers: good) { #expect($0.status == .unauthorized) }
        }
    }

    @Test("the page's answer holds no ID number in clear: not in the file's name, a header cell or one typed in groups")
    func idNumbersMasked() async throws {
        let (app, _) = app()
        let roster = """
            教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证,110105194912310021
            T0000001,王芳,11010519491231002X,3150010001,女,1949-12-31,本科,是,x
            T0000002,李娜 500110-19900101-0022,500110-19900101-0022,3150010001,女,1990-01-32,研究生,是,x
            T0000003,赵六,500110 19780817 007X,3150010001,男,1978-08-17,函授,是,x

            """
        let name = "名册-500110197808170079.csv".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/check?name=\(name)", method: .post, body: ByteBuffer(string: roster)) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                #expect(body["workbook_name"] as? String == "名册-500110********0079-标注.xlsx")
                var text = String(buffer: response.body)
                text = text.replacingOccurrences(of: body["workbook"] as? String ?? "", with: "")
                #expect(PersonalDataTests.clearIDs(text).isEmpty, "\(PersonalDataTests.clearIDs(text))")
                #expect(text.contains("110105********0021") && text.contains("500110********0022") && text.contains("500110********007X"))
                // The annotated workbook: its problem list, and its sheets' names.
                let workbook = try #require(Data(base64Encoded: body["workbook"] as? String ?? ""))
                let path = TestSupport.temporaryDirectory() + "/annotated.xlsx"
                try workbook.write(to: URL(fileURLWithPath: path))
                let list = try CheckTests.sheetContents(path, sheet: 1).cells.values.map(\.text).joined(separator: "\n")
                #expect(list.contains("110105********0021"))
                #expect(PersonalDataTests.clearIDs(list).isEmpty, "\(PersonalDataTests.clearIDs(list))")
            }
        }
    }

    @Test("uploads at the same time are checked apart from each other")
    func concurrent() async throws {
        let (app, work) = app()
        let roster = try Data(contentsOf: URL(fileURLWithPath: Self.roster))
        let fixed = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("check/roster_fixed_gbk.csv")))
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for i in 0..<6 {
                    let (name, data) = i % 2 == 0 ? ("bad\(i).csv", roster) : ("good\(i).csv", fixed)
                    group.addTask {
                        try await client.execute(uri: "/api/check?name=\(name)", method: .post, body: ByteBuffer(bytes: data)) { response in
                            let body = try Self.json(response)
                            let files = body["files"] as? [[String: Any]] ?? []
                            #expect(files.map { $0["file"] as? String } == [name])
                            return (name, body["errors"] as? Int ?? -1)
                        }
                    }
                }
                for try await (name, errors) in group { #expect(errors == (name.hasPrefix("bad") ? 3 : 0), "\(name)") }
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
    }
}
