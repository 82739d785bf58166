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

    @Test("scrub masks runs of 15 or more digits, with a final X, ASCII or full-width, and leaves the rest alone",
          arguments: [("身份证号 500110198604120015 不对", "身份证号 500110********0015 不对"),
                      ("11010519491231002X", "110105********002X"),
                      ("旧证 110105491231002 号", "旧证 110105*****1002 号"),
                      ("５００１１０１９９００１０１００２２", "５００１１０********００２２"),
                      ("学校 3150010001，金额 12345678901234", "学校 3150010001，金额 12345678901234"),
                      ("500110********0015", "500110********0015"),
                      ("全角（无）", "全角（无）")])
    func scrub(_ text: String, _ expected: String) {
        #expect(IDNumber.scrub(text) == expected)
    }
}

@Suite("ID scrubbing agrees with a plain reference")
struct ScrubReferenceTests {
    /// Masks runs of 15+ digits (ASCII or full-width) with an optional final X, one scalar at a time.
    static func reference(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        func digit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) || ("０"..."９").contains(c) }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            var j = i
            while j < s.count && digit(s[j]) { j += 1 }
            if j - i >= 15 {
                if j < s.count && "XxＸｘ".unicodeScalars.contains(s[j]) { j += 1 }
                let n = j - i
                for k in 0..<n { out.append(k < 6 || k >= n - 4 ? s[i + k] : "*") }
                i = j
            } else if j > i {
                out.append(contentsOf: s[i..<j]); i = j
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }

    @Test("random text of digits, full-width digits, Chinese and punctuation", arguments: [1, 2, 3])
    func random(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let pieces = ["0", "1", "9", "５", "０", "X", "年", "（", "）", "，", "中", "閒", " ", "a", "-", "1234567", "５００１１０"]
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
        let files = sorter.finish()
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
