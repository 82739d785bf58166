// Paths and helpers shared by both test targets: the package's folders, one scratch directory per
// test run, the built binary run with a time limit, and a deliberately simple CSV reader.
import Foundation
import SchoolStatBytes

public enum TestSupport {
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var rules: String { packageRoot + "/Rules" }
    public static var samples: String { packageRoot + "/Samples" }
    public static var binary: String { packageRoot + "/.build/debug/schoolstat" }

    /// A unique name without digits, as the run names its own working files: a path with a run
    /// of digits is masked as an ID number wherever it is shown, and a test that looks for its
    /// path in a message would then fail now and then.
    public static func uniqueName() -> String { UniqueName.make() }

    /// One directory per test run holding every test's scratch directory, removed when the run exits.
    public static let scratchRoot: String = {
        let path = NSTemporaryDirectory() + "schoolstat-tests-" + uniqueName()
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestSupport.scratchRoot) }
        return path
    }()

    /// The type of the file system `path` is on (`ext4`, `tmpfs` …), from the longest mount point
    /// above it in /proc/self/mounts; empty when that cannot be read.
    public static func fileSystemType(of path: String) -> String {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return "" }
        var best = (length: -1, type: "")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = String(fields[1])
            let under = real == point || real.hasPrefix(point.hasSuffix("/") ? point : point + "/")
            if under && point.count > best.length { best = (point.count, String(fields[2])) }
        }
        return best.type
    }

    /// Disk file systems that take direct writes and give back part of a file (punching a hole):
    /// where a test of those can require them rather than skip.
    public static let diskFileSystems: Set<String> = ["ext4", "ext3", "xfs", "btrfs"]

    public static func temporaryDirectory() -> String {
        let path = scratchRoot + "/" + uniqueName()
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func write(_ text: String, to path: String, encoding: String.Encoding = .utf8) {
        try! text.data(using: encoding)!.write(to: URL(fileURLWithPath: path))
    }

    /// Runs the built `schoolstat` binary; a run still going after `timeout` seconds is killed
    /// and reported with status -1, so that a hang fails the test instead of the suite. It is
    /// asked to stop first (SIGTERM) and killed outright two seconds later: a process blocked
    /// opening a named pipe never gets to act on the request.
    public static func runBinary(_ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
                                 timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(binary, arguments, directory: directory, environment: environment, timeout: timeout)
    }

    /// Runs `program` (a full path) with its output and errors written to files, not pipes (a
    /// pipe not read while the other is would fill and stall it), and waits for it by asking the
    /// system (`ChildProcess`), so that its end is seen however many tests run children at once.
    /// Status -1 when it ran past `timeout` seconds and was stopped.
    public static func run(_ program: String, _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
                           timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        let scratch = temporaryDirectory()
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"
        let child = try ChildProcess(program, arguments,
                                     environment: environment.map { ProcessInfo.processInfo.environment.merging($0) { $1 } },
                                     directory: directory, output: outPath, errors: errPath)
        let status = child.wait(seconds: timeout).map(\.status)
        if status == nil { child.stop() }
        return (status ?? -1, lenientText(outPath), lenientText(errPath))
    }

    /// A file's text, any byte that is not UTF-8 shown as U+FFFD rather than the whole read as "".
    public static func lenientText(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// `schoolstat serve` started with `arguments` (a free port asked for), and the address it
    /// printed as it started (`http://127.0.0.1:PORT/?token=…`), read from its output file; the
    /// server is stopped and an error thrown if it prints none within a minute.
    /// `ignoringChildSignal`: started by a program that ignores SIGCHLD (as a service manager or
    /// script may leave it), which the server inherits.
    public static func startServer(_ arguments: [String], ignoringChildSignal: Bool = false) throws -> (server: ChildProcess, address: String) {
        let scratch = temporaryDirectory()
        let output = scratch + "/stdout", errors = scratch + "/stderr"
        let server = ignoringChildSignal
            ? try ChildProcess("/usr/bin/python3", ["-c", "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])",
                                                    binary, "serve", "--port", "0"] + arguments,
                               output: output, errors: errors)
            : try ChildProcess(binary, ["serve", "--port", "0"] + arguments, output: output, errors: errors)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let printed = text(output)
            if let line = printed.split(separator: "\n", omittingEmptySubsequences: false).dropLast().first(where: { $0.contains("http://127.0.0.1:") }),
               let address = line.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("http://127.0.0.1:") }) {
                return (server, String(address))
            }
            if !server.isRunning { break }
            usleep(10_000)
        }
        server.stop()
        throw ServerDidNotStart(printed: lenientText(output), errors: lenientText(errors))
    }

    public struct ServerDidNotStart: Error, CustomStringConvertible {
        public let printed: String
        public let errors: String
        public var description: String { "the server did not start: \(printed) \(errors)" }
    }

    public static func text(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Rows of a UTF-8 CSV file (BOM stripped) by a small, obviously correct reader.
    public static func csvRows(_ path: String) -> [[String]] {
        var s = text(path)
        if s.hasPrefix("\u{FEFF}") { s.removeFirst() }
        return ReferenceCSV.parse(Array(s.utf8), delimiter: UInt8(ascii: ",")).map(\.fields)
    }

    /// Rows of a CSV as dictionaries keyed by the header.
    public static func csvRecords(_ path: String) -> [[String: String]] {
        let rows = csvRows(path)
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { row in
            var d: [String: String] = [:]
            for (i, h) in header.enumerated() where i < row.count { d[h] = row[i] }
            return d
        }
    }
}

/// A deliberately simple CSV reader: the reference the libcsv reader is compared with.
public enum ReferenceCSV {
    public struct Row: Equatable {
        public var line: Int
        public var fields: [String]
        public init(line: Int, fields: [String]) { self.line = line; self.fields = fields }
    }

    /// Parses RFC 4180 with CR, LF or CRLF line ends; blank lines are skipped.
    public static func parse(_ bytes: [UInt8], delimiter: UInt8) -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var line = 1
        var rowStart = 1
        var rowHasContent = false
        var i = 0
        func endField() { fields.append(String(decoding: field, as: UTF8.self)); field = [] }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 { field.append(0x22); i += 2; continue }
                    inQuotes = false
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            if b == 0x22 && field.isEmpty { inQuotes = true; rowHasContent = true; i += 1; continue }
            if b == delimiter { endField(); rowHasContent = true; i += 1; continue }
            if b == 0x0D || b == 0x0A {
                if rowHasContent || !field.isEmpty {
                    endField()
                    rows.append(Row(line: rowStart, fields: fields))
                }
                fields = []
                rowHasContent = false
                if b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
                line += 1
                rowStart = line
                i += 1
                continue
            }
            if !rowHasContent && field.isEmpty { rowStart = line }
            field.append(b)
            rowHasContent = true
            i += 1
        }
        if rowHasContent || !field.isEmpty {
            endField()
            rows.append(Row(line: rowStart, fields: fields))
        }
        return rows
    }
}
