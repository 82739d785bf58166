// Reporting: the evaluation over the recorded runs — each county indicator's value run by run,
// and per school how long each failed indicator has stayed failed. The verdicts come from the
// run history (SchoolStatHistory reads them); this file only lays them out.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

/// One recorded verdict: `met`, `not_met` or `not_evaluable`, with its named figures.
public struct RecordedVerdict: Sendable {
    public var verdict: String
    public var figures: [String: String]
    public init(verdict: String, figures: [String: String]) { self.verdict = verdict; self.figures = figures }

    /// Figures as evaluations.csv writes them: `name=value; name=value`.
    public static func figures(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in text.components(separatedBy: "; ") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let name = String(part[..<eq])
            if out[name] == nil { out[name] = String(part[part.index(after: eq)...]) }
        }
        return out
    }
}

/// A recorded run: its id and when it finished.
public struct RecordedRunRef: Sendable {
    public var runID: String
    public var finished: String
    public init(runID: String, finished: String) { self.runID = runID; self.finished = finished }
}

/// The runs recorded over the same inputs as the scored run, oldest first, up to and including it,
/// and a way to read each one's verdicts. The verdicts are streamed a run at a time: a county of
/// many schools over many runs is summed up run by run, never held whole.
public struct ScoreHistory: Sendable {
    /// The history database they come from.
    public var database: String
    public var runs: [RecordedRunRef]
    /// Whether `runs` reaches back to the first run recorded over these inputs (false when the
    /// window of runs asked for cut older ones off).
    public var complete: Bool
    /// Whether the scored run itself is recorded; without it there is no series to place it in.
    public var scoredRunRecorded: Bool
    /// Streams one recorded run's verdicts: rule, group key, verdict and figures (as
    /// evaluations.csv writes them).
    public var forEachVerdict: @Sendable (_ run: String, _ body: (_ rule: String, _ group: String, _ verdict: String, _ figures: String) -> Void) throws -> Void

    public init(database: String, runs: [RecordedRunRef], complete: Bool, scoredRunRecorded: Bool,
                forEachVerdict: @escaping @Sendable (String, (String, String, String, String) -> Void) throws -> Void) {
        self.database = database; self.runs = runs; self.complete = complete; self.scoredRunRecorded = scoredRunRecorded
        self.forEachVerdict = forEachVerdict
    }
}

/// Where an indicator's county value is read from, in any run's verdicts.
public enum IndicatorSource: Sendable {
    /// A variation coefficient: figure `figure` of the county rule's verdict `group`, against `limit`.
    case variation(rule: String, group: String, figure: String)
    /// The share of the county's schools that meet a per-school rule.
    case schoolShare(rule: String, county: String)
    /// A county-level rule's verdicts (`county_code=…`, of the reporting year): its `value` figure.
    case countyFigure(rule: String, county: String, year: Int)
}

/// An indicator's value and conclusion in one run.
public struct TrendPoint: Sendable {
    public var runID: String
    public var finished: String
    public var value: Double?
    /// The standard or limit the value is held against in that run, when it has one.
    public var standard: Double?
    public var conclusion: Conclusion
}

/// A school that fails an indicator now, and for how many recorded runs in a row it has.
public struct FailureStreak: Sendable {
    public var school: String
    public var schoolName: String
    public var county: String
    public var indicator: String
    public var title: String
    public var section: String
    public var rule: String
    /// Runs in a row, this one included, in which the indicator was not met.
    public var runs: Int
    /// When the first of those runs finished.
    public var since: String
    /// True when the streak reaches the oldest run looked at and older ones were not looked at.
    public var atLeast: Bool
}

/// What one run's verdicts come to, in memory that does not grow with the schools: the verdicts
/// about counties (with their figures), per rule and county the schools evaluated and meeting, and
/// which of the schools failing now failed in that run.
struct RunDigest {
    var countyVerdicts: [String: [String: RecordedVerdict]] = [:]
    var schoolCounts: [String: [String: (met: Int, evaluated: Int)]] = [:]
    var failing: Set<Int> = []

    /// `countyOf`: a school's group key → its county; `candidates`: rule → group key → index of a
    /// verdict failing now.
    mutating func add(rule: String, group: String, verdict: String, figures: () -> String,
                      countyOf: [String: String], candidates: [String: [String: Int]]) {
        guard group.hasPrefix("school_code=") else {
            countyVerdicts[rule, default: [:]][group] = RecordedVerdict(verdict: verdict, figures: RecordedVerdict.figures(figures()))
            return
        }
        if verdict == Verdict.notMet.rawValue, let i = candidates[rule]?[group] { failing.insert(i) }
        guard let county = countyOf[group], verdict != Verdict.notEvaluable.rawValue else { return }
        var counts = schoolCounts[rule, default: [:]][county] ?? (0, 0)
        counts.evaluated += 1
        if verdict == Verdict.met.rawValue { counts.met += 1 }
        schoolCounts[rule, default: [:]][county] = counts
    }
}

extension IndicatorSource {
    /// The value and conclusion this source gives in a run.
    func point(_ run: RunDigest) -> (value: Double?, standard: Double?, conclusion: Conclusion) {
        switch self {
        case .variation(let rule, let group, let figure):
            guard let v = run.countyVerdicts[rule]?[group] else { return (nil, nil, .dataMissing) }
            let value = v.figures[figure].flatMap(Double.init), limit = v.figures["limit"].flatMap(Double.init)
            guard let value, let limit else { return (value, limit, .dataMissing) }
            return (value, limit, value <= limit ? .met : .notMet)
        case .schoolShare(let rule, let county):
            guard let counts = run.schoolCounts[rule]?[county], counts.evaluated > 0 else { return (nil, nil, .dataMissing) }
            return (Double(counts.met) / Double(counts.evaluated), nil, counts.met == counts.evaluated ? .met : .notMet)
        case .countyFigure(let rule, let county, let year):
            let all = (run.countyVerdicts[rule] ?? [:]).filter { key, v in
                key.hasPrefix("county_code=\(county)") && (!key.contains(";year=") || key.hasSuffix(";year=\(year)"))
                    && v.verdict != Verdict.notEvaluable.rawValue
            }.sorted { $0.key < $1.key }
            guard let first = all.first else { return (nil, nil, .dataMissing) }
            let value = first.value.figures["value"].flatMap(Double.init), standard = first.value.figures["standard"].flatMap(Double.init)
            return (value, standard, all.allSatisfy { $0.value.verdict == Verdict.met.rawValue } ? .met : .notMet)
        }
    }
}

enum TrendBuilder {
    /// Fills each indicator's points over `history`'s earlier runs, then the scored run's own (from
    /// `current`, with the conclusion the report gives it), and returns every per-school verdict
    /// failing now (`failing`) with how many recorded runs in a row it has failed. Each earlier run
    /// is read once, as a stream.
    static func build(_ history: ScoreHistory, scoredRun: String, current: [Evaluation], indicators: inout [CountyIndicator],
                      failing: [(rule: String, group: String, indicator: String, title: String, section: String)],
                      schools: [String: (name: String, county: String)]) throws -> [FailureStreak] {
        let countyOf = schools.mapValues(\.county)
        var candidates: [String: [String: Int]] = [:]
        for (i, f) in failing.enumerated() { candidates[f.rule, default: [:]][f.group] = i }
        let earlier = history.runs.filter { $0.runID != scoredRun }
        var points = Array(repeating: [TrendPoint](), count: indicators.count)
        var failingByRun: [Set<Int>] = []
        for run in earlier {
            var digest = RunDigest()
            try history.forEachVerdict(run.runID) { rule, group, verdict, figures in
                digest.add(rule: rule, group: group, verdict: verdict, figures: { figures }, countyOf: countyOf, candidates: candidates)
            }
            for (i, c) in indicators.enumerated() {
                guard let p = c.source?.point(digest) else { continue }
                points[i].append(TrendPoint(runID: run.runID, finished: run.finished, value: p.value, standard: p.standard, conclusion: p.conclusion))
            }
            failingByRun.append(digest.failing)
        }
        var now = RunDigest()
        for e in current {
            now.add(rule: e.ruleID, group: e.groupKey, verdict: e.verdict.rawValue, figures: { e.figures.map { "\($0.name)=\($0.value)" }.joined(separator: "; ") },
                    countyOf: countyOf, candidates: [:])
        }
        let finished = history.runs.first { $0.runID == scoredRun }?.finished ?? ""
        for (i, c) in indicators.enumerated() {
            guard let p = c.source?.point(now) else { continue }
            indicators[i].trend = points[i] + [TrendPoint(runID: scoredRun, finished: finished, value: p.value, standard: p.standard, conclusion: c.conclusion)]
        }

        var out: [FailureStreak] = []
        for (i, f) in failing.enumerated() {
            // Back from the newest earlier run while the verdict was not met.
            var runs = 1, since = finished
            for (run, failed) in zip(earlier, failingByRun).reversed() {
                guard failed.contains(i) else { break }
                runs += 1
                since = run.finished
            }
            let code = f.group.hasPrefix("school_code=") ? String(f.group.dropFirst("school_code=".count)) : f.group
            let school = schools[f.group]
            out.append(FailureStreak(school: code, schoolName: school?.name ?? "", county: school?.county ?? "", indicator: f.indicator,
                                     title: f.title, section: f.section, rule: f.rule, runs: runs, since: since,
                                     atLeast: runs == earlier.count + 1 && !history.complete))
        }
        return out.sorted { ($1.runs, $0.county, $0.school, $0.indicator, $0.section) < ($0.runs, $1.county, $1.school, $1.indicator, $1.section) }
    }
}

extension EvaluationReport {
    static func sectionName(_ s: String, english: Bool) -> String {
        switch s {
        case "primary": return english ? "primary" : "小学"
        case "junior": return english ? "junior" : "初中"
        default: return s
        }
    }

    static func trendValue(_ c: CountyIndicator, _ p: TrendPoint) -> String {
        guard let v = p.value else { return "—" }
        if case .schoolShare = c.source { return Value.format((v * 1000).rounded() / 10) + "%" }
        return Value.format(v)
    }

    static func day(_ timestamp: String) -> String { String(timestamp.prefix(16)).replacingOccurrences(of: "T", with: " ") }

    /// The Markdown section on the recorded runs for one county.
    static func historyMarkdown(county: String, indicators: [CountyIndicator], streaks: [FailureStreak], history: ScoreHistory?,
                                english: Bool, context: ReportContext) -> String {
        var text = english ? "\n### 3. Over the recorded runs\n\n" : "\n### （三）历次运行\n\n"
        guard let history, history.scoredRunRecorded else {
            return text + historyAbsence(history, english: english) + "\n"
        }
        let runs = indicators.first?.trend.count ?? 0
        text += english
            ? "The last \(runs) runs over the same inputs recorded in \(md(historyName(history)))\(history.complete ? "" : " (older ones not shown)"), oldest first.\n\n| indicator | section | values | latest |\n|---|---|---|---|\n"
            : "运行历史 \(md(historyName(history))) 中对同样输入的最近 \(runs) 次运行\(history.complete ? "" : "（更早的未列出）")，由早到晚。\n\n| 指标 | 学段 | 历次数值 | 最新结论 |\n|---|---|---|---|\n"
        for c in indicators where !c.trend.isEmpty {
            let values = c.trend.suffix(12).map { trendValue(c, $0) }.joined(separator: " → ")
            text += "| \(md(english ? c.titleEn : c.title)) | \(sectionName(c.section, english: english)) | \(c.trend.count > 12 ? "… → " : "")\(values.replacingOccurrences(of: "|", with: "/")) | \(conclusionText(c.conclusion, english: english)) |\n"
        }
        text += english ? "\nSchools failing an indicator now, longest first:\n\n" : "\n目前未达标的学校及其连续未达标的运行次数（由长到短）：\n\n"
        if streaks.isEmpty { return text + (english ? "None.\n" : "无。\n") }
        text += english ? "| school | indicator | section | runs failed | since (UTC) |\n|---|---|---|---|---|\n" : "| 学校 | 指标 | 学段 | 连续未达标次数 | 始于（UTC） |\n|---|---|---|---|---|\n"
        for s in streaks {
            let runs = (s.atLeast ? (english ? "at least " : "至少 ") : "") + String(s.runs)
            text += "| \(md(context.schoolLabel(s.school))) | \(md(indicatorTitle(s, indicators: indicators, english: english))) | \(sectionName(s.section, english: english)) | \(runs) | \(day(s.since)) |\n"
        }
        return text
    }

    /// The history by its file name: where the database lives is no business of the report's reader.
    static func historyName(_ history: ScoreHistory) -> String { (history.database as NSString).lastPathComponent }

    /// A failing school's indicator by its title.
    static func indicatorTitle(_ s: FailureStreak, indicators: [CountyIndicator], english: Bool) -> String {
        if let c = indicators.first(where: { $0.indicator == s.indicator }) { return english ? c.titleEn : c.title }
        return english ? s.indicator : (s.title.isEmpty ? s.indicator : s.title)
    }

    static func historyAbsence(_ history: ScoreHistory?, english: Bool) -> String {
        if let history {
            return english ? "This run is not recorded in the history \(historyName(history)) (it was validated with --no-history or recorded elsewhere), so there is nothing to compare it with."
                           : "本次运行没有记入运行历史 \(historyName(history))（校验时用了 --no-history，或记在别处），无从比较。"
        }
        return english ? "No run history was given (validate records one by default; score finds it beside the run directory, or takes --history)."
                       : "没有可用的运行历史（validate 默认记录运行历史；score 在运行目录旁查找，或用 --history 指定）。"
    }

    /// The HTML section on the recorded runs for one county: a small chart per indicator, then the
    /// schools failing now with how long they have.
    static func historyHTML(indicators: [CountyIndicator], streaks: [FailureStreak], history: ScoreHistory?, english: Bool,
                            context: ReportContext) -> String {
        var h = "<h3>\(english ? "3. Over the recorded runs" : "（三）历次运行")</h3>\n"
        guard let history, history.scoredRunRecorded else { return h + "<p>\(esc(historyAbsence(history, english: english)))</p>\n" }
        let runs = indicators.first?.trend.count ?? 0
        h += "<p>" + esc(english ? "The last \(runs) runs over the same inputs recorded in \(historyName(history))\(history.complete ? "" : " (older ones not shown)"), oldest on the left. A dot is a run: green met, red not met, grey data missing; the dashed line is the limit or standard."
                                 : "运行历史 \(historyName(history)) 中对同样输入的最近 \(runs) 次运行\(history.complete ? "" : "（更早的未列出）")，左早右晚。每个点是一次运行：绿色达标，红色不达标，灰色数据缺失；虚线为上限或标准。") + "</p>\n<div>"
        for c in indicators where !c.trend.isEmpty {
            let title = (english ? c.titleEn : c.title) + (c.section.isEmpty ? "" : (english ? ", " : "（") + sectionName(c.section, english: english) + (english ? "" : "）"))
            h += sparkline(c, title: title, english: english, esc: esc)
        }
        h += "</div>\n"
        h += "<p>\(english ? "Schools failing an indicator now, longest first:" : "目前未达标的学校及其连续未达标的运行次数（由长到短）：")</p>\n"
        if streaks.isEmpty { return h + "<p>\(english ? "None." : "无。")</p>\n" }
        h += "<table class=\"streaks\"><tr><th>\(english ? "school" : "学校")</th><th>\(english ? "indicator" : "指标")</th><th>\(english ? "section" : "学段")</th><th>\(english ? "runs failed" : "连续未达标次数")</th><th>\(english ? "since" : "始于")</th></tr>\n"
        for s in streaks {
            let runs = (s.atLeast ? (english ? "≥ " : "至少 ") : "") + String(s.runs)
            h += "<tr><td title=\"\(esc(s.school))\">\(esc(context.schoolName(s.school)))</td><td>\(esc(indicatorTitle(s, indicators: indicators, english: english)))</td><td>\(esc(sectionName(s.section, english: english)))</td><td>\(runs)</td><td>\(esc(day(s.since)))</td></tr>\n"
        }
        return h + "</table>\n"
    }

    /// An indicator's value run by run as a line, each run a dot coloured by its conclusion.
    static func sparkline(_ c: CountyIndicator, title: String, english: Bool, esc: (String) -> String) -> String {
        let width = 240.0, height = 92.0, left = 8.0, right = 8.0, top = 22.0, bottom = 22.0
        let points = c.trend
        let values = points.compactMap(\.value) + points.compactMap(\.standard)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 { low -= 0.5 * max(abs(low), 1e-3); high += 0.5 * max(abs(high), 1e-3) }
        let step = points.count > 1 ? (width - left - right) / Double(points.count - 1) : 0
        func x(_ i: Int) -> Double { points.count > 1 ? left + Double(i) * step : width / 2 }
        func y(_ v: Double) -> Double { top + (height - top - bottom) * (1 - (v - low) / (high - low)) }
        func r(_ v: Double) -> String { String(format: "%.1f", v) }
        let latest = points.last.map { trendValue(c, $0) } ?? ""
        var svg = "<svg class=\"chart trend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(esc(title))\">"
        var shown = title
        if shown.count > 15 { shown = String(shown.prefix(14)) + "…" }
        svg += "<title>\(esc(title))</title><text x=\"0\" y=\"12\" font-size=\"11\" font-weight=\"bold\">\(esc(shown))</text>"
        svg += "<text x=\"\(Int(width))\" y=\"12\" font-size=\"11\" text-anchor=\"end\">\(esc(latest))</text>"
        if let standard = points.last?.standard {
            svg += "<line x1=\"\(r(left))\" y1=\"\(r(y(standard)))\" x2=\"\(r(width - right))\" y2=\"\(r(y(standard)))\" stroke=\"#b71c1c\" stroke-width=\"1\" stroke-dasharray=\"4 2\"/>"
        }
        // The line joins consecutive runs that have a value; a run without one breaks it.
        var path = "", open = false
        for (i, p) in points.enumerated() {
            guard let v = p.value else { open = false; continue }
            path += (open ? " L" : " M") + "\(r(x(i))) \(r(y(v)))"
            open = true
        }
        if !path.isEmpty { svg += "<path d=\"\(path.dropFirst())\" fill=\"none\" stroke=\"#546e7a\" stroke-width=\"1.5\"/>" }
        for (i, p) in points.enumerated() {
            let colour = p.conclusion == .met ? "#2e7d32" : (p.conclusion == .notMet ? "#c62828" : (p.conclusion == .metAfterRectification ? "#ef6c00" : "#9e9e9e"))
            let cy = p.value.map(y) ?? (height - bottom)
            let label = "\(day(p.finished)) \(trendValue(c, p)) \(conclusionText(p.conclusion, english: english))"
            svg += "<circle class=\"run\" cx=\"\(r(x(i)))\" cy=\"\(r(cy))\" r=\"3\" fill=\"\(colour)\"><title>\(esc(label))</title></circle>"
        }
        if let first = points.first, let last = points.last {
            svg += "<text x=\"0\" y=\"\(Int(height - 4))\" font-size=\"9\">\(esc(String(first.finished.prefix(10))))</text>"
            svg += "<text x=\"\(Int(width))\" y=\"\(Int(height - 4))\" font-size=\"9\" text-anchor=\"end\">\(esc(String(last.finished.prefix(10))))</text>"
        }
        return svg + "</svg>\n"
    }
}
