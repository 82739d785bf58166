import Foundation
import SchoolStatPipeline

/// Paths and helpers for the history tests (the main test target has the same for its own).
enum TestSupport {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var rules: String { packageRoot + "/Rules" }
    static var samples: String { packageRoot + "/Samples" }
    static var binary: String { packageRoot + "/.build/debug/schoolstat" }

    static let scratchRoot: String = {
        let path = NSTemporaryDirectory() + "schoolstat-history-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestSupport.scratchRoot) }
        return path
    }()

    static func temporaryDirectory() -> String {
        let path = scratchRoot + "/" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs the built binary; killed and reported with status -1 after `timeout` seconds.
    static func runBinary(_ arguments: [String], timeout: TimeInterval = 180) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let dir = temporaryDirectory()
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline { process.terminate(); timedOut = true; break }
            usleep(10_000)
        }
        process.waitUntilExit()
        return (timedOut ? -1 : process.terminationStatus, text(outPath), text(errPath))
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// A UTF-8 CSV schoolstat wrote, as dictionaries keyed by its header, read by schoolstat's own reader.
    static func csvRecords(_ path: String) -> [[String: String]] {
        guard var reader = try? CleanTableReader(path: path) else { return [] }
        var rows: [[String: String]] = []
        try? reader.forEachRow { header, cells, _ in
            var d: [String: String] = [:]
            for (i, h) in header.enumerated() where i < cells.count { d[h.replacingOccurrences(of: "\u{FEFF}", with: "")] = cells[i] }
            rows.append(d)
        }
        return rows
    }
}
