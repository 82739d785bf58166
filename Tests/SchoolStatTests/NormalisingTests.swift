import Foundation
import Testing
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// Normalisers built from the project's real Rules/.
private struct Columns {
    static let ruleSet = try! LoadedRules.load(directory: TestSupport.rules).ruleSet
    static let converter = ChineseConverter()

    static func normaliser(_ table: String, _ column: String, headerUnit: String? = nil) -> CellNormaliser {
        let schema = ruleSet.table(named: table)!
        return CellNormaliser(column: schema.columns[schema.columnIndex(column)!], vocabulary: ruleSet.vocabulary,
                              converter: converter, headerUnit: headerUnit)
    }

    static func value(_ table: String, _ column: String, _ raw: String, headerUnit: String? = nil) -> String? {
        switch normaliser(table, column, headerUnit: headerUnit).normalise(raw) {
        case .success(let v): return v.description
        case .failure: return nil
        }
    }

    static func problem(_ table: String, _ column: String, _ raw: String) -> CellProblem? {
        if case .failure(let p) = normaliser(table, column).normalise(raw) { return p }
        return nil
    }
}

@Suite("Normalising cell values")
struct NormalisingTests {
    @Test("invisible characters, odd spaces and full-width forms are cleaned")
    func textCleaning() {
        #expect(TextCleaner.clean("\u{00A0}青年小学\u{200B} ", folding: .alphanumerics) == "青年小学")
        #expect(TextCleaner.clean("张 三", folding: .alphanumerics) == "张三")
        #expect(TextCleaner.clean("No.1  Middle\u{3000}School", folding: .alphanumerics) == "No.1 Middle School")
        #expect(TextCleaner.clean("１８１４．２", folding: .all) == "1814.2")
        #expect(TextCleaner.clean("万盛第一小学（本部）", folding: .alphanumerics) == "万盛第一小学（本部）")
        #expect(TextCleaner.clean("ＡＢ１２", folding: .alphanumerics) == "AB12")
    }

    @Test("numbers as exports write them", arguments: [
        ("1,814.2", "1814.2"), ("１８１４.２", "1814.2"), ("15.4203万", "154203"), ("78.83万元", "788300"),
        ("6000元/生/年", "6000"), ("  2,546,000,000 ", "2546000000"), ("19.84亿", "1984000000"), ("1.2E+05", "120000"),
        ("-", ""), ("/", ""), ("无", ""), ("", ""),
    ])
    func yuanAmounts(raw: String, expected: String) {
        #expect(Columns.value("county_finance", "avg_teacher_wage", raw) == expected || Columns.value("county_finance", "edu_expenditure", raw) == expected)
    }

    @Test("a unit in the header scales bare values; a unit on the value wins")
    func headerUnits() {
        #expect(Columns.value("teachers", "annual_wage", "15.4203", headerUnit: "万元") == "154203")
        #expect(Columns.value("teachers", "annual_wage", "13.8万", headerUnit: "万元") == "138000")
        #expect(Columns.value("teachers", "annual_wage", "138000元", headerUnit: "万元") == "138000")
        #expect(Columns.value("teachers", "annual_wage", "154203", headerUnit: "万元") == nil) // 15 亿 is out of range
        let p = Columns.normaliser("teachers", "annual_wage", headerUnit: "万元").normalise("154203")
        guard case .failure(let problem) = p else { Issue.record("expected a range problem"); return }
        #expect(problem.zh.contains("表头单位为万元"))
    }

    @Test("percentages become fractions and ratios their second term", arguments: [
        ("21.528%", "0.21528"), ("4.64%", "0.0464"), ("3.45％", "0.0345"), ("0.05", "0.05"),
    ])
    func percentages(raw: String, expected: String) {
        #expect(Columns.value("county_finance", "fiscal_revenue_growth", raw) == expected)
    }

    @Test("ratios like 1:12.77")
    func ratios() {
        #expect(Columns.value("county_finance", "student_teacher_ratio", "1:12.77") == "12.77")
        #expect(Columns.value("county_finance", "student_teacher_ratio", "1∶12.77") == "12.77")
        #expect(Columns.value("county_finance", "student_teacher_ratio", "2:25") == "12.5")
        #expect(Columns.value("county_finance", "student_teacher_ratio", "12.77") == "12.77")
    }

    @Test("ambiguous separators and words are rejected with the reason")
    func badNumbers() {
        #expect(Columns.problem("schools", "total_pupils", "18,14")?.zh.contains("千位分隔符") == true)
        #expect(Columns.problem("schools", "total_pupils", "约300")?.constraint == "type")
        #expect(Columns.problem("schools", "total_pupils", "12.5")?.zh.contains("整数") == true)
        #expect(Columns.problem("schools", "sports_area", "-1200")?.constraint == "range")
        #expect(Columns.problem("schools", "equipment_value", "30斤")?.constraint == "unit")
    }

    @Test("dates in every form exports use", arguments: [
        "1986-04-12", "1986/4/12", "1986.4.12", "1986年4月12日", "19860412", "31514", "1986-04-12 00:00:00", "１９８６-０４-１２",
    ])
    func dates(raw: String) {
        #expect(Columns.value("teachers", "birth_date", raw) == "1986-04-12")
    }

    @Test("Excel serial numbers, including the 1900 leap-year quirk")
    func excelSerials() {
        #expect(DateText.parse("45627") == Day(year: 2024, month: 12, day: 1))
        #expect(DateText.parse("61") == Day(year: 1900, month: 3, day: 1))
        #expect(DateText.parse("60") == nil) // Excel's nonexistent 1900-02-29
        #expect(DateText.parse("45627.75") == Day(year: 2024, month: 12, day: 1))
    }

    @Test("impossible dates are rejected", arguments: ["1980-02-30", "2023-02-29", "1986-13-01", "1986年4月", "April 1986", "0412"])
    func invalidDates(raw: String) {
        #expect(Columns.value("teachers", "birth_date", raw) == nil)
    }

    @Test("yes/no in its many spellings", arguments: [
        ("是", "true"), ("否", "false"), ("Y", "true"), ("n", "false"), ("1", "true"), ("0", "false"),
        ("√", "true"), ("×", "false"), ("有", "true"), ("无", "false"), ("Ｙ", "true"),
    ])
    func booleans(raw: String, expected: String) {
        #expect(Columns.value("teachers", "certified", raw) == expected)
    }

    @Test("enum aliases in simplified, traditional, English and code forms", arguments: [
        ("schools", "school_type", "九年一贯制学校", "nine_year"), ("schools", "school_type", "九年一貫制學校", "nine_year"),
        ("schools", "school_type", "Teaching Point", "teaching_point"), ("schools", "school_type", "514", "special_education"),
        ("schools", "urban_rural", "121", "town"), ("schools", "urban_rural", "鄉村", "rural"),
        ("teachers", "degree", "大学本科", "bachelor"), ("teachers", "degree", "大專", "associate"), ("teachers", "degree", "硕士", "postgraduate"),
        ("teachers", "backbone_level", "區級", "county"), ("teachers", "backbone_level", "无", "none"), ("teachers", "sex", "女", "female"),
    ])
    func enumAliases(table: String, column: String, raw: String, expected: String) {
        #expect(Columns.value(table, column, raw) == expected)
    }

    @Test("the characters the converter learns to convert are exactly those OpenCC changes, one by one, whichever threads ask first")
    func learnedCharacters() {
        // OpenCC's own answer for each character, from one converter; then a fresh converter,
        // which learns a character the first time a text holds it, asked by four threads at
        // once, each walking the characters from a different place, by text and by bytes.
        let reference = Columns.converter
        #expect(reference.isAvailable)
        let characters: [UInt32] = [0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF].flatMap { (range: ClosedRange<UInt32>) in Array(range) }
        let expected = characters.map { v in
            let s = String(Unicode.Scalar(v)!)
            return reference.convertedByOpenCC(s) != s
        }
        // t2s changes a few thousand characters (國, 語, 學 …); fewer would mean a table not loaded.
        #expect(expected.filter { $0 }.count > 2_000)
        let fresh = ChineseConverter()
        let answers = Mutex([[Bool]](repeating: [], count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            let start = thread * characters.count / 4
            var mine = [Bool](repeating: false, count: characters.count)
            for k in 0..<characters.count {
                let i = (start + k) % characters.count
                let s = String(Unicode.Scalar(characters[i])!)
                mine[i] = thread % 2 == 0 ? fresh.needsConversion(s) : s.withBytes { fresh.needsConversion($0) }
            }
            answers.withLock { $0[thread] = mine }
        }
        for (thread, mine) in answers.withLock({ $0 }).enumerated() {
            let wrong = zip(characters, zip(mine, expected)).filter { $1.0 != $1.1 }
            for (v, (learned, changes)) in wrong.prefix(5) {
                Issue.record("thread \(thread), U+\(String(v, radix: 16, uppercase: true)): learned \(learned), OpenCC \(changes)")
            }
            #expect(wrong.isEmpty)
        }
        #expect(fresh.needsConversion("國語") && !fresh.needsConversion("国语"))
        // Characters outside the CJK blocks are never converted on their own.
        #expect(!fresh.needsConversion("한국어 ㄱ ｱ ＡＢＣ"))
    }

    @Test("traditional characters in names become simplified")
    func traditionalNames() {
        #expect(Columns.converter.isAvailable)
        #expect(Columns.value("schools", "school_name", "萬盛經開區第一小學") == "万盛经开区第一小学")
        #expect(Columns.value("teachers", "name", "陳  小明") == "陈小明")
    }

    @Test("codes: digits, length, leading-zero tricks and Excel's scientific notation")
    func codes() {
        #expect(Columns.value("schools", "school_code", "'3150010001") == "3150010001")
        #expect(Columns.value("schools", "school_code", "=\"3150010001\"") == "3150010001")
        #expect(Columns.value("schools", "school_code", "３１５００１０００１") == "3150010001")
        #expect(Columns.problem("schools", "school_code", "315001000")?.constraint == "length")
        #expect(Columns.problem("schools", "school_code", "31500A0001")?.constraint == "digits")
        let sci = Columns.problem("schools", "school_code", "3.15001E+09")
        #expect(sci?.constraint == "scientific")
        #expect(sci?.zh.contains("文本") == true)
        #expect(Columns.value("teachers", "id_number", "11010519491231002x") == "11010519491231002X")
    }

    @Test("ID numbers are masked wherever they are shown")
    func idMasking() {
        #expect(IDNumber.mask("11010519491231002X") == "110105********002X")
        let p = Columns.problem("teachers", "id_number", "1101051949123100")
        #expect(p != nil)
        #expect(p?.zh.contains("1101051949123100") == false)
    }

    @Test("the MOD 11-2 check digit, birth date and sex inside an ID number")
    func idNumberParts() {
        #expect(IDNumber.checksumIsValid("11010519491231002X"))
        #expect(IDNumber.checksumIsValid("11010519491231002x"))
        #expect(!IDNumber.checksumIsValid("110105194912310021"))
        #expect(!IDNumber.checksumIsValid("11010519491231002"))
        #expect(IDNumber.birthDate("11010519491231002X") == Day(year: 1949, month: 12, day: 31))
        #expect(IDNumber.sex("11010519491231002X") == "female")
        #expect(IDNumber.sex("500110198604120015") == "male")
    }

    @Test("exact decimals: 万 scaling has no binary rounding")
    func exactDecimals() {
        let d = NumberText.parsePlainDecimal("15.4203")!.scaled(byPowerOfTen: 4)
        #expect(d?.description == "154203")
        #expect(d?.integerValue == 154203)
        #expect(NumberText.parsePlainDecimal("0.7883")!.scaled(byPowerOfTen: 4)?.description == "7883")
        #expect(FixedDecimal(mantissa: -5, exponent: -3).description == "-0.005")
    }

    @Test("scaling that cannot be held exactly is nil, never a trap or a long loop")
    func scalingOutOfRange() {
        let d = FixedDecimal(mantissa: 15, exponent: -1)
        #expect(d.scaled(byPowerOfTen: Int.max) == nil)
        #expect(d.scaled(byPowerOfTen: Int.min) == nil)
        #expect(FixedDecimal(mantissa: 1, exponent: 0).scaled(byPowerOfTen: 19) == nil)   // beyond 64 bits
        #expect(FixedDecimal(mantissa: 1, exponent: 0).scaled(byPowerOfTen: 18)?.description == "1000000000000000000")
        #expect(FixedDecimal(mantissa: 99_999_999, exponent: 0).scaled(byPowerOfTen: 12) == nil)
        #expect(FixedDecimal(mantissa: 5, exponent: 0).scaled(byPowerOfTen: -12)?.description == "0.000000000005")
    }
}
