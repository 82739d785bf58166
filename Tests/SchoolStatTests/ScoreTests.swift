import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
import ZIPFoundation

private let pair = TestSupport.fixture("packs/pair/current")

/// Validates `inputs`, then scores the run.
private func score(_ inputs: [String], configure: (inout ScoreOptions) -> Void = { _ in }) throws -> (ScoreResult, String) {
    let run = try TestSupport.validate(inputs)
    let out = TestSupport.temporaryDirectory() + "/evaluation"
    var options = ScoreOptions(run: run.outputDirectory, rulesDirectory: TestSupport.rules, outputDirectory: out)
    configure(&options)
    return (try Scorer.score(options), out)
}

@Suite("The county evaluation (schoolstat score)", .serialized)
struct ScoreTests {
    @Test("the evaluation's layout is pack data: an indicator dropped from `report:` leaves the tables, a pack without `report:` leaves the county list")
    func layoutFromPackData() throws {
        let rules = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: rules)
        let balance = rules + "/packs/balance.yaml", quality = rules + "/packs/quality.yaml"
        TestSupport.write(TestSupport.text(balance).replacingOccurrences(of: "    - {id: R7, rule: balance.R7, title_zh: 每百名学生拥有网络多媒体教室数, variation: cv_r7}\n", with: ""), to: balance)
        TestSupport.write(TestSupport.text(quality).replacingOccurrences(of: "report:\n  layout: county\n", with: ""), to: quality)
        let run = try TestSupport.validate([pair])
        let out = TestSupport.temporaryDirectory() + "/evaluation"
        let result = try Scorer.score(ScoreOptions(run: run.outputDirectory, rulesDirectory: rules, outputDirectory: out))
        let header = TestSupport.csvRows(out + "/school_indicators.csv").first ?? []
        #expect(header.contains("R6_value") && !header.contains("R7_value"), "\(header)")
        #expect(TestSupport.csvRows(out + "/school_indicators.csv").allSatisfy { $0.count == header.count })
        let indicators = result.indicators.map(\.indicator)
        #expect(indicators.contains("R6") && !indicators.contains("R7"))
        #expect(!indicators.contains { $0.hasPrefix("quality.") } && indicators.contains { $0.hasPrefix("guarantee.") })
    }

    @Test("a `report:` block that names a rule the pack does not have, or no layout, is a located rule-file error")
    func reportMistakes() {
        let unknown = TestSupport.loadRules(editing: "packs/balance.yaml") { $0.replacingOccurrences(of: "rule: balance.R7,", with: "rule: balance.R8,") }
        #expect(unknown.contains { $0.location.path.hasSuffix("balance.yaml") && $0.message.contains("balance.R8.primary") }, "\(unknown)")
        let variation = TestSupport.loadRules(editing: "packs/balance.yaml") { $0.replacingOccurrences(of: "variation: cv_r3}", with: "variation: cv_r9}") }
        #expect(variation.contains { $0.message.contains("cv_r9") && $0.message.contains("balance.cv.primary") }, "\(variation)")
        let layout = TestSupport.loadRules(editing: "packs/quality.yaml") { $0.replacingOccurrences(of: "layout: county", with: "layout: district") }
        #expect(layout.contains { $0.location.path.hasSuffix("quality.yaml") && $0.message.contains("layout") }, "\(layout)")
    }

    @Test("school indicators: sections, the 85 % boundary, exclusions with their reason")
    func schoolIndicators() throws {
        let (_, out) = try score([pair])
        let rows = TestSupport.csvRecords(out + "/school_indicators.csv")
        func row(_ code: String, _ section: String = "primary") -> [String: String]? {
            rows.first { $0["school_code"] == code && $0["section"] == section }
        }
        #expect(row("3150010007")?["verdict"] == "met" && row("3150010007")?["weakest_share"] == "0.85")
        #expect(row("3150010007")?["R4_met"] == "false" && row("3150010007")?["indicators_met"] == "6")
        #expect(row("3150010008")?["verdict"] == "not_met" && row("3150010008")?["weakest_share"] == "0.849")
        #expect(row("3150010006", "primary")?["pupils"] == "600" && row("3150010006", "junior")?["pupils"] == "300")
        #expect(row("3150010001")?["R1_value"] == "5" && row("3150010001")?["R1_standard"] == "4.2")
        let excluded = rows.first { $0["school_code"] == "3150010010" }
        #expect(excluded?["excluded_reason"] == "不足50人的教学点不参评")
        #expect(rows.first { $0["school_code"] == "3150010011" }?["excluded_reason"] == "特殊教育学校不参评")
        #expect(row("3150010009")?["verdict"] == "met" && row("3150010009")?["pupils"] == "50")   // a teaching point of exactly 50 is evaluated
        #expect(row("3150010012")?["R4_value"] == "4.5" && row("3150010012")?["R4_met"] == "true")  // exactly at the standard meets it
    }

    @Test("county indicators: schools meeting, pupil-weighted CV against its limit, the conclusion")
    func countyIndicators() throws {
        let (result, out) = try score([pair])
        let rows = TestSupport.csvRecords(out + "/county_indicators.csv")
        let a = rows.first { $0["county_code"] == "500110" && $0["section"] == "primary" && $0["indicator"] == "R4" }
        // By hand: P = 3950, X̄ = 19547.75 / 3950 = 4.9488, Σ(Pᵢ/P)(Xᵢ − X̄)² = 0.5350, CV = 0.7314 / 4.9488 = 0.1478.
        #expect(a?["schools_in_scope"] == "8" && a?["schools_meeting"] == "6" && a?["cv"] == "0.1478" && a?["conclusion"] == "达标")
        let b = rows.first { $0["county_code"] == "500111" && $0["section"] == "primary" && $0["indicator"] == "R1" }
        #expect(b?["conclusion"] == "不达标" && b?["cv_limit"] == "0.5")
        #expect(Double(b?["cv"] ?? "0")! > 0.5)
        let g8 = rows.first { $0["county_code"] == "500111" && $0["indicator"] == "guarantee.G8.teacher_wage" }
        #expect(g8?["conclusion"] == "不达标" && g8?["value"] == "140000" && g8?["standard"] == "150000")
        let q1 = rows.first { $0["county_code"] == "500110" && $0["indicator"] == "quality.Q1.retention" }
        #expect(q1?["numerator"] == "2026" && q1?["denominator"] == "2042" && q1?["value"] == "99.2" && q1?["standard"] == "95")
        #expect(result.indicators.contains { $0.indicator == "quality.Q4.county" && $0.county == "500110" && $0.conclusion == .met })
        let report = TestSupport.text(out + "/evaluation.md")
        // The counties by the names county finance gives them, the failing schools by name with their figures.
        #expect(report.contains("## 乙县（500111）") && report.contains("## 甲县（500110）"))
        #expect(report.contains("CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄"))
        #expect(report.contains("甲五小（3150010008）（3.82，标准 4.5）"), "\(report)")
        #expect(!report.contains("school_code=") && !report.contains("value="))
    }

    @Test("a failing indicator covered by waivers with a rectification note is 整改后达标")
    func rectification() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write("""
            - rule: guarantee.G8.teacher_wage
              key: county_code=500111;year=2024
              reason: 工资调整已批复
              expires: 2025-12-31
              rectification: 2025 年起教师绩效工资提高
            - rule: quality.S1.satisfaction
              key: county_code=500111;year=2024
              reason: 问卷重做
              expires: 2025-12-31
            """, to: dir + "/waivers.yaml")
        let (result, _) = try score([pair]) { $0.waivers = dir + "/waivers.yaml" }
        func conclusion(_ id: String) -> Conclusion? { result.indicators.first { $0.county == "500111" && $0.indicator == id }?.conclusion }
        #expect(conclusion("guarantee.G8.teacher_wage") == .metAfterRectification)
        #expect(conclusion("quality.S1.satisfaction") == .notMet)   // waived, but with no rectification note
        #expect(conclusion("guarantee.G14.quota") == .notMet)
    }

    @Test("indicators whose data is missing say so and name the missing table, never met")
    func dataMissing() throws {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(atPath: pair + "/schools.csv", toPath: dir + "/schools.csv")
        let (result, out) = try score([dir])
        let g8 = result.indicators.first { $0.indicator == "guarantee.G8.teacher_wage" }
        #expect(g8?.conclusion == .dataMissing)
        #expect(g8?.figures.contains("county_finance") == true)
        #expect(TestSupport.text(out + "/evaluation.md").contains("数据不足：本次运行没有「区县教育经费」表"))
        // Without --previous, the period comparison names the columns it lacks.
        let (paired, _) = try score([pair])
        let two = paired.indicators.first { $0.indicator == "finance.two_increase.total" }
        #expect(two?.conclusion == .dataMissing)
        #expect(two?.figures.contains("previous.edu_expenditure") == true)
    }

    @Test("the evaluation is deterministic and does not depend on row order")
    func deterministic() throws {
        let (_, first) = try score([pair])
        let (_, second) = try score([pair])
        for file in ["school_indicators.csv", "county_indicators.csv", "evaluation.md"] {
            #expect(TestSupport.text(first + "/" + file) == TestSupport.text(second + "/" + file), "\(file)")
        }
        let dir = TestSupport.temporaryDirectory()
        for file in try FileManager.default.contentsOfDirectory(atPath: pair) where file.hasSuffix(".csv") {
            var lines = TestSupport.text(pair + "/" + file).split(separator: "\n").map(String.init)
            let header = lines.removeFirst()
            var rng = SeededGenerator(seed: 11)
            lines.shuffle(using: &rng)
            TestSupport.write(([header] + lines).joined(separator: "\n") + "\n", to: dir + "/" + file)
        }
        let (_, shuffled) = try score([dir])
        #expect(TestSupport.text(shuffled + "/county_indicators.csv") == TestSupport.text(first + "/county_indicators.csv"))
        #expect(TestSupport.text(shuffled + "/school_indicators.csv") == TestSupport.text(first + "/school_indicators.csv"))
    }

    @Test("evaluation.html is one self-contained, printable file with a chart per indicator")
    func html() throws {
        let (result, out) = try score([pair])
        let html = TestSupport.text(out + "/evaluation.html")
        let charts = result.indicators.filter { !$0.distribution.isEmpty }.count
        #expect(charts == 28)
        #expect(html.components(separatedBy: "<svg").count - 1 == charts)
        for forbidden in ["<script", "<link", "src=", "@import", "url("] { #expect(!html.contains(forbidden), "\(forbidden)") }
        #expect(html.contains("@media print"))
        #expect(html.contains("标准 4.5"))        // the standard drawn on the R4 chart
        #expect(html.contains("<span class=\"notmet\">不达标</span>"))
        #expect(html.contains("3150010008"))
    }

    @Test("seed 003's county figures come through the score")
    func seed003() throws {
        let (result, _) = try score([TestSupport.fixture("packs/seed003")])
        let q4 = result.indicators.first { $0.indicator == "quality.Q4.county" }
        #expect(q4?.figures == "numerator=6; denominator=26; value=23; standard=100; public_funds=18142000; training=788300")
        #expect(q4?.conclusion == .notMet)
        #expect(result.indicators.first { $0.indicator == "quality.Q1.retention" }?.figures == "numerator=2026; denominator=2042; value=99.2; standard=95")
        #expect(result.indicators.first { $0.indicator == "guarantee.G8.teacher_wage" }?.conclusion == .met)
    }

    @Test("--lang en writes the report in English")
    func english() throws {
        let (_, out) = try score([pair]) { $0.english = true }
        let report = TestSupport.text(out + "/evaluation.md")
        #expect(report.contains("## 甲县 (500110)") && report.contains("not met"))
        #expect(TestSupport.csvRecords(out + "/county_indicators.csv").contains { $0["conclusion"] == "met" })
    }

    @Test("the self-evaluation draft is a Word package: content types, relationships, heading styles, every text escaped")
    func draftPackage() throws {
        let dir = TestSupport.temporaryDirectory()
        for file in try FileManager.default.contentsOfDirectory(atPath: pair) {
            try FileManager.default.copyItem(atPath: pair + "/" + file, toPath: dir + "/" + file)
        }
        let schools = TestSupport.text(dir + "/schools.csv")
        TestSupport.write(schools.replacingOccurrences(of: ",甲五小,", with: ",\"<script>alert(1)</script> & \"\"甲\"\"\","), to: dir + "/schools.csv")
        let (_, out) = try score([dir]) { $0.countyName = "试验<县>" }
        let archive = try Archive(url: URL(fileURLWithPath: out + "/self_evaluation.docx"), accessMode: .read)
        func part(_ name: String) throws -> String {
            guard let entry = archive[name] else { Issue.record("no \(name)"); return "" }
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            return String(decoding: data, as: UTF8.self)
        }
        let types = try part("[Content_Types].xml")
        #expect(types.contains("/word/document.xml") && types.contains("wordprocessingml.document.main+xml") && types.contains("/word/styles.xml"))
        #expect(try part("_rels/.rels").contains("Target=\"word/document.xml\""))
        #expect(try part("word/_rels/document.xml.rels").contains("Target=\"styles.xml\""))
        let styles = try part("word/styles.xml")
        for h in 1...3 { #expect(styles.contains("w:styleId=\"Heading\(h)\"") && styles.contains("<w:name w:val=\"heading \(h)\"/>")) }
        let document = try part("word/document.xml")
        // The county named as told, the hostile school name as text, nothing unescaped.
        #expect(document.contains("试验&lt;县&gt;县域义务教育优质均衡发展自评报告（数据部分·草稿）"))
        #expect(document.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;甲&quot;"))
        #expect(!document.contains("<script>") && !document.contains("试验<县>"))
        // The draft's parts, in order, the overall verdict first.
        let order = ["总体结论", "一、基本情况", "二、指标完成情况", "三、存在的主要问题", "四、后续工作推进思路"].map { document.range(of: ">\($0)<")?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order.map { $0! } == order.map { $0! }.sorted(), "\(order)")
        #expect(document.contains("<w:highlight w:val=\"yellow\"/>"))
        // The same bytes for the same data.
        let (_, again) = try score([dir]) { $0.countyName = "试验<县>" }
        #expect(FileManager.default.contents(atPath: out + "/self_evaluation.docx") == FileManager.default.contents(atPath: again + "/self_evaluation.docx"))
    }

    @Test("the county's name from a title row: the province or city in front dropped, the year and table name after it")
    func countyFromTitle() {
        #expect(EvaluationReport.countyName(inTitle: "万盛经开区2024年义务教育学校基本情况统计表") == "万盛经开区")
        #expect(EvaluationReport.countyName(inTitle: "重庆市万盛经开区2024年义务教育学校基本情况统计表") == "万盛经开区")
        #expect(EvaluationReport.countyName(inTitle: "北京市海淀区 中小学校情况") == "海淀区")
        #expect(EvaluationReport.countyName(inTitle: "酉阳土家族苗族自治县学校统计表（2024年）") == "酉阳土家族苗族自治县")
        #expect(EvaluationReport.countyName(inTitle: "2024年学校基本情况统计表") == nil)
        #expect(EvaluationReport.countyName(inTitle: "重庆市2024年统计") == nil)
    }

    @Test("a layout naming a rule no pack in force has is a located rule-file error; one the packs drop is reported as lacking data")
    func layoutMistakes() throws {
        let rules = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: rules)
        let layout = rules + "/reports/self_evaluation.yaml"
        let original = TestSupport.text(layout)
        TestSupport.write(original.replacingOccurrences(of: "rules: [guarantee.G5.class_size]", with: "rules: [guarantee.G5.class_sizes]"), to: layout)
        let run = try TestSupport.validate([pair])
        #expect(throws: RunError.self) {
            _ = try Scorer.score(ScoreOptions(run: run.outputDirectory, rulesDirectory: rules, outputDirectory: TestSupport.temporaryDirectory() + "/e"))
        }
        do {
            _ = try Scorer.score(ScoreOptions(run: run.outputDirectory, rulesDirectory: rules, outputDirectory: TestSupport.temporaryDirectory() + "/e"))
        } catch {
            #expect("\(error)".contains("self_evaluation.yaml") && "\(error)".contains("guarantee.G5.class_sizes"), "\(error)")
        }
        // An indicator added to the layout alone: listed in its place, to be filled in.
        TestSupport.write(original.replacingOccurrences(of: "      G15:\n", with: "      G16:\n        title_zh: 新增的保障指标\n        fill_zh: 新增指标的落实情况\n      G15:\n"), to: layout)
        let result = try Scorer.score(ScoreOptions(run: run.outputDirectory, rulesDirectory: rules, outputDirectory: TestSupport.temporaryDirectory() + "/e"))
        let drafts = SelfEvaluation.build(result.indicators, context: result.context)
        let guarantee = drafts.first?.parts.first { $0.name == "政府保障程度" }
        #expect(guarantee?.indicators.count == 16)
        #expect(guarantee?.indicators[14].title == "新增的保障指标" && guarantee?.indicators[14].conclusion == .toFill)
        #expect(guarantee?.indicators[14].number == "指标十五" && guarantee?.indicators[15].number == "指标十六")
    }

    @Test("score refuses a directory that is not a run")
    func notARun() {
        let options = ScoreOptions(run: TestSupport.temporaryDirectory(), rulesDirectory: TestSupport.rules, outputDirectory: TestSupport.temporaryDirectory() + "/e")
        #expect(throws: RunError.self) { try Scorer.score(options) }
    }
}

@Suite("County finance alone, and a year the run does not cover")
struct CountyFinanceYearTests {
    static let header = "county_code,county_name,year,edu_expenditure,edu_expenditure_per_pupil,edu_expenditure_growth,fiscal_revenue_growth,avg_teacher_wage,avg_civil_servant_wage"

    private func file(year: Int) -> String {
        let dir = TestSupport.temporaryDirectory()
        // The average teacher wage is below the civil servants': G8 is not met.
        TestSupport.write(Self.header + "\n500110,万盛经开区,\(year),18.12亿,\"15,890.20\",3.1%,2.5%,\"140,000\",\"147,300\"\n", to: dir + "/county_finance.csv")
        return dir + "/county_finance.csv"
    }

    @Test("a 2021 row under the 2024 reporting year: the run says no row covers 2024 and exits non-zero")
    func uncoveredYear() throws {
        let result = try TestSupport.validate([file(year: 2021)])
        #expect(result.status == .dataErrors)
        let entry = TestSupport.ledger(result).first { $0["rule_id"] == "county_finance.year_not_covered" }
        #expect(entry?["message_zh"]?.contains("没有 2024 年") == true)
        #expect(entry?["raw_value"] == "2021")
        // The same file evaluated for its own year: G8 not met.
        let own = try TestSupport.validate([file(year: 2021)]) { $0.asOf = "2021-09-30" }
        #expect(TestSupport.csvRecords(own.outputDirectory + "/evaluations.csv").contains { $0["rule_id"] == "guarantee.G8.teacher_wage" && $0["verdict"] == "not_met" })
        #expect(!TestSupport.ledger(own).contains { $0["rule_id"] == "county_finance.year_not_covered" })
    }

    @Test("score on a run of county finance alone reports G8, not an empty evaluation")
    func financeOnly() throws {
        let run = try TestSupport.validate([file(year: 2024)])
        let out = TestSupport.temporaryDirectory() + "/evaluation"
        let result = try Scorer.score(ScoreOptions(run: run.outputDirectory, rulesDirectory: TestSupport.rules, outputDirectory: out))
        let g8 = result.indicators.first { $0.indicator == "guarantee.G8.teacher_wage" }
        #expect(g8?.county == "500110")
        #expect(g8?.conclusion == .notMet)
        #expect(TestSupport.csvRecords(out + "/county_indicators.csv").contains { $0["indicator"] == "guarantee.G8.teacher_wage" && $0["conclusion"] == "不达标" })
        #expect(TestSupport.text(out + "/evaluation.md").contains("教师平均工资"))
    }

    @Test("score on a run whose county finance has another year: G8 is 数据缺失, naming the years there are")
    func financeOtherYear() throws {
        let run = try TestSupport.validate([file(year: 2021)])
        let result = try Scorer.score(ScoreOptions(run: run.outputDirectory, rulesDirectory: TestSupport.rules,
                                                   outputDirectory: TestSupport.temporaryDirectory() + "/evaluation"))
        let g8 = result.indicators.first { $0.indicator == "guarantee.G8.teacher_wage" }
        #expect(g8?.conclusion == .dataMissing)
        #expect(g8?.figures.contains("2021") == true)
    }
}
