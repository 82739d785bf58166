// Reporting: `schoolstat score` — the county evaluation computed from a run's
// clean data through the rule packs, laid out as the official method reports it.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

public struct ScoreOptions: Sendable {
    public var run: String
    public var rulesDirectory: String
    /// Where the evaluation goes; by default, and when it names the run itself, `<run>/evaluation`.
    public var outputDirectory: String?
    /// Defaults to the profile and reference date the run itself used.
    public var profile: String?
    public var asOf: String?
    public var waivers: String?
    /// The previous period's validate output, for period-over-period indicators.
    public var previous: String?
    public var english = false
    /// The county's name in the reports, over the one found in the data.
    public var countyName: String?
    /// The runs recorded over the same inputs, for the report's section on how the indicators moved.
    public var history: ScoreHistory?

    public init(run: String, rulesDirectory: String, outputDirectory: String? = nil) {
        self.run = run
        self.rulesDirectory = rulesDirectory
        self.outputDirectory = outputDirectory
    }
}

/// An indicator's conclusion, as the evaluation reports write it.
public enum Conclusion: String, Sendable {
    case met = "达标"
    case metAfterRectification = "整改后达标"
    case notMet = "不达标"
    case dataMissing = "数据缺失"

    public var english: String {
        switch self {
        case .met: return "met"
        case .metAfterRectification: return "met after rectification"
        case .notMet: return "not met"
        case .dataMissing: return "data missing"
        }
    }
}

/// One indicator of one county (and section), with the figures behind it.
public struct CountyIndicator: Sendable {
    public var county: String
    public var section: String
    public var indicator: String
    public var title: String
    public var titleEn: String = ""
    public var schoolsInScope: Int?
    public var schoolsMeeting: Int?
    public var cv: String = ""
    public var cvLimit: String = ""
    public var conclusion: Conclusion
    public var figures: String
    /// Schools or rows that fail it: (key, figures).
    public var failing: [(String, String)]
    /// A county-level rule's verdicts of the reporting year, evaluated: group key and figures.
    public var verdicts: [(group: String, figures: [String: String])] = []
    /// When the data cannot decide it: what is missing, in the tables' own column titles.
    public var missingZh: String = ""
    public var missingEn: String = ""
    /// Every school's value and the standard, for the distribution chart.
    public var distribution: [(school: String, value: Double)] = []
    public var standard: Double?
    /// Where its county value is read from in a run's verdicts, for the series over recorded runs.
    public var source: IndicatorSource?
    /// Its value in each recorded run over the same inputs, oldest first, this run last.
    public var trend: [TrendPoint] = []
}

public struct ScoreResult: Sendable {
    public var schoolRows: Int
    public var indicators: [CountyIndicator]
    /// Schools failing an indicator now, with how many recorded runs in a row they have.
    public var streaks: [FailureStreak] = []
    public var outputDirectory: String
    /// Names, school verdicts and the self-evaluation's layout, as the reports used them.
    public var context = ReportContext()
}

private final class NullSink: FindingSink {
    func record(_ entry: consuming LedgerEntry) {}
}

public enum Scorer {
    /// Scores a run, in phases: the run and its rules loaded and every pack evaluated on its clean
    /// data; school_indicators.csv's rows; the county indicators (the schools layout's, then every
    /// rule of the county-layout packs); the series over the recorded runs; the names and basic
    /// facts the reports use; then every file written and the evaluation directory committed.
    public static func score(_ options: ScoreOptions) throws(RunError) -> ScoreResult {
        guard FileManager.default.fileExists(atPath: options.run + "/clean") else {
            throw .arguments("\(options.run) 不是 schoolstat validate 的输出目录（其中没有 clean/）。请先运行 schoolstat validate。 (not a run directory)")
        }
        // The evaluation never replaces the run it reads: `--out RUN` means RUN/evaluation.
        var outputPath = options.outputDirectory ?? options.run + "/evaluation"
        if let target = OutputDirectory.realPath(outputPath), target == OutputDirectory.realPath(options.run) {
            outputPath = options.run + "/evaluation"
        }
        let protected = [options.run, options.rulesDirectory] + [options.previous, options.waivers].compactMap { $0 }
        do { _ = try OutputDirectory.vet(path: outputPath, kind: .evaluation, protecting: protected) } catch { throw .outputRefused(error) }
        var scoring = try Scoring(options)
        let (header, schoolTable) = scoring.schoolRows()
        var indicators: [CountyIndicator] = []
        for county in scoring.counties {
            indicators += scoring.schoolLayoutIndicators(county: county)
            indicators += scoring.countyLayoutIndicators(county: county)
        }
        let streaks = try scoring.trends(&indicators)
        let context = scoring.reportContext()
        let out = OutputFiles(outputPath, protecting: protected)
        try write(to: out, options: options, reportDate: scoring.ruleSet.parameters["report_date"]?.description ?? "", profile: scoring.ruleSet.profile ?? "",
                  header: header, schoolTable: schoolTable, indicators: indicators, streaks: streaks, context: context)
        return ScoreResult(schoolRows: schoolTable.count, indicators: indicators, streaks: streaks, outputDirectory: out.finalPath, context: context)
    }

    /// The run scored, its rules, every pack's verdicts, and what the phases gather.
    private struct Scoring {
        let options: ScoreOptions
        let runSummary: RunSummary?
        let scoredRun: String
        let ruleSet: RuleSet
        let evaluator: PackEvaluator
        let layout: SelfEvaluationLayout?
        let layoutRules: Set<String>
        /// The tables of the run, and the columns with a value in some row of each.
        let tables: Set<String>
        let filled: [String: Set<String>]
        let evaluations: [Evaluation]
        let waivers: WaiverBook?
        let schools: [[String: Value]]
        /// Rule id → group key → verdict.
        let byRule: [String: [String: Evaluation]]
        let schoolsReport: PackReport?
        let ruleTitles: [String: String]
        let ruleTitlesEn: [String: String]
        /// Counties: those of the schools, and those of the county-level tables (a run of county finance alone is scored too).
        let counties: [String]
        /// Table → county → the years it has rows for.
        let yearsByCounty: [String: [String: Set<Int>]]
        let countyOf: [String: String]
        /// Per-school verdicts failing now, for how long each has failed over the recorded runs.
        var failingNow: [(rule: String, group: String, indicator: String, title: String, section: String)] = []
        var schoolVerdicts: [SchoolVerdict] = []

        init(_ options: ScoreOptions) throws(RunError) {
            self.options = options
            // Use the run's own profile and reference date unless told otherwise.
            var profile = options.profile, asOf = options.asOf
            do { runSummary = try RunSummary.read(directory: options.run) } catch { throw .unreadable(error) }
            scoredRun = runSummary?.runID ?? ""
            if let summary = runSummary {
                profile = profile ?? summary.profile
                asOf = asOf ?? (summary.reportDate.isEmpty ? nil : summary.reportDate)
            }
            let loaded: LoadedRules
            do {
                loaded = try LoadedRules.load(directory: options.rulesDirectory, profile: profile, parameterOverrides: asOf.map { ["report_date": $0] } ?? [:])
            } catch { throw .rules(error) }
            ruleSet = loaded.ruleSet
            evaluator = loaded.evaluator
            do { layout = try SelfEvaluationLayout.load(rulesDirectory: options.rulesDirectory, ruleSet: ruleSet) } catch { throw .rules(error) }
            layoutRules = Set(layout?.parts.flatMap(\.indicators).flatMap(\.rules) ?? [])
            var filled: [String: Set<String>] = [:]
            do {
                if let previous = options.previous { try evaluator.loadPrevious(directory: previous) }
                tables = try CleanDataLoader.load(run: options.run, ruleSet: ruleSet, into: evaluator, filled: &filled)
            } catch { throw .unreadable(error) }
            self.filled = filled
            var evaluations: [Evaluation] = []
            evaluator.evaluate(sink: NullSink(), tablesInRun: tables) { evaluations.append($0) }
            self.evaluations = evaluations
            if let path = options.waivers, case .date(let day) = ruleSet.parameters["report_date"] ?? .missing {
                do { waivers = try WaiverBook.load(path: path, asOf: day) } catch { throw .rules(error) }
            } else {
                waivers = nil
            }
            schools = evaluator.entityRows("schools").sorted { ($0["school_code"]?.description ?? "") < ($1["school_code"]?.description ?? "") }
            var byRule: [String: [String: Evaluation]] = [:]
            for e in evaluations { byRule[e.ruleID, default: [:]][e.groupKey] = e }
            self.byRule = byRule
            schoolsReport = ruleSet.packs.lazy.compactMap(\.report).first { $0.layout == .schools }
            ruleTitles = Dictionary(ruleSet.packs.flatMap(\.rules).map { ($0.id, $0.titleZh) }, uniquingKeysWith: { a, _ in a })
            ruleTitlesEn = Dictionary(ruleSet.packs.flatMap(\.rules).map { ($0.id, $0.titleEn) }, uniquingKeysWith: { a, _ in a })
            var countySet = Set(schools.compactMap { $0["county_code"]?.description })
            var yearsByCounty: [String: [String: Set<Int>]] = [:]
            for table in ruleSet.tables where table.name != "schools" && table.columnIndex("county_code") != nil {
                for row in evaluator.entityRows(table.name) {
                    guard let county = row["county_code"]?.description, !county.isEmpty else { continue }
                    countySet.insert(county)
                    if let year = row["year"]?.number { yearsByCounty[table.name, default: [:]][county, default: []].insert(Int(year)) }
                }
            }
            counties = countySet.sorted()
            self.yearsByCounty = yearsByCounty
            countyOf = Dictionary(schools.map { ("school_code=\($0["school_code"]?.description ?? "")", $0["county_code"]?.description ?? "") }, uniquingKeysWith: { a, _ in a })
        }

        func figures(_ e: Evaluation?) -> [String: String] {
            Dictionary((e?.figures ?? []).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        }

        func conclusion(_ failing: [Evaluation], evaluated: Int) -> Conclusion {
            if evaluated == 0 { return .dataMissing }
            if failing.isEmpty { return .met }
            let rectified = failing.allSatisfy { e in
                let entry = LedgerEntry(table: e.table, sourceFile: e.sourceFile, line: e.line, recordKey: e.groupKey, column: "", rawValue: "",
                                        normalisedValue: "", ruleID: e.ruleID, severity: .error, messageZh: "", messageEn: "", expected: "")
                return waivers?.match(entry)?.rectification != nil
            }
            return rectified ? .metAfterRectification : .notMet
        }

        /// school_indicators.csv: laid out as the pack with `report: {layout: schools}` says.
        mutating func schoolRows() -> (header: [String], rows: [[String]]) {
            let reportIndicators = schoolsReport?.indicators ?? []
            let reportSections = schoolsReport?.sections.map(\.name) ?? []
            var header = ["school_code", "school_name", "county_code", "school_type", "section", "pupils"]
            for i in reportIndicators { header += ["\(i.id)_value", "\(i.id)_standard", "\(i.id)_met"] }
            header += ["indicators_met", "weakest_share", "verdict", "excluded_reason"]
            var schoolTable: [[String]] = []
            for s in schools where schoolsReport != nil {
                let code = s["school_code"]?.description ?? ""
                let base = [code, s["school_name"]?.description ?? "", s["county_code"]?.description ?? "", s["school_type"]?.description ?? ""]
                if s["in_scope"] != .boolean(true) {
                    let type = s["school_type"]?.description ?? ""
                    let reason = schoolsReport?.excluded[type] ?? schoolsReport?.excluded["other"] ?? ""
                    schoolTable.append(base + ["", s["total_pupils"]?.description ?? ""] + Array(repeating: "", count: 3 * reportIndicators.count + 3)
                                       + [Placeholders.fill(reason) { ruleSet.parameters[$0]?.description }])
                    continue
                }
                for section in reportSections {
                    let key = "school_code=\(code)"
                    guard let school = schoolsReport?.schoolRule, let verdict = byRule["\(school).\(section)"]?[key] else { continue }
                    var row = base + [section, reportIndicators.first.flatMap { figures(byRule["\($0.rule).\(section)"]?[key])["pupils"] } ?? ""]
                    for indicator in reportIndicators {
                        let e = byRule["\(indicator.rule).\(section)"]?[key]
                        let f = figures(e)
                        row += [f["value"] ?? "", f["standard"] ?? "", e.map { $0.verdict == .met ? "true" : "false" } ?? ""]
                    }
                    if verdict.verdict == .notMet {
                        failingNow.append((verdict.ruleID, key, school, ruleTitles[verdict.ruleID] ?? "", section))
                    }
                    if verdict.verdict != .notEvaluable {
                        schoolVerdicts.append(SchoolVerdict(code: code, county: s["county_code"]?.description ?? "", section: section, met: verdict.verdict == .met))
                    }
                    let f = figures(verdict)
                    row += [f["indicators_met"] ?? "", f["weakest_share"] ?? "", verdict.verdict.rawValue, ""]
                    schoolTable.append(row)
                }
            }
            return (header, schoolTable)
        }

        /// The schools layout's indicators in a county, by section: how many schools meet each,
        /// and the county's verdict, its variation coefficient.
        mutating func schoolLayoutIndicators(county: String) -> [CountyIndicator] {
            let reportIndicators = schoolsReport?.indicators ?? []
            let reportSections = schoolsReport?.sections.map(\.name) ?? []
            var indicators: [CountyIndicator] = []
            for section in reportSections {
                let countyRule = schoolsReport?.countyRule.map { "\($0).\(section)" }
                let cvEval = countyRule.flatMap { byRule[$0]?["county_code=\(county)"] }
                let cvFigures = figures(cvEval)
                for indicator in reportIndicators {
                    let all = (byRule["\(indicator.rule).\(section)"] ?? [:]).values.filter { countyOf[$0.groupKey] == county }.sorted { $0.groupKey < $1.groupKey }
                    guard !all.isEmpty else { continue }
                    let failing = all.filter { $0.verdict != .met }
                    let cv = cvFigures[indicator.variation] ?? ""
                    let limit = cvFigures["limit"] ?? ""
                    let cvOK = Double(cv).flatMap { c in Double(limit).map { c <= $0 } } ?? false
                    // Schools fail individually; the county's verdict on an indicator is its variation coefficient.
                    var c = CountyIndicator(county: county, section: section, indicator: indicator.id, title: indicator.titleZh,
                                            schoolsInScope: all.count, schoolsMeeting: all.count - failing.count, cv: cv, cvLimit: limit,
                                            conclusion: cvEval == nil ? .dataMissing : (cvOK ? .met : .notMet),
                                            figures: "standard=\(figures(all.first)["standard"] ?? "")",
                                            failing: failing.map { ($0.groupKey, $0.figures.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")) })
                    c.source = countyRule.map { .variation(rule: $0, group: "county_code=\(county)", figure: indicator.variation) }
                    c.titleEn = (ruleTitlesEn["\(indicator.rule).\(section)"] ?? indicator.id).replacingOccurrences(of: " (primary)", with: "").replacingOccurrences(of: " (junior)", with: "")
                    if cvEval == nil {
                        c.missingZh = "无法计算校际差异系数（参评学校的学生数或该项资源数据不足）"
                        c.missingEn = "the variation coefficient cannot be computed"
                    }
                    for e in failing where e.verdict == .notMet {
                        failingNow.append((e.ruleID, e.groupKey, indicator.id, indicator.titleZh, section))
                    }
                    c.distribution = all.compactMap { e in Double(figures(e)["value"] ?? "").map { (e.groupKey.replacingOccurrences(of: "school_code=", with: ""), $0) } }
                    c.standard = Double(figures(all.first)["standard"] ?? "")
                    if !cvOK, cvEval != nil, let w = waivers {
                        let entry = LedgerEntry(table: "schools", sourceFile: "", line: 0, recordKey: "county_code=\(county)", column: "", rawValue: "",
                                                normalisedValue: "", ruleID: countyRule ?? "", severity: .error, messageZh: "", messageEn: "", expected: "")
                        if w.match(entry)?.rectification != nil { c.conclusion = .metAfterRectification }
                    }
                    indicators.append(c)
                }
            }
            return indicators
        }

        /// Government guarantee, quality, funding, finance: every rule of the county-layout packs in a county.
        mutating func countyLayoutIndicators(county: String) -> [CountyIndicator] {
            var indicators: [CountyIndicator] = []
            for pack in ruleSet.packs where pack.report?.layout == .county {
                for rule in pack.rules {
                    let year = ruleSet.reportYear
                    let all = (byRule[rule.id] ?? [:]).values.filter { e in
                        if e.groupKey.hasPrefix("county_code=\(county)") {
                            return !e.groupKey.contains(";year=") || e.groupKey.hasSuffix(";year=\(year)")
                        }
                        return countyOf[e.groupKey] == county || (countyOf[e.groupKey] == nil && e.table != "schools" && counties.count == 1)
                    }.sorted { $0.groupKey < $1.groupKey }
                    // A county table with rows for this county but none of the reporting year: the
                    // indicator is not evaluable, and says which years there are.
                    let otherYears = all.isEmpty ? (yearsByCounty[rule.table]?[county] ?? []) : []
                    // A rule whose scope covers nothing here does not apply (a region without that rule).
                    // Name what is missing: a whole table, or columns with no value in any row.
                    func emptyColumns() -> [String] {
                        var names: Set<String> = []
                        for root in [rule.condition.root] + rule.values.map(\.expression.root) {
                            ExpressionNode.collectNames(root, into: &names)
                        }
                        let columns = ruleSet.table(named: rule.table)?.columns.map(\.name) ?? []
                        return names.filter { n in
                            let base = n.hasPrefix("previous.") ? String(n.dropFirst(9)) : n
                            return columns.contains(base) && (n.hasPrefix("previous.") || !(filled[rule.table]?.contains(n) ?? false))
                        }.sorted()
                    }
                    // A rule whose scope covers nothing here does not apply (a region without that rule),
                    // unless the self-evaluation lists it and the data lacks a column it needs.
                    if all.isEmpty && evaluator.notRun[rule.id] == nil && (otherYears.isEmpty || otherYears.contains(year))
                        && !(layoutRules.contains(rule.id) && tables.contains(rule.table) && !emptyColumns().isEmpty) { continue }
                    let evaluated = all.filter { $0.verdict != .notEvaluable }
                    let failing = evaluated.filter { $0.verdict == .notMet }
                    let perSchool = all.contains { $0.groupKey.hasPrefix("school_code=") }
                    var c = CountyIndicator(county: county, section: "", indicator: rule.id, title: rule.titleZh,
                                            schoolsInScope: perSchool ? evaluated.count : nil, schoolsMeeting: perSchool ? evaluated.count - failing.count : nil,
                                            conclusion: conclusion(failing, evaluated: evaluated.count),
                                            figures: perSchool ? "" : (evaluated.first?.figures.map { "\($0.name)=\($0.value)" }.joined(separator: "; ") ?? ""),
                                            failing: failing.map { ($0.groupKey, $0.figures.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")) })
                    c.titleEn = rule.titleEn
                    if !perSchool { c.verdicts = evaluated.map { ($0.groupKey, figures($0)) } }
                    if perSchool {
                        c.source = .schoolShare(rule: rule.id, county: county)
                        for e in failing where e.groupKey.hasPrefix("school_code=") {
                            failingNow.append((rule.id, e.groupKey, rule.id, rule.titleZh, ""))
                        }
                    } else {
                        c.source = .countyFigure(rule: rule.id, county: county, year: year)
                    }
                    if evaluated.isEmpty {
                        let empty = emptyColumns()
                        c.figures = evaluator.notRun[rule.id]
                            ?? (!otherYears.isEmpty && !otherYears.contains(year)
                                ? "\(rule.table) 中没有 \(year) 年的数据（有：\(otherYears.sorted().map(String.init).joined(separator: "、")) 年）；评估其他年份请用 --as-of 指定该年的统计基准日 (no \(year) rows in \(rule.table); it has \(otherYears.sorted().map(String.init).joined(separator: ", ")))"
                                : (empty.isEmpty ? "所需数据缺失 (data it needs is missing)" : "缺少数据 (no data in) \(rule.table): \(empty.joined(separator: ", "))"))
                        // The same in the tables' own words, for the reports.
                        let schema = ruleSet.table(named: rule.table)
                        let tableZh = "「\(schema?.titleZh ?? rule.table)」表", tableEn = "the \(schema?.titleEn ?? rule.table) table"
                        func column(_ n: String) -> (String, String) {
                            let base = n.hasPrefix("previous.") ? String(n.dropFirst(9)) : n
                            let spec = schema?.columns.first { $0.name == base }
                            return n.hasPrefix("previous.")
                                ? ("上一期的「\(spec?.titleZh ?? base)」", "the previous period's \(spec?.titleEn ?? base)")
                                : ("「\(spec?.titleZh ?? base)」", spec?.titleEn ?? base)
                        }
                        if let message = evaluator.notRun[rule.id] {
                            let absent = ruleSet.tables.filter { !tables.contains($0.name) && message.contains($0.name) }
                            c.missingZh = "本次运行没有" + absent.map { "「\($0.titleZh)」表" }.joined(separator: "、")
                            c.missingEn = "this run has no " + absent.map { "\($0.titleEn) table" }.joined(separator: " or ")
                        } else if !otherYears.isEmpty && !otherYears.contains(year) {
                            c.missingZh = "\(tableZh)中没有 \(year) 年的数据（有 \(otherYears.sorted().map(String.init).joined(separator: "、")) 年）"
                            c.missingEn = "\(tableEn) has no rows of \(year)"
                        } else if !empty.isEmpty {
                            let names = empty.map(column)
                            c.missingZh = "\(tableZh)中\(names.map(\.0).joined(separator: "、"))没有数据"
                                + (empty.contains { $0.hasPrefix("previous.") } ? "（须提供上一期的校验输出）" : "")
                            c.missingEn = "no values of " + names.map(\.1).joined(separator: ", ") + " in \(tableEn)"
                        } else {
                            c.missingZh = "\(tableZh)中没有可用于该指标的数据行"
                            c.missingEn = "no rows of \(tableEn) this indicator applies to"
                        }
                    }
                    indicators.append(c)
                }
            }
            return indicators
        }

        /// The recorded runs: each indicator's series, and how long each failing school has failed.
        func trends(_ indicators: inout [CountyIndicator]) throws(RunError) -> [FailureStreak] {
            guard let history = options.history, history.scoredRunRecorded else { return [] }
            let schoolInfo = Dictionary(schools.map { ("school_code=\($0["school_code"]?.description ?? "")",
                                                      (name: $0["school_name"]?.description ?? "", county: $0["county_code"]?.description ?? "")) },
                                        uniquingKeysWith: { a, _ in a })
            do {
                return try TrendBuilder.build(history, scoredRun: scoredRun, current: evaluations, indicators: &indicators,
                                              failing: failingNow, schools: schoolInfo)
            } catch {
                throw .arguments("运行历史 \(history.database) 无法读取：\(error) (the run history cannot be read)")
            }
        }

        /// Names and the county's basic facts, for the reports.
        func reportContext() -> ReportContext {
            var context = ReportContext()
            context.layout = layout
            context.year = ruleSet.reportYear
            context.parameters = ruleSet.parameters.mapValues(\.description)
            context.teachingPointMinimum = ruleSet.parameters["teaching_point_min_pupils"]?.description ?? "50"
            context.rejectedSchools = runSummary?.tables["schools"]?.rowsRejected ?? 0
            context.historyName = options.history.map { ($0.database as NSString).lastPathComponent }
            for row in schools {
                let code = row["school_code"]?.description ?? "", county = row["county_code"]?.description ?? ""
                let type = row["school_type"]?.description ?? ""
                context.schools[code] = SchoolInfo(code: code, name: row["school_name"]?.description ?? "", type: type, county: county,
                                                   inScope: row["in_scope"] == .boolean(true))
                var b = context.basics[county] ?? CountyBasics()
                b.byType[type, default: 0] += 1
                if type == "teaching_point" && row["in_scope"] != .boolean(true) { b.smallTeachingPoints += 1 }
                if ["primary", "junior", "nine_year", "twelve_year", "complete_middle", "special_education", "teaching_point"].contains(type) {
                    let total = row["total_pupils"]?.number ?? 0
                    let primary = row["primary_pupils"]?.number ?? (["primary", "teaching_point"].contains(type) ? total : 0)
                    let junior = row["junior_pupils"]?.number ?? (type == "junior" ? total : 0)
                    b.primaryPupils += primary
                    b.juniorPupils += junior
                    if type == "special_education" {
                        b.specialPupils += total
                        if row["primary_pupils"]?.number == nil && row["junior_pupils"]?.number == nil { b.primaryPupils += total }
                    }
                    if let t = row["full_time_teachers"]?.number { b.teachers += t; b.teachersKnown = true }
                }
                context.basics[county] = b
            }
            context.schoolVerdicts = schoolVerdicts
            // The county's name: county finance's 区县名称 (the reporting year's first), else the schools
            // table's title row when the run has one county, else none; --county-name overrides.
            let finance = evaluator.entityRows("county_finance").sorted { ($0["year"]?.number ?? 0) > ($1["year"]?.number ?? 0) }
            for county in counties {
                if let name = options.countyName, !name.isEmpty { context.countyNames[county] = name; continue }
                let rows = finance.filter { $0["county_code"]?.description == county }
                let named = (rows.first { Int($0["year"]?.number ?? 0) == ruleSet.reportYear } ?? rows.first)?["county_name"]?.description
                if let named, !named.isEmpty {
                    context.countyNames[county] = named
                } else if counties.count == 1, let title = runSummary?.tables["schools"]?.titles?.lazy.compactMap(EvaluationReport.countyName(inTitle:)).first {
                    context.countyNames[county] = title
                }
            }
            return context
        }
    }

    /// Every file of the evaluation written, then the directory committed.
    private static func write(to out: OutputFiles, options: ScoreOptions, reportDate: String, profile: String, header: [String], schoolTable: [[String]],
                              indicators: [CountyIndicator], streaks: [FailureStreak], context: ReportContext) throws(RunError) {
        let drafts = SelfEvaluation.build(indicators, context: context)
        do { try out.prepare() } catch { throw RunError(error) }
        do {
            try out.csv("school_indicators.csv", header: header, rows: schoolTable)
            try out.csv("county_indicators.csv",
                        header: ["county_code", "section", "indicator", "title", "schools_in_scope", "schools_meeting", "ratio", "cv", "cv_limit",
                                 "numerator", "denominator", "value", "standard", "conclusion", "figures"],
                        rows: indicators.map { c in
                            let ratio = c.schoolsInScope.flatMap { n in c.schoolsMeeting.map { n == 0 ? "" : Value.format(Double($0) / Double(n)) } } ?? ""
                            // County figures by the packs' naming convention: numerator, denominator, value, standard.
                            var named: [String: String] = [:]
                            for part in c.figures.components(separatedBy: "; ") {
                                let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                                if kv.count == 2 { named[kv[0]] = kv[1] }
                            }
                            return [c.county, c.section, c.indicator, c.title, c.schoolsInScope.map(String.init) ?? "", c.schoolsMeeting.map(String.init) ?? "",
                                    ratio, c.cv, c.cvLimit, named["numerator"] ?? "", named["denominator"] ?? "", named["value"] ?? "", named["standard"] ?? "",
                                    options.english ? c.conclusion.english : c.conclusion.rawValue, c.figures]
                        })
            try out.text("evaluation.md", EvaluationReport.markdown(indicators, english: options.english, reportDate: reportDate,
                                                                     profile: profile, streaks: streaks, history: options.history,
                                                                     context: context, drafts: drafts))
            try out.text("evaluation.html", EvaluationReport.html(indicators, english: options.english, reportDate: reportDate,
                                                                   profile: profile, streaks: streaks, history: options.history,
                                                                   context: context, drafts: drafts))
            if !drafts.isEmpty {
                try SelfEvaluation.document(drafts, reportDate: reportDate).write(to: out.path("self_evaluation.docx"))
            }
            if let history = options.history, history.scoredRunRecorded {
                try out.csv("indicator_trend.csv",
                            header: ["county_code", "section", "indicator", "run_id", "finished", "value", "standard", "conclusion"],
                            rows: indicators.flatMap { c in
                                c.trend.map { p in
                                    [c.county, c.section, c.indicator, p.runID, p.finished, p.value.map { Value.format($0) } ?? "",
                                     p.standard.map { Value.format($0) } ?? "", options.english ? p.conclusion.english : p.conclusion.rawValue]
                                }
                            })
                try out.csv("failing_schools.csv",
                            header: ["school_code", "school_name", "county_code", "indicator", "section", "rule_id", "runs_failed", "at_least", "failing_since"],
                            rows: streaks.map { [$0.school, $0.schoolName, $0.county, $0.indicator, $0.section, $0.rule, String($0.runs),
                                                 $0.atLeast ? "true" : "false", $0.since] })
            }
        } catch { throw .output(error) }
        do { try out.commit() } catch { throw RunError(error) }
    }
}

extension CountyIndicator {
    /// Each school's value (by code), from the distribution.
    var values: [String: Double] { Dictionary(distribution.map { ($0.school, $0.value) }, uniquingKeysWith: { a, _ in a }) }
}

/// The score's output files, written atomically like a validation run's.
public final class OutputFiles {
    private let path: String
    private let protected: [String]
    private var opened: OutputDirectory?
    public var finalPath: String { opened?.finalPath ?? path }

    public init(_ path: String, protecting inputs: [String]) {
        self.path = path
        protected = inputs
    }

    public func prepare() throws(OutputError) {
        opened = try OutputDirectory(path: path, kind: .evaluation, runID: ValidationRun.makeRunID(Date()), protecting: protected)
    }

    public func csv(_ name: String, header: [String], rows: [[String]]) throws(WriteError) {
        let file = try BufferedFile(path: opened!.path(name))
        file.write([0xEF, 0xBB, 0xBF])
        let w = CSVWriter(file: file)
        w.writeRow(header)
        for r in rows { w.writeRow(r) }
        try file.close()
    }

    public func text(_ name: String, _ content: String) throws(WriteError) {
        let file = try BufferedFile(path: opened!.path(name))
        file.write(content)
        try file.close()
    }

    /// Where a file of the output goes before the commit.
    public func path(_ name: String) -> String { opened!.path(name) }

    public func commit() throws(OutputError) { try opened!.commit() }

    deinit { opened?.abandon() }
}
