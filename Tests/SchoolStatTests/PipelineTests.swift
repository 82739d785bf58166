import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// A generated roster's header line and data lines.
private func generatedRoster(rows: Int, seed: UInt64, schools: Int) -> (header: String, rows: [String]) {
    let path = TestSupport.temporaryDirectory() + "/g.csv"
    RosterGenerator(rows: rows, seed: seed, schools: schools).writeTeachers(to: path)
    let lines = TestSupport.text(path).split(separator: "\n").map(String.init)
    return (lines[0], Array(lines.dropFirst()))
}

/// Runs `dir` with one parse per file (`--threads 1`) and with every file parsed in two parts,
/// and checks that every output, the findings and each input's digest and size are the same;
/// returns the run in two parts.
private func onePartAndTwo(_ dir: String, _ name: String) throws -> RunResult {
    let one = try TestSupport.validate([dir], runID: "same") { $0.threads = 1 }
    let two = try TestSupport.validate([dir], runID: "same") { $0.threads = 2; $0.splitParseMinimumBytes = 1 }
    for file in ["ledger.csv", "ledger.jsonl", "evaluations.csv", "clean/teachers.csv", "rejected/teachers.csv"] {
        let expected = TestSupport.text(one.outputDirectory + "/" + file)
        #expect(!expected.isEmpty, "\(name) \(file)")
        #expect(TestSupport.text(two.outputDirectory + "/" + file) == expected, "\(name) \(file)")
    }
    #expect(two.summary.findings == one.summary.findings, "\(name)")
    #expect(two.summary.inputs.map(\.sha256) == one.summary.inputs.map(\.sha256), "\(name)")
    #expect(two.summary.inputs.map(\.bytes) == one.summary.inputs.map(\.bytes), "\(name)")
    return two
}

private func bytesOf(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }

/// The invariant checked after every run: each data row is clean or rejected, and the files agree with the counts.
private func checkConservation(_ result: RunResult) {
    for (name, t) in result.summary.tables {
        #expect(t.rowsRead == t.rowsClean + t.rowsRejected, "table \(name)")
        let clean = TestSupport.csvRows(result.outputDirectory + "/clean/\(name).csv").count - 1
        let rejected = TestSupport.csvRows(result.outputDirectory + "/rejected/\(name).csv").count - 1
        #expect(clean == t.rowsClean, "clean rows of \(name)")
        #expect(rejected == t.rowsRejected, "rejected rows of \(name)")
    }
}

/// A full, valid ID number for a birth date (male when `male`).
private func validID(_ birth: String, male: Bool, serial: Int = 1) -> String {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    let body = "500110" + birth + String(format: "%02d", serial % 100) + (male ? "1" : "2")
    let sum = zip(body, weights).reduce(0) { $0 + Int(String($1.0))! * $1.1 }
    return body + String(Array("10X98765432")[sum % 11])
}

@Suite("The validation pipeline")
struct PipelineTests {
    @Test("the sample county: every planted mistake is found where it was planted")
    func samples() throws {
        let result = try TestSupport.validate([TestSupport.samples])
        #expect(result.status == .dataErrors)
        checkConservation(result)
        let ledger = TestSupport.ledger(result)
        func has(_ rule: String, _ file: String, _ line: Int) -> Bool {
            ledger.contains { $0["rule_id"] == rule && $0["source_file"]!.hasSuffix(file) && $0["line"] == String(line) }
        }
        #expect(has("read.title_row", "schools.csv", 1))
        #expect(has("schools.school_code.length", "schools.csv", 7))
        #expect(has("schools.school_code.scientific", "schools.csv", 8))
        #expect(has("schools.school_type.enum", "schools.csv", 10))
        #expect(has("schools.sports_area.range", "schools.csv", 11))
        #expect(has("schools.unique_school_code", "schools.csv", 16))
        #expect(has("schools.primary_has_no_junior", "schools.csv", 4))
        #expect(has("schools.school_name.formula_like", "schools.csv", 20))
        #expect(has("read.blank_row", "schools.csv", 23))
        #expect(has("teachers.id_checksum", "teachers.csv", 5))
        #expect(has("teachers.birth_date.type", "teachers.csv", 12))
        #expect(has("teachers.id_sex", "teachers.csv", 22))
        #expect(has("teachers.unique_teacher_id", "teachers.csv", 43))
        #expect(has("teachers.id_number.scientific", "teachers.csv", 123))
        #expect(has("teachers.age_plausible", "teachers.csv", 133))
        #expect(has("teachers.unique_id_number", "teachers.csv", 164))
        #expect(has("read.too_few_fields", "teachers.csv", 173))
        #expect(has("read.too_many_fields", "teachers.csv", 183))
        #expect(has("read.invalid_encoding", "teachers.csv", 203))
        #expect(has("read.repeated_header", "teachers.csv", 704))
        #expect(has("county_finance.unique_county_year", "county_finance.csv", 5))
        // Things that look odd but are fine: full-width digits, 万 amounts, traditional headers in UTF-16.
        let teachers = TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv")
        #expect(teachers.contains { $0["teacher_id"] == "T500110051" })
        #expect(teachers.filter { $0["source_file"]!.hasSuffix("teachers_unicode.txt") }.count == 46)
        let inputs = Dictionary(uniqueKeysWithValues: result.summary.inputs.map { (($0.path as NSString).lastPathComponent, $0) })
        #expect(inputs["teachers.csv"]?.encoding == "gb18030")
        #expect(inputs["teachers_unicode.txt"]?.encoding == "utf-16le")
        #expect(inputs["teachers_unicode.txt"]?.dialect?.delimiterName == "tab")
        #expect(inputs["schools.csv"]?.encoding == "utf-8-bom")
    }

    @Test("a large file named to the run: its digest, begun as the run starts, is of the file, whether parsed in two parts (UTF-8) or one (GBK)")
    func digestBegunEarly() throws {
        let dir = TestSupport.temporaryDirectory()
        let utf8 = dir + "/teachers.csv"
        RosterGenerator(rows: 2_000, seed: 11, schools: 30).writeTeachers(to: utf8)
        let gbk = TestSupport.fixture("check/roster_gbk.csv")
        for file in [utf8, gbk] {
            let bytes = [UInt8](FileManager.default.contents(atPath: file)!)
            // Large enough for the early digest to begin (and, for UTF-8, for two parts).
            let two = try TestSupport.validate([file], runID: "same") { $0.threads = 2; $0.splitParseMinimumBytes = 1 }
            let one = try TestSupport.validate([file], runID: "same") { $0.threads = 1 }
            #expect(two.summary.inputs.map(\.sha256) == [SHA256.hexDigest(bytes)], "\(file)")
            #expect(two.summary.inputs.map(\.bytes) == [bytes.count], "\(file)")
            #expect(one.summary.inputs.map(\.sha256) == two.summary.inputs.map(\.sha256), "\(file)")
            for output in ["ledger.csv", "clean/teachers.csv", "rejected/teachers.csv"] {
                #expect(TestSupport.text(two.outputDirectory + "/" + output) == TestSupport.text(one.outputDirectory + "/" + output), "\(file) \(output)")
            }
        }
        // A table without unique keys has no pre-pass: the main pass takes the digest begun early.
        let rules = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: rules)
        let schema = rules + "/schemas/teachers.yaml"
        let withoutUnique = TestSupport.text(schema).replacingOccurrences(of: """
            unique:
              - id: teachers.unique_teacher_id
                columns: [teacher_id]
              - id: teachers.unique_id_number
                columns: [id_number]

            """, with: "")
        #expect(!withoutUnique.contains("unique:"))
        TestSupport.write(withoutUnique, to: schema)
        let noKeys = try TestSupport.validate([utf8], rules: rules, runID: "same") { $0.threads = 2; $0.splitParseMinimumBytes = 1 }
        let utf8Bytes = [UInt8](FileManager.default.contents(atPath: utf8)!)
        #expect(noKeys.summary.inputs.map(\.sha256) == [SHA256.hexDigest(utf8Bytes)])
        #expect(noKeys.summary.inputs.map(\.bytes) == [utf8Bytes.count])

        // The early digest only for a file of text: a workbook named is digested as before.
        var options = ValidationOptions(inputs: [dir + "/roster.xlsx", gbk], rulesDirectory: TestSupport.rules, outputDirectory: dir + "/o")
        options.threads = 2
        options.splitParseMinimumBytes = 1
        try Data(repeating: 0x50, count: 100).write(to: URL(fileURLWithPath: dir + "/roster.xlsx"))
        #expect(ValidationRun.beginEarlyDigest(options)?.identity == FileIdentity(path: gbk), "the first file of text")
        options.inputs = [dir]
        #expect(ValidationRun.beginEarlyDigest(options) == nil, "a directory")
        options.inputs = [utf8]
        options.threads = 1
        #expect(ValidationRun.beginEarlyDigest(options) == nil, "one thread: nothing to overlap")
        options.threads = 2
        options.splitParseMinimumBytes = bytesOf(utf8) + 1
        #expect(ValidationRun.beginEarlyDigest(options) == nil, "a file too small to be parsed in two parts")
    }

    @Test("a run's id is its time in UTC to the second and a random number")
    func runID() {
        let id = ValidationRun.makeRunID(Date(timeIntervalSince1970: 1_727_733_600.9)) // 2024-09-30 22:00:00.9 UTC
        #expect(id.hasPrefix("20240930T220000Z-"))
        let suffix = id.dropFirst("20240930T220000Z-".count)
        #expect((1...4).contains(suffix.count) && UInt32(suffix, radix: 16) != nil)
        #expect(ValidationRun.makeRunID(Date(timeIntervalSince1970: 946_684_799)).hasPrefix("19991231T235959Z-"))
    }

    @Test("clean output is canonical: ISO dates, plain decimals, yuan, enum keys, masked personal data")
    func canonicalForms() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/title_row_traditional_headers.csv")])
        checkConservation(result)
        let rows = TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv")
        #expect(rows.count == 2)
        #expect(rows[0]["birth_date"] == "1986-04-12")
        #expect(rows[0]["annual_wage"] == "125000")
        #expect(rows[1]["annual_wage"] == "138000")
        #expect(rows[0]["degree"] == "associate")
        #expect(rows[0]["certified"] == "true")
        #expect(rows[0]["name"] == "陈**")
        #expect(rows[0]["id_number"] == "500110********0015")
        #expect(rows[0]["source_line"] == "4")
    }

    @Test("rejected rows keep their raw fields, line and the rules they failed")
    func rejectedRows() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/ragged_rows.csv")], table: "teachers")
        checkConservation(result)
        let rejected = TestSupport.csvRecords(result.outputDirectory + "/rejected/teachers.csv")
        let short = rejected.first { $0["source_line"] == "2" }
        #expect(short?["rule_ids"]?.contains("read.too_few_fields") == true)
        let long = rejected.first { $0["source_line"] == "3" }
        #expect(long?["rule_ids"] == "read.too_many_fields")
        #expect(long?["extra_fields"] == "#I=多余")
        #expect(long?["birth_date"] == "1986/4/12")
        // Trailing empty fields are only a warning.
        let ledger = TestSupport.ledger(result)
        #expect(ledger.contains { $0["rule_id"] == "read.trailing_empty_fields" && $0["severity"] == "warning" && $0["line"] == "4" })
    }

    @Test("an unclosed quote is named as the likely cause, without a cascade of 'required' findings")
    func unterminatedQuote() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/unterminated_quote.csv")])
        checkConservation(result)
        let ledger = TestSupport.ledger(result)
        let shape = ledger.first { $0["rule_id"] == "read.too_few_fields" }
        #expect(shape?["line"] == "2" && shape?["message_zh"]?.contains("引号") == true && shape?["message_zh"]?.contains("第 2–3 行") == true)
        #expect(!ledger.contains { $0["rule_id"]!.hasSuffix(".required") })
    }

    @Test("blank rows, rows of commas and repeated headers are skipped with warnings and counted")
    func skippedLines() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/blank_and_repeated_header.csv")])
        checkConservation(result)
        let t = result.summary.tables["teachers"]!
        #expect(t.rowsRead == 3)
        #expect(t.blankLines == 3)
        #expect(t.repeatedHeaders == 1)
        // The two blank lines one after the other are one entry over both.
        let blank = TestSupport.ledger(result).filter { $0["rule_id"] == "read.blank_row" }
        #expect(blank.map { $0["line"]! } == ["3", "7"])
        #expect(blank.map { $0["last_line"]! } == ["4", ""])
        #expect(blank.first?["message_zh"]?.contains("第 3–4 行") == true)
        #expect(result.summary.findings["read.blank_row"]?["warning"] == 3)
    }

    @Test("duplicate and unknown header names are reported with their column letters")
    func headerProblems() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/duplicate_and_unknown_headers.csv")])
        let ledger = TestSupport.ledger(result)
        let dup = ledger.first { $0["rule_id"] == "teachers.header.duplicate_column" }
        #expect(dup?["message_zh"]?.contains("第 B 列") == true && dup?["message_zh"]?.contains("第 I 列") == true)
        #expect(ledger.contains { $0["rule_id"] == "teachers.header.unknown_column" && $0["raw_value"] == "备注" })
        checkConservation(result)
    }

    @Test("invalid bytes reject only their row, naming the column", arguments: ["invalid_gb18030_bytes.csv", "invalid_utf8_bytes.csv"])
    func invalidBytes(file: String) throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/" + file)])
        checkConservation(result)
        let entry = TestSupport.ledger(result).first { $0["rule_id"] == "read.invalid_encoding" }
        #expect(entry?["column"] == "name")
        #expect(result.summary.tables["teachers"]?.rowsRead == 3)
    }

    @Test("a table of seventy columns: problems past the 64th column are reported in column order like the others")
    func wideTable() throws {
        // The rules with one more schema: a code key, then 69 columns, text at every third, numbers elsewhere.
        let rules = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: rules)
        var yaml = "table: wide\ntitle_zh: 宽表\ntitle_en: Wide table\nrecognise_with: 4\nkey: [c01]\ncolumns:\n"
        yaml += "  c01:\n    type: code\n    title_zh: 列01\n    title_en: Column 01\n    required: true\n"
        for c in 2...70 {
            let name = String(format: "c%02d", c)
            yaml += "  \(name):\n    type: \(c % 3 == 0 ? "text" : "integer")\n    title_zh: 列\(name.dropFirst())\n    title_en: Column \(name.dropFirst())\n"
        }
        TestSupport.write(yaml, to: rules + "/schemas/wide.yaml")
        let header = (1...70).map { String(format: "列%02d", $0) }
        var good = (1...70).map { $0 % 3 == 0 ? "文字\($0)" : String($0) }
        good[0] = "W001"
        var bad = good
        bad[0] = "W002"
        bad[2] = "=1+1"      // c03, text: written with a guard, and a warning
        bad[3] = "四"        // c04, a number column
        bad[65] = "=SUM(A1)" // c66, text, past the 64th column
        bad[67] = "abc"      // c68, a number column past the 64th
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write([header, good, bad].map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n", to: dir + "/wide.csv")

        let result = try TestSupport.validate([dir + "/wide.csv"], rules: rules)
        let found = TestSupport.ledger(result).filter { $0["line"] == "3" }.map { "\($0["column"]!) \($0["rule_id"]!)" }
        #expect(found == ["c03 wide.c03.formula_like", "c04 wide.c04.type", "c66 wide.c66.formula_like", "c68 wide.c68.type"])
        let clean = TestSupport.csvRecords(result.outputDirectory + "/clean/wide.csv")
        #expect(clean.count == 1 && clean.first?["c01"] == "W001" && clean.first?["c69"] == "文字69" && clean.first?["c70"] == "70")
        #expect(TestSupport.csvRecords(result.outputDirectory + "/rejected/wide.csv").count == 1)
    }

    @Test("an ID number cell of nine Chinese characters is reported and masked, not a crash")
    func shortChineseIDNumber() throws {
        let dir = TestSupport.temporaryDirectory()
        let header = "教师编号,姓名,身份证号,学校标识码,性别,出生日期,任教学段,最高学历,教师资格证,任教学科,骨干教师级别,近五年培训学时,年工资收入（万元）"
        TestSupport.write(header + "\nT500000000,王伟,一二三四五六七八九,3100011755,女,1991/12/13,初中,本科,Y,科学,,354,14.9384\n"
                          + "T500000001,李伟,110105198001010024,3100010132,女,1980/01/01,小学,本科,是,语文,,380,12.2884\n", to: dir + "/teachers.csv")
        let result = try TestSupport.validate([dir + "/teachers.csv"])
        let findings = TestSupport.ledger(result).filter { $0["column"] == "id_number" && $0["line"] == "2" }
        #expect(!findings.isEmpty)
        #expect(TestSupport.csvRecords(result.outputDirectory + "/rejected/teachers.csv").count == 1)
        #expect(TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv").count == 1)
    }

    @Test("ledger.csv has a BOM, masks ID numbers and defuses formulas; ledger.jsonl carries the same entries")
    func ledgerFormats() throws {
        let result = try TestSupport.validate([TestSupport.samples])
        let raw = try Data(contentsOf: URL(fileURLWithPath: result.outputDirectory + "/ledger.csv"))
        #expect(Array(raw.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let ledgerText = String(decoding: raw, as: UTF8.self)
        let jsonl = TestSupport.text(result.outputDirectory + "/ledger.jsonl")
        // No full 18-character ID number anywhere in the ledger or on the console.
        let idPattern = try Regex("[0-9]{17}[0-9Xx]")
        #expect(ledgerText.firstMatch(of: idPattern) == nil)
        #expect(jsonl.firstMatch(of: idPattern) == nil)
        // A formula in a cell does not reach Excel as a formula.
        let csvRows = TestSupport.csvRows(result.outputDirectory + "/ledger.csv")
        for row in csvRows { for cell in row { #expect(!CSVWriter.isFormulaLike(cell), "cell \(cell)") } }
        let cleanSchools = TestSupport.csvRecords(result.outputDirectory + "/clean/schools.csv")
        #expect(cleanSchools.contains { $0["school_name"]!.hasPrefix("'=HYPERLINK") })
        // JSON lines parse and match the CSV entry count.
        let objects = jsonl.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.count == csvRows.count - 1)
        #expect(objects.allSatisfy { $0["run_id"] as? String == "test-run" })
        #expect(objects.contains { ($0["line"] as? Int) == 5 && ($0["rule_id"] as? String) == "teachers.id_checksum" })
    }

    @Test("the same inputs give the same bytes, apart from run id and timings")
    func determinism() throws {
        let a = try TestSupport.validate([TestSupport.samples], runID: "same")
        let b = try TestSupport.validate([TestSupport.samples], runID: "same")
        for file in ["ledger.csv", "ledger.jsonl", "clean/schools.csv", "clean/teachers.csv", "clean/county_finance.csv",
                     "rejected/schools.csv", "rejected/teachers.csv"] {
            #expect(TestSupport.text(a.outputDirectory + "/" + file) == TestSupport.text(b.outputDirectory + "/" + file), "\(file)")
        }
        var sa = a.summary, sb = b.summary
        sa.timings = Timings(loadRulesSeconds: 0, uniqueKeysSeconds: 0, mainPassSeconds: 0, rulePacksSeconds: 0, totalSeconds: 0)
        sb.timings = sa.timings
        let summaryA = String(decoding: try sa.jsonData(), as: UTF8.self)
        let summaryB = String(decoding: try sb.jsonData(), as: UTF8.self)
        #expect(summaryA == summaryB)
        #expect(summaryA.contains("\"sha256\""))
    }

    @Test("the number of worker threads does not change a byte of any output")
    func threadsDoNotChangeOutput() throws {
        // Several batches of a generated roster with planted mistakes, and its schools.
        let dir = TestSupport.temporaryDirectory()
        let generator = RosterGenerator(rows: 5_000, seed: 7, schools: 40)
        generator.writeTeachers(to: dir + "/teachers.csv")
        generator.writeSchools(to: dir + "/schools.csv")
        let runs = try [1, 2, 5].map { threads in
            try TestSupport.validate([dir], runID: "same") { $0.threads = threads }
        }
        let files = ["ledger.csv", "ledger.jsonl", "evaluations.csv", "clean/schools.csv", "clean/teachers.csv", "rejected/schools.csv", "rejected/teachers.csv"]
        for file in files {
            let first = TestSupport.text(runs[0].outputDirectory + "/" + file)
            #expect(!first.isEmpty, "\(file)")
            for run in runs.dropFirst() {
                #expect(TestSupport.text(run.outputDirectory + "/" + file) == first, "\(file)")
            }
        }
        let teachers = runs[0].summary.tables["teachers"]!
        #expect(teachers.rowsRead == 5_000)
        #expect(teachers.rowsClean + teachers.rowsRejected == 5_000)
        #expect(teachers.rowsRejected > 300) // the planted mistakes are there to be found
        for run in runs.dropFirst() {
            #expect(run.summary.findings == runs[0].summary.findings)
            #expect(run.summary.tables["teachers"]!.rowsClean == teachers.rowsClean)
        }
    }

    @Test("a roster parsed in two parts at once gives every output of one parse, keys repeated across the parts included; a middle inside a quoted field reads on")
    func twoPartParse() throws {
        let (header, rows) = generatedRoster(rows: 3_000, seed: 11, schools: 30)
        // Keys repeated across the parts: an early row again near the end, and a late row again after it.
        var lines = [header] + rows[..<1_500] + [""] + rows[1_500...]
        let copyOfEarly = lines.count - 10 // rows[5], which is line 7
        lines.insert(rows[5], at: copyOfEarly)
        lines.append(rows[2_900])
        // One file with blank lines and CR LF line ends in its second half; the same rows with a
        // remark of many quoted lines across the middle, so that the first line end past it is quoted.
        func join(_ lines: [String]) -> String {
            lines.enumerated().map { $0.element + ($0.offset > 1_600 && $0.offset % 3 == 0 ? "\r\n" : "\n") }.joined()
        }
        var quoted = lines
        var fields = quoted[1_500].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[9] = "\"" + (1...5_000).map { "备注第\($0)行" }.joined(separator: "\n") + "\""
        quoted[1_500] = fields.joined(separator: ",")
        for (name, text, splits, extraLines) in [("plain", join(lines), true, 0), ("quoted", join(quoted), false, 4_999)] {
            func line(_ index: Int) -> String { String(index + 1 + (index > 1_500 ? extraLines : 0)) }
            let dir = TestSupport.temporaryDirectory()
            TestSupport.write(text, to: dir + "/teachers.csv")
            // Where the file is split, and whether that line end ends a record, as the pre-pass will find.
            var reader = try TableFileReader(path: dir + "/teachers.csv")
            let point = try #require(reader.splitPoint(minimumBytes: 1))
            let end = try reader.readFirstPart(of: 1_024, until: point, from: 1, keeping: { _ in true }) { _ in }
            #expect((end != nil) == splits, "\(name)")

            let two = try onePartAndTwo(dir, name)
            checkConservation(two)
            #expect(two.summary.tables["teachers"]!.rowsRead == 3_002)
            // The repeated keys are found at their lines, naming the first occurrence's line.
            let ledger = TestSupport.ledger(two).filter { $0["rule_id"] == "teachers.unique_teacher_id" }
            let early = ledger.filter { $0["line"] == line(copyOfEarly) }
            #expect(early.count == 1, "\(name)")
            #expect(early.first?["message_zh"]?.contains("第 7 行") == true, "\(name)")
            let late = ledger.filter { $0["line"] == line(lines.count - 1) }
            #expect(late.first?["message_zh"]?.contains("第 \(line(2_902)) 行") == true, "\(name)") // rows[2_900]
        }
    }

    @Test("several files of a table, each parsed in two parts, find the keys repeated across files and parts")
    func twoPartParseSeveralFiles() throws {
        let (header, rows) = generatedRoster(rows: 2_000, seed: 5, schools: 20)
        let dir = TestSupport.temporaryDirectory()
        // b.csv repeats rows from the second part of a.csv, and rows from its own second part.
        TestSupport.write(([header] + rows[..<1_000]).joined(separator: "\n") + "\n", to: dir + "/a.csv")
        TestSupport.write(([header] + rows[1_000...] + rows[800..<900] + rows[1_600..<1_700]).joined(separator: "\n") + "\n", to: dir + "/b.csv")
        let two = try onePartAndTwo(dir, "two files")
        let repeated = TestSupport.ledger(two).filter { $0["rule_id"] == "teachers.unique_teacher_id" }
        #expect(repeated.count == 200)
        #expect(repeated.filter { $0["message_zh"]?.contains("a.csv 第") == true }.count == 100)
        checkConservation(two)
    }

    @Test("duplicates are found across files of the same table")
    func duplicatesAcrossFiles() throws {
        let dir = TestSupport.temporaryDirectory()
        let header = "教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证\n"
        TestSupport.write(header + "T0000001,王芳,\(validID("19850101", male: false, serial: 1)),3150010001,女,1985-01-01,本科,是\n", to: dir + "/a.csv")
        TestSupport.write(header + "T0000002,李娜,\(validID("19860101", male: false, serial: 2)),3150010001,女,1986-01-01,本科,是\n"
                          + "t0000001,张伟,\(validID("19870101", male: true, serial: 3)),3150010001,男,1987-01-01,本科,是\n", to: dir + "/b.csv")
        let result = try TestSupport.validate([dir])
        checkConservation(result)
        let dup = TestSupport.ledger(result).filter { $0["rule_id"] == "teachers.unique_teacher_id" }
        #expect(dup.count == 1)
        #expect(dup.first?["source_file"]?.hasSuffix("b.csv") == true)
        #expect(dup.first?["line"] == "3")
        #expect(dup.first?["message_zh"]?.contains("a.csv 第 2 行") == true)
    }

    @Test("ID number, birth date, sex and age checks are declared in Rules/ and applied")
    func crossFieldChecks() throws {
        let dir = TestSupport.temporaryDirectory()
        let good = validID("19850315", male: true, serial: 1)
        var badDigit = good
        badDigit.removeLast()
        badDigit += good.hasSuffix("0") ? "1" : "0"
        let young = validID("20080101", male: false, serial: 4)
        TestSupport.write("""
            教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证
            T0000001,王强,\(good),3150010001,男,1985-03-15,本科,是
            T0000002,李强,\(badDigit),3150010001,男,1985-03-15,本科,是
            T0000003,赵强,\(good.replacingOccurrences(of: "01", with: "02")),3150010001,男,1985-03-15,本科,是
            T0000004,周敏,\(validID("19850315", male: true, serial: 5)),3150010001,女,1985-03-16,本科,是
            T0000005,吴敏,\(young),3150010001,女,2008-01-01,本科,是

            """, to: dir + "/t.csv")
        let result = try TestSupport.validate([dir + "/t.csv"])
        let rules = TestSupport.ledger(result).map { "\($0["line"]!):\($0["rule_id"]!)" }
        #expect(!rules.contains { $0.hasPrefix("2:") })
        #expect(rules.contains("3:teachers.id_checksum"))
        #expect(rules.contains("5:teachers.id_sex"))
        #expect(rules.contains("5:teachers.id_birth_date"))
        #expect(rules.contains("6:teachers.age_plausible"))
        checkConservation(result)
    }

    @Test("--as-of changes ages and so the verdict")
    func asOf() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write("教师编号,姓名,身份证号,学校标识码,性别,出生日期,最高学历,教师资格证\nT0000001,吴敏,\(validID("20061201", male: false)),3150010001,女,2006-12-01,本科,是\n", to: dir + "/t.csv")
        #expect(try TestSupport.validate([dir + "/t.csv"]).status == .dataErrors)
        #expect(try TestSupport.validate([dir + "/t.csv"]) { $0.asOf = "2025-09-30" }.status == .clean)
    }

    @Test("a file that matches no table is reported and the run says so")
    func unknownTable() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/quoted_fields_crlf.csv")])
        #expect(result.status == .unreadableInput)
        #expect(TestSupport.ledger(result).contains { $0["rule_id"] == "read.unknown_table" })
    }

    @Test("a run that fails leaves the previous outputs untouched")
    func failedRunKeepsPreviousOutputs() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        var options = ValidationOptions(inputs: [TestSupport.fixture("reading/encoding_utf8.csv")], rulesDirectory: TestSupport.rules, outputDirectory: out)
        options.runID = "first"
        _ = try ValidationRun(options: options).run()
        let before = TestSupport.text(out + "/ledger.csv")
        options.rulesDirectory = "/nonexistent"
        #expect(throws: RunError.self) { try ValidationRun(options: options).run() }
        #expect(TestSupport.text(out + "/ledger.csv") == before)
        let parent = (out as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["out"])
    }
}

@Suite("Finding duplicate keys in bounded memory")
struct DuplicateFinderTests {
    @Test("spilled runs find the same duplicates as a dictionary", arguments: [7, 64, 100_000])
    func matchesNaive(runCapacity: Int) throws {
        let dir = TestSupport.temporaryDirectory()
        let finder = DuplicateFinder(tempDirectory: dir, name: "t", runCapacity: runCapacity)
        var seen: [String: Int] = [:]
        var expected: [RowPosition: Int32] = [:]
        var generator = SystemRandomNumberGenerator()
        for i in 0..<2000 {
            let key = "K\(Int.random(in: 0..<1500, using: &generator))"
            let position = RowPosition(file: Int32(i / 700), record: Int32(i % 700))  // input order
            finder.add(key: key, position: position, line: i + 2)
            if let first = seen[key] { expected[position] = Int32(first + 2) } else { seen[key] = i }
        }
        let found = try finder.duplicates()
        #expect(found.count == expected.count)
        for (position, line) in expected {
            #expect(found[position]?.line == line)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("runs of thousands of keys, each written sorted a few thousand at a time, find what a dictionary finds",
          arguments: [600, 5_000])
    func largeRuns(runCapacity: Int) throws {
        let dir = TestSupport.temporaryDirectory()
        let finder = DuplicateFinder(tempDirectory: dir, name: "t", runCapacity: runCapacity)
        var seen: [String: Int] = [:]
        var expected: [RowPosition: Int32] = [:]
        var generator = SeededGenerator(seed: UInt64(runCapacity))
        for i in 0..<12_000 {
            let key = "K\(Int.random(in: 0..<9_000, using: &generator))"
            let position = RowPosition(file: Int32(i / 5_000), record: Int32(i % 5_000))
            finder.add(key: key, position: position, line: i % 5_000 + 2)
            if let first = seen[key] { expected[position] = Int32(first % 5_000 + 2) } else { seen[key] = i }
        }
        #expect(finder.runsOnDisk == 12_000 / runCapacity)
        let found = try finder.duplicates()
        #expect(found.count == expected.count)
        for (position, line) in expected { #expect(found[position]?.line == line, "record \(position.record)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("runs written to disk and keys left in memory, with a second part taken over, find what a dictionary finds",
          arguments: [(7, 300), (64, 28), (300, 6), (100_000, 0)])
    func inMemoryAndOnDisk(runCapacity: Int, runsWritten: Int) throws {
        let dir = TestSupport.temporaryDirectory()
        let finder = DuplicateFinder(tempDirectory: dir, name: "t", runCapacity: runCapacity)
        let second = DuplicateFinder(tempDirectory: dir, name: "t.part2", runCapacity: max(1, runCapacity / 2))
        var seen: [String: Int32] = [:]
        var expected: [RowPosition: Int32] = [:]
        var generator = SeededGenerator(seed: UInt64(runCapacity))
        // One file in two parts: 1,300 records (a line each, after a header line), the second
        // part numbered from its own start, as its reader numbers it.
        let firstPart = 700
        for record in 0..<1300 {
            let key = "K\(Int.random(in: 0..<900, using: &generator))"
            let line = Int32(record + 2)
            if let first = seen[key] { expected[RowPosition(file: 0, record: Int32(record))] = first } else { seen[key] = line }
            if record < firstPart {
                finder.add(key: key, position: RowPosition(file: 0, record: Int32(record)), line: Int(line))
            } else {
                second.add(key: key, position: RowPosition(file: 0, record: Int32(record - firstPart)), line: record - firstPart + 1)
            }
        }
        finder.absorb(second, offset: PartEnd(lines: firstPart + 1, records: firstPart))
        // Full runs on disk; the keys left in each part's buffer are merged from memory (with
        // runs of 300, six runs on disk and one in memory: the merge by a look at each head).
        #expect(finder.runsOnDisk == runsWritten)
        let found = try finder.duplicates()
        #expect(found.count == expected.count)
        for (position, line) in expected { #expect(found[position]?.line == line, "record \(position.record)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("keys taken over from many finders are kept in memory only up to a run's room, however few each holds")
    func absorbBound() throws {
        let dir = TestSupport.temporaryDirectory()
        let finder = DuplicateFinder(tempDirectory: dir, name: "t", runCapacity: 1024)
        var expected = 0
        // Forty files split in two, each second part with three keys, one of them repeated
        // from the first file.
        for file in 0..<40 {
            let part = DuplicateFinder(tempDirectory: dir, name: "t.file\(file).part2", runCapacity: 512)
            for k in 0..<3 {
                let key = k == 0 ? "K0" : "K\(file)-\(k)"
                part.add(key: key, position: RowPosition(file: Int32(file), record: Int32(k)), line: k + 2)
                if k == 0 && file > 0 { expected += 1 }
            }
            finder.absorb(part, offset: PartEnd(lines: 10, records: 8))
        }
        // Each part's buffer holds room for 512 keys: two of them fit a run's room of 1,024.
        #expect(finder.runsOnDisk == 38)
        let found = try finder.duplicates()
        #expect(found.count == expected)
        #expect(found[RowPosition(file: 39, record: 8)]?.line == 12)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("a run that cannot be written stays in memory: no key is lost")
    func unwritableRuns() throws {
        let finder = DuplicateFinder(tempDirectory: "/nonexistent/staging", name: "t", runCapacity: 16)
        for i in 0..<500 { finder.add(key: "K\(i % 100)", position: RowPosition(file: 0, record: Int32(i)), line: i + 2) }
        #expect(finder.runsOnDisk == 0)
        let found = try finder.duplicates()
        #expect(found.count == 400)
        #expect(found[RowPosition(file: 0, record: 499)]?.line == 101)
    }

    @Test("a run file gone or cut short before the merge is an error naming it, not repeats left unreported")
    func runFileLost() throws {
        for damage in ["removed", "cut short"] {
            let dir = TestSupport.temporaryDirectory()
            let finder = DuplicateFinder(tempDirectory: dir, name: "t", runCapacity: 100)
            for i in 0..<1000 { finder.add(key: "K\(i % 300)", position: RowPosition(file: 0, record: Int32(i)), line: i + 2) }
            #expect(finder.runsOnDisk == 10)
            let run = dir + "/t.run3"
            if damage == "removed" { unlink(run) } else { truncate(run, 32 * 40) }
            let error = #expect(throws: WriteError.self, "\(damage)") { _ = try finder.duplicates(sortingIn: dir) }
            #expect(error?.path == run, "\(damage)")
            // The other runs are deleted all the same, and no lookup file is left half made.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "\(damage)")
        }
    }

    @Test("repeats that cannot be written for the main pass are an error, not a file that says there are none")
    func sorterCannotWrite() throws {
        let sorter = DuplicateSorter(directory: "/nonexistent/staging", name: "t", runCapacity: 97)
        for r in 0..<300 { sorter.add(DuplicateEntry(file: Int32(r % 3), record: Int32(r), firstFile: 0, firstLine: 2)) }
        #expect(throws: WriteError.self) { _ = try sorter.finish() }
        // Fewer than a run, written only at the end: the same.
        let small = DuplicateSorter(directory: "/nonexistent/staging", name: "t")
        small.add(DuplicateEntry(file: 0, record: 5, firstFile: 0, firstLine: 2))
        #expect(throws: WriteError.self) { _ = try small.finish() }
        // Nothing to write, nothing to fail.
        #expect(try DuplicateSorter(directory: "/nonexistent/staging", name: "t").finish().isEmpty)
    }

    @Test("key fingerprints: the bytes' and the text's agree, and keys that differ in any byte, length or block differ")
    func fingerprints() {
        var keys: [String] = []
        // ID numbers in sequence (they differ in a byte or two), and prefixes of every length
        // around the 16-byte blocks, with and without a trailing zero byte.
        for i in 0..<200_000 { keys.append(String(format: "5001101991%07d%@", i, i % 11 == 0 ? "X" : String(i % 10))) }
        let long = "T500000000王伟500110199112130000ABCDEFGHIJKLMNOP"
        for length in 0...long.utf8.count { keys.append(String(decoding: long.utf8.prefix(length), as: UTF8.self)) }
        // Every byte counts: keys of each length up to 40 with one byte changed at each place.
        for length in 1...40 {
            for place in 0..<length {
                keys.append(String(repeating: "a", count: place) + "b" + String(repeating: "a", count: length - place - 1))
            }
        }
        keys += ["", "\u{0}", "\u{0}\u{0}", "a", "a\u{0}", String(repeating: "0", count: 16), String(repeating: "0", count: 17)]
        var owners: [UInt64: [(UInt64, String)]] = [:]
        for key in Set(keys) {
            let fromText = DuplicateFinder.fingerprint(key)
            let fromBytes = Array(key.utf8).withUnsafeBufferPointer { DuplicateFinder.fingerprint($0) }
            #expect(fromText == fromBytes)
            let other = owners[fromText.0, default: []].first { $0.0 == fromText.1 }
            #expect(other == nil, "\(key) and \(other?.1 ?? "") share a fingerprint")
            owners[fromText.0, default: []].append((fromText.1, key))
        }
        #expect(owners.values.reduce(0) { $0 + $1.count } == Set(keys).count)
    }

    @Test("the bucket sort orders entries as the comparison sort does, equal first hashes and crowded buckets included")
    func radixSort() {
        var generator = SystemRandomNumberGenerator()
        for (size, kind) in [(0, 0), (1, 0), (2, 0), (300, 0), (5000, 0), (5000, 1), (5000, 2), (40_000, 2)] {
            // Kind 0: few distinct first hashes, some sharing bytes, with different second hashes.
            // Kind 1: all random (buckets of two or three). Kind 2: the same top sixteen bits for
            // every entry, as keys made to collide would give (one bucket holding them all).
            let h1s: [UInt64] = [0, 1, 0xFF00, 0x1_0000_0000, .max, 0xDEAD_BEEF_0000_0001] + (0..<20).map { _ in UInt64.random(in: 0 ... .max, using: &generator) }
            var entries = (0..<size).map { i in
                let h1: UInt64
                switch kind {
                case 0: h1 = h1s.randomElement(using: &generator)!
                case 1: h1 = UInt64.random(in: 0 ... .max, using: &generator)
                default: h1 = 0xBEEF_0000_0000_0000 | UInt64.random(in: 0...0xFFFF_FFFF, using: &generator) % 3000
                }
                return DuplicateFinder.Entry(h1: h1, h2: UInt64.random(in: 0...3, using: &generator),
                                             file: Int32.random(in: 0...2, using: &generator), record: Int32(i), line: Int32(i + 2))
            }
            entries.shuffle(using: &generator)
            let expected = entries.sorted(by: <)
            // Sort space fresh, or left larger by an earlier, larger sort.
            var used = DuplicateFinder.SortSpace()
            var larger = (0..<(size + 700)).map { DuplicateFinder.Entry(h1: UInt64($0 % 7), h2: 0, file: 0, record: Int32($0), line: 0) }
            DuplicateFinder.sort(&larger, space: &used)
            for var space in [DuplicateFinder.SortSpace(), used] {
                var sorted = entries
                DuplicateFinder.sort(&sorted, space: &space)
                #expect(sorted.count == size)
                #expect(sorted.map { [$0.h1, $0.h2, UInt64($0.file), UInt64($0.record), UInt64($0.line)] }
                        == expected.map { [$0.h1, $0.h2, UInt64($0.file), UInt64($0.record), UInt64($0.line)] })
            }
        }
    }
}

@Suite("Excel workbooks")
struct WorkbookTests {
    @Test("an .xlsx from openpyxl: title row, Excel row numbers, date and number cells, empty row, first sheet only")
    func openpyxlWorkbook() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/teachers.xlsx")])
        #expect(result.summary.inputs.first?.encoding == "xlsx")
        #expect(result.summary.inputs.first?.sha256.count == 64)
        let t = result.summary.tables["teachers"]!
        #expect(t.rowsRead == 3 && t.titleRows == 1 && t.blankLines == 1)
        let clean = TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv")
        #expect(clean.count == 1)
        #expect(clean.first?["birth_date"] == "1986-04-12")      // a real Excel date cell
        #expect(clean.first?["school_code"] == "3150010001")     // a number cell
        #expect(clean.first?["annual_wage"] == "125000")         // 12.5 in a 万元 column
        #expect(clean.first?["source_line"] == "4")              // Excel's row number
        let ledger = TestSupport.ledger(result)
        #expect(ledger.contains { $0["rule_id"] == "teachers.certified.required" && $0["line"] == "6" })
        #expect(ledger.contains { $0["rule_id"] == "read.blank_row" && $0["line"] == "5" })
    }

    @Test("an .xlsx as Excel writes it: shared strings, rich text, booleans, formula results")
    func excelWorkbook() throws {
        // On 2018-09-30 the first teacher (born 1949) is still of working age: clean.
        let result = try TestSupport.validate([TestSupport.fixture("reading/teachers_shared_strings.xlsx")]) { $0.asOf = "2018-09-30" }
        let rejected = TestSupport.csvRecords(result.outputDirectory + "/rejected/teachers.csv")
        #expect(rejected.first?["teacher_id"] == "T0000002")     // a formula's cached result
        #expect(rejected.first?["name"] == "陳小明")              // rich text runs joined, phonetic guide left out
        #expect(rejected.first?["certified"] == "FALSE")
        #expect(rejected.first?["birth_date"] == "31514")
        #expect(TestSupport.ledger(result).contains { $0["rule_id"] == "teachers.id_sex" && $0["line"] == "4" })
        #expect(TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv").first?["certified"] == "true")
    }

    @Test("a file named .xlsx that is not a workbook is reported as unreadable")
    func notAWorkbook() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/not_really.xlsx")])
        #expect(result.status == .unreadableInput)
        #expect(TestSupport.ledger(result).first { $0["rule_id"] == "read.unreadable_file" }?["message_zh"]?.contains("xlsx") == true)
    }
}
