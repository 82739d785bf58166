import Foundation
import Testing
import ZIPFoundation
import SchoolStatModel
import SchoolStatPipeline
import SchoolStatCheck

/// Every sheet of every workbook: a county template's notes first, a schools sheet, a roster, a
/// hidden second roster, a chart and an empty sheet (Fixtures/sheets/make_sheets.py). Each table
/// sheet is read as its table and adds up; every other sheet is named with the reason; nothing
/// vanishes without a word.
@Suite("Every sheet of a workbook")
struct SheetTests {
    static let county = TestSupport.fixture("sheets/county.xlsx")
    static let reordered = TestSupport.fixture("sheets/reordered.xlsx")
    static let notes = TestSupport.fixture("sheets/notes.xlsx")

    @Test("each table sheet is read as its table, several sheets of one table add up, and every input row is accounted for")
    func everySheetRead() throws {
        let result = try TestSupport.validate([Self.county])
        let teachers = try #require(result.summary.tables["teachers"])
        // 12 rows on 教师名册 and 3 on the hidden 补充名册.
        #expect(teachers.rowsRead == 15)
        #expect(teachers.rowsClean + teachers.rowsRejected == 15)
        #expect(teachers.files == [Self.county + " [教师名册]", Self.county + " [补充名册]"])
        #expect(result.summary.tables["schools"]?.rowsRead == 30)
        #expect(result.summary.inputs.map(\.path).contains(Self.county + " [学校基本情况]"))
        // The clean and rejected rows' lineage names the sheet they came from.
        let clean = TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv")
        #expect(Set(clean.compactMap { $0["source_file"] }) == [Self.county + " [教师名册]"])
        let rejected = TestSupport.csvRows(result.outputDirectory + "/rejected/teachers.csv")
        #expect(rejected.dropFirst().filter { $0.contains(Self.county + " [补充名册]") }.count == 3)
    }

    @Test("a sheet that is not a table, a chart, an empty sheet are each named once with the reason; a hidden table is read and said to be hidden")
    func skippedSheetsNamed() throws {
        let result = try TestSupport.validate([Self.county])
        let ledger = TestSupport.ledger(result)
        let skipped = ledger.filter { $0["rule_id"] == "read.sheet_skipped" }
        #expect(Set(skipped.map { $0["sheet"]! }) == ["填表说明", "图表", "空白"])
        #expect(skipped.count == 3)
        #expect(skipped.allSatisfy { $0["severity"] == "warning" && $0["source_file"] == Self.county })
        #expect(skipped.first { $0["sheet"] == "图表" }?["message_zh"]?.contains("是图表") == true)
        #expect(skipped.first { $0["sheet"] == "空白" }?["message_zh"]?.contains("是空的") == true)
        #expect(skipped.first { $0["sheet"] == "填表说明" }?["message_zh"]?.contains("不是数据表") == true)
        let hidden = try #require(ledger.first { $0["rule_id"] == "read.hidden_sheet" })
        #expect(hidden["sheet"] == "补充名册" && hidden["message_zh"]?.contains("隐藏") == true)
        // Findings in a sheet name it in their own column; the file is the file.
        let date = try #require(ledger.first { $0["rule_id"] == "teachers.birth_date.type" && $0["sheet"] == "教师名册" })
        #expect(date["source_file"] == Self.county && date["line"] == "7")
        #expect(ledger.contains { $0["rule_id"] == "teachers.birth_date.type" && $0["sheet"] == "补充名册" && $0["line"] == "4" })
        // Warnings only: not an unreadable input.
        #expect(result.status == .dataErrors)
        #expect(result.summary.findings["read.sheet_skipped"]?["warning"] == 3)
        // The console names the sheet with the file.
        let run = try TestSupport.runBinary(["validate", Self.county, "--rules", TestSupport.rules, "--out", TestSupport.temporaryDirectory() + "/out", "--no-history"])
        #expect(run.stdout.contains("county.xlsx [教师名册]  →  teachers"))
        #expect(run.stderr.contains("county.xlsx [图表]: 警告 [read.sheet_skipped]"))
        #expect(run.stderr.contains("county.xlsx [教师名册]:7: 错误 [teachers.birth_date.type]"))
    }

    @Test("a workbook with no table at all is an unreadable input naming its sheets")
    func noTable() throws {
        let result = try TestSupport.validate([Self.notes, TestSupport.fixture("check/roster_gbk.csv")])
        #expect(result.status == .unreadableInput)
        let unknown = try #require(TestSupport.ledger(result).first { $0["rule_id"] == "read.unknown_table" })
        #expect(unknown["message_zh"]?.contains("「填表说明」、「选项」") == true)
        #expect(result.summary.tables["teachers"]?.rowsRead == 12)
    }

    @Test("--sheet reads the sheets named only, says so of the others, and refuses a name no workbook has")
    func chosenSheet() throws {
        let out = TestSupport.temporaryDirectory() + "/out"
        let run = try TestSupport.runBinary(["validate", Self.county, "--sheet", "教师名册", "--rules", TestSupport.rules, "--out", out, "--no-history"])
        #expect(run.status == 1)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let tables = try #require(summary["tables"] as? [String: [String: Any]])
        #expect(tables.keys.sorted() == ["teachers"])
        #expect(tables["teachers"]?["rows_read"] as? Int == 12)
        #expect(run.stderr.contains("没有用 --sheet 选中"))
        let wrong = try TestSupport.runBinary(["validate", Self.county, "--sheet", "名册", "--rules", TestSupport.rules, "--out", out + "2", "--no-history"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("“名册”"))
    }

    @Test("moving a sheet changes nothing in what the history calls new or fixed")
    func movedSheet() throws {
        let dir = TestSupport.temporaryDirectory()
        let workbook = dir + "/county.xlsx", db = dir + "/history.sqlite"
        try FileManager.default.copyItem(atPath: Self.county, toPath: workbook)
        let first = try TestSupport.runBinary(["validate", workbook, "--rules", TestSupport.rules, "--out", dir + "/out1", "--history", db, "--quiet"])
        #expect(first.status == 1)
        try FileManager.default.removeItem(atPath: workbook)
        try FileManager.default.copyItem(atPath: Self.reordered, toPath: workbook)
        let second = try TestSupport.runBinary(["validate", workbook, "--rules", TestSupport.rules, "--out", dir + "/out2", "--history", db, "--quiet"])
        #expect(second.status == 1)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out2/summary.json"))) as? [String: Any])
        let changes = try #require(summary["changes"] as? [String: Any])
        let totals = try #require(changes["totals"] as? [String: Any])
        #expect(totals["new"] as? Int == 0)
        #expect(totals["fixed"] as? Int == 0)
    }

    @Test("the clerk's check places problems on their sheet, and the annotated workbook marks them on the right one")
    func checkBySheet() throws {
        let annotated = TestSupport.temporaryDirectory() + "/a.xlsx"
        var options = CheckOptions(files: [Self.county], rulesDirectory: TestSupport.rules)
        options.workDirectory = TestSupport.temporaryDirectory()
        let report = try ClerkCheck.run(options, annotate: annotated)
        let date = try #require(report.problems.first { $0.rule == "teachers.birth_date.type" && $0.sheet == "教师名册" })
        #expect(date.placeZh == "「教师名册」工作表第 7 行 F 列（F7）")
        #expect(report.files.map(\.sheet) == ["学校基本情况", "教师名册", "补充名册"])
        #expect(report.files.first { $0.sheet == "补充名册" }?.rowsRead == 3)
        // Sheets of the annotated workbook: the problem list, then each sheet under its own name.
        let archive = try Archive(url: URL(fileURLWithPath: annotated), accessMode: .read)
        var workbookXML = Data()
        _ = try archive.extract(try #require(archive["xl/workbook.xml"])) { workbookXML.append($0) }
        let names = String(decoding: workbookXML, as: UTF8.self).components(separatedBy: "<sheet name=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        // Every worksheet of the clerk's workbook, in its order: the notes and the empty sheet handed back as they were.
        #expect(names == ["问题清单", "填表说明", "学校基本情况", "教师名册", "补充名册", "空白"])
        #expect(try CheckTests.sheetContents(annotated, sheet: 2).cells["A2"]?.text.contains("身份证号") == true)
        let roster = try CheckTests.sheetContents(annotated, sheet: 4)
        #expect(roster.comments["F7"]?.contains("不是有效日期") == true)
        let more = try CheckTests.sheetContents(annotated, sheet: 5)
        #expect(more.comments["F4"]?.contains("不是有效日期") == true)
        #expect(more.comments["F7"] == nil)
    }

    @Test("a legacy .xls workbook is an input like any other: every sheet, hidden ones named, BIFF5 text in its code page (GBK)")
    func legacyWorkbooks() throws {
        let sheets = TestSupport.fixture("xls/sheets.xls"), biff5 = TestSupport.fixture("xls/biff5_gbk.xls")
        let result = try TestSupport.validate([sheets, biff5])
        #expect(result.summary.tables["teachers"]?.files == [sheets + " [教师名册]", biff5 + " [教师名册]"])
        let teachers = try #require(result.summary.tables["teachers"])
        #expect(teachers.rowsRead == teachers.rowsClean + teachers.rowsRejected && teachers.rowsRead > 0)
        let ledger = TestSupport.ledger(result)
        let skipped = ledger.filter { $0["rule_id"] == "read.sheet_skipped" }.map { "\($0["source_file"]!) \($0["sheet"]!)" }
        #expect(Set(skipped) == [sheets + " 填表说明", sheets + " 内部数据", biff5 + " 说明"])
        #expect(ledger.contains { $0["sheet"] == "内部数据" && $0["message_zh"]?.contains("隐藏的工作表") == true })
        // The GBK names of the Excel 95 workbook arrive as written.
        let rejected = TestSupport.csvRows(result.outputDirectory + "/rejected/teachers.csv")
        #expect(rejected.contains { $0.contains(biff5 + " [教师名册]") && $0.contains("黄洋") })
        #expect(result.summary.inputs.first { $0.path == biff5 + " [教师名册]" }?.encoding == "xls")
    }

    @Test("the sample county as CSV, as one workbook with a notes sheet first, as separate workbooks and as .xls: the same rows read, clean and rejected per table, the same clean values")
    func sameCountyEveryForm() throws {
        let dir = TestSupport.fixture("county")
        let forms = [dir + "/csv", dir + "/county.xlsx", dir + "/separate", dir + "/county.xls"]
        var results: [(String, RunResult)] = []
        for form in forms { results.append((form, try TestSupport.validate([form]))) }
        let (_, reference) = results[0]
        #expect(Set(reference.summary.tables.keys) == ["schools", "teachers", "county_finance"])
        /// A table's clean rows without their lineage (which file, sheet and line each came from), sorted.
        func values(_ result: RunResult, _ table: String) -> [[String]] {
            let rows = TestSupport.csvRows(result.outputDirectory + "/clean/\(table).csv")
            guard let header = rows.first else { return [] }
            let kept = header.indices.filter { !["source_file", "source_line"].contains(header[$0]) }
            return rows.dropFirst().map { row in kept.map { $0 < row.count ? row[$0] : "" } }.sorted { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }
        }
        for (form, result) in results.dropFirst() {
            for (table, counts) in reference.summary.tables {
                let other = try #require(result.summary.tables[table], "\(form) \(table)")
                #expect(other.rowsRead == counts.rowsRead && other.rowsClean == counts.rowsClean && other.rowsRejected == counts.rowsRejected, "\(form) \(table)")
                #expect(values(result, table) == values(reference, table), "\(form) \(table)")
            }
            // Every sheet not read is named: the notes sheet of the single workbooks.
            if form.hasSuffix(".xlsx") || form.hasSuffix(".xls") {
                #expect(TestSupport.ledger(result).contains { $0["rule_id"] == "read.sheet_skipped" && $0["sheet"] == "填表说明" }, "\(form)")
            }
        }
        #expect(reference.summary.tables["teachers"]?.rowsRead == 1858)
    }
}
