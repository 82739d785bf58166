import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// Evaluates an expression against one schools row given as column → value.
private func evaluate(_ text: String, _ values: [String: Value], parameters: [String: Value] = ["report_date": .date(Day(year: 2024, month: 9, day: 30)!)]) throws -> Value {
    let schema = try LoadedRules.load(directory: TestSupport.rules).ruleSet.table(named: "schools")!
    let compiled = try ExpressionCompiler(schema: schema, parameters: parameters).compile(try ExpressionParser.parse(text))
    let row = RowValues(count: schema.columns.count)
    for (k, v) in values { row.values[schema.columnIndex(k)!] = v }
    return compiled.evaluate(row)
}

/// The 1-based line of the first line containing `needle`.
private func line(of needle: String, in file: String) -> Int {
    let lines = TestSupport.text(TestSupport.rules + "/" + file).components(separatedBy: "\n")
    return (lines.firstIndex { $0.contains(needle) } ?? -1) + 1
}

@Suite("The rule language")
struct RuleLanguageTests {
    @Test("a call several checks share is computed once per row, and again for the next row")
    func sharedCalls() throws {
        let schema = try LoadedRules.load(directory: TestSupport.rules).ruleSet.table(named: "teachers")!
        let texts = ["id_checksum_ok(id_number)", "id_checksum_ok(id_number) and id_sex(id_number) == sex", "len(name) > 1"]
        let nodes = try texts.map { try ExpressionParser.parse($0) }
        var compiler = ExpressionCompiler(schema: schema, parameters: [:])
        compiler.shared = SharedCalls(nodes)
        let compiled = try nodes.map { try compiler.compile($0) }
        let row = RowValues(count: schema.columns.count)
        let id = schema.columnIndex("id_number")!, sex = schema.columnIndex("sex")!
        func verdicts(_ number: String, _ s: String) -> [Value] {
            row.beginRow()
            row.values[id] = .text(number)
            row.values[sex] = .text(s)
            row.values[schema.columnIndex("name")!] = .text("王伟")
            return compiled.map { $0.evaluate(row) }
        }
        // 11010519491231002X is valid (female); changing its last digit breaks the check digit.
        #expect(verdicts("11010519491231002X", "female") == [.boolean(true), .boolean(true), .boolean(true)])
        #expect(verdicts("110105194912310021", "female") == [.boolean(false), .boolean(false), .boolean(true)])
        #expect(verdicts("11010519491231002X", "male") == [.boolean(true), .boolean(false), .boolean(true)])
        // A row whose owner never starts rows keeps nothing: each evaluation sees the current values.
        let plain = RowValues(count: schema.columns.count)
        plain.values[id] = .text("11010519491231002X")
        #expect(compiled[0].evaluate(plain) == .boolean(true))
        plain.values[id] = .text("110105194912310021")
        #expect(compiled[0].evaluate(plain) == .boolean(false))
    }

    @Test("arithmetic, comparison and logic")
    func basics() throws {
        #expect(try evaluate("total_pupils + 1 == 101", ["total_pupils": .integer(100)]) == .boolean(true))
        #expect(try evaluate("total_pupils / 4 > 24.9", ["total_pupils": .integer(100)]) == .boolean(true))
        #expect(try evaluate("school_type in ['primary', 'junior']", ["school_type": .text("junior")]) == .boolean(true))
        #expect(try evaluate("school_type not in ['primary']", ["school_type": .text("junior")]) == .boolean(true))
        #expect(try evaluate("school_type in ['primary', 'junior']", ["school_type": .text("senior")]) == .boolean(false))
        #expect(try evaluate("school_type in ['primary']", [:]) == .missing)
        #expect(try evaluate("total_pupils in [50, 60.0]", ["total_pupils": .integer(60)]) == .boolean(true))
        #expect(try evaluate("total_pupils in [50, full_time_teachers]", ["total_pupils": .integer(7), "full_time_teachers": .integer(7)]) == .boolean(true))
        #expect(try evaluate("total_pupils not in [50, full_time_teachers]", ["total_pupils": .integer(8), "full_time_teachers": .integer(7)]) == .boolean(true))
        #expect(try evaluate("total_pupils between 50 and 100", ["total_pupils": .integer(50)]) == .boolean(true))
        #expect(try evaluate("if total_pupils < 100 then 100 else total_pupils", ["total_pupils": .integer(49)]) == .integer(100))
        #expect(try evaluate("year($report_date) == 2024", [:]) == .boolean(true))
    }

    @Test("exact decimal sums compare exactly")
    func exactSums() throws {
        let v = try evaluate("building_area + sports_area == 0.3", ["building_area": .decimal(FixedDecimal(mantissa: 1, exponent: -1)),
                                                                    "sports_area": .decimal(FixedDecimal(mantissa: 2, exponent: -1))])
        #expect(v == .boolean(true))
    }

    @Test("missing values propagate, and and/or follow three-valued logic")
    func missingSemantics() throws {
        #expect(try evaluate("junior_pupils + 1 > 0", [:]) == .missing)
        #expect(try evaluate("coalesce(junior_pupils, 0) + 1 > 0", [:]) == .boolean(true))
        #expect(try evaluate("junior_pupils > 0 and total_pupils > 1000", ["total_pupils": .integer(5)]) == .boolean(false))
        #expect(try evaluate("junior_pupils > 0 or total_pupils > 1", ["total_pupils": .integer(5)]) == .boolean(true))
        #expect(try evaluate("junior_pupils > 0 or total_pupils > 1000", ["total_pupils": .integer(5)]) == .missing)
        #expect(try evaluate("junior_pupils is missing", [:]) == .boolean(true))
        #expect(try evaluate("present(junior_pupils)", [:]) == .boolean(false))
    }

    @Test("the project's rule files load")
    func projectRulesLoad() throws {
        let rules = try LoadedRules.load(directory: TestSupport.rules).ruleSet
        #expect(Set(rules.tables.map(\.name)) == ["schools", "teachers", "county_finance", "funding", "monitoring"])
        #expect(rules.table(named: "teachers")!.checks.contains { $0.id == "teachers.id_checksum" })
    }

    @Test("an unknown column is reported at its file, line and column with a suggestion")
    func unknownColumn() {
        let errors = TestSupport.loadRules(editing: "schemas/schools.yaml") { $0.replacingOccurrences(of: "check: junior_pupils == 0", with: "check: junior_pupil == 0") }
        #expect(errors.count == 1)
        let e = errors[0]
        #expect(e.location.path.hasSuffix("schemas/schools.yaml"))
        #expect(e.location.line == line(of: "check: junior_pupils == 0", in: "schemas/schools.yaml"))
        #expect(e.location.column == 12)
        #expect(e.message.contains("junior_pupil"))
        #expect(e.message.contains("junior_pupils"))
    }

    @Test("a type mismatch, an unknown function and bad syntax are each located")
    func otherMistakes() {
        let type = TestSupport.loadRules(editing: "schemas/schools.yaml") { $0.replacingOccurrences(of: "check: junior_pupils == 0", with: "check: junior_pupils == 'none'") }
        #expect(type.count == 1 && type[0].message.contains("无法比较"))
        let function = TestSupport.loadRules(editing: "schemas/teachers.yaml") { $0.replacingOccurrences(of: "check: id_checksum_ok(id_number)", with: "check: id_checksum(id_number)") }
        #expect(function.count == 1 && function[0].message.contains("未知函数") && function[0].message.contains("id_checksum_ok"))
        #expect(function.first?.location.line == line(of: "check: id_checksum_ok(id_number)", in: "schemas/teachers.yaml"))
        let syntax = TestSupport.loadRules(editing: "schemas/schools.yaml") { $0.replacingOccurrences(of: "check: largest_class <= total_pupils", with: "check: largest_class <= (total_pupils") }
        #expect(syntax.count == 1 && syntax[0].message.contains("语法错误"))
        #expect(syntax.first?.location.column == 12 + "largest_class <= (total_pupils".count)
        let equals = TestSupport.loadRules(editing: "schemas/schools.yaml") { $0.replacingOccurrences(of: "check: junior_pupils == 0", with: "check: junior_pupils = 0") }
        #expect(equals.first?.message.contains("==") == true)
    }

    @Test("schema mistakes: unknown key with a suggestion, bad type, bad unit, bad YAML")
    func schemaMistakes() {
        let key = TestSupport.loadRules(editing: "schemas/schools.yaml") { $0.replacingOccurrences(of: "    required: true\n    digits: true\n    length: 10", with: "    requird: true\n    digits: true\n    length: 10") }
        #expect(key.contains { $0.message.contains("requird") && $0.message.contains("required") })
        let type = TestSupport.loadRules(editing: "schemas/schools.yaml") { $0.replacingOccurrences(of: "type: integer", with: "type: int") }
        #expect(type.contains { $0.message.contains("`int`") && $0.message.contains("integer") })
        let unit = TestSupport.loadRules(editing: "schemas/schools.yaml") { $0.replacingOccurrences(of: "unit: m2", with: "unit: acres") }
        #expect(unit.contains { $0.message.contains("acres") })
        let yaml = TestSupport.loadRules(editing: "schemas/teachers.yaml") { $0.replacingOccurrences(of: "table: teachers", with: "table: [teachers") }
        #expect(yaml.contains { $0.message.contains("YAML") })
    }

    @Test("every mistake in the rule files is reported, not just the first")
    func allMistakesAtOnce() {
        let errors = TestSupport.loadRules(editing: "schemas/schools.yaml") {
            $0.replacingOccurrences(of: "check: junior_pupils == 0", with: "check: junior_pupil == 0")
              .replacingOccurrences(of: "check: primary_pupils == 0", with: "check: primary_pupil == 0")
        }
        #expect(errors.count == 2)
    }
}
