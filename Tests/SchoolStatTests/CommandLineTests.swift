import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// Runs the built `schoolstat` binary and captures its exit code and output.
private func schoolstat(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try TestSupport.runBinary(arguments, timeout: 600)
}

/// Starts `schoolstat validate` on a large roster into `dir/out` and returns once the run is
/// writing its staging directory (or has stopped), with whether the staging directory was seen.
private func startRunAndWaitForStaging(roster: String, dir: String) throws -> (ChildProcess, Bool) {
    // Its temporary files (the run history's staging database) go to a directory of the test's own.
    try FileManager.default.createDirectory(atPath: dir + "/tmp", withIntermediateDirectories: true)
    let process = try ChildProcess(TestSupport.binary, ["validate", roster, "--rules", TestSupport.rules, "--out", dir + "/out", "--quiet"],
                                   environment: ProcessInfo.processInfo.environment.merging(["TMPDIR": dir + "/tmp"]) { _, new in new })
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline && process.isRunning {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        if let staging = entries.first(where: { $0.hasPrefix(".out.partial-") }),
           FileManager.default.fileExists(atPath: dir + "/" + staging + "/clean/teachers.csv") {
            return (process, true)
        }
        usleep(2000)
    }
    return (process, false)
}

@Suite("The schoolstat command", .serialized)
struct CommandLineTests {
    @Test("exit 0 for clean data, with a human summary")
    func clean() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try schoolstat(["validate", TestSupport.fixture("reading/encoding_utf8.csv"), "--rules", TestSupport.rules, "--out", out, "--as-of", "2018-09-30"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("没有错误"))
        #expect(r.stdout.contains("teachers"))
    }

    @Test("exit 1 for data errors; messages name file, line, rule and the fix in Chinese")
    func dataErrors() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try schoolstat(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", out, "--max-messages", "1000"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("teachers.csv:5: 错误 [teachers.id_checksum]"))
        #expect(r.stderr.contains("请对照身份证原件重新录入"))
        #expect(r.stderr.firstMatch(of: try Regex("[0-9]{17}[0-9X]")) == nil)
        #expect(r.stdout.contains("读入"))
        for file in ["ledger.csv", "ledger.jsonl", "summary.json", "clean/teachers.csv", "rejected/teachers.csv"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
    }

    @Test("--lang en, --quiet and --format json")
    func machineFormats() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        let en = try schoolstat(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", out, "--lang", "en"])
        #expect(en.stderr.contains("check digit"))
        let quiet = try schoolstat(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", out, "--quiet"])
        #expect(quiet.status == 1 && quiet.stderr.isEmpty)
        let json = try schoolstat(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", out, "--format", "json"])
        #expect(json.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let tables = object?["tables"] as? [String: [String: Any]]
        #expect(tables?["schools"]?["rows_read"] as? Int == 30)
    }

    @Test("exit 2 for a mistake in a rule file, with file:line:column")
    func badRules() throws {
        let rules = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: rules)
        let path = rules + "/schemas/teachers.yaml"
        TestSupport.write(TestSupport.text(path).replacingOccurrences(of: "check: id_checksum_ok(id_number)", with: "check: id_checksum_ok(id_numbr)"), to: path)
        let lines = TestSupport.text(path).components(separatedBy: "\n")
        let line = lines.firstIndex { $0.contains("id_numbr") }! + 1
        let r = try schoolstat(["validate", TestSupport.samples, "--rules", rules, "--out", TestSupport.temporaryDirectory() + "/out"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("teachers.yaml:\(line):27"))
        #expect(r.stderr.contains("id_number"))
    }

    @Test("exit 2 for a bad command line, with a sentence not a stack trace")
    func badArguments() throws {
        let r = try schoolstat(["validate", TestSupport.samples, "--encoding", "latin9"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("不认识的编码"))
        let missing = try schoolstat(["validate", "/nonexistent/dir", "--rules", TestSupport.rules, "--out", TestSupport.temporaryDirectory() + "/o"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("找不到输入文件或目录"))
        let threads = try schoolstat(["validate", TestSupport.samples, "--threads", "0"])
        #expect(threads.status == 2)
        #expect(threads.stderr.contains("--threads 应在 1 到 64 之间"))
        // `validate` is parsed by itself first; what it does not take is parsed from the root,
        // with the command's full name in the usage.
        let unknown = try schoolstat(["validate", TestSupport.samples, "--no-such-option"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("schoolstat validate"))
        let help = try schoolstat(["validate", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("schoolstat validate"))
        #expect(help.stdout.contains("--out"))
    }

    @Test("exit 3 when an input cannot be read; the others are still validated")
    func unreadable() throws {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestSupport.fixture("reading/encoding_utf8.csv"), toPath: dir + "/ok.csv")
        TestSupport.write("just,some,words\n1,2,3\n", to: dir + "/mystery.csv")
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try schoolstat(["validate", dir, "--rules", TestSupport.rules, "--out", out, "--as-of", "2018-09-30"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("read.unknown_table"))
        #expect(TestSupport.csvRows(out + "/clean/teachers.csv").count == 4)
    }

    @Test("a file of nothing but empty fields (an empty sheet saved as ,,,) is reported, not a crash")
    func onlyEmptyFields() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write(",,,\n,,,\n\n,,,", to: dir + "/empty.csv")
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try schoolstat(["validate", dir + "/empty.csv", "--rules", TestSupport.rules, "--out", out])
        #expect(r.status == 3)
        let ledger = TestSupport.text(out + "/ledger.csv")
        #expect(ledger.contains("read.unknown_table") && ledger.contains("empty.csv"))
    }

    @Test("--encoding overrides detection: a GBK roster whose bytes also pass as UTF-8 reads right only with --encoding gbk")
    func encodingOverride() throws {
        // The names' GBK bytes (卢 C2 AC, 伟 CE B0, 叶 D2 B6, 倩 D9 BB, 史 CA B7) are also valid
        // UTF-8, and the header is ASCII: detection cannot tell, reads UTF-8 and gets Latin letters.
        let dir = TestSupport.temporaryDirectory()
        let gbk: [Character: [UInt8]] = ["卢": [0xC2, 0xAC], "伟": [0xCE, 0xB0], "叶": [0xD2, 0xB6], "倩": [0xD9, 0xBB], "史": [0xCA, 0xB7]]
        let text = "teacher_id,name,id_number,school_code,sex,birth_date,degree,certified\r\n"
            + "T0000001,卢伟,500110198604120015,3150010001,M,1986-04-12,bachelor,Y\r\n"
            + "T0000002,叶倩,500110199001010022,3150010001,F,1990-01-01,bachelor,Y\r\n"
            + "T0000003,史伟,500110198808080035,3150010001,M,1988-08-08,bachelor,Y\r\n"
        let bytes = text.flatMap { gbk[$0] ?? Array(String($0).utf8) }
        #expect(String(validating: bytes, as: UTF8.self) != nil, "the file must be valid UTF-8 too")
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/teachers.csv"))

        func firstCharacters(_ extra: [String]) throws -> ((status: Int32, stdout: String, stderr: String), [String]) {
            let out = TestSupport.temporaryDirectory() + "/out"
            let r = try schoolstat(["validate", dir + "/teachers.csv", "--rules", TestSupport.rules, "--out", out, "--format", "json"] + extra)
            // Clean names are masked to their first character: 卢** .
            let names = TestSupport.csvRecords(out + "/clean/teachers.csv").compactMap { $0["name"]?.first.map(String.init) }
            return (r, names)
        }
        let (detected, guessed) = try firstCharacters([])
        #expect(detected.stdout.contains("\"encoding_detected\" : true"))
        #expect(detected.stdout.contains("\"encoding\" : \"utf-8\""))
        #expect(!guessed.contains("卢"), "\(guessed)")

        let (forced, names) = try firstCharacters(["--encoding", "gbk"])
        #expect(forced.stdout.contains("\"encoding_detected\" : false"))
        #expect(forced.stdout.contains("\"encoding\" : \"gb18030\""))
        #expect(names == ["卢", "叶", "史"], "\(names)")
    }

    @Test("--encoding utf-8 forced on a GB18030 file: the bytes do not fit the encoding given and look like GB18030")
    func wrongEncoding() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try schoolstat(["validate", TestSupport.fixture("reading/encoding_gb18030.csv"), "--rules", TestSupport.rules, "--out", out,
                                "--encoding", "utf-8"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("不是有效的 utf-8 编码；它们看起来是 gb18030"), "\(r.stderr)")
        #expect(!r.stderr.contains("无法从表头识别"))
        let ledger = TestSupport.csvRecords(out + "/ledger.csv")
        #expect(ledger.contains { $0["rule_id"] == "read.wrong_encoding" && $0["expected"] == "gb18030" })
    }

    @Test("SIGTERM mid-run: exit 143, the previous outputs intact, the staging directory gone at once")
    func terminatedRun() throws {
        let dir = TestSupport.temporaryDirectory()
        RosterGenerator(rows: 100_000, seed: 9).writeTeachers(to: dir + "/teachers.csv")
        let out = dir + "/out"
        _ = try schoolstat(["validate", TestSupport.fixture("reading/encoding_utf8.csv"), "--rules", TestSupport.rules, "--out", out, "--run-id", "previous"])
        let ledgerBefore = TestSupport.text(out + "/ledger.csv")
        let (process, sawStaging) = try startRunAndWaitForStaging(roster: dir + "/teachers.csv", dir: dir)
        #expect(sawStaging)
        process.signal(SIGTERM)
        #expect(process.wait(seconds: 120) == .exited(143))
        #expect(TestSupport.text(out + "/ledger.csv") == ledgerBefore)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("partial") }.isEmpty)
    }

    @Test("a run killed midway leaves the previous outputs intact and no half-written files")
    func killedRun() throws {
        let dir = TestSupport.temporaryDirectory()
        let big = dir + "/teachers.csv"
        RosterGenerator(rows: 100_000, seed: 7).writeTeachers(to: big)
        let out = dir + "/out"
        let first = try schoolstat(["validate", TestSupport.fixture("reading/encoding_utf8.csv"), "--rules", TestSupport.rules, "--out", out, "--run-id", "previous"])
        #expect(first.status <= 1)
        let before = try FileManager.default.subpathsOfDirectory(atPath: out).sorted()
        let ledgerBefore = TestSupport.text(out + "/ledger.csv")

        // Wait until the run is writing its staging directory, then kill it.
        let (process, sawStaging) = try startRunAndWaitForStaging(roster: big, dir: dir)
        #expect(sawStaging, "the run should still be going when it is killed")
        process.signal(SIGKILL)
        #expect(process.wait(seconds: 120) == .signalled(SIGKILL))

        #expect(try FileManager.default.subpathsOfDirectory(atPath: out).sorted() == before)
        #expect(TestSupport.text(out + "/ledger.csv") == ledgerBefore)
        #expect(ledgerBefore.contains("previous"))
        // The run history holds the earlier run only: nothing of the killed one.
        func recordedRuns() throws -> [String] {
            let listed = try schoolstat(["history", "--db", dir + "/schoolstat-history.sqlite", "--format", "json"])
            let runs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            return runs.compactMap { $0["run_id"] as? String }
        }
        #expect(try recordedRuns() == ["previous"])
        // Nor any temporary file: the findings' staging database was unlinked as soon as it was made.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp") == [])
        // The next run cleans up what the killed one left behind.
        let next = try schoolstat(["validate", TestSupport.fixture("reading/encoding_utf8.csv"), "--rules", TestSupport.rules, "--out", out])
        #expect(next.status <= 1)
        #expect(try recordedRuns().count == 2)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty)
    }

    @Test("installed as make install lays it out, the binary finds its rules without --rules")
    func installedLayout() throws {
        let prefix = TestSupport.temporaryDirectory() + "/usr"
        try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: prefix + "/share/schoolstat", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.binary, toPath: prefix + "/bin/schoolstat")
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: prefix + "/share/schoolstat/Rules")
        let work = TestSupport.temporaryDirectory()   // no Rules/ here
        let r = try TestSupport.run(prefix + "/bin/schoolstat",
                                    ["validate", TestSupport.samples + "/teachers.csv", "--out", work + "/out", "--quiet", "--no-history"],
                                    directory: work)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(TestSupport.text(work + "/out/summary.json").contains(prefix + "/share/schoolstat/Rules/schemas/teachers.yaml"))
    }
}
