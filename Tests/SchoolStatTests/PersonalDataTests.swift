import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

@Suite("Personal data: no ID number whole in any message or ledger field")
struct PersonalDataTests {
    @Test("an unquoted comma in a name shifts the ID number into school_code: masked in ledger.csv, ledger.jsonl and on the console")
    func shiftedID() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write("""
            教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证
            T0000001,王芳,11010519491231002X,3150010001,女,1949-12-31,本科,是
            T0000002,陈,小明,500110198604120015,3150010001,男,1986/4/12,大专,Y
            T0000003,李娜,５００１１０１９９００１０１００２２,3150010001,女,1990年1月1日,研究生,√

            """, to: dir + "/teachers.csv")
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try TestSupport.runBinary(["validate", dir + "/teachers.csv", "--rules", TestSupport.rules, "--out", out,
                                           "--as-of", "2018-09-30", "--max-messages", "1000"])
        #expect(r.status == 1)
        let whole = try Regex("[0-9０-９]{17}[0-9Xx０-９]")
        for text in [TestSupport.text(out + "/ledger.csv"), TestSupport.text(out + "/ledger.jsonl"), r.stderr, r.stdout] {
            #expect(text.firstMatch(of: whole) == nil, "\(text.prefix(2000))")
        }
        // The finding is still there, and still says which value: masked the usual way.
        let ledger = TestSupport.csvRecords(out + "/ledger.csv")
        #expect(ledger.contains { $0["line"] == "3" && $0["raw_value"] == "500110********0015" })
        #expect(r.stderr.contains("teachers.csv:3"))
    }

    /// An ID number in clear: 15 or more digits, possibly split by single spaces or dashes, not
    /// part of a hexadecimal digest or a decimal fraction (summary.json's timings).
    static let clearID = try! NSRegularExpression(pattern: "(?<![0-9A-Fa-f.])(?:[0-9][ \\-]?){14,}[0-9](?![0-9A-Fa-f])")

    static func clearIDs(_ text: String) -> [String] {
        clearID.matches(in: text, range: NSRange(location: 0, length: (text as NSString).length)).map { (text as NSString).substring(with: $0.range) }
    }

    /// Every text file under `directory` but clean/ and rejected/, by path; SQLite databases as
    /// their dump, workbooks as the problem list.
    static func outputs(under directory: String) throws -> [(String, String)] {
        var found: [(String, String)] = []
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  !relative.split(separator: "/").dropLast().contains(where: { ["clean", "rejected", "in"].contains($0) }) else { continue }
            if relative.hasSuffix(".sqlite") {
                found.append((relative, try sqliteDump(path)))
            } else if relative.hasSuffix(".xlsx") {
                found.append((relative, try CheckTests.sheetContents(path, sheet: 1).cells.values.map(\.text).joined(separator: "\n")))
            } else if !relative.hasSuffix("-wal") && !relative.hasSuffix("-shm") {
                found.append((relative, TestSupport.text(path)))
            }
        }
        return found
    }

    static func sqliteDump(_ path: String) throws -> String {
        let dump = try TestSupport.run("/usr/bin/sqlite3", [path, ".dump"])
        try #require(dump.status == 0, "\(dump.stderr)")
        try #require(dump.stdout.contains("CREATE TABLE"), "an empty dump would let any search of it pass")
        return dump.stdout
    }

    @Test("an ID number as a header cell, in a file's name and typed in groups: in clear in no output but clean/ and rejected/, nor on the console")
    func everyWriter() throws {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        // The file is named after a teacher's ID number; a column's header cell is one; two rows
        // hold ID numbers typed in groups, one in a name.
        let roster = dir + "/in/名册-500110197808170079.csv"
        func write(withBadRows: Bool) {
            TestSupport.write("""
                教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证,110105194912310021
                T0000001,王芳,11010519491231002X,3150010001,女,1949-12-31,本科,是,x
                T0000002,陈明,500110 19860412 0015,3150010001,男,1986-04-12,大专,是,x

                """ + (withBadRows ? """
                T0000003,李娜 500110-19900101-0022,500110-19900101-0022,3150010001,女,1990-01-32,研究生,是,x
                T0000004,赵六,500110-1978-0817-007X,3150010001,男,1978-08-17,函授,是,x

                """ : ""), to: roster)
        }
        let out = dir + "/out", db = dir + "/history.sqlite"
        var consoles: [(String, String)] = []
        func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let r = try TestSupport.runBinary(arguments)
            consoles.append(("schoolstat " + arguments.prefix(1).joined() + " stdout", r.stdout))
            consoles.append(("schoolstat " + arguments.prefix(1).joined() + " stderr", r.stderr))
            return r
        }
        write(withBadRows: true)
        let first = try run(["validate", dir + "/in", "--rules", TestSupport.rules, "--out", out, "--history", db, "--run-id", "r1",
                             "--as-of", "2018-09-30", "--max-messages", "1000"])
        #expect(first.status == 1, "\(first.stderr)")
        // The findings are there, about the file and the column, masked the usual way.
        let ledger = TestSupport.csvRecords(out + "/ledger.csv")
        #expect(ledger.contains { $0["column"] == "110105********0021" }, "\(ledger.map { $0["column"] ?? "" })")
        #expect(ledger.contains { $0["source_file"]?.hasSuffix("名册-500110********0079.csv") == true })
        #expect(first.stderr.contains("名册-500110********0079.csv"))
        _ = try run(["validate", dir + "/in", "--rules", TestSupport.rules, "--out", out, "--history", db, "--run-id", "r2",
                     "--as-of", "2018-09-30", "--format", "json"])
        write(withBadRows: false)
        let third = try run(["validate", dir + "/in", "--rules", TestSupport.rules, "--out", out, "--history", db, "--run-id", "r3",
                             "--as-of", "2018-09-30"])
        #expect(third.stdout.contains("名册-500110********0079.csv"))
        write(withBadRows: true)
        let diff = try run(["diff", "r1", "r3", "--db", db, "--csv", dir + "/diff.csv"])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(TestSupport.text(dir + "/diff.csv").contains("110105********0021"))
        _ = try run(["diff", "r1", "r3", "--db", db, "--format", "json"])
        _ = try run(["history", "--db", db, "--format", "json"])
        _ = try run(["validate", dir + "/in", "--rules", TestSupport.rules, "--out", out, "--history", db, "--run-id", "r4", "--as-of", "2018-09-30"])
        let export = try run(["export", "r4", "--to", "sqlite:" + dir + "/export.sqlite", "--db", db, "--rules", TestSupport.rules])
        #expect(export.status == 0, "\(export.stderr)")
        let json = try run(["check", roster, "--rules", TestSupport.rules, "--as-of", "2018-09-30", "--format", "json"])
        #expect(json.stdout.contains("\"problems\""))
        let listing = try run(["check", roster, "--rules", TestSupport.rules, "--as-of", "2018-09-30", "--annotate", dir + "/annotated.xlsx"])
        #expect(listing.stdout.contains("名册-500110********0079.csv"), "\(listing.stdout)")
        // The rows the check shows: the grouped ID numbers masked too.
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let cells = (report["rows"] as? [[String: Any]] ?? []).flatMap { $0["cells"] as? [String] ?? [] }
        #expect(cells.contains("500110********0022"), "\(cells)")
        let list = try CheckTests.sheetContents(dir + "/annotated.xlsx", sheet: 1).cells.values.map(\.text)
        #expect(list.contains("110105********0021"), "\(list)")

        let written = try Self.outputs(under: dir) + consoles
        #expect(written.count > 12)
        for (name, text) in written {
            #expect(Self.clearIDs(text).isEmpty, "\(name): \(Self.clearIDs(text))")
        }
    }

    @Test("scrub masks runs of 15 or more digits, with a final X, ASCII or full-width, and leaves the rest alone",
          arguments: [("身份证号 500110198604120015 不对", "身份证号 500110********0015 不对"),
                      ("11010519491231002X", "110105********002X"),
                      ("旧证 110105491231002 号", "旧证 110105*****1002 号"),
                      ("５００１１０１９９００１０１００２２", "５００１１０********００２２"),
                      ("学校 3150010001，金额 12345678901234", "学校 3150010001，金额 12345678901234"),
                      ("500110********0015", "500110********0015"),
                      ("全角（无）", "全角（无）"),
                      // As people type them: in groups, with spaces or dashes.
                      ("身份证 500110 19780817 0079 有误", "身份证 500110********0079 有误"),
                      ("500110-19780817-0079", "500110********0079"),
                      ("500110-1978-0817-007X。", "500110********007X。"),
                      ("旧证 110105 491231 002", "旧证 110105*****1002"),
                      ("５００１１０　１９７８０８１７　００７９", "５００１１０********００７９"),
                      ("6222 0212 3456 7890 123", "622202*********0123"),
                      // Dates and phone numbers side by side are not ID numbers.
                      ("2024-09-01 2024-12-31", "2024-09-01 2024-12-31"),
                      ("电话 023-6789-1234 138 1234 5678", "电话 023-6789-1234 138 1234 5678"),
                      ("12 500110 19780817 0079", "12 500110********0079")])
    func scrub(_ text: String, _ expected: String) {
        #expect(IDNumber.scrub(text) == expected)
    }
}

@Suite("ID scrubbing agrees with a plain reference")
struct ScrubReferenceTests {
    /// A number as people write it: groups of digits split by one separator, every group but the
    /// last of four digits or more; or one run of digits.
    nonisolated(unsafe) static let number = try! Regex("[0-9０-９]{4,}(?:[ \\-\u{00A0}\u{3000}－][0-9０-９]{4,})*(?:[ \\-\u{00A0}\u{3000}－][0-9０-９]+)?|[0-9０-９]+")

    /// Masks numbers of 15+ digits (ASCII or full-width, grouped or not) with an optional final X,
    /// found by the regular expression above: the digits kept, the separators dropped.
    static func reference(_ text: String) -> String {
        func digit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) || ("０"..."９").contains(c) }
        var out = String.UnicodeScalarView()
        var rest = Substring(text)
        while let m = rest.firstMatch(of: number) {
            out.append(contentsOf: rest[..<m.range.lowerBound].unicodeScalars)
            let found = Array(rest[m.range].unicodeScalars)
            var kept = found.filter(digit)
            var after = m.range.upperBound
            if kept.count >= 15 {
                if after < rest.endIndex, let x = rest[after...].unicodeScalars.first, "XxＸｘ".unicodeScalars.contains(x) {
                    kept.append(x)
                    after = rest.unicodeScalars.index(after, offsetBy: 1)
                }
                let n = kept.count
                for k in 0..<n { out.append(k < 6 || k >= n - 4 ? kept[k] : "*") }
                rest = rest[after...]
            } else {
                let first = found.prefix(while: digit)
                out.append(contentsOf: first)
                rest = rest[rest.unicodeScalars.index(m.range.lowerBound, offsetBy: first.count)...]
            }
        }
        out.append(contentsOf: rest.unicodeScalars)
        return String(out)
    }

    @Test("random text of digits, full-width digits, Chinese and punctuation", arguments: [1, 2, 3])
    func random(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let pieces = ["0", "1", "9", "５", "０", "X", "年", "（", "）", "，", "中", "閒", " ", "a", "-", "1234567", "５００１１０",
                      " ", "-", "\u{3000}", "－", "\u{00A0}", "19780817", "0079"]
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            #expect(IDNumber.scrub(text) == Self.reference(text), "\(text)")
        }
    }
}

@Suite("Chinese messages speak Chinese")
struct ChineseMessageTests {
    @Test("enumeration values read as their Chinese spellings: a sex mismatch, and the accepted values of a column without a hint")
    func labels() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write("""
            教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证,任教学段
            T0000001,王芳,11010519491231002X,3150010001,男,1949-12-31,本科,是,小学
            T0000002,李娜,500110199001010022,3150010001,女,1990-01-01,研究生,是,幼儿园

            """, to: dir + "/teachers.csv")
        let result = try TestSupport.validate([dir + "/teachers.csv"]) { $0.asOf = "2018-09-30" }
        let ledger = TestSupport.ledger(result)
        let sex = ledger.first { $0["rule_id"] == "teachers.id_sex" }?["message_zh"] ?? ""
        #expect(sex.contains("性别 男 与身份证号第 17 位所示性别 女 不一致"), "\(sex)")
        #expect(ledger.first { $0["rule_id"] == "teachers.id_sex" }?["message_en"]?.contains("male") == true)
        let section = ledger.first { $0["rule_id"] == "teachers.section.enum" }?["message_zh"] ?? ""
        #expect(section.contains("可填：小学、初中、高中"), "\(section)")
        #expect(!section.contains("primary"))
    }
}

@Suite("Repeated keys on disk")
struct DuplicateIndexTests {
    @Test("the sorter gives every repeat back, one file per input sorted by record, through runs of any size", arguments: [3, 64, 1 << 18])
    func sorter(runCapacity: Int) throws {
        var rng = SeededGenerator(seed: UInt64(runCapacity))
        let dir = TestSupport.temporaryDirectory()
        let sorter = DuplicateSorter(directory: dir, name: "t", runCapacity: runCapacity)
        var expected: [Int32: [(Int32, Int32)]] = [:]
        var used: Set<[Int32]> = []
        for _ in 0..<1000 {
            let file = Int32.random(in: 0..<4, using: &rng), record = Int32.random(in: 1..<100_000, using: &rng)
            guard used.insert([file, record]).inserted else { continue }
            let line = Int32.random(in: 1..<100, using: &rng)
            sorter.add(DuplicateEntry(file: file, record: record, firstFile: 0, firstLine: line))
            expected[file, default: []].append((record, line))
        }
        let files = try sorter.finish()
        #expect(Set(files.keys) == Set(expected.keys))
        for (file, entries) in expected {
            let rows = DuplicateRows([files], file: file)
            defer { rows.deallocate() }
            for (record, line) in entries {
                var seen: [DuplicateOf] = []
                rows.forEach(record: record) { _, first in seen.append(first) }
                #expect(seen.count == 1 && seen.first?.line == line)
            }
            var none = 0
            rows.forEach(record: 0) { _, _ in none += 1 }
            #expect(none == 0)
            // In increasing order, as a worker asks, after the backward jumps above.
            let fresh = DuplicateRows([files], file: file)
            var found = 0
            for record in Int32(0)..<100_000 { fresh.forEach(record: record) { _, _ in found += 1 } }
            #expect(found == entries.count)
            // On disk: sorted by record.
            let data = try Data(contentsOf: URL(fileURLWithPath: files[file]!))
            let records = data.withUnsafeBytes { Array($0.bindMemory(to: DuplicateEntry.self)).map(\.record) }
            #expect(records == records.sorted() && records.count == entries.count)
        }
        // The runs are gone once merged.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { $0.contains(".file") })
    }

    @Test("a roster appended to itself: every repeated row reported with the line of its first occurrence")
    func appendedRoster() throws {
        let dir = TestSupport.temporaryDirectory()
        RosterGenerator(rows: 300, seed: 5).writeTeachers(to: dir + "/src.csv")
        let text = TestSupport.text(dir + "/src.csv")
        let body = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
        TestSupport.write(text + body + body, to: dir + "/teachers.csv")
        let result = try TestSupport.validate([dir + "/teachers.csv"]) { $0.threads = 2 }
        let repeats = TestSupport.ledger(result).filter { $0["rule_id"] == "teachers.unique_teacher_id" }
        #expect(repeats.count == 600)
        // Line 2 + 300 (the first copy's first row) repeats line 2.
        #expect(repeats.first { $0["line"] == "302" }?["message_zh"]?.contains("第 2 行") == true)
        let t = result.summary.tables["teachers"]!
        #expect(t.rowsRead == 900 && t.rowsRead == t.rowsClean + t.rowsRejected)
    }
}
