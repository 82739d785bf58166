import Foundation
import Testing

/// Each school's workbook from a county run, through the built binary on a copy of the sample
/// county, read back with openpyxl: every finding of the ledger in exactly one workbook, on the
/// cell of the row it is about; no school's rows in another's workbook; the index's counts the
/// ledger's; a second night's workbooks saying what is new and what was fixed.
@Suite("Each school's feedback workbook", .serialized)
struct FeedbackTests {
    static let dumper = TestSupport.fixture("feedback/dump_workbooks.py")

    struct Sheet {
        var name: String
        var cells: [String: String]
        var comments: [String: String]
        var fills: [String: String]
        var links: [String: String]
    }

    /// Every workbook in `directory` as openpyxl reads it, by file name.
    static func workbooks(_ directory: String) throws -> [String: (creator: String, description: String, sheets: [Sheet])] {
        let r = try TestSupport.run("/usr/bin/python3", [dumper, directory], timeout: 600)
        try #require(r.status == 0, "\(r.stderr)")
        let data = Data(r.stdout.utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        var out: [String: (creator: String, description: String, sheets: [Sheet])] = [:]
        for (file, book) in object {
            let sheets = (book["sheets"] as? [[String: Any]] ?? []).map { s in
                Sheet(name: s["name"] as? String ?? "", cells: s["cells"] as? [String: String] ?? [:], comments: s["comments"] as? [String: String] ?? [:],
                      fills: s["fills"] as? [String: String] ?? [:], links: s["links"] as? [String: String] ?? [:])
            }
            out[file] = (book["creator"] as? String ?? "", book["description"] as? String ?? "", sheets)
        }
        return out
    }

    /// A copy of the sample county, so that a second night can change it.
    static func county() throws -> String {
        let dir = TestSupport.temporaryDirectory() + "/exports"
        try FileManager.default.copyItem(atPath: TestSupport.samples, toPath: dir)
        for extra in ["README.md", "generate.py"] { try? FileManager.default.removeItem(atPath: dir + "/" + extra) }
        return dir
    }

    static func jsonLines(_ path: String) -> [[String: Any]] {
        TestSupport.text(path).split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The school each data row belongs to, from the run's own lineage (clean and rejected rows
    /// name their source file and line): a second way to the answer than the raw files the feedback reads.
    static func lineage(_ run: String) -> (rows: [String: String], schools: Set<String>, teachers: [String: Set<String>]) {
        var rows: [String: String] = [:]
        var teachers: [String: Set<String>] = [:]
        var schools: Set<String> = []
        for part in ["clean", "rejected"] {
            for table in ["schools", "teachers"] {
                for r in TestSupport.csvRecords(run + "/\(part)/\(table).csv") {
                    let code = (r["school_code"] ?? "").trimmingCharacters(in: .whitespaces)
                    rows[(r["source_file"] ?? "") + "#" + (r["source_line"] ?? "")] = code
                    if table == "schools", !code.isEmpty, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) { schools.insert(code) }
                    if table == "teachers" { teachers[code, default: []].insert(r["teacher_id"] ?? "") }
                }
            }
        }
        return (rows, schools, teachers)
    }

    @Test("every finding in exactly one workbook, on its row's cell; each school's rows only; the index counts the ledger's")
    func sampleCounty() throws {
        let exports = try Self.county()
        let base = TestSupport.temporaryDirectory()
        let run = base + "/runs/latest", feedback = base + "/feedback"
        let validated = try TestSupport.runBinary(["validate", exports, "--rules", TestSupport.rules, "--out", run, "--quiet", "--feedback", feedback])
        #expect(validated.status == 1, "\(validated.stderr)")
        #expect(validated.stdout.contains("各校反馈"))
        #expect(validated.stdout.contains("未匹配学校.xlsx"))
        let books = try Self.workbooks(feedback)
        let ledger = Self.jsonLines(run + "/ledger.jsonl")
        let (rowSchool, schools, teachers) = Self.lineage(run)

        // The school each finding is about: its row's, or the school its key names; else the county office's.
        func school(_ e: [String: Any]) -> String {
            if let line = e["line"] as? Int, let code = rowSchool[(e["source_file"] as? String ?? "") + "#\(line)"] {
                return schools.contains(code) ? code : ""
            }
            let key = e["record_key"] as? String ?? ""
            if e["line"] is NSNull, let range = key.range(of: "school_code=") {
                let code = String(key[range.upperBound...].prefix { $0.isNumber })
                if schools.contains(code) { return code }
            }
            return ""
        }
        /// The schools of the rows a finding is on, with how many of its rows each has: a finding
        /// recorded once for the same mistake on consecutive rows is told to each school of its rows.
        func parts(_ e: [String: Any]) -> [(String, Int)] {
            guard let line = e["line"] as? Int, let last = e["last_line"] as? Int, last > line else { return [(school(e), 1)] }
            var out: [(String, Int)] = []
            for l in line...last {
                var one = e
                one["line"] = l
                let code = school(one)
                if let end = out.last, end.0 == code { out[out.count - 1].1 += 1 } else { out.append((code, 1)) }
            }
            return out
        }
        var expected: [String: [[String: Any]]] = [:]
        var expectedRows: [String: (errors: Int, warnings: Int)] = [:]
        for e in ledger {
            for (code, n) in parts(e) {
                expected[code, default: []].append(e)
                if e["severity"] as? String == "error" { expectedRows[code, default: (0, 0)].errors += n } else { expectedRows[code, default: (0, 0)].warnings += n }
            }
        }
        // Every school with a finding has its workbook, named after it, marked as schoolstat's; the county office has its own.
        for code in expected.keys where !code.isEmpty {
            #expect(books.keys.contains { $0.hasPrefix(code + "-") && $0.hasSuffix(".xlsx") }, "no workbook for \(code)")
        }
        #expect(books.keys.contains("未匹配学校.xlsx"))
        #expect(books.count == expected.keys.count)
        for (file, book) in books {
            #expect(book.creator == "schoolstat" && book.description == "schoolstat feedback: school workbook")
            #expect(!file.contains { "/\\:*?\"<>|".contains($0) })
            #expect(book.sheets.first?.name == "问题清单")
        }

        // Every finding of the ledger listed once, in its school's workbook; each link goes to a
        // filled, commented cell of a row of that school, holding the value the ledger names.
        var listed = 0
        for (file, book) in books {
            let code = file == "未匹配学校.xlsx" ? "" : String(file.prefix { $0 != "-" })
            let list = book.sheets[0]
            let header = (0..<12).compactMap { list.cells["\(Self.letter($0))1"] }
            let ruleColumn = try #require(header.firstIndex(of: "规则编号"))
            let rules = list.cells.filter { $0.key.hasPrefix(Self.letter(ruleColumn)) && $0.key != "\(Self.letter(ruleColumn))1" && $0.value.contains(".") }
            let mine = expected[code] ?? []
            #expect(rules.count == mine.count, "\(file): \(rules.count) listed, \(mine.count) in the ledger")
            #expect(rules.values.sorted() == mine.map { $0["rule_id"] as? String ?? "" }.sorted(), "\(file)")
            listed += rules.count
            for (ref, target) in list.links {
                // 'Sheet'!D17
                let parts = target.split(separator: "!")
                let sheetName = String(parts[0]).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
                let cell = String(parts[1])
                let sheet = try #require(book.sheets.first { $0.name == sheetName }, "\(file) \(ref) → \(target)")
                let row = cell.drop { $0.isLetter }
                // A problem about a whole file links to the top of its sheet; the others to their cell.
                guard row != "1" else { continue }
                #expect(["FFFFC7CE", "FFFFEB9C"].contains(sheet.fills[cell] ?? ""), "\(file) \(target) is not filled")
                #expect(sheet.comments[cell]?.hasPrefix("【") == true, "\(file) \(target) has no comment")
                let value = list.cells["F" + ref.dropFirst()] ?? ""
                if !value.isEmpty, !value.contains("*"), cell.first?.isLetter == true, sheet.cells[cell] != nil {
                    #expect(sheet.cells[cell]!.contains(value.prefix(6)) || value.contains(sheet.cells[cell]!.prefix(6)), "\(file) \(target): \(sheet.cells[cell]!) vs \(value)")
                }
                // The row is this school's.
                if !code.isEmpty, let codeColumn = (0..<40).first(where: { ["学校标识码", "學校標識碼", "school_code"].contains(sheet.cells["\(Self.letter($0))1"] ?? "") }) {
                    #expect(Self.digits(sheet.cells["\(Self.letter(codeColumn))\(row)"] ?? "") == code, "\(file) \(target) is not on a row of \(code)")
                }
            }
        }
        #expect(listed == expected.values.map(\.count).reduce(0, +))
        #expect(listed >= ledger.count)

        // No school's rows in another school's workbook: every row's school code is the school's own,
        // every teacher one of its own.
        for (file, book) in books where file != "未匹配学校.xlsx" {
            let code = String(file.prefix { $0 != "-" })
            for sheet in book.sheets.dropFirst() {
                guard let codeColumn = (0..<40).first(where: { ["学校标识码", "學校標識碼", "school_code"].contains(sheet.cells["\(Self.letter($0))1"] ?? "") }) else {
                    Issue.record("\(file) [\(sheet.name)] has no school code column"); continue
                }
                let letter = Self.letter(codeColumn)
                let codes = sheet.cells.filter { $0.key.hasPrefix(letter) && $0.key.dropFirst(letter.count).allSatisfy(\.isNumber) && $0.key != letter + "1" }
                #expect(!codes.isEmpty)
                for (ref, value) in codes {
                    #expect(Self.digits(value) == code, "\(file) \(ref): \(value)")
                }
                if let idColumn = (0..<40).first(where: { ["教师编号", "教師編號", "teacher_id"].contains(sheet.cells["\(Self.letter($0))1"] ?? "") }) {
                    let l = Self.letter(idColumn)
                    for (ref, id) in sheet.cells where ref.hasPrefix(l) && ref.dropFirst(l.count).allSatisfy(\.isNumber) && ref != l + "1" {
                        let folded = String(id.unicodeScalars.map { $0.value >= 0xFF10 && $0.value <= 0xFF5A ? Character(Unicode.Scalar($0.value - 0xFEE0)!) : Character($0) })
                        #expect(teachers[code]?.contains(folded.trimmingCharacters(in: .whitespaces)) == true, "\(file) \(ref): teacher \(id) is not of \(code)")
                    }
                }
            }
            // ID numbers in the problem list and comments are masked.
            let texts = book.sheets[0].cells.values + book.sheets.flatMap(\.comments.values)
            #expect(!texts.contains { $0.range(of: "[0-9]{17}[0-9Xx]", options: .regularExpression) != nil }, "\(file)")
        }

        // The index: one line per workbook, by errors, counts as the ledger's.
        let index = TestSupport.csvRecords(feedback + "/index.csv")
        #expect(index.count == books.count)
        let errors = index.map { Int($0["错误"] ?? "") ?? -1 }
        #expect(Array(errors.dropLast()) == errors.dropLast().sorted(by: >))
        for line in index {
            let code = line["学校标识码"] ?? ""
            let mine = expected[code] ?? []
            #expect(Int(line["错误"] ?? "") == expectedRows[code]?.errors, "\(code)")
            #expect(Int(line["警告"] ?? "") == expectedRows[code]?.warnings, "\(code)")
            #expect(Int(line["新增"] ?? "") == mine.count, "first night: everything is new")
            #expect(FileManager.default.fileExists(atPath: feedback + "/" + (line["文件"] ?? "")))
        }
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/summary.json"))) as? [String: Any])
        let totals = try #require(summary["totals"] as? [String: Int])
        #expect(index.map { Int($0["错误"] ?? "") ?? 0 }.reduce(0, +) == totals["errors"])
        #expect(index.map { Int($0["警告"] ?? "") ?? 0 }.reduce(0, +) == totals["warnings"])
        let html = TestSupport.text(feedback + "/index.html")
        #expect(html.contains("<table") && html.contains("未匹配学校.xlsx"))

        // The second night: one school corrects its year built, another makes a new mistake.
        let schoolsFile = exports + "/schools.csv"
        var lines = TestSupport.text(schoolsFile).components(separatedBy: "\r\n")
        #expect(lines[17].hasPrefix("3150010556,") && lines[17].hasSuffix(",2031"))
        lines[17] = String(lines[17].dropLast(4)) + "2011"
        #expect(lines[2].hasPrefix("3150010001,万盛小学,500110,小学,"))
        lines[2] = lines[2].replacingOccurrences(of: ",小学,", with: ",村小,")
        TestSupport.write(lines.joined(separator: "\r\n"), to: schoolsFile)
        let second = try TestSupport.runBinary(["validate", exports, "--rules", TestSupport.rules, "--out", run, "--quiet", "--feedback", feedback])
        #expect(second.status == 1, "\(second.stderr)")
        let night2 = try Self.workbooks(feedback)
        let index2 = TestSupport.csvRecords(feedback + "/index.csv")
        // The index's new and fixed per school are the run history's (changes.csv).
        let changes = TestSupport.csvRecords(run + "/changes.csv")
        for line in index2 where !(line["学校标识码"] ?? "").isEmpty {
            let code = line["学校标识码"]!
            #expect(Int(line["新增"] ?? "") == changes.filter { $0["change"] == "new" && $0["school_code"] == code }.count, "\(code)")
            #expect(Int(line["已改正"] ?? "") == changes.filter { $0["change"] == "fixed" && $0["school_code"] == code }.count, "\(code)")
        }
        #expect(index2.first { $0["学校标识码"] == "3150010001" }.map { Int($0["新增"] ?? "") ?? 0 } ?? 0 >= 1)
        /// The problem list's row holding `text` in a column headed `column`: that row's text under `other`.
        func cell(_ list: Sheet, row holding: String, under other: String) -> String? {
            guard let ref = list.cells.first(where: { $0.value == holding })?.key,
                  let column = (0..<12).first(where: { list.cells["\(Self.letter($0))1"] == other }) else { return nil }
            return list.cells["\(Self.letter(column))\(ref.drop { $0.isLetter })"]
        }
        // 新田中学 corrected its year built: listed as fixed, under the problems.
        let xinTian = try #require(night2.first { $0.key.hasPrefix("3150010556-") }?.value.sheets[0])
        #expect(xinTian.cells.values.contains { $0.hasPrefix("与上次运行相比，已改正") })
        #expect(cell(xinTian, row: "schools.year_built.range", under: "级别") == "已改正")
        // 万盛小学's new mistake is new; 青年小学's uncorrected one is open for the second night.
        let wanSheng = try #require(night2.first { $0.key.hasPrefix("3150010001-") }?.value.sheets[0])
        #expect(cell(wanSheng, row: "schools.school_type.enum", under: "与上次运行相比") == "新增")
        let qingNian = try #require(night2.first { $0.key.hasPrefix("3150010038-") }?.value.sheets[0])
        #expect(cell(qingNian, row: "schools.primary_has_no_junior", under: "与上次运行相比") == "已连续 2 次")
    }

    @Test("the feedback directory: only ever one schoolstat wrote; inputs changed since the run are refused with nothing written")
    func safety() throws {
        let exports = try Self.county()
        let base = TestSupport.temporaryDirectory()
        let run = base + "/run"
        let validated = try TestSupport.runBinary(["validate", exports, "--rules", TestSupport.rules, "--out", run, "--quiet", "--no-history"])
        #expect(validated.status == 1)

        // Someone else's directory is left alone.
        let foreign = base + "/mine"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        TestSupport.write("keep", to: foreign + "/notes.txt")
        let refused = try TestSupport.runBinary(["feedback", run, "--rules", TestSupport.rules, "--out", foreign])
        #expect(refused.status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign) == ["notes.txt"])
        // Nor is the run itself, nor what is not a run.
        #expect(try TestSupport.runBinary(["feedback", run, "--rules", TestSupport.rules, "--out", run]).status == 2)
        #expect(try TestSupport.runBinary(["feedback", foreign, "--rules", TestSupport.rules, "--out", base + "/f"]).status == 2)

        // Its own directory is replaced; without a history there is no column for it.
        let feedback = base + "/feedback"
        #expect(try TestSupport.runBinary(["feedback", run, "--rules", TestSupport.rules, "--out", feedback]).status == 0)
        #expect(try TestSupport.runBinary(["feedback", run, "--rules", TestSupport.rules, "--out", feedback]).status == 0)
        let books = try Self.workbooks(feedback)
        #expect(!books.isEmpty)
        #expect(!books.values.contains { $0.sheets[0].cells.values.contains("与上次运行相比") })
        let entries = Set(try FileManager.default.contentsOfDirectory(atPath: feedback))
        #expect(entries.contains(".schoolstat-run") && entries.contains("index.html"))
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: base)).contains { $0.contains("partial") })

        // The run's own ledger damaged: refused saying which file, nothing written.
        let damaged = base + "/damaged"
        try FileManager.default.copyItem(atPath: run, toPath: damaged)
        let ledger = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged + "/ledger.jsonl"))
        try ledger.seekToEnd()
        try ledger.write(contentsOf: Data("not a JSON object\n".utf8))
        try ledger.close()
        let broken = try TestSupport.runBinary(["feedback", damaged, "--rules", TestSupport.rules, "--out", base + "/from-damaged"])
        #expect(broken.status == 3)
        #expect(broken.stderr.contains("ledger.jsonl") && broken.stderr.contains("请重新运行 validate"))
        #expect(!FileManager.default.fileExists(atPath: base + "/from-damaged"))
        // A raw input changed after the run: refused by name, the previous feedback untouched.
        let before = try FileManager.default.contentsOfDirectory(atPath: feedback).sorted()
        let teachers = exports + "/teachers.csv"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: teachers))
        bytes.append(contentsOf: Array("\r\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: teachers))
        let changed = try TestSupport.runBinary(["feedback", run, "--rules", TestSupport.rules, "--out", feedback])
        #expect(changed.status == 3)
        #expect(changed.stderr.contains("teachers.csv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: feedback).sorted() == before)
        // And one gone.
        try FileManager.default.removeItem(atPath: teachers)
        let gone = try TestSupport.runBinary(["feedback", run, "--rules", TestSupport.rules, "--out", base + "/elsewhere"])
        #expect(gone.status == 3)
        #expect(!FileManager.default.fileExists(atPath: base + "/elsewhere"))
    }

    @Test("a county workbook of several sheets, and the same as .xls: each school's rows of each sheet under the clerk's sheet name")
    func countyWorkbooks() throws {
        for name in ["county.xlsx", "county.xls"] {
            let base = TestSupport.temporaryDirectory()
            let run = try TestSupport.runBinary(["validate", TestSupport.fixture("county/" + name), "--rules", TestSupport.rules, "--out", base + "/run",
                                                 "--quiet", "--no-history", "--feedback", base + "/fb"])
            #expect(run.status == 1, "\(run.stderr)")
            let books = try Self.workbooks(base + "/fb")
            let ledger = Self.jsonLines(base + "/run/ledger.jsonl")
            let listed = books.values.map { $0.sheets[0].cells.filter { $0.key.hasPrefix("H") && $0.key != "H1" && $0.value.contains(".") }.count }.reduce(0, +)
            #expect(listed >= ledger.count && listed > 100, "\(name)")
            let wanSheng = try #require(books.first { $0.key.hasPrefix("3150010001-") }?.value, "\(name)")
            #expect(wanSheng.sheets.map(\.name) == ["问题清单", "学校基本情况", "教师名册"], "\(name)")
            #expect(wanSheng.sheets[2].comments.count > 0, "\(name)")
        }
    }

    @Test("file names are safe on Windows and in zip archives, and unique")
    func fileNames() throws {
        let exports = TestSupport.temporaryDirectory()
        // Two schools of one name, one with characters Windows refuses, and their teachers with mistakes.
        TestSupport.write("""
        学校标识码,学校名称,行政区划代码,学校类型,城乡分类,在校生数,小学在校生数,初中在校生数,班级数,专任教师数,建校年份
        3150010001,同名小学,500110,小学,镇区,300,300,,10,20,1990
        3150010002,同名小学,500110,小学,镇区,300,300,,10,20,2031
        3150010003,"a/b:c*d?e""f<g>h|i\\j.",500110,小学,镇区,300,300,,10,20,2031

        """, to: exports + "/schools.csv")
        let run = TestSupport.temporaryDirectory() + "/run", feedback = TestSupport.temporaryDirectory() + "/fb"
        _ = try TestSupport.runBinary(["validate", exports, "--rules", TestSupport.rules, "--out", run, "--quiet", "--no-history"])
        let made = try TestSupport.runBinary(["feedback", run, "--rules", TestSupport.rules, "--out", feedback])
        #expect(made.status == 0, "\(made.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: feedback).filter { $0.hasSuffix(".xlsx") }
        #expect(files.contains("3150010002-同名小学.xlsx"))
        #expect(files.contains("3150010003-a_b_c_d_e_f_g_h_i_j.xlsx"))
        #expect(Set(files.map { $0.lowercased() }).count == files.count)
        // The year built of 2031 on two consecutive rows is one ledger entry for two schools: each is told of its own row.
        let ledger = Self.jsonLines(run + "/ledger.jsonl").filter { $0["rule_id"] as? String == "schools.year_built.range" }
        #expect(ledger.count == 1 && ledger.first?["last_line"] as? Int == 4)
        let books = try Self.workbooks(feedback)
        for file in ["3150010002-同名小学.xlsx", "3150010003-a_b_c_d_e_f_g_h_i_j.xlsx"] {
            let book = try #require(books[file])
            #expect(book.sheets[0].cells.values.filter { $0 == "schools.year_built.range" }.count == 1, "\(file)")
            #expect(book.sheets[1].cells.values.contains("2031") && book.sheets[1].comments.count == 1, "\(file)")
            #expect(book.sheets[1].cells["A3"] == nil, "\(file): one school's row only")
        }
        let index = TestSupport.csvRecords(feedback + "/index.csv")
        #expect(index.map { Int($0["错误"] ?? "") ?? 0 }.reduce(0, +) == 2)
    }

    /// The digits of a code as written, full-width ones folded.
    static func digits(_ text: String) -> String {
        String(text.unicodeScalars.compactMap { s -> Character? in
            if s.value >= 0x30 && s.value <= 0x39 { return Character(s) }
            if s.value >= 0xFF10 && s.value <= 0xFF19 { return Character(Unicode.Scalar(s.value - 0xFF10 + 0x30)!) }
            return nil
        })
    }

    static func letter(_ index: Int) -> String {
        var n = index + 1, s = ""
        while n > 0 { s = String(UnicodeScalar(UInt8(65 + (n - 1) % 26))) + s; n = (n - 1) / 26 }
        return s
    }
}
