import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

@Suite("Recognising tables from their headers")
struct HeaderTests {
    let ruleSet: RuleSet
    let matcher: HeaderMatcher

    /// A rule file that does not load fails each test here with the loader's message.
    init() throws {
        ruleSet = try LoadedRules.load(directory: TestSupport.rules).ruleSet
        matcher = HeaderMatcher(ruleSet: ruleSet, converter: ChineseConverter())
    }

    @Test("width, brackets, spaces, case and traditional characters do not matter", arguments: [
        ("学校标识码", "school_code"), ("學校標識碼", "school_code"), ("School_Code", "school_code"), ("school code", "school_code"),
        ("（学校）标识码", "school_code"), ("学 校 名 称", "school_name"), ("ＳＣＨＯＯＬ＿ＮＡＭＥ", "school_name"),
        ("教学及辅助用房面积（m²）", "building_area"), ("体育运动场馆面积(平方米)", "sports_area"), ("公用经费预算/万元", "public_funds_budget"),
    ])
    func columnMatching(header: String, column: String) {
        let schema = ruleSet.table(named: "schools")!
        let map = matcher.map(headers: [header], to: schema)
        #expect(map.fieldForColumn[schema.columnIndex(column)!] == 0)
    }

    @Test("a unit written in the header is kept for the column")
    func headerUnit() {
        let schema = ruleSet.table(named: "teachers")!
        let map = matcher.map(headers: ["年工資收入（萬元）"], to: schema)
        let i = schema.columnIndex("annual_wage")!
        #expect(map.fieldForColumn[i] == 0)
        #expect(map.unitForColumn[i] == "万元")
    }

    @Test("the table is the one whose columns match best")
    func recognition() {
        let (teachers, _) = matcher.recognise(headers: ["教职工号", "姓名", "身份证号码", "学校代码", "性别"], named: nil)
        #expect(teachers?.schema.name == "teachers")
        let (finance, _) = matcher.recognise(headers: ["county_code", "county_name", "year", "edu_expenditure"], named: nil)
        #expect(finance?.schema.name == "county_finance")
        let (none, scores) = matcher.recognise(headers: ["a", "b", "c"], named: nil)
        #expect(none == nil)
        #expect(scores.allSatisfy { $0.1 == 0 })
    }

    @Test("areas in m² spelled several ways are all m²", arguments: ["1200.5", "1,200.5㎡", "1200.5平方米", "1200.5 m2", "１２００.５m²"])
    func areaUnits(raw: String) {
        let schema = ruleSet.table(named: "schools")!
        let column = schema.columns[schema.columnIndex("building_area")!]
        let n = CellNormaliser(column: column, vocabulary: ruleSet.vocabulary, converter: ChineseConverter(), headerUnit: nil)
        guard case .success(let v) = n.normalise(raw) else { Issue.record("\(raw) rejected"); return }
        #expect(v.description == "1200.5")
    }

    @Test("the summary records each input's SHA-256, encoding and dialect")
    func summaryInputs() throws {
        let path = TestSupport.fixture("reading/encoding_gb18030.csv")
        let result = try TestSupport.validate([path])
        var h = SHA256()
        h.update([UInt8](FileManager.default.contents(atPath: path)!))
        let input = result.summary.inputs[0]
        #expect(input.sha256 == h.finalHex())
        #expect(input.encoding == "gb18030" && input.encodingDetected)
        #expect(input.dialect == Dialect(delimiter: 0x2C, lineEnding: "crlf"))
        #expect(input.bytes == FileManager.default.contents(atPath: path)!.count)
        #expect(result.summary.ruleFiles.contains { $0.path.hasSuffix("schemas/teachers.yaml") && $0.sha256.count == 64 })
        #expect(result.summary.findings["teachers.age_plausible"]?["error"] == 1)
    }
}
