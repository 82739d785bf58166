import Foundation
import SchoolStatBytes
import Testing
import GRDB
import SchoolStatModel
import SchoolStatPipeline
import SchoolStatHistory

/// The run history: real runs of the built binary recording into a real SQLite database.
@Suite("Run history and what changed")
struct HistoryTests {
    /// A copy of the sample county in a directory of its own, with the history beside `out`.
    func county() throws -> (dir: String, inputs: String, out: String, db: String) {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestSupport.samples, toPath: dir + "/in")
        return (dir, dir + "/in", dir + "/out", dir + "/schoolstat-history.sqlite")
    }

    func validate(_ inputs: String, out: String, _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestSupport.runBinary(["validate", inputs, "--rules", TestSupport.rules, "--out", out, "--quiet"] + extra)
    }

    /// The GB18030 roster's lines (CRLF), edited as a clerk would; the bytes are edited as bytes
    /// (the file holds a line of broken bytes that must stay as it is).
    func editRoster(_ path: String, _ edit: ([[UInt8]]) -> [[UInt8]]) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var lines: [[UInt8]] = [], start = 0
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0D && bytes[i + 1] == 0x0A { lines.append(Array(bytes[start..<i])); start = i + 2; i += 2 } else { i += 1 }
        }
        lines.append(Array(bytes[start...]))
        let edited = edit(lines)
        var out: [UInt8] = []
        for (n, line) in edited.enumerated() { out += line; if n < edited.count - 1 { out += [0x0D, 0x0A] } }
        try Data(out).write(to: URL(fileURLWithPath: path))
    }

    static func replacing(_ line: [UInt8], _ old: [UInt8], _ new: [UInt8]) -> [UInt8] {
        guard let i = (0...(max(0, line.count - old.count))).first(where: { line.count >= old.count && Array(line[$0..<$0 + old.count]) == old }) else { return line }
        return Array(line[..<i]) + new + Array(line[(i + old.count)...])
    }
    static func starts(_ line: [UInt8], _ prefix: String) -> Bool { line.starts(with: Array(prefix.utf8)) }
    static let bachelor: [UInt8] = [0x2C, 0xB1, 0xBE, 0xBF, 0xC6, 0x2C]   // ",本科," in GB18030
    static let misspelt: [UInt8] = [0x2C, 0xB1, 0xBE, 0xBF, 0xCE, 0x2C]   // ",本课,"

    /// The clerk's edits: a correct teacher inserted near the top (every line below moves down by
    /// one), the invalid birth date corrected, a degree mistyped further down.
    func clerkEdits(_ lines: [[UInt8]]) -> [[UInt8]] {
        var lines = lines.map { line in
            Self.replacing(line, Array("1980-02-30".utf8), Array("1984-03-02".utf8))   // the date in the ID number
        }
        lines = lines.map { Self.starts($0, "T500110006,") ? Self.replacing($0, Self.bachelor, Self.misspelt) : $0 }
        let copy = Self.replacing(Self.replacing(lines[1], Array("T500110001".utf8), Array("T500119999".utf8)),
                                  Array("50011019780909002X".utf8), Array("500110197809090046".utf8))
        lines.insert(copy, at: 2)
        return lines
    }

    @Test("a second run says what is new, fixed and still open, matching findings by key and not by line")
    func changes() throws {
        let (_, inputs, out, db) = try county()
        let first = try validate(inputs, out: out)
        #expect(first.status == 1)
        #expect(FileManager.default.fileExists(atPath: db))
        let firstSummary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
        let firstChanges = try #require(firstSummary?["changes"] as? [String: Any])
        #expect(firstChanges["previous_run"] == nil)

        try editRoster(inputs + "/teachers.csv", clerkEdits)
        let second = try validate(inputs, out: out)
        #expect(second.status == 1)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
        let changes = try #require(summary?["changes"] as? [String: Any])
        #expect(changes["previous_run"] as? String != nil)
        let totals = try #require(changes["totals"] as? [String: Int])
        let rows = TestSupport.csvRecords(out + "/changes.csv")
        let new = rows.filter { $0["change"] == "new" }, fixed = rows.filter { $0["change"] == "fixed" }
        #expect(new.map { $0["rule_id"] } == ["teachers.degree.enum"], "\(new)")
        #expect(new.first?["school_code"] == "3150010001" || new.first?["school_code"]?.isEmpty == false)
        #expect(fixed.map { $0["rule_id"] } == ["teachers.birth_date.type"], "\(fixed)")
        // A fixed finding says what it was, in both languages, from the previous run's record.
        #expect(fixed.first?["message_zh"]?.contains("不是有效日期") == true)
        #expect(fixed.first?["message_en"]?.isEmpty == false)
        #expect(totals["new"] == 1 && totals["fixed"] == 1)
        // Everything else is still open, although its line moved: open for the second run.
        let open = rows.filter { $0["change"] == "open" }
        #expect(open.count == totals["open"])
        #expect(open.allSatisfy { $0["runs_open"] == "2" })
        #expect(second.stdout.contains("新增问题 1 条（其中错误 1 条），已修复 1 条"))

        let listed = try TestSupport.runBinary(["history", "--db", db, "--format", "json"])
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(runs.count == 2)
        let diff = try TestSupport.runBinary(["diff", runs[1]["run_id"] as! String, runs[0]["run_id"] as! String, "--db", db, "--format", "json"])
        let diffTotals = (try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])?["totals"] as? [String: Int]
        #expect(diffTotals == totals)
        // The same rows as CSV, into a new file only; an existing file is left as it is.
        let csv = TestSupport.temporaryDirectory() + "/week.csv"
        let written = try TestSupport.runBinary(["diff", runs[1]["run_id"] as! String, runs[0]["run_id"] as! String, "--db", db, "--csv", csv])
        #expect(written.status == 0, "\(written.stderr)")
        func lines(_ rows: [[String: String]]) -> [String] {
            rows.map { "\($0["change"] ?? "")|\($0["record_key"] ?? "")|\($0["rule_id"] ?? "")|\($0["column"] ?? "")|\($0["runs_open"] ?? "")" }
        }
        #expect(lines(TestSupport.csvRecords(csv)) == lines(rows))
        let before = try Data(contentsOf: URL(fileURLWithPath: csv))
        let again = try TestSupport.runBinary(["diff", runs[1]["run_id"] as! String, runs[0]["run_id"] as! String, "--db", db, "--csv", csv])
        #expect(again.status == 2)
        #expect(again.stderr.contains("不会覆盖"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: csv)) == before)
    }

    @Test("--fail-on new-errors exits 0 while old errors remain and 1 when an error is new")
    func failOnNewErrors() throws {
        let (_, inputs, out, _) = try county()
        #expect(try validate(inputs, out: out, ["--fail-on", "new-errors"]).status == 1)   // first run: every error is new
        let same = try validate(inputs, out: out, ["--fail-on", "new-errors"])
        #expect(same.status == 0)
        #expect(same.stdout.contains("没有新增错误"))
        try editRoster(inputs + "/teachers.csv") { lines in
            lines.map { Self.starts($0, "T500110006,") ? Self.replacing($0, Self.bachelor, Self.misspelt) : $0 }
        }
        #expect(try validate(inputs, out: out, ["--fail-on", "new-errors"]).status == 1)
        #expect(try validate(inputs, out: out).status == 1)
    }

    @Test("two runs recording into one history at the same time both land")
    func concurrentWriters() throws {
        let (dir, inputs, _, _) = try county()
        let db = dir + "/shared.sqlite"
        let runs = try (0..<2).map { i in
            try ChildProcess(TestSupport.binary, ["validate", inputs, "--rules", TestSupport.rules, "--out", dir + "/out\(i)", "--quiet", "--history", db])
        }
        #expect(runs.map { $0.wait(seconds: 600) } == [.exited(1), .exited(1)])
        let database = try HistoryDatabase(path: db)
        let recorded = try database.runs(last: 10)
        #expect(recorded.count == 2)
        #expect(Set(recorded.map(\.outputDirectory)).count == 2)
        // Each run's findings are all there: as many as its ledger has lines.
        for run in recorded {
            let ledger = TestSupport.csvRecords(run.outputDirectory + "/ledger.csv")
            let findings = try DatabaseQueue(path: db).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM findings WHERE run_id = ?", arguments: [run.id]) }
            #expect(findings == ledger.count)
            // An entry over a range of lines counts each of its rows.
            let rows = ledger.reduce(0) { n, entry in n + (Int(entry["last_line"] ?? "").map { $0 - Int(entry["line"]!)! + 1 } ?? 1) }
            #expect(rows == run.errors + run.warnings)
        }
    }

    @Test("the history holds masked values only, and a database that is not a history is left alone")
    func maskedAndRefused() throws {
        let (dir, inputs, out, db) = try county()
        _ = try validate(inputs, out: out)
        let queue = try DatabaseQueue(path: db)
        let texts = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT business_key || ' ' || value || ' ' || message_zh || ' ' || message_en FROM findings")
        }
        #expect(!texts.isEmpty)
        let fullID = try NSRegularExpression(pattern: "[0-9]{17}[0-9Xx]")
        #expect(texts.allSatisfy { fullID.firstMatch(in: $0, range: NSRange(location: 0, length: ($0 as NSString).length)) == nil })

        let foreign = dir + "/other.sqlite"
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE accounts (id INTEGER)") }
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        let refused = try validate(inputs, out: dir + "/out2", ["--history", foreign])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("不是 schoolstat 的运行历史数据库"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before)
        #expect(!FileManager.default.fileExists(atPath: dir + "/out2"))
    }

    @Test("--prune removes old runs with their findings; --no-history records nothing")
    func pruneAndNoHistory() throws {
        let (dir, inputs, out, db) = try county()
        _ = try validate(inputs, out: out)
        _ = try validate(inputs, out: dir + "/elsewhere/out", ["--no-history"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/elsewhere/schoolstat-history.sqlite"))
        let kept = try TestSupport.runBinary(["history", "--db", db, "--prune", "--keep-days", "30"])
        #expect(kept.status == 0)
        #expect(try HistoryDatabase(path: db).runs(last: 10).count == 1)
        let database = try HistoryDatabase(path: db)
        #expect(try database.prune(keepDays: 0, now: Date().addingTimeInterval(60)) == 1)
        let left = try DatabaseQueue(path: db).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM findings") }
        #expect(left == 0)
    }

    @Test("a run's clean tables and findings exported to SQLite, typed, and again without change")
    func exportSQLite() throws {
        let (dir, inputs, out, db) = try county()
        _ = try validate(inputs, out: out)
        let target = dir + "/export.sqlite"
        let runID = try #require(try HistoryDatabase(path: db).runs(last: 1).first?.id)
        let first = try TestSupport.runBinary(["export", runID, "--to", "sqlite:" + target, "--db", db, "--rules", TestSupport.rules])
        #expect(first.status == 0, "\(first.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
        let tables = try #require(summary?["tables"] as? [String: [String: Any]])
        func snapshot() throws -> [String: Int] {
            try DatabaseQueue(path: target).read { db in
                var counts: [String: Int] = [:]
                for name in tables.keys { counts[name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(name) WHERE run_id = ?", arguments: [runID]) }
                counts["findings"] = try Int.fetchOne(db, sql: "SELECT count(*) FROM findings WHERE run_id = ?", arguments: [runID])
                return counts
            }
        }
        let counts = try snapshot()
        for (name, t) in tables { #expect(counts[name] == t["rows_clean"] as? Int, "\(name)") }
        #expect(counts["findings"] == TestSupport.csvRecords(out + "/ledger.csv").count)
        let types = try DatabaseQueue(path: target).read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "PRAGMA table_info(schools)").map { ($0["name"] as String, $0["type"] as String) })
        }
        #expect(types["total_pupils"] == "INTEGER" && types["school_name"] == "TEXT")
        let typed = try DatabaseQueue(path: target).read { db in try String.fetchOne(db, sql: "SELECT typeof(total_pupils) FROM schools LIMIT 1") }
        #expect(typed == "integer")
        let again = try TestSupport.runBinary(["export", out, "--to", "sqlite:" + target, "--rules", TestSupport.rules])
        #expect(again.status == 0)
        #expect(try snapshot() == counts)

        let foreign = dir + "/mine.sqlite"
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE notes (t TEXT)") }
        let refused = try TestSupport.runBinary(["export", out, "--to", "sqlite:" + foreign, "--rules", TestSupport.rules])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("不会改动它"))
        #expect(try DatabaseQueue(path: foreign).read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master") } == ["notes"])
    }

    /// The schools table with one school's line edited as text (UTF-8 with BOM, CRLF kept).
    func editSchool(_ path: String, code: String, _ pairs: [(String, String)]) throws {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let start = try #require(text.range(of: "\r\n" + code + ","))
        let end = text[start.upperBound...].range(of: "\r\n")?.lowerBound ?? text.endIndex
        var line = String(text[start.upperBound..<end])
        for (old, new) in pairs {
            #expect(line.contains(old), "\(old) in \(line)")
            line = line.replacingOccurrences(of: old, with: new)
        }
        text.replaceSubrange(start.upperBound..<end, with: line)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    @Test("--score shows each county indicator over the recorded runs and how long each failing school has failed")
    func evaluationOverRuns() throws {
        let (_, inputs, out, db) = try county()
        let schools = inputs + "/schools.csv"
        let original = try Data(contentsOf: URL(fileURLWithPath: schools))
        // Night 1 as exported; night 2 万盛小学 (3150010001) has fixed its largest class (49 → 44)
        // and its equipment value (316.6522 → 616.6522); night 3 the export has both back as before.
        #expect(try validate(inputs, out: out, ["--score"]).status == 1)
        try editSchool(schools, code: "3150010001", [(",40,49,126,", ",40,44,126,"), ("316.6522", "616.6522")])
        #expect(try validate(inputs, out: out, ["--score"]).status == 1)
        try original.write(to: URL(fileURLWithPath: schools))
        #expect(try validate(inputs, out: out, ["--score"]).status == 1)

        let trend = TestSupport.csvRecords(out + "/evaluation/indicator_trend.csv")
        func series(_ indicator: String, _ section: String = "") -> [[String: String]] {
            trend.filter { $0["indicator"] == indicator && $0["section"] == section }
        }
        // Class size: the share of the county's schools meeting it rises on night 2 and falls back.
        let classSize = series("guarantee.G5.class_size")
        #expect(classSize.count == 3)
        let shares = classSize.compactMap { $0["value"].flatMap(Double.init) }
        #expect(shares.count == 3 && shares[1] > shares[0] && shares[2] == shares[0], "\(classSize)")
        #expect(classSize.map { $0["conclusion"] } == ["不达标", "不达标", "不达标"])
        // Equipment per pupil: the variation coefficient moves on night 2 and comes back.
        let equipment = series("R6", "primary").compactMap { $0["value"].flatMap(Double.init) }
        #expect(equipment.count == 3 && equipment[1] != equipment[0] && equipment[2] == equipment[0], "\(equipment)")
        // Three runs, one run id each, in the order they were recorded, the scored one last.
        let runIDs = classSize.compactMap { $0["run_id"] }
        #expect(Set(runIDs).count == 3)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
        #expect(runIDs.last == summary?["run_id"] as? String)

        // 万盛小学 fails class size again since tonight only; its music and art rooms, never fixed,
        // have failed all three nights; a school never edited has failed three nights too.
        let failing = TestSupport.csvRecords(out + "/evaluation/failing_schools.csv")
        func streak(_ school: String, _ indicator: String, _ section: String = "") -> String? {
            failing.first { $0["school_code"] == school && $0["indicator"] == indicator && $0["section"] == section }?["runs_failed"]
        }
        #expect(streak("3150010001", "guarantee.G5.class_size") == "1")
        #expect(streak("3150010001", "R6", "primary") == "1")
        #expect(streak("3150010001", "guarantee.G3.rooms") == "3")
        #expect(streak("3150010112", "guarantee.G5.class_size") == "3")
        #expect(failing.allSatisfy { $0["at_least"] == "false" })
        let rows = failing.compactMap { $0["runs_failed"].flatMap(Int.init) }
        #expect(rows == rows.sorted(by: >), "longest first")

        // The report: a chart per indicator with a dot per run, and the streaks table.
        let html = TestSupport.text(out + "/evaluation/evaluation.html")
        #expect(html.contains("（三）历次运行"))
        let charts = html.components(separatedBy: "<svg class=\"chart trend\"").dropFirst()
        #expect(charts.count == Set(trend.map { "\($0["county_code"] ?? "")|\($0["section"] ?? "")|\($0["indicator"] ?? "")" }).count)
        #expect(charts.allSatisfy { $0.components(separatedBy: "<circle class=\"run\"").count - 1 == 3 })
        let markdown = TestSupport.text(out + "/evaluation/evaluation.md")
        // The streaks by school name and indicator title; the history by its file name.
        #expect(markdown.contains("| 万盛小学（3150010001） | 小学班额不超过45人，初中不超过50人 |"), "\(markdown)")
        #expect(markdown.contains("运行历史 schoolstat-history.sqlite 中") && !markdown.contains(db))

        // Scoring reads the history and never changes it; a window of 2 runs says "at least".
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let scored = try TestSupport.runBinary(["score", out, "--rules", TestSupport.rules, "--trend-runs", "2"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let windowed = TestSupport.csvRecords(out + "/evaluation/failing_schools.csv")
        #expect(windowed.first { $0["school_code"] == "3150010112" && $0["indicator"] == "guarantee.G5.class_size" }?["at_least"] == "true")
        #expect(windowed.first { $0["school_code"] == "3150010001" && $0["indicator"] == "guarantee.G5.class_size" }?["at_least"] == "false")
        #expect(TestSupport.csvRecords(out + "/evaluation/indicator_trend.csv").filter { $0["indicator"] == "guarantee.G5.class_size" }.count == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        #expect(try DatabaseQueue(path: db).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs") } == 3)

        // Without a history the report says so and writes no series.
        let alone = try TestSupport.runBinary(["score", out, "--rules", TestSupport.rules, "--no-history", "--out", out + "-alone"])
        #expect(alone.status == 0)
        #expect(!FileManager.default.fileExists(atPath: out + "-alone/indicator_trend.csv"))
        #expect(TestSupport.text(out + "-alone/evaluation.md").contains("没有可用的运行历史"))
        let named = try TestSupport.runBinary(["score", out, "--rules", TestSupport.rules, "--history", out + "/nothing.sqlite", "--out", out + "-none"])
        #expect(named.status == 2)
        #expect(named.stderr.contains("nothing.sqlite"))
    }
}
