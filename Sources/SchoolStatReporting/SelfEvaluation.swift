// Reporting: the county's self-evaluation as the evaluation group writes it (seed 003): the overall
// verdict, 一、基本情况, 二、指标完成情况 indicator by indicator in the official method's order,
// 三、存在的主要问题 ordered by shortfall, 四、后续工作推进思路 — one model, written as the Word draft
// (self_evaluation.docx) and used by the HTML and Markdown reports for their sentences and verdict.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// A school as the reports name it.
public struct SchoolInfo: Sendable {
    public var code: String
    public var name: String
    public var type: String
    public var county: String
    public var inScope: Bool
}

/// A school section's verdict on the 6-of-7 school rule.
public struct SchoolVerdict: Sendable {
    public var code: String
    public var county: String
    public var section: String
    public var met: Bool
}

/// 一、基本情况 of one county, from clean/schools.
public struct CountyBasics: Sendable {
    public var byType: [String: Int] = [:]
    /// Teaching points below the evaluation's size (outside it).
    public var smallTeachingPoints = 0
    public var primaryPupils = 0.0
    public var juniorPupils = 0.0
    public var specialPupils = 0.0
    public var teachers = 0.0
    public var teachersKnown = false
}

/// What the reports know beyond the indicators: names, the school verdicts, the county's basics,
/// the layout of the self-evaluation.
public struct ReportContext: Sendable {
    public var countyNames: [String: String] = [:]
    public var schools: [String: SchoolInfo] = [:]
    public var schoolVerdicts: [SchoolVerdict] = []
    public var basics: [String: CountyBasics] = [:]
    /// Rows of the schools table rejected by validation (not in the figures).
    public var rejectedSchools = 0
    public var layout: SelfEvaluationLayout?
    public var parameters: [String: String] = [:]
    public var year = 0
    public var teachingPointMinimum = "50"
    /// The run history's file name, when the report has a section on the recorded runs.
    public var historyName: String?

    public init() {}

    public func countyName(_ code: String) -> String { countyNames[code] ?? "行政区划代码 \(code)" }
    public func countyNameEn(_ code: String) -> String { countyNames[code].map { "\($0) (\(code))" } ?? "County \(code)" }

    /// A group key (`school_code=…`) or code as its school's name, the code after it.
    public func schoolLabel(_ key: String) -> String {
        let code = key.hasPrefix("school_code=") ? String(key.dropFirst("school_code=".count).prefix { $0 != ";" }) : key
        guard let name = schools[code]?.name, !name.isEmpty else { return code }
        return "\(name)（\(code)）"
    }

    public func schoolName(_ key: String) -> String {
        let code = key.hasPrefix("school_code=") ? String(key.dropFirst("school_code=".count).prefix { $0 != ";" }) : key
        guard let name = schools[code]?.name, !name.isEmpty else { return code }
        return name
    }
}

/// A conclusion as the draft gives it.
public enum DraftConclusion: String, Sendable {
    case met = "达标"
    case metAfterRectification = "整改后达标"
    case notMet = "不达标"
    case insufficient = "数据不足"
    case toFill = "待填写"

    public var english: String {
        switch self {
        case .met: return "met"
        case .metAfterRectification: return "met after rectification"
        case .notMet: return "not met"
        case .insufficient: return "insufficient data"
        case .toFill: return "to be filled in"
        }
    }

    init(_ c: Conclusion) {
        switch c {
        case .met: self = .met
        case .metAfterRectification: self = .metAfterRectification
        case .notMet: self = .notMet
        case .dataMissing: self = .insufficient
        }
    }
}

/// A piece of text, marked when the evaluator has to fill it in.
public struct DraftText: Sendable {
    public var text: String
    public var highlighted = false
    public init(_ text: String, highlighted: Bool = false) { self.text = text; self.highlighted = highlighted }
}

/// One indicator of the draft.
public struct DraftIndicator: Sendable {
    public var number: String
    public var title: String
    public var standard: String
    /// The figures, in sentences (empty when nothing was computed).
    public var body: [DraftText]
    public var conclusion: DraftConclusion
    /// The rules behind it, for the appendix.
    public var rules: [String]
    public var english: String
    /// The title in English where the packs give one (the Chinese title otherwise).
    public var titleEn: String = ""
}

public struct DraftPart: Sendable {
    public var name: String
    public var nameEn: String
    public var heading: String
    public var headingEn: String
    public var counted: Bool
    public var indicators: [DraftIndicator]
}

/// An item of 三、存在的主要问题.
public struct DraftProblem: Sendable {
    public var text: String
    public var shortfall: Double
}

/// One county's draft.
public struct CountyDraft: Sendable {
    public var county: String
    public var name: String
    public var title: String
    public var basics: String
    public var parts: [DraftPart]
    /// County-layout rules the official method does not list (finance over time, funding floors,
    /// plan targets), after the parts.
    public var others: [DraftIndicator]
    public var problems: [DraftProblem]

    /// Per counted part: met, not met, insufficient data, to fill in.
    public var tally: [(part: String, partEn: String, met: Int, notMet: Int, insufficient: Int, toFill: Int)] {
        parts.filter(\.counted).map { p in
            (p.name, p.nameEn,
             p.indicators.filter { $0.conclusion == .met || $0.conclusion == .metAfterRectification }.count,
             p.indicators.filter { $0.conclusion == .notMet }.count,
             p.indicators.filter { $0.conclusion == .insufficient }.count,
             p.indicators.filter { $0.conclusion == .toFill }.count)
        }
    }

    /// The overall verdict in one sentence.
    public var verdict: String {
        let t = tally
        let notMet = t.reduce(0) { $0 + $1.notMet }, insufficient = t.reduce(0) { $0 + $1.insufficient }, toFill = t.reduce(0) { $0 + $1.toFill }
        if notMet > 0 {
            return "总体结论：按本次数据，\(name)尚未达到县域义务教育优质均衡发展的标准，有 \(notMet) 项指标不达标"
                + (insufficient + toFill > 0 ? "，另有 \(insufficient) 项数据不足、\(toFill) 项待填写。" : "。")
        }
        if insufficient + toFill > 0 {
            return "总体结论：按本次数据计算的指标均已达标；另有 \(insufficient) 项数据不足、\(toFill) 项待填写，补齐后方可得出结论。"
        }
        return "总体结论：按本次数据，\(name)各项指标均已达标。"
    }

    public var verdictEn: String {
        let t = tally
        let notMet = t.reduce(0) { $0 + $1.notMet }, insufficient = t.reduce(0) { $0 + $1.insufficient }, toFill = t.reduce(0) { $0 + $1.toFill }
        if notMet > 0 {
            return "Overall: on this data the county does not yet meet the standard; \(notMet) indicators are not met, \(insufficient) lack data and \(toFill) are to be filled in."
        }
        if insufficient + toFill > 0 {
            return "Overall: every indicator computed is met; \(insufficient) lack data and \(toFill) are to be filled in before a conclusion."
        }
        return "Overall: every indicator is met on this data."
    }

    /// The indicators not met, each with its part.
    public var notMet: [(part: String, partEn: String, indicator: DraftIndicator)] {
        parts.filter(\.counted).flatMap { p in p.indicators.filter { $0.conclusion == .notMet }.map { (p.name, p.nameEn, $0) } }
    }
}

public enum SelfEvaluation {
    static let numerals = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十"]

    static func numeral(_ i: Int) -> String { i < numerals.count ? numerals[i] : String(i + 1) }

    static func sectionName(_ s: String) -> String { s == "primary" ? "小学" : (s == "junior" ? "初中" : s) }

    /// `x` rounded to `decimals`, written without trailing zeros.
    static func rounded(_ x: Double, _ decimals: Int) -> String {
        let p = pow(10.0, Double(decimals))
        return Value.format((x * p).rounded() / p)
    }

    /// A variation coefficient as the reports write it: three decimals.
    static func cv(_ text: String) -> String {
        guard let v = Double(text) else { return "—" }
        return String(format: "%.3f", v)
    }

    static func share(_ met: Int, _ of: Int) -> String { of == 0 ? "—" : rounded(Double(met) / Double(of) * 100, 1) + "%" }

    /// Fills `{name}`, `{name:万元}`, `{name:%}`, `{name:N}` from `lookup`; nil when a name has no value.
    static func fill(_ template: String, _ lookup: (String) -> String?) -> String? {
        var complete = true
        let text = Placeholders.fill(template) { placeholder in
            let parts = placeholder.split(separator: ":", maxSplits: 1).map(String.init)
            guard let raw = lookup(parts[0]), !raw.isEmpty else { complete = false; return "" }
            guard parts.count == 2 else { return raw }
            guard let v = Double(raw) else { return raw }
            switch parts[1] {
            case "万元": return rounded(v / 10000, 4)
            case "%": return rounded(v * 100, 1)
            default: return Int(parts[1]).map { rounded(v, $0) } ?? raw
            }
        }
        return complete ? text : nil
    }

    /// The parts of a group key (`county_code=…;grade=4;subject=数学`).
    static func groupParts(_ key: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in key.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    /// What a county-level rule's verdicts say, in the layout's sentence for it (or the figures
    /// named in Chinese when it has none).
    static func countySentences(_ c: CountyIndicator, context: ReportContext) -> [String] {
        c.verdicts.map { v in
            let lookup: (String) -> String? = { name in
                if name == "year" { return groupParts(v.group)["year"] ?? String(context.year) }
                return v.figures[name] ?? groupParts(v.group)[name]
            }
            if let template = context.layout?.sentencesZh[c.indicator], let s = fill(template, lookup) { return s }
            let value = v.figures["value"].map { "数值为\($0)" } ?? v.figures.sorted { $0.key < $1.key }.map(\.value).joined(separator: "、")
            return value + (v.figures["standard"].map { "，标准为\($0)" } ?? "")
        }
    }

    /// The figures of one indicator computed from data, in Chinese sentences.
    public static func sentence(_ c: CountyIndicator, context: ReportContext) -> String {
        if c.conclusion == .dataMissing { return "数据不足：" + c.missingZh + "。" + toFill }
        if c.schoolsInScope != nil && c.section.isEmpty {
            let n = c.schoolsInScope ?? 0, m = c.schoolsMeeting ?? 0
            var s = "「\(c.title)」达标学校 \(m) 所"
            if !c.failing.isEmpty { s += "，不达标 \(c.failing.count) 所（\(names(c.failing.map(\.0), context: context))）" }
            s += "，达标比例 \(share(m, n))。"
            return s
        }
        let sentences = countySentences(c, context: context)
        return sentences.isEmpty ? "" : sentences.joined(separator: "；") + "。"
    }

    /// What the evaluator does with an indicator the data cannot decide.
    static let toFill = "（待填写：补充上述数据后重新计算，或据实说明本项情况）"

    static func names(_ list: [String], limit: Int = 30) -> String {
        list.prefix(limit).joined(separator: "、") + (list.count > limit ? " 等 \(list.count) 所" : "")
    }

    /// Schools by name from their keys, the first `limit` of them named.
    static func names(_ keys: [String], context: ReportContext, limit: Int = 30) -> String {
        keys.prefix(limit).map { context.schoolName($0) }.joined(separator: "、") + (keys.count > limit ? " 等 \(keys.count) 所" : "")
    }

    static func combine(_ conclusions: [Conclusion]) -> DraftConclusion {
        if conclusions.isEmpty { return .insufficient }
        if conclusions.contains(.notMet) { return .notMet }
        if conclusions.contains(.dataMissing) { return .insufficient }
        if conclusions.contains(.metAfterRectification) { return .metAfterRectification }
        return .met
    }

    /// Every county's draft.
    public static func build(_ indicators: [CountyIndicator], context: ReportContext) -> [CountyDraft] {
        guard let layout = context.layout else { return [] }
        let counties = Array(Set(indicators.map(\.county))).sorted()
        return counties.map { county in
            let mine = indicators.filter { $0.county == county }
            let name = context.countyNames[county] ?? context.countyName(county)
            var problems: [DraftProblem] = []
            var used: Set<String> = []
            var parts: [DraftPart] = []
            let params = { (n: String) in context.parameters[n] }
            for part in layout.parts {
                var out: [DraftIndicator] = []
                for (i, spec) in part.indicators.enumerated() {
                    let standard = fill(spec.standardZh, params) ?? spec.standardZh
                    var indicator = DraftIndicator(number: "指标\(numeral(i))", title: spec.titleZh, standard: standard, body: [],
                                                   conclusion: .toFill, rules: spec.rules, english: "")
                    indicator.titleEn = spec.titleZh
                    if let fillText = spec.fillZh {
                        indicator.body = [DraftText("（待填写：\(fillText)）", highlighted: true)]
                        indicator.conclusion = .toFill
                        indicator.english = "To be filled in from documents."
                    } else if let report = spec.report {
                        let sections = mine.filter { $0.indicator == report && !$0.section.isEmpty }
                        used.insert(report)
                        indicator.titleEn = sections.first?.titleEn ?? spec.titleZh
                        indicator.rules = sections.map { "balance.\(report).\($0.section)" }
                        resource(&indicator, spec: spec, sections: sections, county: county, context: context, problems: &problems)
                    } else if spec.schoolRule {
                        indicator.rules = ["balance.school"]
                        indicator.titleEn = "Schools meeting 6 of the 7 resource standards, the last at least 85 %"
                        schoolRule(&indicator, county: county, resources: mine.filter { !$0.section.isEmpty }, context: context, problems: &problems)
                    } else {
                        let found = spec.rules.compactMap { r in mine.first { $0.indicator == r } }
                        used.formUnion(spec.rules)
                        indicator.titleEn = found.first?.titleEn ?? spec.titleZh
                        if found.isEmpty {
                            // No rule applied: nothing in the data is of the kind the indicator is about.
                            indicator.body = [DraftText("（待填写：数据中没有该指标适用的学校或数据行，请核实后说明）", highlighted: true)]
                            indicator.conclusion = .toFill
                            indicator.english = "Nothing in the data this indicator applies to."
                        } else {
                            indicator.body = found.map { c in DraftText(sentence(c, context: context), highlighted: c.conclusion == .dataMissing) }
                            indicator.conclusion = combine(found.map(\.conclusion))
                            indicator.english = found.map { englishSentence($0, context: context) }.joined(separator: " ")
                            if indicator.conclusion == .notMet {
                                problems.append(problem(spec.titleZh, found: found, context: context))
                            }
                        }
                    }
                    out.append(indicator)
                }
                parts.append(DraftPart(name: part.nameZh, nameEn: part.nameEn, heading: part.headingZh, headingEn: part.headingEn,
                                       counted: part.counted, indicators: out))
            }
            var others: [DraftIndicator] = []
            for c in mine where c.section.isEmpty && !used.contains(c.indicator) {
                let body = sentence(c, context: context)
                others.append(DraftIndicator(number: "", title: c.title, standard: "", body: body.isEmpty ? [] : [DraftText(body, highlighted: c.conclusion == .dataMissing)],
                                             conclusion: DraftConclusion(c.conclusion), rules: [c.indicator], english: englishSentence(c, context: context),
                                             titleEn: c.titleEn))
                if c.conclusion == .notMet { problems.append(problem(c.title, found: [c], context: context)) }
            }
            problems.sort { $0.shortfall > $1.shortfall }
            let title = fill(layout.titleZh, { $0 == "county" ? name : nil }) ?? layout.titleZh
            return CountyDraft(county: county, name: name, title: title, basics: basics(county, context: context), parts: parts,
                               others: others, problems: problems)
        }
    }

    static func englishSentence(_ c: CountyIndicator, context: ReportContext) -> String {
        if c.conclusion == .dataMissing { return "Insufficient data: \(c.missingEn)." }
        if let n = c.schoolsInScope, c.section.isEmpty {
            let failing = c.failing.prefix(30).map { context.schoolLabel($0.0) }
            return "\(c.schoolsMeeting ?? 0) of \(n) schools meet it" + (failing.isEmpty ? "." : "; not met: \(failing.joined(separator: ", "))\(c.failing.count > 30 ? " and \(c.failing.count - 30) more" : "").")
        }
        return c.verdicts.map { v in v.figures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }.joined(separator: "; ")
    }

    /// A resource indicator (R1–R7): schools meeting it over both sections, the failing ones by
    /// section, the variation coefficients.
    static func resource(_ indicator: inout DraftIndicator, spec: SelfEvaluationLayout.Indicator, sections: [CountyIndicator], county: String,
                         context: ReportContext, problems: inout [DraftProblem]) {
        guard !sections.isEmpty else {
            indicator.body = [DraftText("数据不足：本次评估没有算出该指标（没有参评的义务教育学校，或规则包不计算该项）。" + toFill, highlighted: true)]
            indicator.conclusion = .insufficient
            indicator.english = "No school in scope."
            return
        }
        var all: Set<String> = [], failing: Set<String> = []
        var failingBySection: [(section: String, schools: [(key: String, value: Double?, standard: Double?)])] = []
        for c in sections {
            all.formUnion(c.distribution.map(\.school))
            // A school's value is its bar in the distribution (the figure `value`, read once).
            let values = c.values
            var list: [(key: String, value: Double?, standard: Double?)] = []
            for (key, _) in c.failing {
                let code = String(key.dropFirst("school_code=".count))
                all.insert(code); failing.insert(code)
                list.append((key, values[code], c.standard))
            }
            failingBySection.append((c.section, list))
        }
        let basics = context.basics[county]
        let special = basics?.byType["special_education"] ?? 0, small = basics?.smallTeachingPoints ?? 0
        var excluded: [String] = []
        if special > 0 { excluded.append("特殊教育学校 \(special) 所") }
        if small > 0 { excluded.append("\(context.teachingPointMinimum) 人以下教学点 \(small) 个") }
        var s = "「\(spec.titleZh)」达标学校 \(all.count - failing.count) 所" + (excluded.isEmpty ? "" : "（不含\(excluded.joined(separator: "、"))）")
        let failed = failingBySection.filter { !$0.schools.isEmpty }
        if !failed.isEmpty {
            s += "，不达标" + failed.map { "\(sectionName($0.section)) \($0.schools.count) 所（\(names($0.schools.map(\.key), context: context))）" }.joined(separator: "、")
        }
        s += "，达标比例 \(share(all.count - failing.count, all.count))。"
        let cvs = sections.map { cv($0.cv) }
        if sections.count == 1 {
            s += "区域内校际差异系数\(sectionName(sections[0].section))为：\(cvs[0])。"
        } else {
            s += "区域内校际差异系数\(sections.map { sectionName($0.section) }.joined(separator: "、"))分别为：\(cvs.joined(separator: "、"))。"
        }
        indicator.body = [DraftText(s)]
        indicator.conclusion = combine(sections.map(\.conclusion))
        indicator.english = "\(all.count - failing.count) of \(all.count) schools meet it; variation coefficients " + cvs.joined(separator: ", ") + "."
        // A problem: the schools below the standard, the furthest first, and any coefficient over its limit.
        var items: [String] = [], worst = 0.0
        for (section, schools) in failed {
            let sorted = schools.sorted { ($0.value ?? 0) / max($0.standard ?? 1, 1e-9) < ($1.value ?? 0) / max($1.standard ?? 1, 1e-9) }
            let shown = sorted.prefix(5).map { school -> String in
                guard let v = school.value, let st = school.standard else { return context.schoolName(school.key) }
                worst = max(worst, st > 0 ? (st - v) / st : 0)
                return "\(context.schoolName(school.key)) \(Value.format(v)) \(spec.unitZh)，差 \(rounded(st - v, 2)) \(spec.unitZh)"
            }
            items.append("\(sectionName(section)) \(schools.count) 所未达标，其中" + shown.joined(separator: "；") + (schools.count > 5 ? "；等" : ""))
        }
        for c in sections where c.conclusion == .notMet {
            if let v = Double(c.cv), let limit = Double(c.cvLimit) {
                worst = max(worst, limit > 0 ? (v - limit) / limit : 0)
                items.append("\(sectionName(c.section))校际差异系数 \(cv(c.cv))，高于 \(Value.format(limit))")
            }
        }
        if !items.isEmpty { problems.append(DraftProblem(text: "\(spec.titleZh)：" + items.joined(separator: "；") + "。", shortfall: worst)) }
    }

    /// The school rule: schools whose every section meets 6 of 7.
    static func schoolRule(_ indicator: inout DraftIndicator, county: String, resources: [CountyIndicator], context: ReportContext,
                           problems: inout [DraftProblem]) {
        let verdicts = context.schoolVerdicts.filter { $0.county == county }
        guard !verdicts.isEmpty else {
            indicator.body = [DraftText("数据不足：本次数据中没有参评的义务教育学校。" + toFill, highlighted: true)]
            indicator.conclusion = .insufficient
            indicator.english = "No school in scope."
            return
        }
        let all = Set(verdicts.map(\.code))
        var failingCodes: [String] = [], seen: Set<String> = []
        for v in verdicts where !v.met && seen.insert(v.code).inserted { failingCodes.append(v.code) }
        var s = "7 项资源配置指标中至少 6 项达标、余项不低于标准值 85% 的学校 \(all.count - failingCodes.count) 所"
        if !failingCodes.isEmpty { s += "，不达标 \(failingCodes.count) 所（\(names(failingCodes, context: context))）" }
        s += "，达标比例 \(share(all.count - failingCodes.count, all.count))。"
        let over = resources.filter { $0.conclusion == .notMet }
        if over.isEmpty && resources.allSatisfy({ $0.conclusion != .dataMissing }) {
            s += "各项指标的校际差异系数均在标准以内。"
        } else if !over.isEmpty {
            s += "校际差异系数超过标准的：" + over.map { "\($0.title)（\(sectionName($0.section)) \(cv($0.cv))）" }.joined(separator: "、") + "。"
        }
        indicator.body = [DraftText(s)]
        indicator.conclusion = failingCodes.isEmpty && over.isEmpty ? .met : .notMet
        indicator.english = "\(all.count - failingCodes.count) of \(all.count) schools meet 6 of 7."
        if !failingCodes.isEmpty {
            problems.append(DraftProblem(text: "学校达标（7 项中至少 6 项）：\(failingCodes.count) 所学校未达标（\(names(failingCodes, context: context))）。",
                                         shortfall: Double(failingCodes.count) / Double(all.count)))
        }
    }

    /// A problem from rules: schools failing, or the county's figure against its standard.
    static func problem(_ title: String, found: [CountyIndicator], context: ReportContext) -> DraftProblem {
        var worst = 0.0, parts: [String] = []
        for c in found where c.conclusion == .notMet {
            if let n = c.schoolsInScope, n > 0 {
                worst = max(worst, Double(c.failing.count) / Double(n))
                parts.append("\(c.failing.count) 所学校未达标（\(names(c.failing.map(\.0), context: context, limit: 10))）")
            } else {
                for v in c.verdicts {
                    if let value = v.figures["value"].flatMap(Double.init), let standard = v.figures["standard"].flatMap(Double.init), standard != 0 {
                        worst = max(worst, abs(standard - value) / abs(standard))
                    }
                }
                parts.append(countySentences(c, context: context).joined(separator: "；"))
            }
        }
        return DraftProblem(text: "\(title)：" + parts.joined(separator: "；") + "。", shortfall: worst)
    }

    static func count(_ x: Double) -> String { Value.format(x.rounded()) }

    /// 一、基本情况 in seed 003's words.
    static func basics(_ county: String, context: ReportContext) -> String {
        guard let b = context.basics[county] else { return "数据不足：本次运行没有学校表的合格数据。" }
        let t = b.byType
        var kinds: [String] = []
        if let n = t["primary"], n > 0 { kinds.append("单办小学 \(n) 所") }
        if let n = t["junior"], n > 0 { kinds.append("单办初中 \(n) 所") }
        if let n = t["nine_year"], n > 0 { kinds.append("九年一贯制学校 \(n) 所（含小学部、初中部各 \(n) 个）") }
        if let n = t["twelve_year"], n > 0 { kinds.append("十二年一贯制学校 \(n) 所") }
        if let n = t["complete_middle"], n > 0 { kinds.append("完全中学 \(n) 所") }
        if let n = t["special_education"], n > 0 { kinds.append("特殊教育学校 \(n) 所") }
        if let n = t["teaching_point"], n > 0 {
            kinds.append("教学点 \(n) 个" + (b.smallTeachingPoints > 0 ? "（含 \(context.teachingPointMinimum) 人以下教学点 \(b.smallTeachingPoints) 个）" : ""))
        }
        let total = ["primary", "junior", "nine_year", "twelve_year", "complete_middle", "special_education", "teaching_point"].reduce(0) { $0 + (t[$1] ?? 0) }
        var s = "全\(context.countyName(county).hasSuffix("县") ? "县" : "区")纳入义务教育优质均衡发展督导评估的学校（含教学点）\(total) 所"
        s += kinds.isEmpty ? "。" : "，其中" + kinds.joined(separator: "，") + "。"
        s += "义务教育阶段在校学生 \(count(b.primaryPupils + b.juniorPupils)) 人，其中小学生 \(count(b.primaryPupils)) 人、初中生 \(count(b.juniorPupils)) 人"
        s += b.specialPupils > 0 ? "（含特殊教育学校学生 \(count(b.specialPupils)) 人）。" : "。"
        s += b.teachersKnown ? "专任教师 \(count(b.teachers)) 人。" : "专任教师数数据不足。"
        if context.rejectedSchools > 0 {
            s += "另有学校表中 \(context.rejectedSchools) 行数据未通过校验（见 rejected/schools.csv），未计入以上数字和下列指标。"
        }
        return s
    }

    // MARK: - The Word draft

    public static func document(_ drafts: [CountyDraft], reportDate: String) -> WordDocument {
        var doc = WordDocument(title: drafts.first?.title ?? "县域义务教育优质均衡发展自评报告（数据部分·草稿）")
        typealias R = WordDocument.Run
        func conclusionRuns(_ c: DraftConclusion) -> [R] {
            [R("自评结论：", bold: true)] + (c == .toFill ? [R("（待填写）", highlighted: true)]
                                                    : [R(c.rawValue, bold: true, highlighted: c == .insufficient), R("。")])
        }
        for draft in drafts {
            doc.add(.title([R(draft.title)]))
            doc.add(.paragraph([R("本草稿由 schoolstat 根据统计基准日 \(reportDate) 的合格数据生成，数字与同一目录下的 county_indicators.csv、school_indicators.csv 一致；"),
                                R("黄色标出的内容须由评估组补充或核实", highlighted: true), R("，“整改后达标”等判断由评估组作出。")]))
            doc.add(.heading(level: 1, [R("总体结论")]))
            doc.add(.paragraph([R(draft.verdict, bold: true)]))
            let tally = draft.tally
            doc.add(.table(header: ["方面", "指标数", "达标", "不达标", "数据不足", "待填写"],
                           rows: tally.map { [$0.part, String($0.met + $0.notMet + $0.insufficient + $0.toFill), String($0.met), String($0.notMet), String($0.insufficient), String($0.toFill)] }))
            let notMet = draft.notMet
            doc.add(.paragraph([R(notMet.isEmpty ? "没有按本次数据不达标的指标。"
                                                  : "不达标的指标：" + notMet.map { "\($0.indicator.title)（\($0.part)）" }.joined(separator: "；") + "。")]))
            doc.add(.heading(level: 1, [R("一、基本情况")]))
            doc.add(.paragraph([R(draft.basics, highlighted: draft.basics.hasPrefix("数据不足"))]))
            doc.add(.paragraph([R("（待填写：随迁子女人数、区级及以上骨干教师和体艺专任教师总数等学校表以外的情况）", highlighted: true)]))
            doc.add(.heading(level: 1, [R("二、指标完成情况")]))
            for part in draft.parts {
                doc.add(.heading(level: 2, [R(part.heading)]))
                for indicator in part.indicators {
                    doc.add(.heading(level: 3, [R("\(indicator.number)：\(indicator.title)。")]))
                    if !indicator.standard.isEmpty { doc.add(.paragraph([R("标准：", bold: true), R(indicator.standard + "。")])) }
                    for text in indicator.body { doc.add(.paragraph([R(text.text, highlighted: text.highlighted)])) }
                    doc.add(.paragraph(conclusionRuns(indicator.conclusion)))
                }
            }
            if !draft.others.isEmpty {
                doc.add(.heading(level: 2, [R("（六）经费投入等其他指标（供参考）")]))
                for indicator in draft.others {
                    doc.add(.heading(level: 3, [R(indicator.title + "。")]))
                    for text in indicator.body { doc.add(.paragraph([R(text.text, highlighted: text.highlighted)])) }
                    doc.add(.paragraph(conclusionRuns(indicator.conclusion)))
                }
            }
            doc.add(.heading(level: 1, [R("三、存在的主要问题")]))
            if draft.problems.isEmpty {
                doc.add(.paragraph([R("按本次数据没有不达标的指标。"), R("（待填写：数据以外发现的问题）", highlighted: true)]))
            }
            for (i, p) in draft.problems.enumerated() {
                doc.add(.paragraph([R("\(i + 1). "), R(p.text)]))
            }
            doc.add(.heading(level: 1, [R("四、后续工作推进思路")]))
            doc.add(.paragraph([R("（待填写）", highlighted: true)]))
        }
        return doc
    }
}
