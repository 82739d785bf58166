import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// Evaluations of one run, read back from evaluations.csv.
private func evaluations(_ result: RunResult) -> [[String: String]] {
    TestSupport.csvRecords(result.outputDirectory + "/evaluations.csv")
}

private func figures(_ row: [String: String]?) -> [String: String] {
    var out: [String: String] = [:]
    for part in (row?["figures"] ?? "").components(separatedBy: "; ") {
        let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
        if kv.count == 2 { out[kv[0]] = kv[1] }
    }
    return out
}

private let pairCurrent = TestSupport.fixture("packs/pair/current")
private let pairPrevious = TestSupport.fixture("packs/pair/previous")

/// The two-county fixture, run with last year's output as --previous.
private func runPair(configure: (inout ValidationOptions) -> Void = { _ in }) throws -> RunResult {
    let previous = try TestSupport.validate([pairPrevious])
    return try TestSupport.validate([pairCurrent]) {
        $0.previous = previous.outputDirectory
        configure(&$0)
    }
}

@Suite("Rule packs", .serialized)
struct PackTests {
    @Test("every rule in Rules/packs is met somewhere and not met somewhere in the two-county fixture")
    func everyRulePassesAndFails() throws {
        let result = try runPair()
        let ruleSet = try LoadedRules.load(directory: TestSupport.rules).ruleSet
        let ids = ruleSet.packs.flatMap { $0.rules.map(\.id) }
        #expect(ids.count >= 45)
        // Rules that only some regions set (training as a share of the wage bill) run under Yubei's profile.
        let rows = evaluations(result) + evaluations(try runPair { $0.profile = "yubei" })
        for id in ids {
            let verdicts = Set(rows.filter { $0["rule_id"] == id }.map { $0["verdict"]! })
            #expect(verdicts.contains("met") && verdicts.contains("not_met"), "\(id): \(verdicts.sorted())")
        }
        // Failing pack rules are in the ledger with their figures; met ones are not.
        let ledger = TestSupport.ledger(result)
        let g8 = ledger.filter { $0["rule_id"] == "guarantee.G8.teacher_wage" }
        #expect(g8.count == 1 && g8[0]["record_key"] == "county_code=500111;year=2024")
        #expect(g8.first?["normalised_value"] == "value=140000; standard=150000")
    }

    @Test("seed 003's county figures reproduce exactly through the rules")
    func seed003() throws {
        let result = try TestSupport.validate([TestSupport.fixture("packs/seed003")])
        let rows = evaluations(result)
        func row(_ id: String, year: Int? = nil) -> [String: String]? {
            rows.first { $0["rule_id"] == id && (year == nil || $0["key"]!.hasSuffix("year=\(year!)")) }
        }
        #expect(figures(row("quality.Q1.retention", year: 2024)) == ["numerator": "2026", "denominator": "2042", "value": "99.2", "standard": "95"])
        #expect(row("guarantee.G8.teacher_wage", year: 2024)?["verdict"] == "met")
        #expect(figures(row("guarantee.G8.teacher_wage", year: 2024)) == ["value": "154203", "standard": "153549"])
        let q4 = row("quality.Q4.county")
        #expect(q4?["verdict"] == "not_met")
        #expect(figures(q4) == ["denominator": "26", "numerator": "6", "value": "23", "standard": "100", "public_funds": "18142000", "training": "788300"])
        #expect(figures(row("quality.S1.satisfaction", year: 2024))["value"] == "88.9")
        #expect(figures(row("quality.S1.satisfaction", year: 2024))["numerator"] == "337")
        #expect(figures(row("guarantee.G14.quota", year: 2024)) == ["numerator": "835", "denominator": "1400", "value": "59.6", "standard": "50"])
        for (year, exchanged, backbone, share) in [(2022, "102", "32", "31.37"), (2023, "94", "33", "35.11"), (2024, "123", "49", "39.84")] {
            let f = figures(row("guarantee.G11.backbone", year: year))
            #expect(f["denominator"] == exchanged && f["numerator"] == backbone && f["value"] == share, "\(year)")
        }
    }

    @Test("the variation coefficient is pupil-weighted, as DOMAIN.md 3.1 defines it")
    func variationCoefficient() {
        // Values 4, 6, 10 for 100, 300, 600 pupils: X̄ = 8.2, Σ(Pᵢ/P)(Xᵢ − X̄)² = 5.16, CV = √5.16 / 8.2.
        var a = Accumulator()
        for (x, p) in [(4.0, 100.0), (6.0, 300.0), (10.0, 600.0)] { a.add(.cv, [.real(x), .real(p)]) }
        guard case .real(let cv) = a.result(.cv) else { Issue.record("no value"); return }
        #expect(abs(cv - 5.16.squareRoot() / 8.2) < 1e-12)
        #expect(abs(cv - 0.277020) < 1e-6)
        // The unweighted coefficient of the same values differs (0.3742).
        var u = Accumulator()
        for x in [4.0, 6.0, 10.0] { u.add(.cv, [.real(x), .real(1)]) }
        guard case .real(let unweighted) = u.result(.cv) else { Issue.record("no value"); return }
        #expect(abs(unweighted - 0.374166) < 1e-6)
        // Equal values: no variation.
        var e = Accumulator()
        for p in [10.0, 20.0] { e.add(.cv, [.real(5), .real(p)]) }
        #expect(e.result(.cv) == .real(0))
    }

    @Test("sums stay exact decimals across scales, fall back to floating point only past Int64; min and max compare numbers")
    func exactSums() {
        func d(_ m: Int64, _ e: Int) -> Value { .decimal(FixedDecimal(mantissa: m, exponent: e)) }
        // 0.1 + 0.2 + 15.4203万 (154203) + 7 = 154210.3 exactly, whatever the order of scales.
        var a = Accumulator()
        for v in [d(1, -1), d(2, -1), d(154203, 0), Value.integer(7)] { a.add(.sum, [v]) }
        #expect(a.result(.sum) == d(1542103, -1))
        // Sums that reduce to whole numbers are integers: 0.25 + 0.75 + 2 = 3.
        var w = Accumulator()
        for v in [d(25, -2), d(75, -2), Value.integer(2)] { w.add(.sum, [v]) }
        #expect(w.result(.sum) == .integer(3))
        // Many scaled-up terms: 10⁶ × 0.000001 = 1, no drift.
        var many = Accumulator()
        for _ in 0..<1_000_000 { many.add(.sum, [d(1, -6)]) }
        #expect(many.result(.sum) == .integer(1))
        // An exact sum past Int64 becomes a floating-point one; a real value does the same.
        var big = Accumulator()
        for _ in 0..<3 { big.add(.sum, [.integer(Int64.max / 2)]) }
        guard case .real(let r) = big.result(.sum) else { Issue.record("expected a real sum"); return }
        #expect(abs(r - 1.5 * Double(Int64.max)) / r < 1e-12)
        var real = Accumulator()
        for v in [Value.integer(1), .real(0.5)] { real.add(.sum, [v]) }
        #expect(real.result(.sum) == .real(1.5))
        // A value that is not a number is not counted; min and max compare across integer and decimal.
        var low = Accumulator(), high = Accumulator()
        for v in [Value.integer(3), d(25, -1), .text("x"), .integer(-4), d(1005, -2)] { low.add(.min, [v]); high.add(.max, [v]) }
        #expect(low.result(.min) == .integer(-4))
        #expect(high.result(.max) == d(1005, -2))
        var mean = Accumulator()
        for v in [Value.integer(1), .text("x"), d(25, -1)] { mean.add(.mean, [v]) }
        #expect(mean.result(.mean) == .real(1.75))
    }

    @Test("the 6-of-7 rule: 85 % of a standard passes, 84.9 % fails; teaching points under 50 are outside")
    func schoolVerdicts() throws {
        let rows = evaluations(try runPair()).filter { $0["rule_id"] == "balance.school.primary" }
        func verdict(_ code: String) -> String? { rows.first { $0["key"] == "school_code=\(code)" }?["verdict"] }
        #expect(verdict("3150010007") == "met")       // R4 at exactly 85 %
        #expect(figures(rows.first { $0["key"] == "school_code=3150010007" })["weakest_share"] == "0.85")
        #expect(verdict("3150010008") == "not_met")   // R4 at 84.9 %
        #expect(verdict("3150010009") == "met")       // a teaching point of exactly 50 pupils is evaluated
        #expect(verdict("3150010010") == nil)         // one of 49 is not
        #expect(verdict("3150010011") == nil)         // nor a special-education school
        #expect(verdict("3150010006") == "met")       // the nine-year school's primary section
        let cv = evaluations(try runPair()).filter { $0["rule_id"] == "balance.cv.primary" }
        #expect(cv.first { $0["key"] == "county_code=500110" }?["verdict"] == "met")
        #expect(cv.first { $0["key"] == "county_code=500111" }?["verdict"] == "not_met")
    }

    @Test("switching --profile changes the funding-floor verdicts as the profiles' numbers imply")
    func profiles() throws {
        func floors(_ profile: String?) throws -> [String: (String, String)] {
            let result = try TestSupport.validate([TestSupport.fixture("packs/profiles")]) { $0.profile = profile }
            var out: [String: (String, String)] = [:]
            for r in evaluations(result) where r["rule_id"] == "funding.floor" { out[r["key"]!] = (r["verdict"]!, figures(r)["expected"]!) }
            return out
        }
        let national = try floors(nil)
        #expect(national["school_code=3150030001"]! == ("met", "1128000"))
        #expect(national["school_code=3150030002"]! == ("met", "108000"))
        #expect(national["school_code=3150030003"]! == ("met", "216000"))
        let yubei = try floors("yubei")
        #expect(yubei["school_code=3150030001"]! == ("not_met", "2082000"))
        #expect(yubei["school_code=3150030002"]! == ("not_met", "305250"))
        #expect(yubei["school_code=3150030003"]! == ("met", "520500"))
        let shapingba = try floors("shapingba")
        #expect(shapingba["school_code=3150030003"]! == ("not_met", "750000"))   // under 500 pupils: funded as 500
        let named = try floors("national")
        #expect(named.keys.sorted() == national.keys.sorted() && named.allSatisfy { national[$0.key]! == $0.value })
    }

    @Test("size rules (funded as 100 or 500, size top-ups) reach only compulsory pupils, never a senior school or section")
    func seniorFloors() throws {
        func floors(_ profile: String?) throws -> [String: String] {
            let result = try TestSupport.validate([TestSupport.fixture("packs/senior")]) { $0.profile = profile }
            var out: [String: String] = [:]
            for r in evaluations(result) where r["rule_id"] == "funding.floor" { out[r["key"]!] = figures(r)["expected"]! }
            return out
        }
        // 150 senior pupils at the senior standard, nothing more.
        #expect(try floors(nil)["school_code=3150040001"] == "141000")        // 150 × 940
        #expect(try floors("yubei")["school_code=3150040001"] == "269250")    // 150 × 1795, no size top-up
        #expect(try floors("shapingba")["school_code=3150040001"] == "255000") // 150 × 1700, not funded as 500
        // A complete middle school: 300 junior pupils funded as 500 in Shapingba, its 150 senior pupils as they are.
        #expect(try floors("shapingba")["school_code=3150040002"] == "1105000") // (500 + 150) × 1700
        #expect(try floors("yubei")["school_code=3150040002"] == "849750")      // 300 × (1735 + 200) + 150 × 1795
    }

    @Test("the pack version follows the reporting year")
    func versionsByYear() throws {
        let y2024 = try TestSupport.validate([TestSupport.fixture("packs/profiles")])
        let y2023 = try TestSupport.validate([TestSupport.fixture("packs/profiles")]) { $0.asOf = "2023-09-30" }
        #expect(y2024.summary.packs.contains { $0.name == "funding" && $0.version == "2024" })
        #expect(y2023.summary.packs.contains { $0.name == "funding" && $0.version == "2017" })
        let standard = { (r: RunResult) in figures(evaluations(r).first { $0["rule_id"] == "funding.floor" && $0["key"] == "school_code=3150030003" })["standard"] }
        #expect(standard(y2024) == "720")
        #expect(standard(y2023) == "650")
    }

    @Test("rules whose tables are not in the run are listed as not run, with the reason")
    func rulesNotRun() throws {
        let roster = try TestSupport.validate([TestSupport.fixture("reading/encoding_utf8.csv")])
        #expect(roster.summary.rulesNotRun["consistency.teacher_school_exists"]?.contains("schools") == true)
        #expect(roster.summary.rulesNotRun["guarantee.G8.teacher_wage"]?.contains("county_finance") == true)
        #expect(!TestSupport.ledger(roster).contains { $0["rule_id"]!.hasPrefix("consistency.") })
        #expect(try runPair().summary.rulesNotRun.isEmpty)
    }

    @Test("period-over-period rules need --previous and compare with it")
    func previousPeriod() throws {
        let without = try TestSupport.validate([pairCurrent])
        let rows = evaluations(without).filter { $0["rule_id"] == "finance.two_increase.total" }
        #expect(rows.count == 2 && rows.allSatisfy { $0["verdict"] == "not_evaluable" })
        let with = evaluations(try runPair()).filter { $0["rule_id"] == "finance.two_increase.total" }
        let b = with.first { $0["key"]!.hasPrefix("county_code=500111") }
        #expect(b?["verdict"] == "not_met")
        #expect(figures(b)["previous"] == "2100000000" && figures(b)["current"] == "2010000000")
        let a = with.first { $0["key"]!.hasPrefix("county_code=500110") }
        #expect(figures(a)["growth"] == "5.77")
    }

    @Test("rows depending on a rejected school are flagged with a pointer to the cause, never dropped")
    func dependentQuarantine() throws {
        let result = try runPair()
        let ledger = TestSupport.ledger(result)
        let flagged = ledger.first { $0["rule_id"] == "consistency.teachers_of_rejected_school" }
        #expect(flagged?["record_key"] == "school_code=3150010107")
        #expect(flagged?["normalised_value"] == "teachers=20")
        #expect(ledger.contains { $0["rule_id"] == "schools.sections_sum" && $0["record_key"] == "school_code=3150010107" })
        // Not "unknown school": the school exists but was rejected.
        #expect(!ledger.contains { $0["rule_id"] == "consistency.teacher_school_exists" && $0["record_key"] == "school_code=3150010107" })
        #expect(ledger.contains { $0["rule_id"] == "consistency.teacher_school_exists" && $0["record_key"] == "school_code=3150099999" })
        // The rule quarantines: the school's teachers and funding rows are moved to rejected/, with the rule's id.
        let rejected = TestSupport.csvRecords(result.outputDirectory + "/rejected/teachers.csv").filter { $0["school_code"] == "3150010107" }
        #expect(rejected.count == 20 && rejected.allSatisfy { $0["rule_ids"] == "consistency.teachers_of_rejected_school" })
        #expect(!TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv").contains { $0["school_code"] == "3150010107" })
        let counts = result.summary.tables["teachers"]!
        #expect(counts.rowsRead == counts.rowsClean + counts.rowsRejected && counts.rowsRejected == 20 + 3)  // and 3 with an unknown school
        #expect(TestSupport.csvRows(result.outputDirectory + "/clean/teachers.csv").count - 1 == counts.rowsClean)
        #expect(TestSupport.csvRecords(result.outputDirectory + "/rejected/funding.csv").contains { $0["school_code"] == "3150010107" && $0["rule_ids"] == "consistency.funding_of_rejected_school" })
    }

    @Test("rows a pack moves to rejected/ are written as they were read, like the rows rejected by their own checks")
    func movedRowsAsRead() throws {
        let result = try TestSupport.validate([TestSupport.samples])
        let rejected = TestSupport.csvRecords(result.outputDirectory + "/rejected/teachers.csv")
        let moved = rejected.filter { $0["rule_ids"] == "consistency.teachers_of_rejected_school" }
        #expect(moved.count > 100)
        // One unit, one vocabulary, one name per column: the raw cells of the GB18030 file.
        #expect(moved.allSatisfy { ["男", "女"].contains($0["sex"] ?? "") }, "\(moved.first ?? [:])")
        #expect(moved.allSatisfy { !($0["name"] ?? "").contains("*") })
        #expect(moved.allSatisfy { ($0["id_number"] ?? "").count == 18 && !($0["id_number"] ?? "").contains("*") })
        // 年工资收入（万元）as written (16.8600), not converted to yuan.
        #expect(moved.contains { ($0["annual_wage"] ?? "").contains(".") && Double($0["annual_wage"] ?? "") ?? 1e9 < 100 })
        // Each moved row is the line it names, as the file has it.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: TestSupport.samples + "/teachers.csv"))
        // The file is GB18030 with CR LF line ends; teacher ids are ASCII.
        let lines = [UInt8](bytes).split(separator: 0x0A, omittingEmptySubsequences: false)
        let fromFile = moved.filter { $0["source_file"]?.hasSuffix("Samples/teachers.csv") == true }
        #expect(!fromFile.isEmpty)
        for row in fromFile.prefix(20) {
            let n = Int(row["source_line"] ?? "") ?? 0
            #expect(n >= 2 && n - 1 < lines.count && Array(lines[n - 1]).starts(with: Array(((row["teacher_id"] ?? "") + ",").utf8)))
        }
        let counts = result.summary.tables["teachers"]!
        #expect(counts.rowsRead == counts.rowsClean + counts.rowsRejected)
        #expect(rejected.count == counts.rowsRejected)
    }

    @Test("waivers mark accepted findings, do not fail the run, and report expired and unused waivers")
    func waivers() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write("""
            - rule: guarantee.G8.teacher_wage
              key: county_code=500111;year=2024
              reason: 2025 年起实施工资调整
              expires: 2025-12-31
              rectification: 区财政 2025 年追加教师绩效工资
            - rule: quality.S1.satisfaction
              key: county_code=500111;year=2024
              reason: 问卷重做中
              expires: 2024-01-01
            - rule: quality.Q2.disabled_enrolment
              key: county_code=599999;year=2024
              reason: 不存在的区县
              expires: 2030-01-01
            """, to: dir + "/waivers.yaml")
        let result = try runPair { $0.waivers = dir + "/waivers.yaml" }
        let ledger = TestSupport.ledger(result)
        let g8 = ledger.first { $0["rule_id"] == "guarantee.G8.teacher_wage" }
        #expect(g8?["waiver"]?.contains("2025 年起实施工资调整") == true)
        #expect(g8?["waiver"]?.contains("整改") == true)
        #expect(result.summary.totals.waived == 1)
        #expect(result.summary.findings["guarantee.G8.teacher_wage"]?["waived"] == 1)
        #expect(result.summary.findings["guarantee.G8.teacher_wage"]?["error"] == nil)
        #expect(ledger.contains { $0["rule_id"] == "waiver.expired" && $0["record_key"] == "county_code=500111;year=2024" })
        #expect(ledger.first { $0["rule_id"] == "quality.S1.satisfaction" }?["waiver"] == "")
        #expect(ledger.contains { $0["rule_id"] == "waiver.unused" })
    }

    @Test("a waiver that covers every error lets the run pass")
    func waiversAndExitCode() throws {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestSupport.fixture("packs/seed003/county_finance.csv"), toPath: dir + "/county_finance.csv")
        #expect(try TestSupport.validate([dir]).status == .dataErrors)
        TestSupport.write("- rule: guarantee.G11.exchange\n  key: \"*\"\n  reason: 交流比例按三年统筹计算\n  expires: 2026-12-31\n", to: dir + "/w.yaml")
        #expect(try TestSupport.validate([dir + "/county_finance.csv"]) { $0.waivers = dir + "/w.yaml" }.status == .clean)
    }

    @Test("mistakes in packs, profiles and waivers are located")
    func packMistakes() throws {
        func load(_ file: String, _ edit: (String) -> String) -> [RuleFileError] {
            let dir = TestSupport.temporaryDirectory() + "/Rules"
            try! FileManager.default.copyItem(atPath: TestSupport.rules, toPath: dir)
            TestSupport.write(edit(TestSupport.text(dir + "/" + file)), to: dir + "/" + file)
            do { _ = try LoadedRules.load(directory: dir).ruleSet; return [] } catch { return error.errors }
        }
        let table = load("packs/quality.yaml") { $0.replacingOccurrences(of: "on: county_finance\n    when: present(disabled_enrolment_rate)", with: "on: county_finances\n    when: present(disabled_enrolment_rate)") }
        #expect(table.contains { $0.message.contains("county_finances") && $0.location.path.hasSuffix("packs/quality.yaml") })
        let column = load("packs/quality.yaml") { $0.replacingOccurrences(of: "check: disabled_enrolment_rate >= $disabled_enrolment_min", with: "check: disabled_rate >= $disabled_enrolment_min") }
        #expect(column.contains { $0.message.contains("disabled_rate") && $0.location.line > 1 })
        let arity = load("packs/quality.yaml") { $0.replacingOccurrences(of: "schools: count()", with: "schools: sum()") }
        #expect(arity.contains { $0.message.contains("sum") })
        let profile = load("profiles/yubei.yaml") { $0.replacingOccurrences(of: "small_rural_grant", with: "small_rural_grants") }
        #expect(profile.contains { $0.message.contains("small_rural_grants") })
        let overlap = load("packs/funding.yaml") { $0.replacingOccurrences(of: "years: [2024, 2035]", with: "years: [2023, 2035]") }
        #expect(overlap.contains { $0.message.contains("重叠") })
        let waivers = TestSupport.temporaryDirectory() + "/w.yaml"
        TestSupport.write("- rule: x\n  reason: y\n", to: waivers)
        #expect(throws: RuleFileErrors.self) { _ = try WaiverBook.load(path: waivers, asOf: Day(year: 2024, month: 9, day: 30)!) }
    }

    @Test("evaluations do not depend on the order of rows")
    func orderIndependence() throws {
        let dir = TestSupport.temporaryDirectory()
        let files = try FileManager.default.contentsOfDirectory(atPath: pairCurrent).filter { $0.hasSuffix(".csv") }
        #expect(files.count == 5)
        for file in files {
            var lines = TestSupport.text(pairCurrent + "/" + file).split(separator: "\n").map(String.init)
            let header = lines.removeFirst()
            var rng = SeededGenerator(seed: 5)
            lines.shuffle(using: &rng)
            TestSupport.write(([header] + lines).joined(separator: "\n") + "\n", to: dir + "/" + file)
        }
        func normalised(_ result: RunResult) -> [String] {
            evaluations(result).map { "\($0["rule_id"]!)|\($0["key"]!)|\($0["verdict"]!)|\($0["figures"]!)" }.sorted()
        }
        let shuffled = try TestSupport.validate([dir])
        let original = try TestSupport.validate([pairCurrent])
        #expect(normalised(shuffled) == normalised(original))
    }

    @Test("group keys are numbered in order of first sight, and found again, through the table's growth")
    func groupNumbering() {
        var table = GroupNumbers()
        var reference: [String: Int] = [:]
        // School codes, Chinese keys, joined multi-column keys and the empty key; each seen many times.
        let keys = (0..<6_000).map { i -> String in
            switch i % 4 {
            case 0: return String(3_150_000_000 + i * 7)
            case 1: return "县\(i)中学"
            case 2: return "\(i % 97)\u{1F}\(i)"
            default: return i % 400 == 3 ? "" : "X\(i)"
            }
        }
        for round in 0..<3 {
            for key in round == 1 ? keys.reversed() : keys {
                let expected = reference[key] ?? reference.count
                reference[key] = expected
                #expect(table.number(for: key) == expected, "\(key)")
            }
        }
        #expect(table.count == reference.count && table.count == Set(keys).count)
    }

    @Test("a derived value filtered on a column no other pack reads counts the rows the filter keeps")
    func filterOnOwnColumn() throws {
        // Workers hand the rule packs only the columns they read: a filter's column must be among them.
        let rules = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: rules)
        let path = rules + "/packs/consistency.yaml"
        var text = TestSupport.text(path)
        text = text.replacingOccurrences(of: "    roster_certified:\n", with: """
                roster_women:
                  from: teachers
                  by: school_code
                  value: count()
                  where: sex == 'female' and year(birth_date) < 1990
                roster_certified:

            """)
        text += """

              - id: consistency.roster_women
                title_zh: 名册女教师人数
                title_en: Women on the roster
                on: schools
                when: roster_teachers > 0
                check: roster_women <= roster_teachers
                values:
                  women: roster_women
                severity: warning
                message_zh: 名册女教师 {women} 人。
                message_en: "{women} women on the roster."

            """
        TestSupport.write(text, to: path)
        let result = try TestSupport.validate(["Samples"].map { TestSupport.packageRoot + "/" + $0 }, rules: rules)
        // The expected counts, from the clean roster itself.
        var expected: [String: Int] = [:]
        for row in TestSupport.csvRecords(result.outputDirectory + "/clean/teachers.csv")
        where row["sex"] == "female" && (Int(row["birth_date"]!.prefix(4)) ?? 9999) < 1990 {
            expected[row["school_code"]!, default: 0] += 1
        }
        let rows = evaluations(result).filter { $0["rule_id"] == "consistency.roster_women" }
        #expect(rows.count > 10)
        #expect(expected.values.reduce(0, +) > 100)
        for row in rows {
            let code = String(row["key"]!.dropFirst("school_code=".count))
            #expect(figures(row)["women"] == String(expected[code] ?? 0), "\(code)")
        }
    }
}
