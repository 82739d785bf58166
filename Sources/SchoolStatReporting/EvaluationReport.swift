// Reporting: evaluation.md and evaluation.html — the county evaluation in the self-evaluation
// reports' words (seed 003): the county and schools by name, the overall verdict first, the resource
// indicators with their charts, every other indicator as a sentence with units, the recorded runs,
// and an appendix mapping each line to its rule. Every value from the data is escaped.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

public enum EvaluationReport {
    /// The county a table's title row names: 「重庆市万盛经开区2024年……统计表」 → 万盛经开区.
    public static func countyName(inTitle title: String) -> String? {
        let chinese = title.unicodeScalars.map { $0.properties.isIdeographic ? Character($0) : " " }
        let text = String(chinese)
        for word in text.split(separator: " ") {
            var w = Substring(word)
            // A province or municipality in front of the county is dropped.
            for prefix in ["省", "自治区", "市"] {
                if let r = w.range(of: prefix), w.distance(from: w.startIndex, to: r.lowerBound) >= 2,
                   w[r.upperBound...].contains(where: { "县区旗".contains($0) }) {
                    w = w[r.upperBound...]
                    break
                }
            }
            if let end = w.firstIndex(where: { "县区旗".contains($0) }), w.distance(from: w.startIndex, to: end) >= 1 {
                let name = String(w[...end])
                // 「自治县」 is one word.
                if name.count >= 2 { return name }
            }
        }
        return nil
    }

    static func md(_ s: String) -> String {
        // Most values have nothing to escape: they are returned as they are, after one pass over their bytes.
        guard s.utf8.contains(where: { b in b == 0x26 || b == 0x3C || b == 0x3E || b == 0x7C || b == 0x0A || b == 0x0D || b == 0x2A || b == 0x5F || b == 0x60 || b == 0x5B || b == 0x5D })
        else { return s }
        return s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
            .replacingOccurrences(of: "*", with: "\\*").replacingOccurrences(of: "_", with: "\\_").replacingOccurrences(of: "`", with: "\\`")
            .replacingOccurrences(of: "[", with: "\\[").replacingOccurrences(of: "]", with: "\\]")
    }

    static func esc(_ s: String) -> String { HTMLText.escape(s) }

    static func conclusionText(_ c: Conclusion, english: Bool) -> String { english ? DraftConclusion(c).english : DraftConclusion(c).rawValue }

    static func standardText(_ c: CountyIndicator) -> String { c.standard.map { Value.format($0) } ?? "" }

    /// The counties, each with its draft when the layout gave one.
    static func counties(_ indicators: [CountyIndicator], _ drafts: [CountyDraft]) -> [(String, CountyDraft?)] {
        Array(Set(indicators.map(\.county))).sorted().map { county in (county, drafts.first { $0.county == county }) }
    }

    public static func markdown(_ indicators: [CountyIndicator], english: Bool, reportDate: String, profile: String,
                                streaks: [FailureStreak] = [], history: ScoreHistory? = nil,
                                context: ReportContext = ReportContext(), drafts: [CountyDraft] = []) -> String {
        func conclusion(_ c: Conclusion) -> String { conclusionText(c, english: english) }
        func section(_ s: String) -> String { sectionName(s, english: english) }
        var out = english
            ? "# County compulsory-education evaluation\n\nReference date \(md(reportDate)); regional profile \(md(profile)). Computed by schoolstat from the run's clean data; every figure can be recomputed from clean/ with the formulas below.\n\n"
            : "# 县域义务教育优质均衡发展评估\n\n统计基准日 \(md(reportDate))；由 schoolstat 根据本次运行的合格数据计算，每个数字都可按下列公式从合格数据重新算出。\n\n"
        var appendix: [(String, String)] = []
        for (county, draft) in counties(indicators, drafts) {
            let mine = indicators.filter { $0.county == county }
            out += "## \(md(english ? context.countyNameEn(county) : context.countyName(county) + "（\(county)）"))\n\n"
            if let draft {
                out += "**\(md(english ? draft.verdictEn : draft.verdict))**\n\n"
                out += english ? "| part | met | not met | insufficient data | to fill in |\n|---|---|---|---|---|\n"
                               : "| 方面 | 达标 | 不达标 | 数据不足 | 待填写 |\n|---|---|---|---|---|\n"
                for t in draft.tally { out += "| \(md(english ? t.partEn : t.part)) | \(t.met) | \(t.notMet) | \(t.insufficient) | \(t.toFill) |\n" }
                let notMet = draft.notMet
                if !notMet.isEmpty {
                    out += english ? "\nNot met: " : "\n不达标的指标："
                    out += notMet.map { md(english ? "\($0.indicator.titleEn) (\($0.partEn))" : "\($0.indicator.title)（\($0.part)）") }.joined(separator: english ? "; " : "；") + "\n"
                }
                out += "\n"
            }
            out += english ? "### 1. Resource allocation\n\n" : "### （一）资源配置\n\n"
            out += english
                ? "| indicator | section | standard | schools | meeting | share | CV | limit | conclusion |\n|---|---|---|---|---|---|---|---|---|\n"
                : "| 指标 | 学段 | 标准 | 参评学校 | 达标学校 | 达标比例 | 差异系数 | 上限 | 结论 |\n|---|---|---|---|---|---|---|---|---|\n"
            let resources = mine.filter { $0.section != "" }
            for c in resources {
                let share = c.schoolsInScope.flatMap { n in c.schoolsMeeting.map { n == 0 ? "" : Value.format((Double($0) / Double(n) * 1000).rounded() / 10) + "%" } } ?? ""
                out += "| \(md(english ? c.titleEn : c.title)) | \(section(c.section)) | \(standardText(c)) | \(c.schoolsInScope ?? 0) | \(c.schoolsMeeting ?? 0) | \(share) | \(md(c.cv)) | \(md(c.cvLimit)) | \(conclusion(c.conclusion)) |\n"
                appendix.append((english ? "\(c.titleEn), \(c.section)" : "\(c.title)（\(section(c.section))）", "balance.\(c.indicator).\(c.section)"))
            }
            let failingResources = resources.filter { !$0.failing.isEmpty }
            if !failingResources.isEmpty {
                out += english ? "\nSchools below a standard:\n\n" : "\n未达到标准的学校：\n\n"
                for c in failingResources {
                    let values = c.values
                    let list = c.failing.map { context.schoolLabel($0.0) + valueNote(values[schoolCode($0.0)], c.standard, english: english) }
                    out += "- \(md(english ? c.titleEn : c.title))（\(section(c.section))）：\(md(list.joined(separator: "、")))\n"
                }
            }
            out += english ? "\n### 2. Indicator by indicator\n\n" : "\n### （二）指标完成情况\n\n"
            if let draft {
                for part in draft.parts {
                    out += "#### \(md(english ? part.headingEn : part.heading))\n\n"
                    for i in part.indicators {
                        out += english ? "- **\(md(i.titleEn))** — \(md(i.english)) Conclusion: \(i.conclusion.english).\n"
                                       : "- **\(md(i.number))：\(md(i.title))**。" + (i.standard.isEmpty ? "" : "标准：\(md(i.standard))。")
                                         + md(i.body.map(\.text).joined()) + "自评结论：\(i.conclusion.rawValue)。\n"
                        for r in i.rules { appendix.append((english ? i.title : "\(part.name) \(i.number)", r)) }
                    }
                    out += "\n"
                }
                if !draft.others.isEmpty {
                    out += english ? "#### Other indicators (finance, funding, targets)\n\n" : "#### 经费投入等其他指标\n\n"
                    for i in draft.others {
                        out += english ? "- **\(md(i.titleEn))** — \(md(i.english)) Conclusion: \(i.conclusion.english).\n"
                                       : "- **\(md(i.title))**：" + md(i.body.map(\.text).joined()) + "结论：\(i.conclusion.rawValue)。\n"
                        for r in i.rules { appendix.append((i.title, r)) }
                    }
                    out += "\n"
                }
            } else {
                for c in mine where c.section == "" {
                    out += "- **\(md(english ? c.titleEn : c.title))**：\(md(english ? SelfEvaluation.englishSentence(c, context: context) : SelfEvaluation.sentence(c, context: context)))\(english ? " " : "结论：")\(conclusion(c.conclusion))\n"
                    appendix.append((c.title, c.indicator))
                }
            }
            out += historyMarkdown(county: county, indicators: mine, streaks: streaks.filter { $0.county == county }, history: history,
                                   english: english, context: context)
            out += "\n"
        }
        out += english ? "\n## Appendix: lines and their rules\n\n| line | rule |\n|---|---|\n" : "\n## 附录：各项与规则编号对照\n\n| 项目 | 规则编号 |\n|---|---|\n"
        var seen: Set<String> = []
        for (line, rule) in appendix where seen.insert(line + "\u{1}" + rule).inserted {
            out += "| \(md(line)) | `\(rule.filter { $0 != "`" && $0 != "|" && $0 != "\n" })` |\n"
        }
        out += english
            ? "\n**Formulas.** An indicator per school and section is the resource divided by the section's pupils (per 100 pupils for teachers and classrooms); a through school's shared resources are apportioned by weighted pupils (primary : junior : senior = 1 : 1.1 : 1.32). A school meets the resource standards when at least 6 of 7 indicators meet their standard and the last is at least 85 % of it. The variation coefficient is pupil-weighted: with Xᵢ a school's value and Pᵢ its pupils, P = ΣPᵢ, X̄ = ΣPᵢXᵢ / P, CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄ (at most 0.50 primary, 0.45 junior).\n"
            : "\n**公式。** 各校分学段指标 = 资源数 ÷ 该学段学生数（教师、教室按每百名学生计）；九年一贯制、十二年一贯制学校的共用资源按加权学生数分摊（小学 : 初中 : 高中 = 1 : 1.1 : 1.32）。学校至少 6 项指标达到标准、余项不低于标准的 85% 为达标。校际差异系数按学生数加权：Xᵢ 为某校指标值，Pᵢ 为其学生数，P = ΣPᵢ，X̄ = ΣPᵢXᵢ / P，CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄（小学不高于 0.50，初中不高于 0.45）。\n"
        return out
    }

    /// A failing school's value against the standard.
    static func valueNote(_ value: Double?, _ standard: Double?, english: Bool) -> String {
        guard let v = value.map({ Value.format($0) }), let s = standard.map({ Value.format($0) }) else { return "" }
        return english ? " (\(v); standard \(s))" : "（\(v)，标准 \(s)）"
    }
}

extension EvaluationReport {
    /// One self-contained HTML file: no scripts, fonts or images from elsewhere;
    /// charts are inline SVG; the layout prints on A4.
    public static func html(_ indicators: [CountyIndicator], english: Bool, reportDate: String, profile: String,
                            streaks: [FailureStreak] = [], history: ScoreHistory? = nil,
                            context: ReportContext = ReportContext(), drafts: [CountyDraft] = []) -> String {
        func conclusion(_ c: DraftConclusion) -> String {
            let cls = c == .met ? "met" : (c == .metAfterRectification ? "rectified" : (c == .notMet ? "notmet" : "missing"))
            return "<span class=\"\(cls)\">\(esc(english ? c.english : c.rawValue))</span>"
        }
        func section(_ s: String) -> String { esc(sectionName(s, english: english)) }
        var h = """
        <!DOCTYPE html>
        <html lang="\(english ? "en" : "zh-CN")"><head><meta charset="utf-8">
        <title>\(english ? "County evaluation" : "县域义务教育优质均衡发展评估")</title>
        <style>
        body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
        h1 { font-size: 1.5em; } h2 { border-bottom: 2px solid #444; margin-top: 2em; } h3 { margin-top: 1.5em; }
        table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
        th, td { border: 1px solid #999; padding: 3px 6px; text-align: left; vertical-align: top; }
        th { background: #eee; } .met { color: #1b5e20; font-weight: bold; } .notmet { color: #b71c1c; font-weight: bold; }
        .rectified { color: #e65100; font-weight: bold; } .missing { color: #555; font-style: italic; }
        .verdict { font-size: 1.1em; font-weight: bold; padding: 0.5em; background: #fff8e1; border-left: 4px solid #f9a825; }
        .fill { background: #fff59d; } .indicator { margin: 0.4em 0; }
        .chart { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; } .formula { background: #f6f6f6; padding: 0.6em; }
        @media print { body { margin: 1cm; } h2 { page-break-before: always; } .chart, table { page-break-inside: avoid; } }
        </style></head><body>
        <h1>\(english ? "County compulsory-education evaluation" : "县域义务教育优质均衡发展评估")</h1>
        <p>\(english ? "Reference date" : "统计基准日") \(esc(reportDate))</p>

        """
        var appendix: [(String, String)] = []
        for (county, draft) in counties(indicators, drafts) {
            let mine = indicators.filter { $0.county == county }
            h += "<section class=\"county\"><h2>\(esc(english ? context.countyNameEn(county) : context.countyName(county)))\(english ? "" : "<small>（\(esc(county))）</small>")</h2>\n"
            if let draft {
                h += "<p class=\"verdict\">\(esc(english ? draft.verdictEn : draft.verdict))</p>\n"
                h += "<table class=\"tally\"><tr><th>\(english ? "part" : "方面")</th><th>\(english ? "met" : "达标")</th><th>\(english ? "not met" : "不达标")</th><th>\(english ? "insufficient data" : "数据不足")</th><th>\(english ? "to fill in" : "待填写")</th></tr>\n"
                for t in draft.tally { h += "<tr><td>\(esc(english ? t.partEn : t.part))</td><td>\(t.met)</td><td>\(t.notMet)</td><td>\(t.insufficient)</td><td>\(t.toFill)</td></tr>\n" }
                h += "</table>\n"
                let notMet = draft.notMet
                if !notMet.isEmpty {
                    h += "<p class=\"notmet-list\">\(english ? "Not met: " : "不达标的指标：")" + notMet.map { esc(english ? "\($0.indicator.titleEn) (\($0.partEn))" : "\($0.indicator.title)（\($0.part)）") }.joined(separator: english ? "; " : "；") + "</p>\n"
                }
            }
            h += "<h3>\(english ? "1. Resource allocation" : "（一）资源配置")</h3>\n"
            h += "<table class=\"resources\"><tr><th>\(english ? "indicator" : "指标")</th><th>\(english ? "section" : "学段")</th><th>\(english ? "standard" : "标准")</th><th>\(english ? "schools" : "参评学校")</th><th>\(english ? "meeting" : "达标学校")</th><th>\(english ? "CV" : "差异系数")</th><th>\(english ? "limit" : "上限")</th><th>\(english ? "conclusion" : "结论")</th></tr>\n"
            for c in mine where c.section != "" {
                h += "<tr><td>\(esc(english ? c.titleEn : c.title))</td><td>\(section(c.section))</td><td>\(esc(standardText(c)))</td><td>\(c.schoolsInScope ?? 0)</td><td>\(c.schoolsMeeting ?? 0)</td><td>\(esc(c.cv))</td><td>\(esc(c.cvLimit))</td><td>\(conclusion(DraftConclusion(c.conclusion)))</td></tr>\n"
                appendix.append((english ? "\(c.titleEn), \(c.section)" : "\(c.title)（\(sectionName(c.section, english: false))）", "balance.\(c.indicator).\(c.section)"))
            }
            h += "</table>\n"
            for c in mine where c.section != "" && !c.distribution.isEmpty {
                h += chart(c, title: "\(english ? c.titleEn : c.title)（\(sectionName(c.section, english: english))）", english: english, context: context)
            }
            let failingResources = mine.filter { $0.section != "" && !$0.failing.isEmpty }
            if !failingResources.isEmpty {
                h += "<p>\(english ? "Schools below a standard:" : "未达到标准的学校：")</p><ul class=\"failing\">\n"
                for c in failingResources {
                    let values = c.values
                    let list = c.failing.prefix(50).map { "<span class=\"school\" title=\"\(esc(schoolCode($0.0)))\">\(esc(context.schoolName($0.0)))</span>\(esc(valueNote(values[schoolCode($0.0)], c.standard, english: english)))" }
                    h += "<li>\(esc(english ? c.titleEn : c.title))（\(section(c.section))）：\(list.joined(separator: "、"))\(c.failing.count > 50 ? "…" : "")</li>\n"
                }
                h += "</ul>\n"
            }
            h += "<h3>\(english ? "2. Indicator by indicator" : "（二）指标完成情况")</h3>\n"
            if let draft {
                for part in draft.parts {
                    h += "<h4>\(esc(english ? part.headingEn : part.heading))</h4>\n"
                    for i in part.indicators {
                        h += "<p class=\"indicator\"><b>\(esc(english ? i.titleEn : "\(i.number)：\(i.title)"))</b>"
                        if english {
                            h += "<br>\(esc(i.english)) \(conclusion(i.conclusion))</p>\n"
                        } else {
                            if !i.standard.isEmpty { h += "<br>标准：\(esc(i.standard))。" }
                            h += "<br>" + i.body.map { $0.highlighted ? "<span class=\"fill\">\(esc($0.text))</span>" : esc($0.text) }.joined()
                            h += "<br>自评结论：\(conclusion(i.conclusion))</p>\n"
                        }
                        for r in i.rules { appendix.append((english ? i.title : "\(part.name) \(i.number)", r)) }
                    }
                }
                if !draft.others.isEmpty {
                    h += "<h4>\(english ? "Other indicators (finance, funding, targets)" : "经费投入等其他指标")</h4>\n"
                    for i in draft.others {
                        h += "<p class=\"indicator\"><b>\(esc(english ? i.titleEn : i.title))</b><br>"
                        h += english ? esc(i.english) : i.body.map { $0.highlighted ? "<span class=\"fill\">\(esc($0.text))</span>" : esc($0.text) }.joined()
                        h += "<br>\(english ? "Conclusion" : "结论")：\(conclusion(i.conclusion))</p>\n"
                        for r in i.rules { appendix.append((i.title, r)) }
                    }
                }
            } else {
                for c in mine where c.section == "" {
                    h += "<p class=\"indicator\"><b>\(esc(english ? c.titleEn : c.title))</b><br>\(esc(english ? SelfEvaluation.englishSentence(c, context: context) : SelfEvaluation.sentence(c, context: context)))<br>\(conclusion(DraftConclusion(c.conclusion)))</p>\n"
                    appendix.append((c.title, c.indicator))
                }
            }
            h += historyHTML(indicators: mine, streaks: streaks.filter { $0.county == county }, history: history, english: english, context: context)
            h += "</section>\n"
        }
        h += "<section class=\"appendix\"><h2>\(english ? "Appendix: lines and their rules" : "附录：各项与规则编号对照")</h2>\n<table><tr><th>\(english ? "line" : "项目")</th><th>\(english ? "rule" : "规则编号")</th></tr>\n"
        var seen: Set<String> = []
        for (line, rule) in appendix where seen.insert(line + "\u{1}" + rule).inserted { h += "<tr><td>\(esc(line))</td><td><code>\(esc(rule))</code></td></tr>\n" }
        h += "</table>\n"
        let formula = english
            ? "CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄ with X̄ = ΣPᵢXᵢ / P and P = ΣPᵢ (pupil-weighted). A school meets the resource standards with 6 of 7 indicators met and the last at least 85 % of its standard."
            : "差异系数 CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄，其中 X̄ = ΣPᵢXᵢ / P，P = ΣPᵢ（按学生数加权）。学校至少 6 项指标达标、余项不低于标准的 85% 为达标。"
        h += "<p class=\"formula\">\(formula)</p></section>\n"
        return h + "</body></html>\n"
    }

    static func schoolCode(_ key: String) -> String {
        key.hasPrefix("school_code=") ? String(key.dropFirst("school_code=".count).prefix { $0 != ";" }) : key
    }

    /// Each school's value as a bar, named, its code in the tooltip, with the standard as a red line.
    private static func chart(_ c: CountyIndicator, title: String, english: Bool, context: ReportContext) -> String {
        let width = 360.0, barHeight = 14.0, left = 130.0
        let bars = c.distribution
        let maximum = max(bars.map(\.value).max() ?? 1, c.standard ?? 0) * 1.1
        let height = Double(bars.count) * (barHeight + 4) + 34
        func x(_ v: Double) -> Double { left + (width - left - 10) * (maximum > 0 ? v / maximum : 0) }
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(esc(title))\">"
        svg += "<text x=\"0\" y=\"12\" font-size=\"12\" font-weight=\"bold\">\(esc(title))</text>"
        for (i, bar) in bars.enumerated() {
            let y = 20 + Double(i) * (barHeight + 4)
            let below = c.standard.map { bar.value < $0 } ?? false
            var name = context.schoolName(bar.school)
            if name.count > 9 { name = String(name.prefix(8)) + "…" }
            svg += "<g class=\"bar\"><title>\(esc(context.schoolLabel(bar.school))) \(esc(Value.format(bar.value)))</title>"
            svg += "<text x=\"0\" y=\"\(y + 11)\" font-size=\"10\">\(esc(name))</text>"
            svg += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(max(0, x(bar.value) - left))\" height=\"\(barHeight)\" fill=\"\(below ? "#e57373" : "#81c784")\"/>"
            svg += "<text x=\"\(x(bar.value) + 2)\" y=\"\(y + 11)\" font-size=\"9\">\(esc(Value.format(bar.value)))</text></g>"
        }
        if let s = c.standard {
            svg += "<line x1=\"\(x(s))\" y1=\"16\" x2=\"\(x(s))\" y2=\"\(height - 4)\" stroke=\"#b71c1c\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>"
            svg += "<text x=\"\(x(s) + 2)\" y=\"\(height - 4)\" font-size=\"9\" fill=\"#b71c1c\">\(english ? "standard" : "标准") \(esc(Value.format(s)))</text>"
        }
        return svg + "</svg>\n"
    }
}
