import Foundation
import Testing
import ZIPFoundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatCheck

/// `schoolstat check`: a clerk's roster (GB18030, CRLF, a value holding a line break, planted
/// mistakes; Fixtures/check/make_check_fixtures.py) placed as Excel shows it, and the annotated workbook.
@Suite("The clerk's check")
struct CheckTests {
    static let roster = TestSupport.fixture("check/roster_gbk.csv")
    static let fixed = TestSupport.fixture("check/roster_fixed_gbk.csv")
    static let schools = TestSupport.samples + "/schools.csv"

    func check(_ files: [String], schools: String? = nil, annotate: String? = nil) throws -> CheckReport {
        var options = CheckOptions(files: files, rulesDirectory: TestSupport.rules)
        options.schools = schools
        options.workDirectory = TestSupport.temporaryDirectory()
        return try ClerkCheck.run(options, annotate: annotate)
    }

    /// The cells of the first worksheet named `sheet` in a workbook, read from its XML by hand:
    /// shared strings resolved, with each cell's style index, and the comments' cells and texts.
    static func sheetContents(_ path: String, sheet: Int) throws -> (cells: [String: (text: String, style: Int)], comments: [String: String]) {
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        func part(_ name: String) throws -> String {
            guard let entry = archive[name] else { return "" }
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            return String(decoding: data, as: UTF8.self)
        }
        func unescape(_ s: String) -> String {
            s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        }
        let strings = try part("xl/sharedStrings.xml").components(separatedBy: "<si>").dropFirst().map { si -> String in
            si.components(separatedBy: "<t").dropFirst().map { t in
                unescape(String(t[t.index(after: t.firstIndex(of: ">")!)...].prefix { $0 != "<" }))
            }.joined()
        }
        var cells: [String: (String, Int)] = [:]
        for c in try part("xl/worksheets/sheet\(sheet).xml").components(separatedBy: "<c r=\"").dropFirst() {
            let ref = String(c.prefix { $0 != "\"" })
            let style = c.range(of: " s=\"").map { Int(c[$0.upperBound...].prefix { $0 != "\"" }) ?? 0 } ?? 0
            let value = c.range(of: "<v>").map { String(c[$0.upperBound...].prefix { $0 != "<" }) }
            // Text in the cell itself (a workbook written row by row), or an index into the shared strings.
            let inline = c.range(of: "<is>").map { start -> String in
                let body = c[start.upperBound...]
                return body.components(separatedBy: "</is>")[0].components(separatedBy: "<t").dropFirst().map { t in
                    unescape(String(t[t.index(after: t.firstIndex(of: ">")!)...].prefix { $0 != "<" }))
                }.joined()
            }
            cells[ref] = (inline ?? value.flatMap { Int($0) }.map { strings[$0] } ?? "", style)
        }
        var comments: [String: String] = [:]
        // The sheet's comments part, as its relations name it.
        let relations = try part("xl/worksheets/_rels/sheet\(sheet).xml.rels")
        let commentsPart = relations.components(separatedBy: "Target=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
            .first { $0.contains("comments") }.map { "xl/" + $0.replacingOccurrences(of: "../", with: "") } ?? ""
        for c in try part(commentsPart).components(separatedBy: "<comment ref=\"").dropFirst() {
            let ref = String(c.prefix { $0 != "\"" })
            comments[ref] = c.components(separatedBy: "<t").dropFirst().map { t in
                unescape(String(t[t.index(after: t.firstIndex(of: ">")!)...].prefix { $0 != "<" }))
            }.joined()
        }
        return (cells, comments)
    }

    @Test("a file that cannot be read is named by the clerk's name for it, even where its path holds a run of digits like an ID number")
    func unreadableFileNamedAsShown() throws {
        // The page's upload directories are named at random; this one looks like an ID number with separators.
        let dir = TestSupport.temporaryDirectory() + "/upload-A1272501-2345-4179-AD48"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let upload = dir + "/upload.xlsx"
        try Data("not a workbook at all".utf8).write(to: URL(fileURLWithPath: upload))
        #expect(IDNumber.scrub(upload) != upload)
        var options = CheckOptions(files: [upload], rulesDirectory: TestSupport.rules)
        options.displayNames = ["名册.xlsx"]
        options.workDirectory = TestSupport.temporaryDirectory()
        let report = try ClerkCheck.run(options, annotate: nil)
        let problem = try #require(report.problems.first)
        #expect(problem.file == "名册.xlsx")
        for message in [problem.messageZh, problem.messageEn] {
            #expect(message.contains("名册.xlsx"), "\(message)")
            #expect(!message.contains("upload"), "\(message)")
        }
    }

    @Test("problems are placed at Excel's rows and column letters, past a value holding a line break")
    func placesAsExcel() throws {
        let report = try check([Self.roster])
        #expect(report.status == 1)
        let places = report.problems.map { "\($0.placeZh) \($0.rule)" }
        // The sixth teacher is on physical line 8 but Excel's row 7: the third teacher's subject holds a line break.
        #expect(places.contains("第 7 行 F 列（F7） teachers.birth_date.type"))
        #expect(places.contains("第 9 行 H 列（H9） teachers.degree.enum"))
        let duplicate = try #require(report.problems.first { $0.rule == "teachers.unique_teacher_id" })
        #expect(duplicate.cell == "A11")
        // The message names Excel's row of the first occurrence too, not the file's line 11.
        #expect(duplicate.messageZh.contains("与第 10 行相同"))
        #expect(duplicate.heading == "教师编号")
        #expect(report.files.map(\.rowsRead) == [12])
        #expect(report.files[0].table == "teachers" && report.files[0].encoding == "gb18030")
        // Without the county's schools table nothing about other tables or the county is shown.
        #expect(report.problems.allSatisfy { $0.file == Self.roster })
    }

    @Test("with the county's schools table, an unknown school code is placed at its row; other schools are not shown")
    func schoolsTable() throws {
        let report = try check([Self.roster], schools: Self.schools)
        let unknown = try #require(report.problems.first { $0.rule == "consistency.teacher_school_exists" })
        #expect(unknown.cell == "D13")
        #expect(unknown.messageZh.contains("3150019999"))
        // A teacher in the senior section of a primary school (the fourth; the roster's school is 小学 in the
        // county's table): a verdict on the school's record, shown to the clerk as such.
        let section = try #require(report.problems.first { $0.rule == "consistency.teacher_section_offered" })
        #expect(section.messageZh.contains("高中 1 人") && section.messageZh.contains("“小学”"))
        #expect(section.placeZh == "本校在学校表中的记录")
        let county = report.problems.filter { $0.file != Self.roster }
        #expect(!county.isEmpty)
        #expect(county.allSatisfy { $0.recordKey.contains("3150010001") && $0.file == "schools.csv" })
        // The county's own rows with mistakes (Samples/schools.csv has several) are not the clerk's to fix.
        #expect(!report.problems.contains { $0.rule.hasPrefix("schools.") })
        let corrected = try check([Self.fixed], schools: Self.schools)
        #expect(corrected.errors == 0)
        #expect(corrected.status == 0)
    }

    @Test("the annotated workbook: the problem list first, then the clerk's rows as written, exactly the problem cells filled and commented")
    func annotatedWorkbook() throws {
        let out = TestSupport.temporaryDirectory() + "/annotated.xlsx"
        let report = try check([Self.roster], annotate: out)
        let list = try Self.sheetContents(out, sheet: 1)
        #expect(list.cells["A1"]?.text == "序号")
        #expect(list.cells["C2"]?.text == report.problems[0].placeZh)
        let data = try Self.sheetContents(out, sheet: 2)
        // The clerk's spelling kept: full ID numbers, the header as written, the line break inside the value.
        #expect(data.cells["M1"]?.text == "年工资收入（万元）")
        #expect(data.cells["J4"]?.text == "语文\n数学")
        #expect(data.cells["C2"]?.text.count == 18)
        let problemCells = Set(report.problems.map(\.cell).filter { !$0.isEmpty })
        #expect(Set(data.comments.keys) == problemCells)
        #expect(data.comments["F7"]?.contains("不是有效日期") == true)
        let plain = try #require(data.cells["B2"]).style
        let styled = Set(data.cells.filter { ref, cell in (Int(ref.drop { $0.isLetter }) ?? 0) > 1 && cell.style != plain }.map(\.key))
        #expect(styled == problemCells)

        // Read back as input, the workbook gives the same problems: the clerk may correct it and check it again.
        let again = try check([out])
        #expect(again.problems.map(\.rule).sorted() == report.problems.map(\.rule).sorted())
        #expect(again.problems.map(\.cell).sorted() == report.problems.map(\.cell).sorted())
    }

    @Test("--annotate replaces its own workbook but never a file schoolstat did not write, nor an input")
    func annotateSafety() throws {
        let dir = TestSupport.temporaryDirectory()
        let foreign = dir + "/mine.xlsx"
        try FileManager.default.copyItem(atPath: TestSupport.fixture("reading/teachers.xlsx"), toPath: foreign)
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        #expect(throws: CheckError.self) { try check([Self.roster], annotate: foreign) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before)
        #expect(throws: CheckError.self) { try check([foreign], annotate: foreign) }

        let ours = dir + "/ours.xlsx"
        _ = try check([Self.roster], annotate: ours)
        _ = try check([Self.fixed], annotate: ours)
        #expect(try Self.sheetContents(ours, sheet: 2).comments.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["mine.xlsx", "ours.xlsx"])
    }

    @Test("the command line: listing, exit codes and JSON")
    func commandLine() throws {
        let out = TestSupport.temporaryDirectory() + "/a.xlsx"
        let bad = try TestSupport.runBinary(["check", Self.roster, "--rules", TestSupport.rules, "--annotate", out])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("第 7 行 F 列（F7）"))
        #expect(bad.stdout.contains("已写出标注工作簿"))
        #expect(FileManager.default.fileExists(atPath: out))
        let good = try TestSupport.runBinary(["check", Self.fixed, "--rules", TestSupport.rules, "--format", "json"])
        #expect(good.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(good.stdout.utf8)) as? [String: Any]
        #expect(json?["errors"] as? Int == 0)
        // As for validate: a path that is not there is a bad argument (2), a file that cannot be read is 3.
        let nowhere = TestSupport.temporaryDirectory() + "/nope.csv"
        let missing = try TestSupport.runBinary(["check", nowhere, "--rules", TestSupport.rules])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains(nowhere))
        let damaged = try TestSupport.runBinary(["check", TestSupport.fixture("reading/not_really.xlsx"), "--rules", TestSupport.rules])
        #expect(damaged.status == 3)
        #expect(damaged.stdout.contains("not_really.xlsx 整个文件"))
        let wrongName = try TestSupport.runBinary(["check", Self.roster, "--annotate", out + ".csv"])
        #expect(wrongName.status == 2)
        // The page listens beyond this computer only when asked to, explicitly.
        let remote = try TestSupport.runBinary(["serve", "--host", "0.0.0.0", "--rules", TestSupport.rules], timeout: 20)
        #expect(remote.status == 2)
        #expect(remote.stderr.contains("--allow-remote"))
    }
}
