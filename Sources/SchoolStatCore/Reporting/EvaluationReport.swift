// Reporting: evaluation.md — the county evaluation laid out like the
// self-evaluation reports (seed 003, section 二), each formula stated once.

enum EvaluationReport {
    static func markdown(_ indicators: [CountyIndicator], english: Bool, reportDate: String, profile: String) -> String {
        func conclusion(_ c: Conclusion) -> String { english ? c.english : c.rawValue }
        func section(_ s: String) -> String {
            switch s {
            case "primary": return english ? "primary" : "小学"
            case "junior": return english ? "junior" : "初中"
            default: return s
            }
        }
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
            md += "\n"
        }
        return md
    }
}
