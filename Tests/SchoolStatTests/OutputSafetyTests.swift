import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// A directory holding one small, valid roster: the input most of these tests run on.
private func inputDirectory() -> String {
    let dir = TestSupport.temporaryDirectory() + "/exports"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try! FileManager.default.copyItem(atPath: TestSupport.fixture("reading/encoding_utf8.csv"), toPath: dir + "/teachers.csv")
    return dir
}

private func validate(_ inputs: [String], out: String, directory: String? = nil, environment: [String: String]? = nil,
                      extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
    try TestSupport.runBinary(["validate"] + inputs + ["--rules", TestSupport.rules, "--out", out, "--as-of", "2018-09-30"] + extra,
                              directory: directory, environment: environment)
}

private func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

@Suite("Output safety: --out replaces only what schoolstat wrote", .serialized)
struct OutputSafetyTests {
    @Test("an existing directory schoolstat did not write is refused with exit 2, and every file in it stays")
    func foreignDirectory() throws {
        let inputs = inputDirectory()
        let documents = TestSupport.temporaryDirectory() + "/Documents"
        try FileManager.default.createDirectory(atPath: documents + "/photos", withIntermediateDirectories: true)
        TestSupport.write("my thesis", to: documents + "/thesis.txt")
        let r = try validate([inputs], out: documents)
        #expect(r.status == 2)
        #expect(r.stderr.contains("不是 schoolstat 写出的") && r.stderr.contains("--out"))
        #expect(entries(documents) == ["photos", "thesis.txt"])
        #expect(TestSupport.text(documents + "/thesis.txt") == "my thesis")
        // Nothing was staged beside it either.
        #expect(!entries((documents as NSString).deletingLastPathComponent).contains { $0.contains(".partial-") })
    }

    @Test("a regular file given as --out is refused and keeps its bytes")
    func regularFile() throws {
        let inputs = inputDirectory()
        let pdf = TestSupport.temporaryDirectory() + "/report.pdf"
        TestSupport.write("%PDF-1.7 not to be lost", to: pdf)
        let r = try validate([inputs], out: pdf)
        #expect(r.status == 2)
        #expect(r.stderr.contains("已有的文件"))
        #expect(TestSupport.text(pdf) == "%PDF-1.7 not to be lost")
    }

    @Test("--out equal to an input directory, to `.` inside it, or to a directory holding an input is refused")
    func inputsAndAncestors() throws {
        let inputs = inputDirectory()
        // The input directory itself, named as such and as `.`.
        #expect(try validate([inputs], out: inputs).status == 2)
        let dot = try validate(["."], out: ".", directory: inputs)
        #expect(dot.status == 2, "\(dot.stderr)")
        // The input directory's parent: replacing it would delete the inputs.
        let parent = (inputs as NSString).deletingLastPathComponent
        let r = try validate([inputs + "/teachers.csv"], out: parent)
        #expect(r.status == 2)
        #expect(r.stderr.contains("在这个目录里面"))
        // An input file given as --out.
        #expect(try validate([inputs + "/teachers.csv"], out: inputs + "/teachers.csv").status == 2)
        // Even an empty marked directory that holds the rules is not replaced: here, a copy of the rules.
        let marked = TestSupport.temporaryDirectory() + "/marked"
        #expect(try validate([inputs], out: marked).status == 0)
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: marked + "/Rules")
        let rulesInside = try TestSupport.runBinary(["validate", inputs, "--rules", marked + "/Rules", "--out", marked, "--as-of", "2018-09-30"])
        #expect(rulesInside.status == 2)
        #expect(FileManager.default.fileExists(atPath: marked + "/Rules/vocabulary.yaml"))
        #expect(entries(inputs) == ["teachers.csv"])
    }

    @Test("`/`, the home directory and a symbolic link are refused")
    func systemPlaces() throws {
        let inputs = inputDirectory()
        let root = try validate([inputs], out: "/")
        #expect(root.status == 2 && root.stderr.contains("根目录"))
        // An empty home directory: refused for being home, not for what it holds.
        let home = TestSupport.temporaryDirectory() + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let r = try validate([inputs], out: home, environment: ["HOME": home])
        #expect(r.status == 2 && r.stderr.contains("主目录"))
        #expect(entries(home).isEmpty)
        let target = TestSupport.temporaryDirectory()
        TestSupport.write("keep", to: target + "/keep.txt")
        let link = TestSupport.temporaryDirectory() + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let linked = try validate([inputs], out: link)
        #expect(linked.status == 2 && linked.stderr.contains("符号链接"))
        #expect(TestSupport.text(target + "/keep.txt") == "keep")
    }

    @Test("a new path, an empty directory and an earlier output are written; outputs carry the marker")
    func accepted() throws {
        let inputs = inputDirectory()
        let empty = TestSupport.temporaryDirectory() + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(try validate([inputs], out: empty).status == 0)
        #expect(OutputMarker.kind(of: empty) == .validate)
        #expect(TestSupport.text(empty + "/.schoolstat-run").contains("\"version\":1"))
        // Run again into the same directory: replaced.
        TestSupport.write("stale", to: empty + "/clean/old.csv")
        #expect(try validate([inputs], out: empty).status == 0)
        #expect(!FileManager.default.fileExists(atPath: empty + "/clean/old.csv"))
        #expect(FileManager.default.fileExists(atPath: empty + "/clean/teachers.csv"))
        let fresh = TestSupport.temporaryDirectory() + "/new/out"
        #expect(try validate([inputs], out: fresh).status == 0)
        #expect(OutputMarker.kind(of: fresh) == .validate)
    }

    @Test("an output of a version before markers is recognised by its contents and replaced; one file of the user's in it and it is refused")
    func legacyOutput() throws {
        let inputs = inputDirectory()
        let out = TestSupport.temporaryDirectory() + "/out"
        // As an earlier version wrote it: no marker, and no run history (changes.csv).
        #expect(try validate([inputs], out: out, extra: ["--score", "--no-history"]).status == 0)
        try FileManager.default.removeItem(atPath: out + "/.schoolstat-run")
        try FileManager.default.removeItem(atPath: out + "/evaluation/.schoolstat-run")
        #expect(OutputMarker.kind(of: out) == .validate)
        #expect(try validate([inputs], out: out).status == 0)
        #expect(TestSupport.text(out + "/.schoolstat-run").contains("validate"))
        #expect(!FileManager.default.fileExists(atPath: out + "/evaluation"))
        #expect(!entries((out as NSString).deletingLastPathComponent).contains { $0.contains(".partial-") })
        // The same layout with one file schoolstat never writes: not ours.
        try FileManager.default.removeItem(atPath: out + "/.schoolstat-run")
        TestSupport.write("notes", to: out + "/notes.txt")
        #expect(OutputMarker.kind(of: out) == nil)
        #expect(try validate([inputs], out: out).status == 2)
        #expect(TestSupport.text(out + "/notes.txt") == "notes")
    }

    @Test("a hidden directory that looks like a staging directory but is not marked is never removed")
    func foreignStagingName() throws {
        let inputs = inputDirectory()
        let parent = TestSupport.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: parent + "/.out.partial-999999", withIntermediateDirectories: true)
        TestSupport.write("mine", to: parent + "/.out.partial-999999/notes.txt")
        #expect(try validate([inputs], out: parent + "/out").status == 0)
        #expect(TestSupport.text(parent + "/.out.partial-999999/notes.txt") == "mine")
    }

    /// The id of a process that has exited.
    private func deadProcessID() throws -> Int32 {
        let process = try ChildProcess("/bin/true", [])
        process.wait()
        return process.pid
    }

    @Test("staging directories a run killed in its first instant left (empty, or holding a marker being written) are removed by the next run; look-alikes stay")
    func staleStaging() throws {
        let inputs = inputDirectory()
        let parent = TestSupport.temporaryDirectory()
        let marker = OutputMarker.text(kind: .validate, runID: "20250101T000000-1")
        // As a killed run leaves them: each name carries the dead run's process id.
        var stale: [String] = []
        for contents in [nil, "", String(marker.prefix(9)), marker] as [String?] {
            let dir = parent + "/.out.partial-\(try deadProcessID())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            if let contents { TestSupport.write(contents, to: dir + "/.schoolstat-run") }
            stale.append(dir)
        }
        // An earlier build wrote the marker through a temporary file.
        let legacy = parent + "/.out.partial-\(try deadProcessID())"
        try FileManager.default.createDirectory(atPath: legacy, withIntermediateDirectories: false)
        TestSupport.write(String(marker.prefix(20)), to: legacy + "/.dat.nosync1a2b.Xy9z")
        stale.append(legacy)
        // Look-alikes: not ours, or a live run's.
        let userFile = parent + "/.out.partial-\(try deadProcessID())"
        try FileManager.default.createDirectory(atPath: userFile, withIntermediateDirectories: false)
        TestSupport.write("my notes", to: userFile + "/.schoolstat-run")
        let userTemp = parent + "/.out.partial-\(try deadProcessID())"
        try FileManager.default.createDirectory(atPath: userTemp, withIntermediateDirectories: false)
        TestSupport.write("{\"format\":\"other\"}", to: userTemp + "/.dat.nosync77")
        let withMore = parent + "/.out.partial-\(try deadProcessID())"
        try FileManager.default.createDirectory(atPath: withMore, withIntermediateDirectories: false)
        TestSupport.write("", to: withMore + "/.schoolstat-run")
        TestSupport.write("keep", to: withMore + "/photo.jpg")
        let live = parent + "/.out.partial-\(getpid())"
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: false)
        let otherName = parent + "/.report.partial-\(try deadProcessID())"
        try FileManager.default.createDirectory(atPath: otherName, withIntermediateDirectories: false)

        let r = try validate([inputs], out: parent + "/out")
        #expect(r.status == 0, "\(r.stderr)")
        for dir in stale { #expect(!FileManager.default.fileExists(atPath: dir), "\(dir)") }
        #expect(TestSupport.text(userFile + "/.schoolstat-run") == "my notes")
        #expect(TestSupport.text(userTemp + "/.dat.nosync77") == "{\"format\":\"other\"}")
        #expect(TestSupport.text(withMore + "/photo.jpg") == "keep")
        #expect(FileManager.default.fileExists(atPath: withMore + "/.schoolstat-run"))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(FileManager.default.fileExists(atPath: otherName))
        // The run's own staging directory is gone too: only the output and the look-alikes are left.
        #expect(entries(parent).filter { $0.hasPrefix(".out.partial-") }.count == 4)
    }

    @Test("--out inside the input directory: the next run skips its own outputs, says so once, and reads the same rows")
    func outputInsideInputs() throws {
        let inputs = inputDirectory()
        let first = try validate(["."], out: "out", directory: inputs, extra: ["--format", "json"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try validate(["."], out: "out", directory: inputs, extra: ["--format", "json"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.components(separatedBy: "已跳过").count == 2, "\(second.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any]
        let tables = summary?["tables"] as? [String: [String: Any]]
        #expect(tables?.keys.sorted() == ["teachers"])
        #expect(tables?["teachers"]?["rows_read"] as? Int == 3)
        #expect((summary?["inputs"] as? [Any])?.count == 1)
        #expect(summary?["skipped_output_directories"] as? [String] == ["./out"])
    }

    @Test("score RUN --out RUN writes RUN/evaluation and keeps the run; --out another run is refused")
    func scoreIntoRun() throws {
        let run = TestSupport.temporaryDirectory() + "/run1"
        #expect(try validate([TestSupport.fixture("packs/pair/current")], out: run).status <= 1)
        let before = entries(run)
        let r = try TestSupport.runBinary(["score", run, "--rules", TestSupport.rules, "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(entries(run) == (before + ["evaluation"]).sorted())
        #expect(FileManager.default.fileExists(atPath: run + "/clean/teachers.csv"))
        #expect(FileManager.default.fileExists(atPath: run + "/evaluation/county_indicators.csv"))
        #expect(OutputMarker.kind(of: run + "/evaluation") == .evaluation)
        // Without --out: the same place, replaced.
        #expect(try TestSupport.runBinary(["score", run, "--rules", TestSupport.rules]).status == 0)
        // Another validate run is not an evaluation directory.
        let run2 = TestSupport.temporaryDirectory() + "/run2"
        #expect(try validate([TestSupport.fixture("packs/pair/current")], out: run2).status <= 1)
        let refused = try TestSupport.runBinary(["score", run, "--rules", TestSupport.rules, "--out", run2])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: run2 + "/clean/teachers.csv"))
    }

    @Test("an output that cannot be written (the file size limit, as on a full disk) exits 4 and leaves nothing half-written",
          arguments: [64, 3_072])
    func outputFailure(limitKiB: Int) throws {
        let parent = TestSupport.temporaryDirectory()
        // The samples' outputs pass 64 KiB while their first block is filling. A roster whose
        // clean rows come to about 8 MiB fills whole blocks, written on the thread behind the
        // file, before one of them passes 3 MiB.
        var input = TestSupport.samples
        if limitKiB > 64 {
            input = TestSupport.temporaryDirectory() + "/teachers.csv"
            RosterGenerator(rows: 50_000, seed: 3).writeTeachers(to: input)
        }
        // The shell ignores SIGXFSZ and limits the size of files; schoolstat inherits both, so
        // its writes past the limit fail with EFBIG as they would with ENOSPC on a full disk.
        let command = "ulimit -f \(limitKiB * 2); trap '' XFSZ; exec \"$0\" validate \"$1\" --rules \"$2\" --out \"$3\" --quiet"
        let r = try TestSupport.run("/bin/sh", ["-c", command, TestSupport.binary, input, TestSupport.rules, parent + "/out"])
        let message = r.stderr
        #expect(r.status == 4, "\(message)")
        #expect(message.contains("无法写入"))
        #expect(message.contains("teachers.csv"), "\(message)")
        #expect(entries(parent).isEmpty)
    }

    @Test("a large output written past the page cache arrives whole, whatever the sizes of its writes, and leaves no pages cached")
    func outputPastTheCache() throws {
        let path = TestSupport.temporaryDirectory() + "/large.csv"
        let file = try BufferedFile(path: path, bypassingCache: true)
        // Writes of every size around the 4 KiB blocks and the 1 MiB buffer, a flush between
        // some of them (which writes whole blocks only), one write larger than the buffer.
        var expected: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        var sizes = [0, 1, 4095, 4096, 4097, 65_536, 1 << 20, (1 << 20) + 1, 3 << 20]
        for _ in 0..<300 { sizes.append(Int.random(in: 1...40_000, using: &generator)) }
        for (i, size) in sizes.enumerated() {
            let chunk = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            if i % 2 == 0 { file.write(chunk) } else { chunk.withUnsafeBytes { file.write($0) } }
            expected += chunk
            if i % 37 == 0 { file.flush() }
        }
        file.write("尾行，无换行")
        expected += Array("尾行，无换行".utf8)
        // On a disk file system the writes must go past the cache. Elsewhere (tmpfs keeps every
        // file in pages whatever the writes; others may refuse direct writes) only the bytes can
        // be checked.
        let onDisk = TestSupport.diskFileSystems.contains(TestSupport.fileSystemType(of: path))
        if onDisk { #expect(file.isDirect, "direct writes refused on \(TestSupport.fileSystemType(of: path))") }
        let bypasses = file.isDirect && onDisk
        try file.close()
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(written.count == expected.count && written.count % 4096 != 0)
        #expect(Array(written) == expected)
        guard bypasses else { return }

        // Before it was read back: at most the last partial block went through the page cache.
        let again = try BufferedFile(path: path + ".2", bypassingCache: true)
        expected.withUnsafeBytes { again.write($0) }
        try again.close()
        let fd = open(path + ".2", O_RDONLY)
        defer { close(fd) }
        let length = expected.count
        let mapped = try #require(mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0))
        defer { munmap(mapped, length) }
        let pages = (length + 4095) / 4096
        var resident = [UInt8](repeating: 0, count: pages)
        #expect(mincore(mapped, length, &resident) == 0)
        let cached = resident.filter { $0 & 1 == 1 }.count
        #expect(cached <= 1, "\(cached) of \(pages) pages in the page cache")

        // The same writes through the cache leave the file cached: the test can tell them apart.
        let cachedFile = try BufferedFile(path: path + ".3")
        expected.withUnsafeBytes { cachedFile.write($0) }
        #expect(!cachedFile.isDirect)
        try cachedFile.close()
        let fd3 = open(path + ".3", O_RDONLY)
        defer { close(fd3) }
        let mapped3 = try #require(mmap(nil, length, PROT_READ, MAP_SHARED, fd3, 0))
        defer { munmap(mapped3, length) }
        #expect(mincore(mapped3, length, &resident) == 0)
        #expect(resident.filter { $0 & 1 == 1 }.count > pages / 2)
    }

}

@Suite("Inputs that are not regular files", .serialized)
struct InputDiscoveryTests {
    @Test("a named pipe among the inputs is reported and skipped, never waited on; the run exits 3")
    func fifo() throws {
        let inputs = inputDirectory()
        #expect(mkfifo(inputs + "/pipe.csv", 0o644) == 0)
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try TestSupport.runBinary(["validate", inputs, "--rules", TestSupport.rules, "--out", out, "--as-of", "2018-09-30"], timeout: 60)
        #expect(r.status == 3, "\(r.stderr)")
        let ledger = TestSupport.csvRecords(out + "/ledger.csv")
        #expect(ledger.contains { $0["rule_id"] == "read.not_regular_file" && $0["source_file"]?.hasSuffix("pipe.csv") == true })
        #expect(TestSupport.csvRecords(out + "/clean/teachers.csv").count == 3)
    }

    @Test("a symbolically linked subdirectory is read (once, even when a link loops back); a broken link is reported")
    func links() throws {
        let inputs = inputDirectory()
        let elsewhere = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestSupport.fixture("reading/encoding_gb18030.csv"), toPath: elsewhere + "/teachers2.csv")
        try FileManager.default.createSymbolicLink(atPath: inputs + "/school2", withDestinationPath: elsewhere)
        try FileManager.default.createSymbolicLink(atPath: elsewhere + "/loop", withDestinationPath: inputs)
        try FileManager.default.createSymbolicLink(atPath: inputs + "/gone.csv", withDestinationPath: elsewhere + "/nothing.csv")
        let result = try TestSupport.validate([inputs]) { $0.asOf = "2018-09-30" }
        #expect(result.summary.inputs.map { ($0.path as NSString).lastPathComponent } == ["teachers2.csv", "teachers.csv"])
        #expect(result.status == .unreadableInput)
        #expect(TestSupport.ledger(result).contains { $0["rule_id"] == "read.broken_link" })
    }

    @Test("an .xls workbook found in a directory is read; a file only named .xls is in the ledger, not only counted")
    func xlsInLedger() throws {
        let inputs = inputDirectory()
        TestSupport.write("binary", to: inputs + "/old.xls")
        try FileManager.default.copyItem(atPath: TestSupport.fixture("xls/roster.xls"), toPath: inputs + "/roster.xls")
        let result = try TestSupport.validate([inputs]) { $0.asOf = "2018-09-30" }
        #expect(result.status == .unreadableInput)
        #expect(TestSupport.ledger(result).contains { $0["rule_id"] == "read.unreadable_file" && $0["source_file"]?.hasSuffix("old.xls") == true })
        #expect(result.summary.inputs.contains { $0.path.hasSuffix("roster.xls") && $0.table == "teachers" })
    }

    @Test("a subdirectory that cannot be opened is reported and the run exits 3", .enabled(if: getuid() != 0, "root opens every directory"))
    func unreadableDirectory() throws {
        let inputs = inputDirectory()
        try FileManager.default.createDirectory(atPath: inputs + "/locked", withIntermediateDirectories: true)
        chmod(inputs + "/locked", 0)
        defer { chmod(inputs + "/locked", 0o755) }
        let result = try TestSupport.validate([inputs]) { $0.asOf = "2018-09-30" }
        #expect(result.status == .unreadableInput)
        #expect(TestSupport.ledger(result).contains { $0["rule_id"] == "read.unreadable_directory" })
    }
}

@Suite("Read limits: a huge value or record stops the file with a finding, in bounded memory")
struct ReadLimitTests {
    private func roster(_ middle: String) -> String {
        "教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证\n"
            + "T0000001,王芳,11010519491231002X,3150010001,女,1949-12-31,本科,是\n" + middle
            + "T0000003,李娜,500110199001010022,3150010001,女,1990-01-01,研究生,是\n"
    }

    @Test("a 10 MB field: read.too_large at its line; the rows before it are checked; exit 3", arguments: ["\"", ""])
    func hugeField(quote: String) throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write(roster("T0000002," + quote + String(repeating: "王", count: 3_500_000) + quote + ",x\n"), to: dir + "/t.csv")
        let result = try TestSupport.validate([dir + "/t.csv"]) { $0.asOf = "2018-09-30" }
        #expect(result.status == .unreadableInput)
        let entry = TestSupport.ledger(result).first { $0["rule_id"] == "read.too_large" }
        #expect(entry?["line"] == "3")
        #expect(entry?["message_zh"]?.contains("超过 1048576 字节") == true)
        #expect(result.summary.tables["teachers"]?.rowsRead == 1)
    }

    @Test("a line of 14 million fields stops at the field limit")
    func wideLine() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write(roster(String(repeating: ",", count: 14_000_000) + "\n"), to: dir + "/t.csv")
        let result = try TestSupport.validate([dir + "/t.csv"]) { $0.asOf = "2018-09-30" }
        #expect(result.status == .unreadableInput)
        #expect(TestSupport.ledger(result).first { $0["rule_id"] == "read.too_large" }?["message_zh"]?.contains("16384 列") == true)
    }

    @Test("the limit can be raised, and then the same file is read to its end")
    func raised() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write(roster("T0000002," + String(repeating: "王", count: 400_000) + ",x\n"), to: dir + "/t.csv")
        let limited = try TestSupport.validate([dir + "/t.csv"]) { $0.asOf = "2018-09-30"; $0.readLimits.fieldBytes = 100_000 }
        #expect(limited.status == .unreadableInput)
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try TestSupport.runBinary(["validate", dir + "/t.csv", "--rules", TestSupport.rules, "--out", out, "--as-of", "2018-09-30",
                                           "--max-field-bytes", "2000000", "--format", "json"])
        #expect(r.status == 1, "\(r.stderr.prefix(500))")
        #expect(r.stdout.contains("\"rows_read\" : 3"))
    }
}
