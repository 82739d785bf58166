import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatCheck

/// What Excel leaves in cells — a formula without its result, merged cells, the column-number
/// row of a report form — is read as Excel shows it, and never changed without a finding saying so.
@Suite("Cells as Excel leaves them: formulas without a result, merged cells, the column-number row")
struct CellsAsExcelTests {
    private typealias B = WorkbookBuilder

    private func findings(_ result: RunResult, _ rule: String) -> [[String: String]] {
        TestSupport.ledger(result).filter { $0["rule_id"] == rule }
    }

    /// A group row 基本信息 / 学历与资格 merged across A1:D1 and E1:I1 above the header, and five
    /// teachers whose school code is written once and merged down D3:D7.
    private func groupedRoster() -> Data {
        let groups = ["基本信息", "none:", "none:", "none:", "学历与资格", "none:", "none:", "none:", "none:"]
        var rows = B.row(1, groups) + B.row(2, B.header)
        for i in 1...5 {
            var t = B.teacher(i)
            if i > 1 { t[3] = "none:" }
            rows += B.row(i + 2, t)
        }
        return B.sheet(rows, merged: ["A1:D1", "E1:I1", "D3:D7"])
    }

    private func clean(_ result: RunResult) -> [[String: String]] {
        TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv")
    }

    /// Rows read are rows clean plus rows rejected.
    private func conserved(_ result: RunResult, read: Int) {
        let t = result.summary.tables["teachers"]
        #expect(t?.rowsRead == read)
        #expect((t?.rowsClean ?? -1) + (t?.rowsRejected ?? -1) == read)
    }

    @Test("a formula saved without its result is a warning naming the cell; the cell reads as empty and the row is still read")
    func formulaWithoutValue() throws {
        var withResult = B.teacher(3)
        withResult[8] = "f:SUM(A1:A3)=15.5"
        var without = B.teacher(4)
        without[8] = "f:SUM(A1:A3)"
        let rows = B.roster(2) + B.row(4, withResult) + B.row(5, without)
        let result = try B.validate(B.sheet(rows))
        let found = findings(result, "read.formula_without_value")
        #expect(found.count == 1)
        let f = found.first
        #expect(f?["severity"] == "warning")
        #expect(f?["line"] == "5")
        #expect(f?["column"] == "annual_wage")
        #expect(f?["message_zh"] == "第 5 行 I 列（I5）的公式 SUM(A1:A3) 没有计算结果（保存它的程序没有计算公式）。请在 Excel 或 WPS 中打开并保存一次后再检查。")
        #expect(f?["message_en"]?.contains("I5") == true)
        conserved(result, read: 4)
        // The formula with a result reads as its result; the one without as empty.
        let wages = clean(result).map { $0["annual_wage"] ?? "?" }
        #expect(wages.count == 4)
        #expect(wages[2] == "155000") // 15.5 万元, in yuan
        #expect(wages.last == "")
    }

    @Test("past 200 formulas without a result in a sheet, the rest are counted in one more warning; every row is still read")
    func manyFormulasWithoutValue() throws {
        var rows = B.row(1, B.header)
        for i in 1...205 {
            var t = B.teacher(i)
            t[8] = "f:H\(i + 1)*2"
            rows += B.row(i + 1, t)
        }
        let result = try B.validate(B.sheet(rows))
        let found = findings(result, "read.formula_without_value")
        #expect(found.count == 201)
        #expect(found.contains { $0["line"] == "201" && $0["message_zh"]?.contains("（I201）的公式 H201*2 没有计算结果") == true })
        #expect(found.contains { $0["line"] == "206" && $0["message_zh"]?.hasPrefix("另有 5 个单元格的公式没有计算结果") == true })
        conserved(result, read: 205)
    }

    @Test("a school code merged down over five teachers fills all five rows, with one warning naming the range")
    func mergedDown() throws {
        var rows = B.row(1, B.header)
        for i in 1...5 {
            var t = B.teacher(i)
            if i > 1 { t[3] = "none:" }
            rows += B.row(i + 1, t)
        }
        let result = try B.validate(B.sheet(rows, merged: ["D2:D6"]))
        let found = findings(result, "read.merged_cells")
        #expect(found.count == 1)
        #expect(found.first?["line"] == "2")
        #expect(found.first?["column"] == "school_code")
        #expect(found.first?["message_zh"] == "D2:D6 是合并单元格，已把“3150010001”填到每一行；提交前请取消合并并填满。")
        conserved(result, read: 5)
        let codes = clean(result).map { $0["school_code"] ?? "?" }
        #expect(codes == Array(repeating: "3150010001", count: 5))
    }

    @Test("a merged group row above the header (基本信息, 学历与资格) is a title row, and every data row below is read")
    func groupRowAboveHeader() throws {
        let result = try B.validate(groupedRoster())
        let titles = findings(result, "read.title_row")
        #expect(titles.map { $0["line"] } == ["1"])
        // A merge across one row changes nothing and says nothing; the one down the school codes does.
        #expect(findings(result, "read.merged_cells").map { $0["message_zh"]?.prefix(5) } == ["D3:D7"])
        conserved(result, read: 5)
        #expect(result.summary.tables["teachers"]?.rowsClean == 5)
    }

    @Test("an Excel 97-2003 (.xls) roster with a merged group row and a school code merged down reads as the same roster in .xlsx")
    func mergedDownLegacy() throws {
        // merged.xls holds exactly the rows and merges of this sheet (make_xls_fixtures.py).
        let xlsx = try B.validate(groupedRoster())
        let xls = try TestSupport.validate([TestSupport.fixture("xls/merged.xls")]) { $0.asOf = "2018-09-30" }
        for result in [xlsx, xls] {
            #expect(findings(result, "read.title_row").map { $0["line"] } == ["1"])
            let found = findings(result, "read.merged_cells")
            #expect(found.count == 1)
            #expect(found.first?["line"] == "3")
            #expect(found.first?["column"] == "school_code")
            #expect(found.first?["message_zh"] == "D3:D7 是合并单元格，已把“3150010001”填到每一行；提交前请取消合并并填满。")
            conserved(result, read: 5)
            #expect(clean(result).map { $0["school_code"] } == Array(repeating: "3150010001", count: 5))
        }
        // The same clean values, lineage aside.
        func values(_ result: RunResult) -> [[String: String]] {
            clean(result).map { $0.filter { !["source_file", "source_line"].contains($0.key) } }
        }
        #expect(values(xls) == values(xlsx))
        #expect(values(xls).count == 5)
    }

    @Test("a two-row header whose first cells are merged down over both rows is found on its second row")
    func twoRowHeader() throws {
        // Row 1: 教师编号 … 学校标识码 each merged over rows 1–2, and 个人情况 over E1:I1; row 2: the rest.
        let top = Array(B.header.prefix(4)) + ["个人情况", "none:", "none:", "none:", "none:"]
        let second = ["none:", "none:", "none:", "none:"] + Array(B.header.dropFirst(4))
        var rows = B.row(1, top) + B.row(2, second)
        for i in 1...3 { rows += B.row(i + 2, B.teacher(i)) }
        let result = try B.validate(B.sheet(rows, merged: ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:I1"]))
        #expect(findings(result, "read.title_row").map { $0["line"] } == ["1"])
        #expect(findings(result, "read.unknown_table").isEmpty)
        #expect(findings(result, "read.merged_cells").count == 4)
        conserved(result, read: 3)
        #expect(result.summary.tables["teachers"]?.rowsClean == 3)
    }

    @Test("the column-number row (甲、乙、1、2 …) under the header of a CSV file is skipped with one warning")
    func columnNumbersCSV() throws {
        let result = try TestSupport.validate([TestSupport.fixture("reading/column_numbers_row.csv")])
        let found = findings(result, "read.column_numbers_row")
        #expect(found.count == 1)
        #expect(found.first?["line"] == "2")
        #expect(found.first?["message_zh"] == "第 2 行是栏次（列的编号），不是数据，已跳过。")
        #expect(TestSupport.ledger(result).filter { $0["line"] == "2" }.count == 1)
        conserved(result, read: 3)
    }

    @Test("the clerk's check does not count the column-number row among a file's rows")
    func columnNumbersInCheck() throws {
        var options = CheckOptions(files: [TestSupport.fixture("reading/column_numbers_row.csv"), TestSupport.fixture("reading/encoding_utf8.csv")],
                                   rulesDirectory: TestSupport.rules)
        options.workDirectory = TestSupport.temporaryDirectory()
        let report = try ClerkCheck.run(options, annotate: nil)
        #expect(report.files.map(\.rowsRead) == [3, 3])
    }

    @Test("the column-number row (栏次, 1, 2 …) under the header of a workbook is skipped with one warning")
    func columnNumbersWorkbook() throws {
        let numbers = ["栏次"] + (1...8).map { "n:\($0)" }
        let rows = B.row(1, B.header) + B.row(2, numbers) + (1...3).map { B.row($0 + 2, B.teacher($0)) }.joined()
        let result = try B.validate(B.sheet(rows))
        let found = findings(result, "read.column_numbers_row")
        #expect(found.map { $0["line"] } == ["2"])
        #expect(TestSupport.ledger(result).filter { $0["line"] == "2" }.count == 1)
        conserved(result, read: 3)
        #expect(result.summary.tables["teachers"]?.rowsClean == 3)
    }

    @Test("rows of numbers are not taken for a column-number row when they are not 1, 2, 3 … in order",
          arguments: [["3", "1", "2"], ["1", "2"], ["1", "2", "4", "5"], ["甲", "丙", "1"], ["栏次", "2", "3"]])
    func notColumnNumbers(_ cells: [String]) {
        var record = RawRecord(fields: cells + Array(repeating: "", count: 9 - cells.count), line: 2, ordinal: 2)
        #expect(!ValidationRun.isColumnNumbersRow(record))
        record = RawRecord(fields: ["甲", "乙", "1", "2", "3"], line: 2, ordinal: 2)
        #expect(ValidationRun.isColumnNumbersRow(record))
    }
}
