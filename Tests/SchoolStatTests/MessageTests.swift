import Foundation
import Testing
import SchoolStatModel
import SchoolStatRules
import SchoolStatPipeline

@Suite("Messages a clerk reads")
struct MessageTests {
    @Test("Chinese messages name columns by their Chinese titles, never by canonical keys (outside the 「标题（key）」 label)")
    func chineseMessagesNameChineseTitles() throws {
        let ruleSet = try LoadedRules.load(directory: TestSupport.rules).ruleSet
        let keys = Set(ruleSet.tables.flatMap { $0.columns.map(\.name) }.filter { $0.contains("_") })
        let run = try TestSupport.validate([TestSupport.samples])
        let ledger = TestSupport.csvRecords(run.outputDirectory + "/ledger.csv")
        #expect(ledger.count > 50)
        let label = try Regex("（[a-z_.]+）")
        for entry in ledger {
            let text = (entry["message_zh"] ?? "").replacing(label, with: "")
            // Words of lower-case letters and underscores: none of them is a column's key.
            let words = text.split { !($0.isASCII && ($0.isLowercase || $0 == "_")) }.map(String.init)
            #expect(words.allSatisfy { !keys.contains($0) }, "\(entry["rule_id"] ?? ""): \(entry["message_zh"] ?? "")")
        }
        // The repeated county-and-year row of the samples: 行政区划代码+年度, not county_code+year.
        let repeated = ledger.first { $0["rule_id"] == "county_finance.unique_county_year" }
        #expect(repeated?["message_zh"]?.hasPrefix("行政区划代码+年度 为“500110, 2024”的记录重复") == true, "\(repeated ?? [:])")
        #expect(repeated?["message_en"]?.hasPrefix("Duplicate county_code+year") == true)
    }

    @Test("every cell and file message has words in both catalogues")
    func bothCatalogues() {
        let column = CellSubject(ColumnSpec(name: "birth_date", type: .date, titleZh: "出生日期", titleEn: "Birth date", aliases: [], required: true,
                                            unit: nil, minimum: nil, maximum: nil, earliest: nil, latest: nil, length: nil, digitsOnly: false,
                                            uppercase: false, pattern: nil, enumAliases: [:], enumValues: [], missingTokens: [], acceptRatio: false,
                                            personal: nil, cleanOutput: .keep, hintZh: nil, hintEn: nil,
                                            location: SourceLocation(path: "", line: 0, column: 0)))
        let cells: [CellMessage] = [
            .required, .length(expected: "18", found: 17, shown: "x"), .pattern(shown: "x"), .scientific(shown: "5E+17"), .digits(shown: "x"),
            .notNumber(integer: true, unit: "元", shown: "x"), .misplacedGrouping(shown: "1,2"), .tooManyDigits(shown: "1"),
            .unknownUnit(shown: "3斤", written: "斤", unit: "元", spellings: "元、万元"), .notWhole(shown: "1.5", read: "1.5"),
            .outOfRange(shown: "9", range: "0 ~ 1", unit: "", negative: false, headerUnit: "万元", read: "90000"),
            .notDate(shown: "x"), .dateOutOfRange(day: "1900-01-01", shown: "x", range: "…"), .notBoolean(shown: "x"),
            .notAccepted(shown: "x", acceptedZh: "男、女", acceptedEn: "male, female"),
        ]
        for m in cells {
            #expect(m.zh(column).contains("出生日期") && !m.zh(column).isEmpty, "\(m)")
            #expect(m.en(column).contains("Birth date") || m.en(column).contains("birth_date"), "\(m)")
        }
        let table = TableSubject(TableSchema(name: "county_finance", titleZh: "县级财政", titleEn: "County finance", columns: [], key: [], unique: [],
                                             checks: [], minimumHeaderMatches: 0, path: ""))
        let files: [FileMessage] = [
            .blankLine(line: 3), .repeatedHeader(line: 3), .titleRow(line: 1), .tooFewFields(line: 3, lineCount: 2, got: 2, expected: 5),
            .tooManyFields(line: 3, lineCount: 1, got: 6, expected: 5, extra: ["a"]), .trailingEmptyFields(line: 3, lineCount: 1, got: 6, expected: 5),
            .invalidEncoding(column: column, encoding: "gb18030", shown: "x"), .formulaLike(column: column, first: "="),
            .duplicateKey(columnsZh: "教师编号", columnsEn: "teacher_id", key: "T1", firstLine: 2, firstFile: nil),
            .unknownHeader(table: table, letter: "C", text: "x"),
            .duplicateHeader(column: column, firstLetter: "A", firstText: "a", repeatedLetter: "B", repeatedText: "b"),
            .missingRequiredColumn(column: column, headers: ["出生日期"]), .wrongEncoding(given: "utf-8", detected: "gb18030"),
            .yearNotCovered(table: table, year: 2024, years: ["2023"]), .waiverExpired(rule: "r", key: "k", expires: "2024-01-01", wasNeeded: true),
            .waiverUnused(rule: "r", key: "k"), .notRegularFile(path: "/p", kind: .pipe), .unreadableDirectory(path: "/d", reason: "r"),
            .brokenLink(path: "/l"), .oldExcelWorkbook, .emptyFile, .unknownTable(scores: "schools=1"),
        ]
        for m in files {
            // Chinese words in the Chinese catalogue, none in the English one.
            #expect(m.zh.unicodeScalars.contains { $0.value >= 0x4E00 && $0.value <= 0x9FFF }, "\(m)")
            #expect(!m.en.isEmpty && m.en != m.zh, "\(m)")
        }
        #expect(FileMessage.yearNotCovered(table: table, year: 2024, years: ["2023"]).zh.contains("「县级财政」"))
    }
}
