import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// Paths and helpers shared by the tests. Fixtures are real files under Fixtures/.
enum TestSupport {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var rules: String { packageRoot + "/Rules" }
    static var samples: String { packageRoot + "/Samples" }
    static func fixture(_ relative: String) -> String { packageRoot + "/Tests/SchoolStatTests/Fixtures/" + relative }
    static var binary: String { packageRoot + "/.build/debug/schoolstat" }

    /// One directory per test run holding every test's scratch directory, removed when the run exits.
    static let scratchRoot: String = {
        let path = NSTemporaryDirectory() + "schoolstat-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestSupport.scratchRoot) }
        return path
    }()

    static func temporaryDirectory() -> String {
        let path = scratchRoot + "/" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ text: String, to path: String, encoding: String.Encoding = .utf8) {
        try! text.data(using: encoding)!.write(to: URL(fileURLWithPath: path))
    }

    /// Runs the pipeline in-process and returns the result and the output directory.
    static func validate(_ inputs: [String], table: String? = nil, rules: String = TestSupport.rules, runID: String = "test-run",
                         configure: (inout ValidationOptions) -> Void = { _ in }) throws -> RunResult {
        let out = temporaryDirectory() + "/out"
        var options = ValidationOptions(inputs: inputs, rulesDirectory: rules, outputDirectory: out)
        options.table = table
        options.runID = runID
        configure(&options)
        return try ValidationRun(options: options).run()
    }

    /// Runs the built `schoolstat` binary; a run still going after `timeout` seconds is killed
    /// and reported with status -1, so that a hang fails the test instead of the suite.
    static func runBinary(_ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
                          timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let outPath = temporaryDirectory() + "/stdout", errPath = temporaryDirectory() + "/stderr"
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

    /// Copies Rules/ to a temporary directory, applies `edit` to one file and loads it: the
    /// errors, or none when it loads.
    static func loadRules(editing file: String, _ edit: (String) -> String) -> [RuleFileError] {
        let dir = temporaryDirectory() + "/Rules"
        try! FileManager.default.copyItem(atPath: rules, toPath: dir)
        let path = dir + "/" + file
        write(edit(text(path)), to: path)
        do {
            _ = try LoadedRules.load(directory: dir).ruleSet
            return []
        } catch {
            return error.errors
        }
    }

    static func text(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Rows of a UTF-8 CSV file (BOM stripped) by a small, obviously correct reader.
    static func csvRows(_ path: String) -> [[String]] {
        var s = text(path)
        if s.hasPrefix("\u{FEFF}") { s.removeFirst() }
        return ReferenceCSV.parse(Array(s.utf8), delimiter: UInt8(ascii: ",")).map(\.fields)
    }

    /// Rows of a CSV as dictionaries keyed by the header.
    static func csvRecords(_ path: String) -> [[String: String]] {
        let rows = csvRows(path)
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { row in
            var d: [String: String] = [:]
            for (i, h) in header.enumerated() where i < row.count { d[h] = row[i] }
            return d
        }
    }

    static func ledger(_ result: RunResult) -> [[String: String]] {
        csvRecords(result.outputDirectory + "/ledger.csv")
    }
}

/// A deliberately simple CSV reader: the reference the libcsv reader is compared with.
enum ReferenceCSV {
    struct Row: Equatable {
        var line: Int
        var fields: [String]
    }

    /// Parses RFC 4180 with CR, LF or CRLF line ends; blank lines are skipped.
    static func parse(_ bytes: [UInt8], delimiter: UInt8) -> [Row] {
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
