// Reporting: evaluation.md — the county evaluation laid out like the
// self-evaluation reports (seed 003, section 二), each formula stated once.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

public enum EvaluationReport {
    public static func markdown(_ indicators: [CountyIndicator], english: Bool, reportDate: String, profile: String,
                                streaks: [FailureStreak] = [], history: ScoreHistory? = nil) -> String {
        func conclusion(_ c: Conclusion) -> String { english ? c.english : c.rawValue }
        func section(_ s: String) -> String { sectionName(s, english: english) }
        var md = english
            ? "# County compulsory-education evaluation\n\nReference date \(reportDate); regional profile `\(profile)`. Computed by schoolstat from the run's clean data; every figure can be recomputed from `clean/` with the formulas below.\n\n"
            : "# 县域义务教育优质均衡发展评估\n\n统计基准日 \(reportDate)；地区参数 `\(profile)`。由 schoolstat 根据本次运行的合格数据计算，每个数字都可按下列公式从 `clean/` 重新算出。\n\n"
        md += english
            ? "**Formulas.** An indicator per school and section is the resource divided by the section's pupils (per 100 pupils for teachers and classrooms); a through school's shared resources are apportioned by weighted pupils (primary : junior : senior = 1 : 1.1 : 1.32). A school meets the resource standards when at least 6 of 7 indicators meet their standard and the last is at least 85 % of it. The variation coefficient is pupil-weighted: with Xᵢ a school's value and Pᵢ its pupils, P = ΣPᵢ, X̄ = ΣPᵢXᵢ / P, CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄ (at most 0.50 primary, 0.45 junior).\n\n"
            : "**公式。** 各校分学段指标 = 资源数 ÷ 该学段学生数（教师、教室按每百名学生计）；九年一贯制、十二年一贯制学校的共用资源按加权学生数分摊（小学 : 初中 : 高中 = 1 : 1.1 : 1.32）。学校至少 6 项指标达到标准、余项不低于标准的 85% 为达标。校际差异系数按学生数加权：Xᵢ 为某校指标值，Pᵢ 为其学生数，P = ΣPᵢ，X̄ = ΣPᵢXᵢ / P，CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄（小学不高于 0.50，初中不高于 0.45）。\n\n"
        let counties = Array(Set(indicators.map(\.county))).sorted()
        for county in counties {
            let mine = indicators.filter { $0.county == county }
            md += english ? "## County \(county)\n\n" : "## 区县 \(county)\n\n"
            md += english ? "### 1. Resource allocation\n\n" : "### （一）资源配置\n\n"
            md += english
                ? "| indicator | section | standard | schools | meeting | share | CV | limit | conclusion |\n|---|---|---|---|---|---|---|---|---|\n"
                : "| 指标 | 学段 | 标准 | 参评学校 | 达标学校 | 达标比例 | 差异系数 | 上限 | 结论 |\n|---|---|---|---|---|---|---|---|---|\n"
            let resources = mine.filter { $0.section != "" }
            for c in resources {
                let standard = c.figures.replacingOccurrences(of: "standard=", with: "")
                let share = c.schoolsInScope.flatMap { n in c.schoolsMeeting.map { n == 0 ? "" : Value.format((Double($0) / Double(n) * 1000).rounded() / 10) + "%" } } ?? ""
                md += "| \(c.indicator) \(english ? "" : c.title) | \(section(c.section)) | \(standard) | \(c.schoolsInScope ?? 0) | \(c.schoolsMeeting ?? 0) | \(share) | \(c.cv) | \(c.cvLimit) | \(conclusion(c.conclusion)) |\n"
            }
            let failingResources = resources.filter { !$0.failing.isEmpty }
            if !failingResources.isEmpty {
                md += english ? "\nSchools below a standard:\n\n" : "\n未达到标准的学校：\n\n"
                for c in failingResources {
                    for (key, figures) in c.failing { md += "- \(c.indicator) \(section(c.section))：\(key)（\(figures)）\n" }
                }
            }
            md += english ? "\n### 2. Government guarantee, quality, funding and finance\n\n" : "\n### （二）政府保障程度、教育质量、经费\n\n"
            md += english ? "| indicator | figures | conclusion |\n|---|---|---|\n" : "| 指标 | 数据 | 结论 |\n|---|---|---|\n"
            for c in mine where c.section == "" {
                let figures = c.schoolsInScope.map { n in english ? "\(c.schoolsMeeting ?? 0) of \(n) schools" : "\(n) 所中 \(c.schoolsMeeting ?? 0) 所达标" } ?? c.figures
                md += "| \(c.indicator) \(english ? "" : c.title) | \(figures.replacingOccurrences(of: "|", with: "/")) | \(conclusion(c.conclusion)) |\n"
            }
            let failingOthers = mine.filter { $0.section == "" && !$0.failing.isEmpty }
            if !failingOthers.isEmpty {
                md += english ? "\nNot met:\n\n" : "\n未达标明细：\n\n"
                for c in failingOthers {
                    for (key, figures) in c.failing { md += "- \(c.indicator)：\(key)（\(figures)）\n" }
                }
            }
            md += historyMarkdown(county: county, indicators: mine, streaks: streaks.filter { $0.county == county }, history: history, english: english)
            md += "\n"
        }
        return md
    }
}

extension EvaluationReport {
    /// One self-contained HTML file: no scripts, fonts or images from elsewhere;
    /// charts are inline SVG; the layout prints on A4.
    public static func html(_ indicators: [CountyIndicator], english: Bool, reportDate: String, profile: String,
                            streaks: [FailureStreak] = [], history: ScoreHistory? = nil) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        func conclusion(_ c: Conclusion) -> String {
            let cls = c == .met ? "met" : (c == .metAfterRectification ? "rectified" : (c == .notMet ? "notmet" : "missing"))
            return "<span class=\"\(cls)\">\(esc(english ? c.english : c.rawValue))</span>"
        }
        func section(_ s: String) -> String { sectionName(s, english: english) }
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
        .chart { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; } .formula { background: #f6f6f6; padding: 0.6em; }
        @media print { body { margin: 1cm; } h2 { page-break-before: always; } .chart, table { page-break-inside: avoid; } }
        </style></head><body>
        <h1>\(english ? "County compulsory-education evaluation" : "县域义务教育优质均衡发展评估")</h1>
        <p>\(english ? "Reference date" : "统计基准日") \(esc(reportDate))；\(english ? "profile" : "地区参数") <code>\(esc(profile))</code></p>
        <p class="formula">\(english
            ? "CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄ with X̄ = ΣPᵢXᵢ / P and P = ΣPᵢ (pupil-weighted). A school meets the resource standards with 6 of 7 indicators met and the last at least 85 % of its standard."
            : "差异系数 CV = √(Σ (Pᵢ/P)(Xᵢ − X̄)²) / X̄，其中 X̄ = ΣPᵢXᵢ / P，P = ΣPᵢ（按学生数加权）。学校至少 6 项指标达标、余项不低于标准的 85% 为达标。")</p>

        """
        for county in Array(Set(indicators.map(\.county))).sorted() {
            let mine = indicators.filter { $0.county == county }
            h += "<h2>\(english ? "County" : "区县") \(esc(county))</h2>\n<h3>\(english ? "1. Resource allocation" : "（一）资源配置")</h3>\n"
            h += "<table><tr><th>\(english ? "indicator" : "指标")</th><th>\(english ? "section" : "学段")</th><th>\(english ? "standard" : "标准")</th><th>\(english ? "schools" : "参评学校")</th><th>\(english ? "meeting" : "达标学校")</th><th>CV</th><th>\(english ? "limit" : "上限")</th><th>\(english ? "conclusion" : "结论")</th></tr>\n"
            for c in mine where c.section != "" {
                h += "<tr><td>\(c.indicator) \(english ? "" : esc(c.title))</td><td>\(section(c.section))</td><td>\(c.standard.map { Value.format($0) } ?? "")</td><td>\(c.schoolsInScope ?? 0)</td><td>\(c.schoolsMeeting ?? 0)</td><td>\(esc(c.cv))</td><td>\(esc(c.cvLimit))</td><td>\(conclusion(c.conclusion))</td></tr>\n"
            }
            h += "</table>\n"
            for c in mine where c.section != "" && !c.distribution.isEmpty {
                h += chart(c, title: "\(c.indicator) \(section(c.section))", english: english)
            }
            h += "<h3>\(english ? "2. Guarantee, quality, funding and finance" : "（二）政府保障程度、教育质量、经费")</h3>\n<table><tr><th>\(english ? "indicator" : "指标")</th><th>\(english ? "figures" : "数据")</th><th>\(english ? "conclusion" : "结论")</th></tr>\n"
            for c in mine where c.section == "" {
                let figures = c.schoolsInScope.map { n in english ? "\(c.schoolsMeeting ?? 0) of \(n) schools" : "\(n) 所中 \(c.schoolsMeeting ?? 0) 所达标" } ?? c.figures
                var cell = esc(figures)
                if !c.failing.isEmpty {
                    cell += "<br><small>" + c.failing.prefix(20).map { esc("\($0.0)：\($0.1)") }.joined(separator: "<br>") + (c.failing.count > 20 ? "<br>…" : "") + "</small>"
                }
                h += "<tr><td>\(esc(c.indicator))<br>\(english ? "" : esc(c.title))</td><td>\(cell)</td><td>\(conclusion(c.conclusion))</td></tr>\n"
            }
            h += "</table>\n"
            h += historyHTML(indicators: mine, streaks: streaks.filter { $0.county == county }, history: history, english: english, esc: esc)
        }
        return h + "</body></html>\n"
    }

    /// Each school's value as a bar, with the standard as a red line.
    private static func chart(_ c: CountyIndicator, title: String, english: Bool) -> String {
        let width = 320.0, barHeight = 14.0, left = 90.0
        let bars = c.distribution
        let maximum = max(bars.map(\.value).max() ?? 1, c.standard ?? 0) * 1.1
        let height = Double(bars.count) * (barHeight + 4) + 34
        func x(_ v: Double) -> Double { left + (width - left - 10) * (maximum > 0 ? v / maximum : 0) }
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(title)\">"
        svg += "<text x=\"0\" y=\"12\" font-size=\"12\" font-weight=\"bold\">\(title)</text>"
        for (i, bar) in bars.enumerated() {
            let y = 20 + Double(i) * (barHeight + 4)
            let below = c.standard.map { bar.value < $0 } ?? false
            svg += "<text x=\"0\" y=\"\(y + 11)\" font-size=\"10\">\(bar.school)</text>"
            svg += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(max(0, x(bar.value) - left))\" height=\"\(barHeight)\" fill=\"\(below ? "#e57373" : "#81c784")\"/>"
            svg += "<text x=\"\(x(bar.value) + 2)\" y=\"\(y + 11)\" font-size=\"9\">\(Value.format(bar.value))</text>"
        }
        if let s = c.standard {
            svg += "<line x1=\"\(x(s))\" y1=\"16\" x2=\"\(x(s))\" y2=\"\(height - 4)\" stroke=\"#b71c1c\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>"
            svg += "<text x=\"\(x(s) + 2)\" y=\"\(height - 4)\" font-size=\"9\" fill=\"#b71c1c\">\(english ? "standard" : "标准") \(Value.format(s))</text>"
        }
        return svg + "</svg>\n"
    }
}
