import Foundation
import SchoolStatBytes
import Testing
import ZIPFoundation
import SchoolStatModel

/// The clerk's check on files far larger than a school's — a workbook of one row copied down a
/// million times (6 MB), a roster with a different mistake on every row — through the built
/// binary: refused before the work by the row limit, or, with the limit raised, checked in
/// bounded memory; the ledger of a county run collapses the same mistake copied down.
@Suite("The check in bounded memory", .serialized)
struct BoundedCheckTests {
    static let maker = TestSupport.fixture("large/make_large.py")

    /// A large file made by make_large.py (once per run and kind).
    static func large(_ kind: String, rows: Int, ext: String) throws -> String {
        let path = TestSupport.scratchRoot + "/large-\(kind)-\(rows).\(ext)"
        if FileManager.default.fileExists(atPath: path) { return path }
        let part = path + "." + UUID().uuidString
        let made = try TestSupport.run("/usr/bin/python3", [maker, kind, part, String(rows)], timeout: 600)
        try #require(made.status == 0, "\(made.stderr)")
        // Two tests may make the same file at once: the first in place wins.
        if (try? FileManager.default.moveItem(atPath: part, toPath: path)) == nil { try? FileManager.default.removeItem(atPath: part) }
        return path
    }

    /// Runs the binary, watching its peak resident memory (VmHWM) as it runs.
    static func measured(_ arguments: [String], timeout: TimeInterval = 300) throws -> (status: Int32, stdout: String, stderr: String, peakMB: Double, seconds: Double) {
        let dir = TestSupport.temporaryDirectory()
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        let started = Date()
        let process = try ChildProcess(TestSupport.binary, arguments, output: outPath, errors: errPath)
        var peak = 0.0
        while process.isRunning {
            if let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8),
               let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
                peak = max(peak, kb / 1024)
            }
            if Date().timeIntervalSince(started) > timeout { process.stop(); break }
            usleep(5_000)
        }
        let status = process.wait().status
        return (status, TestSupport.text(outPath), TestSupport.text(errPath), peak, Date().timeIntervalSince(started))
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("a million-row workbook and a 177,000-row roster are refused by the row limit before any work, naming the limit and its flag")
    func refusedBeforeTheWork() throws {
        let workbook = try Self.large("workbook", rows: 1_000_000, ext: "xlsx")
        let roster = try Self.large("errors", rows: 177_000, ext: "csv")
        for file in [workbook, roster] {
            let annotated = TestSupport.temporaryDirectory() + "/a.xlsx"
            let run = try Self.measured(["check", file, "--rules", TestSupport.rules, "--annotate", annotated])
            #expect(run.status == 3)
            #expect(run.stdout.contains("超过 100000 行数据") && run.stdout.contains("--max-rows"))
            #expect(run.peakMB < 300, "peak \(run.peakMB) MB")
            // The workbook handed back lists the refusal: nothing of the file was checked.
            let list = try CheckTests.sheetContents(annotated, sheet: 1)
            #expect(list.cells.values.contains { $0.text.contains("--max-rows") })
        }
    }

    @Test("with the limit raised, the same mistake copied down 200,000 rows is checked in bounded memory and listed once as a range")
    func copiedDown() throws {
        let workbook = try Self.large("workbook", rows: 200_000, ext: "xlsx")
        let annotated = TestSupport.temporaryDirectory() + "/a.xlsx"
        let run = try Self.measured(["check", workbook, "--rules", TestSupport.rules, "--max-rows", "0", "--format", "json", "--annotate", annotated])
        #expect(run.status == 1)
        #expect(run.peakMB < 300, "peak \(run.peakMB) MB")
        let report = try Self.json(run.stdout)
        let problems = try #require(report["problems"] as? [[String: Any]])
        // Each mistake once, over the rows it is on: the birth date and the missing ID number on rows 2–200001.
        let date = try #require(problems.first { ($0["rule"] as? String) == "teachers.birth_date.type" })
        #expect(date["row"] as? Int == 2 && date["last_row"] as? Int == 200_001)
        #expect((date["place_zh"] as? String)?.contains("第 2–200001 行 F 列（F2:F200001）") == true)
        #expect(problems.count < 20)
        #expect((report["errors"] as? Int ?? 0) >= 400_000)
        let files = try #require(report["files"] as? [[String: Any]])
        #expect(files.first?["rows_read"] as? Int == 200_000)
        // Every row's cell is marked in the workbook handed back, the range's comment on its first row.
        let archive = try Archive(url: URL(fileURLWithPath: annotated), accessMode: .read)
        let sheet = try #require(archive["xl/worksheets/sheet2.xml"])
        var xml = Data()
        _ = try archive.extract(sheet, bufferSize: 1 << 20) { xml.append($0) }
        let text = String(decoding: xml, as: UTF8.self)
        #expect(text.contains("<c r=\"F200001\" s=\""))
        #expect(text.contains("<row r=\"200001\""))
    }

    @Test("a different mistake on every row: the first 1,000 listed, all counted, every one in the workbook's problem list")
    func everyRowDifferent() throws {
        let roster = try Self.large("errors", rows: 30_000, ext: "csv")
        let annotated = TestSupport.temporaryDirectory() + "/a.xlsx"
        let run = try Self.measured(["check", roster, "--rules", TestSupport.rules, "--format", "json", "--annotate", annotated])
        #expect(run.status == 1)
        #expect(run.peakMB < 300, "peak \(run.peakMB) MB")
        let report = try Self.json(run.stdout)
        let problems = try #require(report["problems"] as? [[String: Any]])
        #expect(problems.count == 1_000)
        #expect(report["problems_not_shown"] as? Int == (report["errors"] as? Int ?? 0) + (report["warnings"] as? Int ?? 0) - 1_000)
        #expect((report["notes_zh"] as? [String])?.first?.contains("--max-problems") == true)
        #expect(problems.first?["row"] as? Int == 2)
        let archive = try Archive(url: URL(fileURLWithPath: annotated), accessMode: .read)
        var xml = Data()
        _ = try archive.extract(try #require(archive["xl/worksheets/sheet1.xml"]), bufferSize: 1 << 20) { xml.append($0) }
        let rows = String(decoding: xml, as: UTF8.self).components(separatedBy: "<row ").count - 1
        #expect(rows == 1 + problems.count + (report["problems_not_shown"] as? Int ?? 0))
        // Different ID numbers look alike once masked, but are never taken for the same mistake.
        #expect((report["errors"] as? Int ?? 0) >= 30_000)
        #expect(problems.allSatisfy { ($0["last_row"] as? Int ?? 0) == 0 })
        // The text listing says how many more there are and where.
        let listing = try TestSupport.runBinary(["check", roster, "--rules", TestSupport.rules, "--max-problems", "5"])
        #expect(listing.stdout.contains("这里列出前 5 处"))
        #expect(listing.stdout.components(separatedBy: "\n  [错误]").count - 1 == 5)
    }

    @Test("a county run records the same mistake copied down once, as a range, and still counts every row")
    func ledgerCollapses() throws {
        let workbook = try Self.large("workbook", rows: 200_000, ext: "xlsx")
        let out = TestSupport.temporaryDirectory() + "/out"
        let run = try Self.measured(["validate", workbook, "--rules", TestSupport.rules, "--out", out, "--no-history"])
        #expect(run.status == 1)
        let ledger = TestSupport.csvRecords(out + "/ledger.csv")
        #expect(ledger.count < 20)
        let date = try #require(ledger.first { $0["rule_id"] == "teachers.birth_date.type" })
        #expect(date["line"] == "2" && date["last_line"] == "200001")
        #expect(date["message_zh"]?.contains("共 200000 行") == true)
        let size = (try FileManager.default.attributesOfItem(atPath: out + "/ledger.jsonl")[.size] as? Int) ?? 0
        #expect(size < 100_000)
        let summary = try Self.json(TestSupport.text(out + "/summary.json"))
        let totals = try #require(summary["totals"] as? [String: Any])
        #expect((totals["errors"] as? Int ?? 0) >= 400_000)
        let tables = try #require(summary["tables"] as? [String: [String: Any]])
        #expect(tables["teachers"]?["rows_rejected"] as? Int == 200_000)
    }
}
