import Foundation
import Testing
import ZIPFoundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// Builds real .xlsx files (zip archives with deflated XML parts) for the workbook reader.
enum WorkbookBuilder {
    static let header = ["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "最高学历", "教师资格证", "年工资收入（万元）"]

    /// The i-th valid teacher row (all clean on 2018-09-30).
    static func teacher(_ i: Int) -> [String] {
        // A distinct, valid ID number for each: birth date and serial from i.
        let k = i / 99
        let birth = String(format: "%04d%02d%02d", 1975 + k / 336, 1 + (k / 28) % 12, 1 + k % 28)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let body = "500110" + birth + String(format: "%02d", i % 99) + "2"
        let sum = zip(body, weights).reduce(0) { $0 + Int(String($1.0))! * $1.1 }
        let id = body + String(Array("10X98765432")[sum % 11])
        let date = String(birth.prefix(4)) + "-" + String(birth.dropFirst(4).prefix(2)) + "-" + String(birth.suffix(2))
        return [String(format: "T%07d", i), "王芳", id, "3150010001", "女", date, "本科", "是", "15.4203"]
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }

    /// One `<row>` of inline strings; cells named `n:` are written as numbers, `f:` as a formula
    /// without a stored result (as a program that does not compute formulas saves it), `f:…=v` as
    /// a formula with its result v, and `none:` as a cell with a style and nothing else (what
    /// Excel writes for the cells a merge covers).
    static func row(_ number: Int, _ cells: [String]) -> String {
        var xml = "<row r=\"\(number)\">"
        for (i, cell) in cells.enumerated() {
            let ref = Spreadsheet.columnLetter(i) + String(number)
            if cell.hasPrefix("n:") {
                xml += "<c r=\"\(ref)\"><v>\(cell.dropFirst(2))</v></c>"
            } else if cell.hasPrefix("f:") {
                let parts = cell.dropFirst(2).split(separator: "=", maxSplits: 1)
                xml += "<c r=\"\(ref)\"><f>\(escape(String(parts[0])))</f>" + (parts.count > 1 ? "<v>\(parts[1])</v>" : "") + "</c>"
            } else if cell == "none:" {
                xml += "<c r=\"\(ref)\" s=\"1\"/>"
            } else {
                xml += "<c r=\"\(ref)\" t=\"inlineStr\"><is><t>\(escape(cell))</t></is></c>"
            }
        }
        return xml + "</row>"
    }

    /// A worksheet of `rows`; `merged` ranges (`D3:D9`) are listed after the rows, where Excel puts them.
    static func sheet(_ rows: String, prolog: String = "", merged: [String] = []) -> Data {
        let merges = merged.isEmpty ? "" : "<mergeCells count=\"\(merged.count)\">" + merged.map { "<mergeCell ref=\"\($0)\"/>" }.joined() + "</mergeCells>"
        return Data(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + prolog
              + "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>" + rows + "</sheetData>" + merges + "</worksheet>").utf8)
    }

    /// The header and `count` clean teachers, rows 1…count+1.
    static func roster(_ count: Int) -> String {
        row(1, header) + (1...max(count, 1)).prefix(count).map { row($0 + 1, teacher($0)) }.joined()
    }

    /// Writes a workbook whose first sheet is `sheet`; `shared` is xl/sharedStrings.xml when given.
    static func write(sheet: Data, shared: Data? = nil, to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        func add(_ name: String, _ data: Data) throws {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        try add("xl/workbook.xml", Data("""
            <?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
            xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="名册" sheetId="1" r:id="rId1"/></sheets></workbook>
            """.utf8))
        try add("xl/_rels/workbook.xml.rels", Data("""
            <?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
            <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>
            """.utf8))
        if let shared { try add("xl/sharedStrings.xml", shared) }
        try add("xl/worksheets/sheet1.xml", sheet)
    }

    /// Writes a workbook of the roster with `damage` appended after its clean rows, and validates it.
    static func validate(_ sheetData: Data, shared: Data? = nil, configure: (inout ValidationOptions) -> Void = { _ in }) throws -> RunResult {
        let path = TestSupport.temporaryDirectory() + "/roster.xlsx"
        try write(sheet: sheetData, shared: shared, to: path)
        return try TestSupport.validate([path]) {
            $0.asOf = "2018-09-30"
            configure(&$0)
        }
    }
}

private func damagedEntry(_ result: RunResult) -> [String: String]? {
    TestSupport.ledger(result).first { $0["rule_id"] == "read.damaged_workbook" }
}

@Suite("Hostile workbooks: a finding naming sheet, row and cell, never a crash, a hang or a silent short read")
struct HostileWorkbookTests {
    @Test("damaged cells and rows stop the sheet with read.damaged_workbook at the place, after the rows before it are checked",
          arguments: [
            ("<row r=\"5\"><c r=\"A5\" t=\"s\"><v>-1</v></c></row>", "A5", true),
            ("<row r=\"5\"><c r=\"A5\" t=\"s\"><v>7</v></c></row>", "A5", true),
            ("<row r=\"-5\"><c r=\"A5\"><v>1</v></c></row>", "r=\"-5\"", false),
            ("<row r=\"3\"><c r=\"A3\"><v>1</v></c></row>", "顺序", false),
            ("<row r=\"5\"><c r=\"ABCDEFGHIJKLMN5\"><v>1</v></c></row>", "ABCDEFGHIJKLMN5", false),
            ("<row r=\"5\"><c r=\"ZZZZZZZ2\"><v>1</v></c></row>", "ZZZZZZZ2", false),
            ("<row r=\"5\"><c r=\"XFE5\"><v>1</v></c></row>", "XFE5", false),
            ("<row r=\"5\"><c\u{FF}x r=\"A5\"><v>1</v></c\u{FF}x></row>", "XML", false),
            ("<row r=\"5\"><c r=\"A5\"><v>1</v></c>", "XML", false),
          ])
    func damaged(_ damage: String, _ place: String, _ withShared: Bool) throws {
        let shared = withShared ? Data("<?xml version=\"1.0\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><si><t>x</t></si></sst>".utf8) : nil
        var bytes = WorkbookBuilder.sheet(WorkbookBuilder.roster(3) + damage)
        if damage.contains("\u{FF}") {
            // One byte that is not UTF-8 inside an element name.
            bytes = Data(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\u{FF}", with: "\u{1}").utf8)
            bytes = Data(bytes.map { $0 == 0x01 ? 0xFF : $0 })
        }
        let result = try WorkbookBuilder.validate(bytes, shared: shared)
        #expect(result.status == .unreadableInput)
        let entry = damagedEntry(result)
        #expect(entry?["message_zh"]?.contains(place) == true, "\(entry?["message_zh"] ?? "no finding")")
        #expect(entry?["message_zh"]?.contains("名册") == true)
        // The three rows before the damage were read and checked.
        #expect(result.summary.tables["teachers"]?.rowsRead == 3)
        #expect(result.summary.tables["teachers"]?.rowsClean == 3)
    }

    @Test("a sheet cut in half is an error naming where it stopped, not 14 rows and no finding")
    func truncated() throws {
        let whole = WorkbookBuilder.sheet(WorkbookBuilder.roster(30))
        let result = try WorkbookBuilder.validate(whole.prefix(whole.count / 2))
        #expect(result.status == .unreadableInput)
        #expect(damagedEntry(result) != nil)
        let read = result.summary.tables["teachers"]?.rowsRead ?? 0
        #expect(read > 0 && read < 30)
        #expect(result.summary.tables["teachers"]?.rowsClean == read)
    }

    @Test("a billion-laughs sheet is refused at its DOCTYPE, not read as an empty sheet with exit 0")
    func billionLaughs() throws {
        var entities = "<!ENTITY lol \"lol\">"
        for i in 1...9 { entities += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : String(i - 1));", count: 10) + "\">" }
        let bytes = WorkbookBuilder.sheet(WorkbookBuilder.row(1, WorkbookBuilder.header) + "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>&lol9;</t></is></c></row>",
                                          prolog: "<!DOCTYPE worksheet [" + entities + "]>")
        let result = try WorkbookBuilder.validate(bytes)
        #expect(result.status == .unreadableInput)
        #expect(damagedEntry(result)?["message_zh"]?.contains("DOCTYPE") == true)
    }

    @Test("an extra non-empty cell past the last header column is read.too_many_fields; short rows are not short")
    func extraCell() throws {
        var cells = WorkbookBuilder.teacher(2)
        cells.append("多出来的")
        var short = WorkbookBuilder.teacher(3)
        short.removeLast() // Excel leaves an empty last cell out
        let rows = WorkbookBuilder.row(1, WorkbookBuilder.header) + WorkbookBuilder.row(2, WorkbookBuilder.teacher(1))
            + WorkbookBuilder.row(3, cells) + WorkbookBuilder.row(4, short)
        let result = try WorkbookBuilder.validate(WorkbookBuilder.sheet(rows))
        let ledger = TestSupport.ledger(result)
        #expect(ledger.contains { $0["rule_id"] == "read.too_many_fields" && $0["line"] == "3" && $0["raw_value"] == "多出来的" })
        #expect(!ledger.contains { $0["rule_id"] == "read.too_few_fields" })
        #expect(result.summary.tables["teachers"]?.rowsRead == 3)
    }

    @Test("stored doubles are read as Excel shows them (15 significant digits) before exact arithmetic")
    func excelNumbers() throws {
        var a = WorkbookBuilder.teacher(1), b = WorkbookBuilder.teacher(2)
        a[8] = "n:65.98999999999999"
        b[8] = "n:0.30000000000000004"
        let rows = WorkbookBuilder.row(1, WorkbookBuilder.header) + WorkbookBuilder.row(2, a) + WorkbookBuilder.row(3, b)
        let result = try WorkbookBuilder.validate(WorkbookBuilder.sheet(rows))
        let wages = TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv").map { $0["annual_wage"] ?? "" }
        #expect(wages == ["659900", "3000"])
    }

    @Test("displayed numbers", arguments: [
        ("65.98999999999999", "65.99"), ("0.30000000000000004", "0.3"), ("1.0000000000000001E-5", "0.00001"), ("12.5", "12.5"),
        ("3150010001", "3150010001"), ("500110198604120015", "500110198604120015"), ("-2.675", "-2.675"), ("1.23456789012345678E+17", "123456789012346000"),
        ("4.4408920985006262E-16", "0.000000000000000444089209850063"), ("1E+300", "1E+300"), ("NaN", "NaN"), ("abc", "abc"), ("0.0", "0"),
    ])
    func displayed(_ stored: String, _ shown: String) {
        #expect(XLSXReader.displayedNumber(stored) == shown)
    }

    @Test("a zip bomb is refused by its inflation ratio in bounded time, with a finding")
    func zipBomb() throws {
        // 40 MiB of blanks between rows deflate to a few tens of kilobytes: past the ratio once 32 MiB are inflated.
        let filler = String(repeating: " ", count: 42_000_000)
        let bytes = WorkbookBuilder.sheet(WorkbookBuilder.roster(2) + filler)
        let started = Date()
        let result = try WorkbookBuilder.validate(bytes)
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(result.status == .unreadableInput)
        #expect(damagedEntry(result)?["message_zh"]?.contains("压缩炸弹") == true)
        #expect(result.summary.tables["teachers"]?.rowsRead == 2)
    }

    @Test("the whole workbook's inflated size is bounded too, and the limit can be raised")
    func inflatedLimit() throws {
        let bytes = WorkbookBuilder.sheet(WorkbookBuilder.roster(200))
        let limited = try WorkbookBuilder.validate(bytes) { $0.readLimits.inflatedBytes = 10_000 }
        #expect(limited.status == .unreadableInput)
        #expect(damagedEntry(limited) != nil)
        let raised = try WorkbookBuilder.validate(bytes) { $0.readLimits.inflatedBytes = 1 << 30 }
        #expect(raised.status == .clean)
        #expect(raised.summary.tables["teachers"]?.rowsClean == 200)
    }

    @Test("one cell past the cell limit stops the sheet with a finding; a shared string past it too")
    func hugeCell() throws {
        let big = String(repeating: "王", count: 400_000) // 1.2 MB of UTF-8
        let sheetCell = WorkbookBuilder.sheet(WorkbookBuilder.roster(2) + WorkbookBuilder.row(4, ["T9", big]))
        let a = try WorkbookBuilder.validate(sheetCell)
        #expect(damagedEntry(a)?["message_zh"]?.contains("B4") == true)
        #expect(a.summary.tables["teachers"]?.rowsRead == 2)
        let shared = Data(("<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><si><t>" + big + "</t></si></sst>").utf8)
        let b = try WorkbookBuilder.validate(WorkbookBuilder.sheet(WorkbookBuilder.roster(2) + "<row r=\"4\"><c r=\"A4\" t=\"s\"><v>0</v></c></row>"), shared: shared)
        #expect(b.status == .unreadableInput)
        #expect(damagedEntry(b)?["message_zh"]?.contains("共享字符串") == true)
    }

    @Test("an 80,000-row sheet streams: every row read and clean, in order")
    func largeSheet() throws {
        let result = try WorkbookBuilder.validate(WorkbookBuilder.sheet(WorkbookBuilder.roster(80_000)))
        #expect(result.status == .clean)
        #expect(result.summary.tables["teachers"]?.rowsClean == 80_000)
        let clean = TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv")
        #expect(clean.last?["source_line"] == "80001")
    }
}
