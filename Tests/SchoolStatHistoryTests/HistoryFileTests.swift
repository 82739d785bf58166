import Foundation
import Testing
import GRDB
import SchoolStatModel
import SchoolStatPipeline
import SchoolStatHistory

/// The file named as a history: anything but an undamaged schoolstat history, a new path or an
/// empty file is refused before a byte is written to it or beside it.
@Suite("The history file: refused unless it is a history, before anything is written")
struct HistoryFileTests {
    /// A directory holding a copy of the sample county.
    func county() throws -> (dir: String, inputs: String) {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestSupport.samples, toPath: dir + "/in")
        return (dir, dir + "/in")
    }

    func validate(_ inputs: String, out: String, history: String, timeout: TimeInterval = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestSupport.runBinary(["validate", inputs, "--rules", TestSupport.rules, "--out", out, "--quiet", "--history", history], timeout: timeout)
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// The files SQLite makes beside a database it writes to.
    func sidecars(_ path: String) -> [String] {
        ["-journal", "-wal", "-shm"].map { path + $0 }.filter { FileManager.default.fileExists(atPath: $0) || (try? FileManager.default.destinationOfSymbolicLink(atPath: $0)) != nil }
    }

    /// A history with one run recorded, closed (no -wal or -shm beside it).
    func recordedHistory() throws -> (dir: String, inputs: String, db: String) {
        let (dir, inputs) = try county()
        let db = dir + "/history.sqlite"
        let first = try validate(inputs, out: dir + "/out", history: db)
        #expect(first.status == 1, "\(first.stderr)")
        #expect(sidecars(db).isEmpty)
        return (dir, inputs, db)
    }

    @Test("a named pipe as --history or history --db is refused at once with exit 2, naming it")
    func namedPipe() throws {
        let (dir, inputs) = try county()
        let fifo = dir + "/history.sqlite"
        #expect(mkfifo(fifo, 0o644) == 0)
        let started = Date()
        let run = try validate(inputs, out: dir + "/out", history: fifo, timeout: 20)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains(fifo) && run.stderr.contains("命名管道"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
        for command in [["history", "--db", fifo], ["diff", "a", "b", "--db", fifo], ["export", "no-such-run", "--to", "sqlite:" + dir + "/x.sqlite", "--db", fifo],
                        ["score", dir + "/out", "--history", fifo]] {
            let r = try TestSupport.runBinary(command, timeout: 20)
            #expect(r.status == 2, "\(command): \(r.stderr)")
        }
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(sidecars(fifo).isEmpty)
    }

    @Test("a history that is a symbolic link, to /dev/null or to a file, is refused and nothing appears beside link or target")
    func symbolicLink() throws {
        let (dir, inputs) = try county()
        let devNullJournalBefore = FileManager.default.fileExists(atPath: "/dev/null-journal")
        let toDevNull = dir + "/null.sqlite"
        try FileManager.default.createSymbolicLink(atPath: toDevNull, withDestinationPath: "/dev/null")
        let r = try validate(inputs, out: dir + "/out", history: toDevNull)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("符号链接"))
        #expect(FileManager.default.fileExists(atPath: "/dev/null-journal") == devNullJournalBefore)
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))

        let (_, _, db) = try recordedHistory()
        let before = bytes(db)
        let link = dir + "/link.sqlite"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: db)
        let viaLink = try validate(inputs, out: dir + "/out", history: link)
        #expect(viaLink.status == 2)
        #expect(bytes(db) == before)
        #expect(sidecars(db).isEmpty && sidecars(link).isEmpty)
    }

    @Test("a damaged history (garbage in the middle or at the end) is refused with exit 2, byte for byte as it was",
          arguments: ["middle", "end4k", "end100"])
    func damaged(_ where: String) throws {
        let (dir, inputs, db) = try recordedHistory()
        var data = try #require(bytes(db))
        let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        switch `where` {
        case "middle": data.replaceSubrange(4096..<8192, with: garbage)
        case "end4k": data.append(garbage)
        default: data.append(garbage.prefix(100))
        }
        try data.write(to: URL(fileURLWithPath: db))
        let r = try validate(inputs, out: dir + "/out2", history: db)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(db) && r.stderr.contains("不会改动它"), "\(r.stderr)")
        #expect(bytes(db) == data)
        #expect(sidecars(db).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/out2"))
    }

    @Test("a history written by a newer schoolstat (format 999) is refused and left as it was", arguments: ["user_version", "format row"])
    func newerFormat(_ how: String) throws {
        let (dir, inputs, db) = try recordedHistory()
        try DatabaseQueue(path: db).write { db in
            if how == "user_version" { try db.execute(sql: "PRAGMA user_version = 999") } else { try db.execute(sql: "UPDATE schoolstat_history SET format = 999") }
        }
        // Closed cleanly: WAL checkpointed and removed.
        #expect(sidecars(db).isEmpty)
        let before = bytes(db)
        let r = try validate(inputs, out: dir + "/out2", history: db)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("999"))
        #expect(bytes(db) == before)
        #expect(sidecars(db).isEmpty)
        let listed = try TestSupport.runBinary(["history", "--db", db])
        #expect(listed.status == 2)
        #expect(bytes(db) == before)
    }

    @Test("a history is created in an existing empty file, and the run says so")
    func emptyFile() throws {
        let (dir, inputs) = try county()
        let db = dir + "/history.sqlite"
        #expect(FileManager.default.createFile(atPath: db, contents: nil))
        let listed = try TestSupport.runBinary(["history", "--db", db])
        #expect(listed.status == 2)
        #expect(listed.stderr.contains("空文件"))
        #expect(bytes(db)?.count == 0)
        let r = try validate(inputs, out: dir + "/out", history: db)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("空文件") && r.stderr.contains(db), "\(r.stderr)")
        #expect(try HistoryDatabase(path: db).runs(last: 5).count == 1)
        // The next run finds a history, and says nothing about it.
        let again = try validate(inputs, out: dir + "/out", history: db)
        #expect(!again.stderr.contains("空文件"))
    }

    @Test("export: a foreign sqlite: file or missing rules are refusals (exit 2); a named pipe in the run directory is unreadable input (exit 3)")
    func exportExitCodes() throws {
        let (dir, inputs, _) = try recordedHistory()
        let out = dir + "/out"
        let foreign = dir + "/mine.sqlite"
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE notes (t TEXT)") }
        let before = bytes(foreign)
        let refused = try TestSupport.runBinary(["export", out, "--to", "sqlite:" + foreign, "--rules", TestSupport.rules])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(bytes(foreign) == before)
        let noRules = try TestSupport.runBinary(["export", out, "--to", "sqlite:" + dir + "/new.sqlite", "--rules", dir + "/no-rules"])
        #expect(noRules.status == 2, "\(noRules.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/new.sqlite"))
        // A link as the target: SQLite would write beside what it points to.
        let link = dir + "/link.sqlite"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: foreign)
        #expect(try TestSupport.runBinary(["export", out, "--to", "sqlite:" + link, "--rules", TestSupport.rules]).status == 2)
        #expect(bytes(foreign) == before && sidecars(foreign).isEmpty)

        let table = try #require(try FileManager.default.contentsOfDirectory(atPath: out + "/clean").sorted().first)
        try FileManager.default.removeItem(atPath: out + "/clean/" + table)
        #expect(mkfifo(out + "/clean/" + table, 0o644) == 0)
        let started = Date()
        let piped = try TestSupport.runBinary(["export", out, "--to", "sqlite:" + dir + "/new.sqlite", "--rules", TestSupport.rules], timeout: 20)
        #expect(piped.status == 3, "\(piped.stderr)")
        #expect(piped.stderr.contains(table) && piped.stderr.contains("命名管道"))
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(!FileManager.default.fileExists(atPath: dir + "/new.sqlite"))
        _ = inputs
    }
}

/// A small tmpfs of the test's own, mounted for one test and unmounted after: a file system that
/// can be filled to the byte. Needs the right to mount (CI runs as root); without it the tests
/// that use one are skipped, saying why.
enum SmallFileSystem {
    static let available: Bool = {
        let dir = TestSupport.temporaryDirectory() + "/probe"
        guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil,
              mount("tmpfs", dir, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount2(dir, Int32(MNT_DETACH))
        return true
    }()

    /// Mounts a tmpfs of `bytes` at a new directory and runs `body` with its path.
    static func with<T>(bytes: Int, _ body: (String) throws -> T) throws -> T {
        let dir = TestSupport.temporaryDirectory() + "/fs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard mount("tmpfs", dir, "tmpfs", 0, "size=\(bytes)") == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM)
        }
        defer { umount2(dir, Int32(MNT_DETACH)) }
        return try body(dir)
    }

    static func freeBytes(_ dir: String) -> Int {
        var st = statvfs()
        statvfs(dir, &st)
        return Int(st.f_bavail) * Int(st.f_frsize)
    }

    /// Fills the file system holding `dir` until `leaving` bytes are free.
    static func fill(_ dir: String, leaving: Int) throws {
        let size = max(0, freeBytes(dir) - leaving)
        let handle = try #require(FileHandle(forWritingAtPath: { FileManager.default.createFile(atPath: dir + "/filler", contents: nil); return dir + "/filler" }()))
        let chunk = Data(count: 64 << 10)
        var written = 0
        while written < size {
            let part = chunk.prefix(min(chunk.count, size - written))
            try handle.write(contentsOf: part)
            written += part.count
        }
        try handle.close()
    }
}

@Suite("A full disk while the history is written", .serialized, .enabled(if: SmallFileSystem.available, "needs the right to mount a small tmpfs (root)"))
struct HistoryDiskFullTests {
    func county() throws -> (dir: String, inputs: String) {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestSupport.samples, toPath: dir + "/in")
        return (dir, dir + "/in")
    }

    func runs(_ db: String) throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: db, configuration: configuration).read { db in try String.fetchAll(db, sql: "SELECT id FROM runs ORDER BY id") }
    }

    @Test("the outputs are in place, the history is as before, and the run exits 4 saying so")
    func historyDiskFull() throws {
        let (dir, inputs) = try county()
        try SmallFileSystem.with(bytes: 4 << 20) { fs in
            let db = fs + "/history.sqlite"
            let first = try TestSupport.runBinary(["validate", inputs, "--rules", TestSupport.rules, "--out", dir + "/out", "--quiet", "--history", db])
            #expect(first.status == 1, "\(first.stderr)")
            let recorded = try runs(db)
            #expect(recorded.count == 1)
            // Room for SQLite's shared-memory file and a few pages of its log, not for a run
            // (the first one took about 180 KB).
            try SmallFileSystem.fill(fs, leaving: 96 << 10)
            let second = try TestSupport.runBinary(["validate", inputs, "--rules", TestSupport.rules, "--out", dir + "/out", "--quiet", "--history", db])
            #expect(second.status == 4, "\(second.stderr)")
            #expect(second.stderr.contains(db) && second.stderr.contains("没有记录这次运行") && second.stderr.contains("已满"), "\(second.stderr)")
            // The outputs of the second run are in place.
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/summary.json"))) as? [String: Any]
            let runID = try #require(summary?["run_id"] as? String)
            #expect(!recorded.contains(runID))
            try FileManager.default.removeItem(atPath: fs + "/filler")
            #expect(try runs(db) == recorded)
        }
    }

    @Test("a full temporary directory is named as such, and the run exits 4 with the previous outputs untouched")
    func temporaryDirectoryFull() throws {
        let (dir, inputs) = try county()
        let first = try TestSupport.runBinary(["validate", inputs, "--rules", TestSupport.rules, "--out", dir + "/out", "--quiet", "--history", dir + "/history.sqlite"])
        #expect(first.status == 1, "\(first.stderr)")
        let summary = try Data(contentsOf: URL(fileURLWithPath: dir + "/out/summary.json"))
        try SmallFileSystem.with(bytes: 1 << 20) { fs in
            try SmallFileSystem.fill(fs, leaving: 0)
            let r = try TestSupport.runBinary(["validate", inputs, "--rules", TestSupport.rules, "--out", dir + "/out", "--quiet",
                                               "--history", dir + "/history.sqlite"], environment: ["TMPDIR": fs])
            #expect(r.status == 4, "\(r.stderr)")
            #expect(r.stderr.contains("临时目录已满") && r.stderr.contains("TMPDIR") && r.stderr.contains(fs), "\(r.stderr)")
            #expect(!r.stderr.contains("运行历史数据库"), "\(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out/summary.json")) == summary)
    }
}
