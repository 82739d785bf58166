import Foundation
import Testing
import SchoolStatTestSupport
import SchoolStatModel
import SchoolStatBytes

/// The legacy workbooks in Fixtures/xls (Fixtures/xls/make_xls_fixtures.py).
private func fixture(_ name: String) -> String {
    TestSupport.packageRoot + "/Tests/SchoolStatTests/Fixtures/xls/" + name
}

/// Every row the reader hands over, with its Excel row number.
private func rows(_ name: String, sheet: String? = nil, limits: ReadLimits = ReadLimits(),
                  stopAfter: Int = .max) throws(ReadError) -> [(Int, [String])] {
    var rows: [(Int, [String])] = []
    try XLSReader.read(path: fixture(name), sheet: sheet, limits: limits,
                       sink: { rows.append(($0, $1)) }, stop: { rows.count >= stopAfter })
    return rows
}

/// The ReadError reading `name` throws, or nil.
private func failure(_ name: String, sheet: String? = nil, limits: ReadLimits = ReadLimits()) -> ReadError? {
    do { _ = try rows(name, sheet: sheet, limits: limits) } catch { return error }
    return nil
}

private let header = ["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "任教学段", "最高学历",
                      "教师资格证", "任教学科", "骨干教师级别", "近五年培训学时", "年工资收入（万元）"]

@Suite("Legacy workbooks (.xls) through FreeXL: sheets, cells as Excel shows them, damaged files refused")
struct XLSReaderTests {
    @Test("every row and cell of the roster as Excel shows it: text, the ID number intact, dates, numbers")
    func roster() throws {
        let read = try rows("roster.xls")
        #expect(read.map(\.0) == [1, 2, 3, 5]) // row 4 is empty and not sent
        #expect(read[0].1 == header)
        #expect(read[1].1 == ["T500110001", "黄洋", "500110197102110111", "3150010001", "男", "1971-02-11",
                              "小学", "本科", "是", "语文", "无", "120", "12.5"])
        // 0.1 + 0.2 is stored as 0.30000000000000004; Excel shows 0.3.
        #expect(read[2].1 == ["T500110002", "胡超梅", "500110197203120204", "3150010001", "女", "1972-03-12",
                              "小学", "本科", "是", "语文", "无", "96", "0.3"])
        // A number that is not text, a date and time, formulas by their cached results (a number,
        // text, an error), a boolean and an error constant as Excel shows them (FreeXL leaves
        // formulas out and gives both of those as 1), trailing blank but formatted cells dropped.
        #expect(read[3].1 == ["T500110003", "陳小明", "50011019860412001X", "3150010001", "男", "1986-04-12 08:30:00",
                              "3", "本科", "TRUE", "#N/A", "#DIV/0!", "-3", "15.4203"])
    }

    @Test("the sheet list: names in the workbook's order, each with its index")
    func sheetList() throws {
        let sheets = try XLSReader.sheets(path: fixture("sheets.xls"))
        #expect(sheets.map(\.name) == ["填表说明", "教师名册", "内部数据"])
        #expect(sheets.map(\.index) == [0, 1, 2])
        #expect(sheets.map(\.kind) == [.worksheet, .worksheet, .worksheet])
        #expect(sheets.map(\.visibility) == [.visible, .visible, .hidden])
        #expect(try XLSReader.sheets(path: fixture("roster.xls")) == [WorkbookSheet(name: "教师名册", index: 0)])
    }

    @Test("a sheet chosen by name; without a name the first sheet, passing over 问题清单")
    func chosenSheet() throws {
        let roster = try rows("sheets.xls", sheet: "教师名册")
        #expect(roster.count == 4)
        #expect(roster.first?.1 == header)
        #expect(try rows("sheets.xls", sheet: "内部数据").map(\.1) == [["学校代码表"]])
        let notes = try rows("sheets.xls")
        #expect(notes.map(\.0) == [1, 3])
        #expect(notes.first?.1 == ["请按教师名册填写，每位教师一行。"])
        #expect(try rows("annotated.xls").first?.1 == header)
        #expect(try rows("annotated.xls", sheet: "问题清单").first?.1 == ["位置", "问题"])
        guard case .notAWorkbook(_, let reason)? = failure("sheets.xls", sheet: "没有这张表") else {
            Issue.record("a missing sheet should be notAWorkbook"); return
        }
        #expect(reason.contains("没有这张表"))
        #expect(reason.contains("教师名册"))
    }

    @Test("reading stops when asked, between rows")
    func stopsEarly() throws {
        #expect(try rows("roster.xls", stopAfter: 2).map(\.0) == [1, 2])
    }

    @Test("Excel 5.0/95 (BIFF5) text in code page 936 (GBK) comes out as UTF-8")
    func biff5GBK() throws {
        let sheets = try XLSReader.sheets(path: fixture("biff5_gbk.xls"))
        #expect(sheets.map(\.name) == ["教师名册", "说明"])
        let read = try rows("biff5_gbk.xls")
        #expect(read.map(\.1) == [
            ["教师编号", "姓名", "学校名称", "出生日期", "年工资收入（万元）"],
            ["T500110001", "黄洋", "重庆市万盛经开区第一小学", "1971-05-12", "12.5"],
            ["T500110002", "胡超梅", "关坝镇中心小学", "1972-03-12", "92"],
            // Formulas: cached GBK text, a cached number.
            ["T500110003", "李娜", "关坝镇中心小学", "", "13.8"],
        ])
        #expect(try rows("biff5_gbk.xls", sheet: "说明").map(\.1) == [["本表由学校统计员填写"]])
    }

    @Test("a cut-off file is read.damaged_workbook, at once, not a crash")
    func damaged() {
        let clock = ContinuousClock()
        var error: ReadError?
        let took = clock.measure { error = failure("damaged.xls") }
        guard case .damaged(let path, _, let reason)? = error else {
            Issue.record("expected damaged, got \(String(describing: error))"); return
        }
        #expect(path.hasSuffix("damaged.xls"))
        #expect(reason.contains("截断"))
        #expect(error?.ruleID == "read.damaged_workbook")
        #expect(took < .seconds(5))
        #expect(throws: ReadError.self) { try XLSReader.sheets(path: fixture("damaged.xls")) }
    }

    @Test("a sheet declaring more columns than Excel 97-2003 allows is refused before FreeXL sees it (FreeXL alone crashes on it)")
    func oversized() {
        guard case .damaged(_, _, let reason)? = failure("oversized.xls") else {
            Issue.record("expected damaged"); return
        }
        #expect(reason.contains("65535 列"))
        #expect(throws: ReadError.self) { try XLSReader.sheets(path: fixture("oversized.xls")) }
    }

    @Test("a sheet-size record too short to hold the size is refused before FreeXL sees it (FreeXL alone crashes on it)")
    func shortDimensions() {
        guard case .damaged(_, _, let reason)? = failure("short_dimensions.xls") else {
            Issue.record("expected damaged"); return
        }
        #expect(reason.contains("DIMENSIONS"))
    }

    @Test("an encrypted workbook is refused saying so, its sheets not read as garbage")
    func encrypted() {
        guard case .notAWorkbook(_, let reason)? = failure("encrypted.xls") else {
            Issue.record("expected notAWorkbook"); return
        }
        #expect(reason.contains("加密"))
        #expect(reason.contains("encrypted"))
        #expect(throws: ReadError.self) { try XLSReader.sheets(path: fixture("encrypted.xls")) }
    }

    @Test("a file that is not an Excel 97-2003 workbook is refused with a message in both languages")
    func notExcel() throws {
        guard case .notAWorkbook(_, let reason)? = failure("not_excel.xls") else {
            Issue.record("expected notAWorkbook"); return
        }
        #expect(reason.contains("不是 Excel 97-2003 工作簿"))
        #expect(reason.contains("not an Excel 97-2003"))
        #expect(failure("not_excel.xls")?.ruleID == "read.unreadable_file")

        // An .xlsx workbook given an .xls name, an empty file, a missing one.
        let dir = TestSupport.temporaryDirectory()
        let xlsx = dir + "/名册.xls"
        try FileManager.default.copyItem(atPath: TestSupport.packageRoot + "/Tests/SchoolStatTests/Fixtures/reading/teachers.xlsx", toPath: xlsx)
        var error: ReadError?
        do { try XLSReader.read(path: xlsx, sheet: nil, limits: ReadLimits(), sink: { _, _ in }, stop: { false }) } catch let e { error = e }
        guard case .notAWorkbook(_, let zipReason)? = error else { Issue.record("expected notAWorkbook"); return }
        #expect(zipReason.contains(".xlsx"))
        let empty = dir + "/空.xls"
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: ReadError.self) { try XLSReader.sheets(path: empty) }
        do { _ = try XLSReader.sheets(path: dir + "/没有.xls"); Issue.record("a missing file was read") } catch {
            guard case .cannotOpen = error else { Issue.record("expected cannotOpen, got \(error)"); return }
        }
    }

    @Test("a cell past the cell limit stops the sheet naming the sheet, row and cell")
    func cellLimit() {
        var limits = ReadLimits()
        limits.fieldBytes = 24
        var read: [(Int, [String])] = []
        var error: ReadError?
        do {
            try XLSReader.read(path: fixture("roster.xls"), sheet: nil, limits: limits, sink: { read.append(($0, $1)) }, stop: { false })
        } catch let e { error = e }
        // Header row: 年工资收入（万元） is 27 bytes in UTF-8, in M1; every cell before it is shorter.
        guard case .damaged(_, let place, let reason)? = error else {
            Issue.record("expected damaged, got \(String(describing: error))"); return
        }
        #expect(place.contains("教师名册"))
        #expect(place.contains("第 1 行"))
        #expect(place.contains("M1"))
        #expect(reason.contains("24 字节"))
        #expect(read.isEmpty)
        limits.fieldBytes = 27
        #expect(failure("roster.xls", limits: limits) == nil)
    }

    @Test("a file larger than the workbook limit is refused before FreeXL loads it")
    func sizeLimit() {
        var limits = ReadLimits()
        limits.inflatedBytes = 1000
        guard case .damaged(_, _, let reason)? = failure("roster.xls", limits: limits) else {
            Issue.record("expected damaged"); return
        }
        #expect(reason.contains("1000 字节"))
    }
}
