import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// The teachers schema with its training-hours check replaced by `check`.
private func withCheck(_ check: String) -> [RuleFileError] {
    TestSupport.loadRules(editing: "schemas/teachers.yaml") { $0.replacingOccurrences(of: "check: training_hours <= 1200", with: "check: \(check)") }
}

/// The teachers schema with the staff-number pattern replaced by `pattern`.
private func withPattern(_ pattern: String) -> [RuleFileError] {
    TestSupport.loadRules(editing: "schemas/teachers.yaml") { $0.replacingOccurrences(of: "pattern: \"[A-Z0-9]+\"", with: "pattern: '\(pattern)'") }
}

private func evaluate(_ text: String, _ values: [String: Value]) throws -> Value {
    let schema = try LoadedRules.load(directory: TestSupport.rules).ruleSet.table(named: "schools")!
    let compiled = try ExpressionCompiler(schema: schema, parameters: [:]).compile(try ExpressionParser.parse(text))
    let row = RowValues(count: schema.columns.count)
    for (k, v) in values { row.values[schema.columnIndex(k)!] = v }
    return compiled.evaluate(row)
}

@Suite("Hostile rule files: a clear error at file:line:column, never a crash or a hang")
struct HostileRulesTests {
    @Test("deep nesting and huge expressions are refused with their place in the file",
          arguments: [String(repeating: "(", count: 20_000) + "1" + String(repeating: ")", count: 20_000) + " > 0",
                      (0..<100_000).map { _ in "1" }.joined(separator: " + ") + " > 0",
                      String(repeating: "-", count: 100_000) + "1 > 0",
                      String(repeating: "not ", count: 50_000) + "true",
                      "1 > " + String(repeating: "abs(", count: 5_000) + "1" + String(repeating: ")", count: 5_000)])
    func deepExpressions(_ check: String) {
        let errors = withCheck(check)
        #expect(errors.count == 1)
        let error = errors.first
        #expect(error?.location.path.hasSuffix("schemas/teachers.yaml") == true)
        #expect((error?.location.line ?? 0) > 1)
        #expect(error?.message.contains("过深") == true || error?.message.contains("过长") == true, "\(error?.message.prefix(200) ?? "")")
    }

    @Test("an expression just inside the limits loads and computes")
    func withinLimits() throws {
        let sum = (0..<150).map { _ in "1" }.joined(separator: " + ")
        #expect(withCheck("training_hours <= " + sum).isEmpty)
        #expect(try evaluate(String(repeating: "(", count: 150) + "2" + String(repeating: ")", count: 150) + " * 3", [:]) == .integer(6))
    }

    @Test("YAML nested 50,000 deep, in flow or block style (LF or CRLF line ends), or full of aliases, is refused with its line",
          arguments: [
            "x: " + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n",
            blockNested(200, lineEnd: "\n"),
            // The same with the CRLF line ends a Windows editor writes.
            blockNested(200, lineEnd: "\r\n"),
            "x: " + String(repeating: "- ", count: 50_000) + "1\n",
            "a: &a [1, 2]\n" + (0..<200).map { "b\($0): [*a, *a]" }.joined(separator: "\n") + "\n",
          ])
    func deepYAML(_ extra: String) {
        let errors = TestSupport.loadRules(editing: "parameters.yaml") { $0 + "\n" + extra }
        let yaml = errors.first { $0.message.contains("YAML") }
        #expect(yaml?.location.path.hasSuffix("parameters.yaml") == true)
        #expect((yaml?.location.line ?? 0) > 1)
    }

    @Test("a rule file too large, or not a regular file, is refused without being read whole")
    func largeRuleFile() throws {
        let errors = TestSupport.loadRules(editing: "parameters.yaml") { $0 + "\n# " + String(repeating: "x", count: YAMLDocument.maximumBytes) + "\n" }
        #expect(errors.first?.message.contains("过大") == true)
        let dir = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: dir)
        try FileManager.default.removeItem(atPath: dir + "/packs/targets.yaml")
        #expect(mkfifo(dir + "/packs/targets.yaml", 0o644) == 0)
        #expect(throws: RuleFileErrors.self) { try LoadedRules.load(directory: dir).ruleSet }
    }

    @Test("out-of-range arguments are not evaluable, as a division by zero is",
          arguments: ["round(total_pupils, 30)", "round(total_pupils, 1000000000000)", "round(total_pupils * 1000000000 * 1000000000 * 1000, 2)",
                      "ceil(total_pupils * 1000000000 * 1000000000 * 1000)", "floor(0 - total_pupils * 1000000000 * 1000000000 * 1000)", "substr('abc', total_pupils * 1000000000 * 1000000000 * 1000, 2)", "substr('abc', 1, total_pupils * 1000000000 * 1000000000 * 1000)",
                      "substr('abc', 0 - total_pupils * 1000000000 * 1000000000 * 1000, total_pupils * 1000000000 * 1000000000 * 1000)",
                      "total_pupils / 0"])
    func outOfRange(_ text: String) throws {
        #expect(try evaluate(text, ["total_pupils": .integer(7)]) == .missing)
        #expect(try evaluate("abs(total_pupils)", ["total_pupils": .integer(.min)]) != .missing)
    }

    @Test("in-range arguments still compute")
    func inRange() throws {
        #expect(try evaluate("round(total_pupils / 3, 2)", ["total_pupils": .integer(7)]) == .decimal(FixedDecimal(mantissa: 233, exponent: -2)))
        #expect(try evaluate("substr('abcdef', total_pupils - 5, 3)", ["total_pupils": .integer(7)]) == .text("bcd"))
        #expect(try evaluate("ceil(total_pupils / 2)", ["total_pupils": .integer(7)]) == .integer(4))
        #expect(try evaluate("substr('abc', 0 - total_pupils, 2)", ["total_pupils": .integer(7)]) == .text("ab"))
    }

    @Test("patterns that cannot be matched in linear time, or at all, are refused when the rules load",
          arguments: ["(a*)*\\1", "(?=a)a", "(?<!a)b", "(?x)[0-9]+ # digits", "(?i)abc", "a++", "[0-9", "(ab", "a{5,2}", "a{2000}", "\\b"])
    func refusedPatterns(_ pattern: String) {
        let errors = withPattern(pattern)
        #expect(errors.count == 1, "\(pattern)")
        #expect(errors.first?.message.contains("不能使用") == true)
        #expect(errors.first?.location.path.hasSuffix("teachers.yaml") == true)
    }

    @Test("catastrophic patterns on long cells match in linear time")
    func linearMatching() throws {
        let evil = try Pattern("(a+)+")
        let cell = String(repeating: "a", count: 20_000) + "!"
        #expect(!evil.matches(cell))
        #expect(evil.matches(String(repeating: "a", count: 20_000)))
        let nested = try Pattern("(a|aa)*b")
        #expect(!nested.matches(String(repeating: "a", count: 20_000)))
        #expect(nested.matches("aaab"))
        // Classes of ASCII characters repeated any number of times one after the other: a
        // backtracking matcher tries every way to share the cell among them.
        let classes = try Pattern(String(repeating: "[a]*", count: 12) + "b")
        #expect(Array("ab".utf8).withUnsafeBufferPointer { classes.quickMatch($0) } == nil)
        #expect(!classes.matches(String(repeating: "a", count: 20_000)))
        #expect(classes.matches(String(repeating: "a", count: 20_000) + "b"))
    }

    @Test("the linear matcher agrees with Swift's regular expressions on the language it takes", arguments: [1, 2, 3])
    func agreesWithRegex(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let atoms = ["a", "b", "[ab]", "[^a]", ".", "\\d", "[0-9]", "(a|b)", "(?:ab)", "c", "\\.", "[a-c]", "\\w", "\\s"]
        let quantifiers = ["", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?"]
        let alphabet: [Character] = ["a", "b", "c", "1", ".", " ", "x"]
        var compared = 0
        for _ in 0..<400 {
            let pattern = (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                atoms.randomElement(using: &rng)! + quantifiers.randomElement(using: &rng)!
            }.joined() + (Bool.random(using: &rng) ? "|" + atoms.randomElement(using: &rng)! : "")
            let linear = try Pattern(pattern)
            let reference = try Regex("^(?:" + pattern + ")$").asciiOnlyDigits().asciiOnlyWordCharacters().asciiOnlyWhitespace()
            for _ in 0..<20 {
                let text = String((0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
                #expect(linear.matches(text) == ((try? reference.wholeMatch(in: text)) != nil), "\(pattern) on \(text)")
                compared += 1
            }
        }
        #expect(compared == 8000)
    }

    @Test("a run with a rule file nested 50,000 deep exits 2 within seconds and names the file and line")
    func commandLine() throws {
        let dir = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: dir)
        let path = dir + "/parameters.yaml"
        TestSupport.write(TestSupport.text(path) + "\nx: " + String(repeating: "[", count: 50_000) + "\n", to: path)
        let r = try TestSupport.runBinary(["validate", TestSupport.fixture("reading/encoding_utf8.csv"), "--rules", dir,
                                           "--out", TestSupport.temporaryDirectory() + "/out"], timeout: 60)
        #expect(r.status == 2)
        #expect(r.stderr.contains("parameters.yaml:"))
    }
    @Test("a unit's power of ten outside -12…12 is refused at load with the file, line and unit",
          arguments: ["9223372036854775807", "-9223372036854775808", "13", "-13", "99999999999999999999"])
    func unitScales(_ power: String) {
        let errors = TestSupport.loadRules(editing: "vocabulary.yaml") { $0.replacingOccurrences(of: "万元: 4,", with: "万元: \(power),") }
        #expect(errors.count == 1, "\(errors.map(\.message))")
        let error = errors.first
        #expect(error?.location.path.hasSuffix("vocabulary.yaml") == true)
        #expect(error?.location.line == 19)
        #expect(error?.message.contains("万元") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("-12") == true || error?.message.contains("应为整数") == true, "\(error?.message ?? "")")
    }

    @Test("every other number in a rule file is checked at load with its place",
          arguments: [("schemas/teachers.yaml", "length: [6, 20]", "length: [20, 6]", "最短"),
                      ("schemas/teachers.yaml", "length: [6, 20]", "length: [-1, 20]", "-1"),
                      ("schemas/teachers.yaml", "length: [6, 20]", "length: 9223372036854775807", "9223372036854775807"),
                      ("schemas/teachers.yaml", "recognise_with: 4", "recognise_with: 0", "recognise_with"),
                      ("schemas/teachers.yaml", "recognise_with: 4", "recognise_with: -9223372036854775808", "recognise_with"),
                      ("parameters.yaml", "report_date:", "huge: 1E+30\nreport_date:", "过大"),
                      ("parameters.yaml", "report_date:", "huge: 1234567890123456789012\nreport_date:", "位数过多"),
                      ("packs/targets.yaml", "years: [", "years: [x, ", "年份")])
    func otherNumbers(_ file: String, _ old: String, _ new: String, _ says: String) {
        let errors = TestSupport.loadRules(editing: file) { text in
            guard let r = text.range(of: old) else { Issue.record("\(old) not in \(file)"); return text }
            return text.replacingCharacters(in: r, with: new)
        }
        #expect(!errors.isEmpty)
        let error = errors.first
        #expect(error?.location.path.hasSuffix(file) == true)
        #expect((error?.location.line ?? 0) >= 1)
        #expect(errors.contains { $0.message.contains(says) }, "\(errors.map(\.message))")
    }

    @Test("a unit scale of 2^63-1 or -2^63 makes `validate` exit 2 at once, naming vocabulary.yaml and its line",
          arguments: ["9223372036854775807", "-9223372036854775808"])
    func hugeScaleOnTheCommandLine(_ power: String) throws {
        let dir = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: dir)
        let path = dir + "/vocabulary.yaml"
        TestSupport.write(TestSupport.text(path).replacingOccurrences(of: "万元: 4,", with: "万元: \(power),"), to: path)
        let inputs = TestSupport.temporaryDirectory()
        TestSupport.write("教师编号,姓名,学校标识码,年工资收入（万元）\nT0000001,王芳,3150010001,15.4203\n", to: inputs + "/teachers.csv")
        let started = Date()
        let r = try TestSupport.runBinary(["validate", inputs, "--rules", dir, "--out", TestSupport.temporaryDirectory() + "/out",
                                           "--as-of", "2018-09-30"], timeout: 30)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("vocabulary.yaml:19"), "\(r.stderr)")
        #expect(r.stderr.contains("万元"))
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a cell a unit scales beyond what can be held is reported as too many digits, not trapped")
    func scaledBeyondRange() throws {
        let dir = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: dir)
        let path = dir + "/vocabulary.yaml"
        TestSupport.write(TestSupport.text(path).replacingOccurrences(of: "万元: 4,", with: "万元: 12,"), to: path)
        let inputs = TestSupport.temporaryDirectory()
        TestSupport.write("教师编号,姓名,学校标识码,年工资收入（万元）\nT0000001,王芳,3150010001,99999999\nT0000002,陈小明,3150010001,15万元\n", to: inputs + "/teachers.csv")
        let out = TestSupport.temporaryDirectory() + "/out"
        let r = try TestSupport.runBinary(["validate", inputs, "--rules", dir, "--out", out, "--as-of", "2018-09-30"], timeout: 30)
        #expect(r.status == 1, "\(r.stderr)")
        let findings = TestSupport.text(out + "/ledger.csv")
        #expect(findings.contains("位数过多"), "\(findings.prefix(2000))")
    }
}

/// A mapping nested `levels` deep by indentation alone, one key a line.
private func blockNested(_ levels: Int, lineEnd: String) -> String {
    let lines: [String] = (1...levels).map { (level: Int) -> String in String(repeating: " ", count: level) + "k\(level):" }
    return "x:" + lineEnd + lines.joined(separator: lineEnd) + " 1" + lineEnd
}
