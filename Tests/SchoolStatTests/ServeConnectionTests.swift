import Foundation
import SchoolStatBytes
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `schoolstat serve` against clients that connect and then send nothing, or dribble a request's
/// head: the real binary on 127.0.0.1 with a short idle timeout and a small connection limit.
@Suite("The check page's server and slow clients", .serialized)
struct ServeConnectionTests {
    /// The server, started on a free port; stopped by `stop`.
    final class Server {
        let process: ChildProcess
        var port = 0
        init(_ arguments: [String]) throws {
            let (process, address) = try TestSupport.startServer(["--rules", TestSupport.rules] + arguments)
            self.process = process
            guard let range = address.range(of: #"127\.0\.0\.1:(\d+)/"#, options: .regularExpression) else {
                process.stop()
                throw Failure("the server printed no port: \(address)")
            }
            port = Int(address[range].dropFirst("127.0.0.1:".count).dropLast()) ?? 0
        }
        func stop() { process.stop() }
        /// The server's open sockets (the listening one included).
        var sockets: Int {
            let dir = "/proc/\(process.pid)/fd"
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + $0)) ?? "").hasPrefix("socket:") }.count
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    /// A TCP connection to 127.0.0.1:`port`, reads giving up after `wait` seconds.
    static func connect(_ port: Int, wait: Double = 0.05) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw Failure("connect: \(errno)") }
        var timeout = timeval(tv_sec: Int(wait), tv_usec: Int((wait - Double(Int(wait))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server has closed `fd`: a read gives end of file or a reset (not a timeout).
    static func closedByServer(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// A whole request on a connection of its own; the response's text.
    static func request(_ port: Int, _ head: String, body: [UInt8] = [], wait: Double = 20) throws -> String {
        let fd = try connect(port, wait: wait)
        defer { close(fd) }
        guard send(fd, head) else { throw Failure("send") }
        if !body.isEmpty {
            _ = body.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }

    static func health(_ port: Int) throws -> String {
        try request(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    }

    @Test("silent and dribbling clients are dropped after the idle timeout while a real upload is answered")
    func idleClientsDropped() throws {
        let server = try Server(["--idle-timeout", "1", "--max-connections", "16"])
        defer { server.stop() }
        let started = Date()
        let silent = try (0..<4).map { _ in try Self.connect(server.port) }
        let dribbling = try (0..<4).map { _ in try Self.connect(server.port) }
        defer { (silent + dribbling).forEach { close($0) } }
        // The clients hold their connections; a clerk's upload is answered meanwhile.
        let upload = Array("教师编号,姓名\nT001,张三\n".utf8)
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var answer = ""
        let port = server.port
        DispatchQueue.global().async {
            answer = (try? Self.request(port, "POST /api/check?name=a.csv HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(upload.count)\r\nConnection: close\r\n\r\n", body: upload)) ?? ""
            answered.signal()
        }
        // The dribblers send a request's head a byte at a time, a byte every 0.2 s: never idle for a
        // whole second, never finishing the head.
        let head = Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + String(repeating: "a", count: 200))
        var closedAt = [Int32: TimeInterval]()
        var sent = 0
        while closedAt.count < silent.count + dribbling.count && Date().timeIntervalSince(started) < 15 {
            for fd in silent + dribbling where closedAt[fd] == nil {
                if dribbling.contains(fd) && sent < head.count { _ = Self.send(fd, String(head[sent])) }
                var buffer = [UInt8](repeating: 0, count: 64)
                let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n == 0 || (n < 0 && errno == ECONNRESET) { closedAt[fd] = Date().timeIntervalSince(started) }
            }
            sent += 1
            usleep(200_000)
        }
        #expect(answered.wait(timeout: .now() + 30) == .success)
        #expect(answer.hasPrefix("HTTP/1.1 200") && answer.contains("\"problems\""), "upload answered: \(answer.prefix(80))")
        #expect(closedAt.count == 8, "every idle client is dropped (\(closedAt.count) of 8)")
        #expect(silent.allSatisfy { (closedAt[$0] ?? 99) < 6 }, "silent clients dropped within a few seconds: \(silent.map { closedAt[$0] ?? -1 })")
        #expect(dribbling.allSatisfy { (closedAt[$0] ?? 99) < 6 }, "dribbling clients dropped within a few seconds: \(dribbling.map { closedAt[$0] ?? -1 })")
        #expect(closedAt.values.allSatisfy { $0 >= 0.9 }, "nobody is dropped before the timeout: \(closedAt.values.sorted())")
        #expect(try Self.health(server.port).hasSuffix("ok"), "the server still answers")
    }

    @Test("no more connections are held than --max-connections; the others are served once idle ones are dropped")
    func connectionLimit() throws {
        let limit = 4
        let server = try Server(["--idle-timeout", "1", "--max-connections", "\(limit)"])
        defer { server.stop() }
        #expect(try Self.health(server.port).hasSuffix("ok"))
        usleep(200_000)
        let baseline = server.sockets
        let started = Date()
        let idle = try (0..<20).map { _ in try Self.connect(server.port) }
        defer { idle.forEach { close($0) } }
        usleep(500_000)
        let held = server.sockets - baseline
        // The listener accepts a few at a time: allow one batch over the limit, never all twenty.
        #expect(held >= 1 && held <= limit + 4, "the server holds \(held) connections with 20 clients waiting")
        // A request waiting behind them is answered once idle ones are dropped, in bounded time.
        let answer = try Self.health(server.port)
        #expect(answer.hasSuffix("ok"), "a request behind twenty idle clients is answered: \(answer.prefix(40))")
        #expect(Date().timeIntervalSince(started) < 15)
        let all = idle.allSatisfy { fd in
            var timeout = timeval(tv_sec: 15, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return Self.closedByServer(fd)
        }
        #expect(all, "every idle client is dropped in the end")
        #expect(Date().timeIntervalSince(started) < 20)
    }
}
