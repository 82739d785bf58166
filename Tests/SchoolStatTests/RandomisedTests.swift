import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

@Suite("Randomised inputs")
struct RandomisedTests {
    @Test("random well-formed CSV round-trips through libcsv in random chunk sizes", arguments: [1, 2, 3])
    func csvRoundTrip(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let alphabet = ["a", "b", "中", "文", ",", "\"", "\n", "\r\n", " ", "1", "\t"]
        for _ in 0..<60 {
            let lineEnd = Bool.random(using: &rng) ? "\r\n" : "\n"
            var rows: [[String]] = []
            var text = ""
            var expectedLines: [Int] = []
            var line = 1
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let fields = (0..<Int.random(in: 1...5, using: &rng)).map { _ in
                    (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
                }
                // A row of one empty field is a blank line; keep rows non-blank.
                let row = fields.count == 1 && fields[0].isEmpty ? ["x"] : fields
                rows.append(row)
                expectedLines.append(line)
                text += row.map { f in
                    f.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
                }.joined(separator: ",") + lineEnd
                line += row.joined().filter { $0 == "\n" || $0 == "\r\n" }.count + 1
            }
            let bytes = Array(text.utf8)
            var got: [[String]] = []
            var lines: [Int] = []
            let parser = CSVRecordParser(delimiter: 0x2C) { event in
                if case .record(let r) = event {
                    got.append((0..<r.fieldCount).map { r.string($0)! })
                    lines.append(r.line)
                }
            }
            // The same bytes drained into batches after every chunk (records cut across chunks,
            // runs broken by records not kept, batches of random size), as validation reads.
            let batched = CSVRecordParser(delimiter: 0x2C)
            let size = Int.random(in: 1...4, using: &rng)
            var batch = RecordBatch()
            var inBatches: [[String]] = []
            var batchLines: [Int] = []
            func collect(_ b: RecordBatch) {
                #expect(b.count <= size)
                for case .record(let r) in b.items {
                    inBatches.append((0..<r.fieldCount).map { r.string($0)! })
                    batchLines.append(r.line)
                }
            }
            let keepOdd: (EntrySummary) -> Bool = { $0.ordinal % 2 == 1 }
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...9, using: &rng))
                try Array(bytes[start..<end]).withUnsafeBytes { try parser.feed($0) }
                try Array(bytes[start..<end]).withUnsafeBytes { try batched.feed($0) }
                batched.drain(into: &batch, size: size, keeping: keepOdd, full: collect)
                start = end
            }
            parser.finish()
            batched.finish()
            batched.drain(into: &batch, size: size, keeping: keepOdd, full: collect)
            if !batch.isEmpty { collect(batch) }
            #expect(got == rows, "\(text.debugDescription)")
            #expect(lines == expectedLines, "\(text.debugDescription)")
            let odd = rows.indices.filter { $0 % 2 == 0 } // ordinals 1, 3, 5 …
            #expect(inBatches == odd.map { rows[$0] }, "\(text.debugDescription)")
            #expect(batchLines == odd.map { expectedLines[$0] }, "\(text.debugDescription)")
        }
    }

    @Test("random expression text never crashes the parser or compiler")
    func expressionFuzz() throws {
        let schema = try LoadedRules.load(directory: TestSupport.rules).ruleSet.table(named: "schools")!
        let pieces = ["total_pupils", "school_type", "(", ")", "[", "]", ",", "+", "-", "*", "/", "==", "<", "and", "or", "not",
                      "in", "between", "is", "missing", "if", "then", "else", "'primary'", "3", "0.5", "coalesce", "present", "$report_date", "=", "\"", "@"]
        var rng = SeededGenerator(seed: 99)
        // Rows to run what compiles on: all missing, and values of each column's type.
        let typed: [Value] = schema.columns.map { c in
            switch c.type {
            case .integer: return .integer(1200)
            case .decimal: return .decimal(FixedDecimal(mantissa: 35, exponent: -1))
            case .date: return .date(Day(year: 2020, month: 9, day: 1)!)
            case .boolean: return .boolean(true)
            case .enumeration: return .text(c.enumValues.first ?? "x")
            case .text, .code: return .text("primary")
            }
        }
        var compiled = 0, rejected = 0
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 1...9, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined(separator: " ")
            do {
                let node = try ExpressionParser.parse(text)
                let c = try ExpressionCompiler(schema: schema, parameters: ["report_date": .date(Day(year: 2024, month: 9, day: 30)!)]).compile(node)
                compiled += 1
                // What the compiler promised is what evaluation gives: a value of the static type, or missing.
                for values in [Array(repeating: Value.missing, count: schema.columns.count), typed] {
                    let row = RowValues(count: schema.columns.count)
                    row.values = values
                    let v = c.evaluate(row)
                    let fits: Bool
                    switch (c.type, v) {
                    case (_, .missing), (.any, _): fits = true
                    case (.number, .integer), (.number, .decimal), (.number, .real): fits = true
                    case (.text, .text), (.date, .date), (.boolean, .boolean): fits = true
                    default: fits = false
                    }
                    #expect(fits, "`\(text)` compiled as \(c.type) but gave \(v)")
                }
                // The same text parses to the same tree: the parser is deterministic.
                #expect(try ExpressionParser.parse(text).canonicalText == node.canonicalText)
            } catch let e as ExpressionSyntaxError {
                rejected += 1
                // A syntax error points inside the text (or just past its end).
                #expect(e.offset >= 0 && e.offset <= text.utf8.count, "`\(text)`: offset \(e.offset)")
            } catch is ExpressionCompileError {
                rejected += 1
            }
        }
        // Both kinds occur, so neither branch above goes untested.
        #expect(compiled > 50 && rejected > 100, "compiled \(compiled), rejected \(rejected)")
    }
}

@Suite("Fast paths agree with the general code")
struct FastPathTests {
    @Test("the expression lexer's byte tests give the tokens, offsets and errors of one written with characters only", arguments: [21, 22])
    func lexing(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let pieces = ["a", "Z", "_", "$", "$x", ".", "1", "2.5", "1.2.3", " ", "\t", "\n", "\r", "\r\n", "'", "\"", "==", "=", "!=", "!",
                      "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", "教师", "é", "e\u{301}", " \u{301}", "１", "٣",
                      "，", "@", "#", "𠀀", "x1", "total_pupils", "'ab c'", "\"文\""]
        var agreed = 0
        for _ in 0..<6000 {
            let s = (0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let reference = Result { () throws(ExpressionSyntaxError) in try referenceTokens(s) }
            let fast = Result { () throws(ExpressionSyntaxError) in try ExpressionLexer.tokenize(s) }
            switch (reference, fast) {
            case (.success(let a), .success(let b)):
                #expect(a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1), "\(s.debugDescription)")
                agreed += 1
            case (.failure(let a), .failure(let b)):
                #expect(a.offset == b.offset && a.message == b.message, "\(s.debugDescription)")
            default:
                Issue.record("\(s.debugDescription): one lexer failed, the other did not")
            }
        }
        #expect(agreed > 1000) // both ways taken often enough to mean something
    }

    /// The lexer written with `Character`s alone: what the byte tests must agree with.
    private func referenceTokens(_ text: String) throws(ExpressionSyntaxError) -> [(Token, Int)] {
        let chars = Array(text)
        var tokens: [(Token, Int)] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            let start = i
            if c.isASCII && c.isNumber {
                while i < chars.count && (chars[i].isASCII && (chars[i].isNumber || chars[i] == ".")) { i += 1 }
                let literal = String(chars[start..<i])
                guard let d = NumberText.parsePlainDecimal(literal) else {
                    throw ExpressionSyntaxError(offset: start, message: "`\(literal)` 不是有效数字 (not a valid number)")
                }
                tokens.append((.number(d), start))
            } else if c == "'" || c == "\"" {
                i += 1
                var s = ""
                while i < chars.count && chars[i] != c { s.append(chars[i]); i += 1 }
                guard i < chars.count else {
                    throw ExpressionSyntaxError(offset: start, message: "字符串缺少结束引号 \(c) (unterminated string)")
                }
                i += 1
                tokens.append((.string(s), start))
            } else if c == "$" || c.isLetter || c == "_" {
                i += 1
                while i < chars.count && (chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == ".") { i += 1 }
                let word = String(chars[(c == "$" ? start + 1 : start)..<i])
                if c == "$" {
                    guard !word.isEmpty else { throw ExpressionSyntaxError(offset: start, message: "`$` 后应为参数名 (expected a parameter name after $)") }
                    tokens.append((.parameter(word), start))
                } else {
                    tokens.append((.name(word), start))
                }
            } else {
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    tokens.append((.symbol(two), start)); i += 2
                } else if "+-*/()[],<>".contains(c) {
                    tokens.append((.symbol(String(c)), start)); i += 1
                } else if c == "=" {
                    throw ExpressionSyntaxError(offset: start, message: "比较相等请写 `==` (use == to compare)")
                } else {
                    throw ExpressionSyntaxError(offset: start, message: "无法识别的字符 `\(c)` (unexpected character)")
                }
            }
        }
        tokens.append((.end, chars.count))
        return tokens
    }

    @Test("text the byte-level test calls clean is left unchanged by the full cleaner", arguments: [11, 12, 13])
    func cleaning(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let pieces = ["a", "Z", "1", " ", "  ", "张", "三", "（", "）", "\u{3000}", "\u{00A0}", "\u{200B}", "\u{FEFF}", "Ａ", "１", "∶",
                      "“", "é", "\t", "-", "𠀀", "\u{2028}", "ー", "、", "年",
                      // Runs of eight and more ASCII bytes, which the byte-level test takes eight at a time.
                      "T5000000", "abcdefghijk", "2024-09-30", "\u{7F}", "\u{1F}", "~"]
        var checked = 0
        for _ in 0..<4000 {
            let s = (0..<Int.random(in: 0...9, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            for folding in [WidthFolding.all, .alphanumerics] {
                let full = TextCleaner.cleanScalars(s, folding: folding)
                #expect(TextCleaner.clean(s, folding: folding) == full, "\(s.debugDescription)")
                if TextCleaner.isAlreadyClean(s) { checked += 1 }
            }
        }
        #expect(checked > 1000) // the fast path was taken often enough to mean something
    }

    @Test("a cell the byte-level normaliser accepts gets the same value the general normaliser gives", arguments: [61, 62])
    func acceptedValues(seed: UInt64) throws {
        let ruleSet = try LoadedRules.load(directory: TestSupport.rules).ruleSet
        let converter = ChineseConverter()
        var rng = SeededGenerator(seed: seed)
        var taken = 0, total = 0
        for table in ruleSet.tables {
            for column in table.columns {
                for unit in [nil, "万元", "元"] as [String?] {
                    let n = CellNormaliser(column: column, vocabulary: ruleSet.vocabulary, converter: converter, headerUnit: unit)
                    // An empty cell: the byte path gives what the general way gives, or leaves it to it.
                    let empty = [UInt8]().withUnsafeBufferPointer { n.acceptedValue($0) }
                    switch n.normalise("") {
                    case .success(let general): #expect(empty == general, "\(table.name).\(column.name) empty")
                    case .failure(let p): #expect(empty == nil, "\(table.name).\(column.name) empty: byte path \(String(describing: empty)), general path \(p.constraint)")
                    }
                    // The column's own spellings and words, mixed with digits, letters, dates, units and oddities.
                    let own = Array(column.enumExact.keys) + Array(column.enumAliases.keys) + column.missingTokens
                        + Array(ruleSet.vocabulary.exactBooleans.keys)
                    let pieces = own + ["0", "1", "7", "9", "12", "2024", "-", ".", ",", "E", "e", "X", "x", "A", "Z", " ", "万", "%", ":", "/",
                                        "年", "月", "日", "'", "=", "\"", "１", "Ｘ", "无", "是", "否", "本科", "男", "\u{3000}", "50011019910101001", "3100011755",
                                        "張", "學", "李", "丽", "𠀀", "é", "㐀", "+", "@"]
                    for _ in 0..<400 {
                        let text = (0..<Int.random(in: 1...4, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
                        total += 1
                        let fast = Array(text.utf8).withUnsafeBufferPointer { n.acceptedValue($0) }
                        guard let fast else { continue }
                        taken += 1
                        switch n.normalise(text) {
                        case .success(let general): #expect(general == fast, "\(table.name).\(column.name) \(text.debugDescription)")
                        case .failure(let p): Issue.record("\(table.name).\(column.name) \(text.debugDescription): byte path \(fast), general path \(p.constraint)")
                        }
                    }
                }
            }
        }
        #expect(taken > total / 50) // the byte path was taken often enough to mean something
    }

    @Test("Excel's scientific notation is told by the bytes of ASCII text as by its characters", arguments: [31, 32])
    func scientific(seed: UInt64) {
        // The test by characters, as it was before the bytes of ASCII text were read directly.
        func byCharacters(_ s: String) -> Bool {
            guard let e = s.firstIndex(where: { $0 == "E" || $0 == "e" }) else { return false }
            let mantissa = s[..<e], power = s[s.index(after: e)...]
            return !mantissa.isEmpty && mantissa.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
                && power.count >= 2 && (power.first == "+" || power.first == "-" || power.first!.isNumber)
                && power.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
        }
        var rng = SeededGenerator(seed: seed)
        let pieces = ["5", "0", "1", ".", "E", "e", "+", "-", "17", "5.00110E+17", "X", " ", "\r\n", "\r", "a", "１", "٣", "é", "E\u{301}", ""]
        var yes = 0
        for _ in 0..<4_000 {
            let s = (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let verdict = NumberText.looksLikeScientific(s)
            #expect(verdict == byCharacters(s), "\(s.debugDescription)")
            if verdict { yes += 1 }
        }
        #expect(yes > 30) // often enough to mean something
    }

    @Test("numbers, dates and booleans written as bytes read exactly as their canonical text", arguments: [21, 22])
    func canonicalBytes(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<5000 {
            let values: [Value] = [
                .integer(Int64.random(in: -5_000_000_000...5_000_000_000, using: &rng)),
                .decimal(FixedDecimal(mantissa: Int64.random(in: -99_999_999...99_999_999, using: &rng), exponent: Int.random(in: -8...3, using: &rng))),
                .date(Day(daysSinceEpoch: Int.random(in: -30_000...60_000, using: &rng))),
                .boolean(Bool.random(using: &rng)),
                .real(Double.random(in: -1000...1000, using: &rng)),
                .missing,
            ]
            var lines = CSVLines()
            for v in values { lines.field(v) }
            lines.endRow()
            #expect(String(decoding: lines.bytes, as: UTF8.self) == values.map(\.description).joined(separator: ",") + "\n")
        }
        // A row written into room reserved for it at once has the same bytes, for every kind of
        // value, texts that need quotes or the formula guard, and masked fields, with room to spare or none.
        let texts = ["王伟", "a,b", "say \"hi\"", " padded ", "=SUM(A1)", "-5", "-x", "line\nbreak", "T500000001", "secondary_vocational", ""]
        for _ in 0..<2000 {
            var values: [Value] = (0..<Int.random(in: 1...8, using: &rng)).map { _ in
                switch Int.random(in: 0...6, using: &rng) {
                case 0: return .integer(Int64.random(in: Int64.min...Int64.max, using: &rng))
                case 1: return .decimal(FixedDecimal(mantissa: Int64.random(in: Int64.min...Int64.max, using: &rng), exponent: Int.random(in: -30...0, using: &rng)))
                case 2: return .date(Day(daysSinceEpoch: Int.random(in: -30_000...60_000, using: &rng)))
                case 3: return .boolean(Bool.random(using: &rng))
                case 4: return .real(Double.random(in: -1e12...1e12, using: &rng))
                case 5: return .missing
                default: return .text(texts.randomElement(using: &rng)!)
                }
            }
            values.append(.text("11010519491231002X"))
            var byField = CSVLines(), byRow = CSVLines()
            for v in values.dropLast() { byField.field(v) }
            byField.maskedIDNumber("11010519491231002X")
            byField.maskedName("王伟")
            byField.endRow()
            let bound = values.reduce(values.count + 1) { $0 + CSVLines.bound(of: $1) } + 4 * "王伟".utf8.count + 4
            byRow.writeRow(bound: bound) { row in
                for v in values.dropLast() { row.field(v) }
                row.maskedIDNumber("11010519491231002X", plain: false)
                row.maskedName("王伟")
            }
            #expect(byRow.bytes == byField.bytes, "\(values)")
        }
        var extreme = CSVLines()
        extreme.field(.integer(Int64.min))
        extreme.field(.decimal(FixedDecimal(mantissa: -1, exponent: -25)))
        #expect(String(decoding: extreme.bytes, as: UTF8.self) == "\(Int64.min),\(FixedDecimal(mantissa: -1, exponent: -25))")
    }

    @Test("days compare in the order of their distance from the epoch", arguments: [41])
    func dayOrder(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<5000 {
            let a = Int.random(in: -30_000...60_000, using: &rng)
            let b = Bool.random(using: &rng) ? a + Int.random(in: -40...40, using: &rng) : Int.random(in: -30_000...60_000, using: &rng)
            let (x, y) = (Day(daysSinceEpoch: a), Day(daysSinceEpoch: b))
            #expect((x < y) == (a < b) && (x <= y) == (a <= b) && (x == y) == (a == b), "\(x) \(y)")
        }
    }

    @Test("dates in every written form, generated, read back to the same day", arguments: [31, 32])
    func dates(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<3000 {
            let day = Day(daysSinceEpoch: Int.random(in: -25_000...40_000, using: &rng))
            let y = day.year, m = day.month, d = day.day
            let p2 = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
            let forms = ["\(y)-\(p2(m))-\(p2(d))", "\(y)/\(m)/\(d)", "\(y).\(m).\(d)", "\(y)年\(m)月\(d)日", "\(y)\(p2(m))\(p2(d))",
                         "\(y)-\(m)-\(d) 08:30", "\(y)-\(p2(m))-\(p2(d))T00:00:00", " \(y)/\(p2(m))/\(p2(d)) ", "\(y)年\(m)月\(d)号"]
            for f in forms { #expect(DateText.parse(f) == day, "\(f)") }
        }
        for bad in ["99999999999999999999-1-1", "2024-1-99999999999", "0999-01-01", "1985-0a-02", "1985-02-30", "1985:03:02", "年2024月1日", "2024月1年1日", "2024--1-1", "2024-1-1-1", "２０２４", "2024-1", ""] {
            #expect(DateText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("message placeholders are filled as the character-by-character reading would", arguments: [41, 42])
    func placeholders(seed: UInt64) {
        // The straightforward reading, kept here as the reference.
        func reference(_ text: String, _ lookup: (String) -> String?) -> String {
            var out = ""
            var current: String?
            for ch in text {
                if ch == "{" {
                    if let c = current { out += "{" + c }
                    current = ""
                } else if ch == "}", let c = current {
                    out += lookup(c) ?? "{\(c)}"
                    current = nil
                } else if current != nil {
                    current!.append(ch)
                } else {
                    out.append(ch)
                }
            }
            if let c = current { out += "{" + c }
            return out
        }
        let lookup: (String) -> String? = { ["id_number": "500110********0016", "value": "9", "": nil, "身份证号": "x"][$0] ?? nil }
        #expect(Placeholders.fill("身份证号 {id_number} 的校验码不对（{value}）{unknown}", lookup) == "身份证号 500110********0016 的校验码不对（9）{unknown}")
        var rng = SeededGenerator(seed: seed)
        let pieces = ["{", "}", "id_number", "value", "身份证号", "的", " ", "x", "{}", "}{"]
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            #expect(Placeholders.fill(text, lookup) == reference(text, lookup), "\(text)")
        }
    }

    @Test("names are masked the same through the byte path", arguments: [51])
    func maskedNames(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let pieces = ["张", "三", "丰", "欧阳", "A", "b", " ", "·", "é", "👩‍🎓", "𠀀", "="]
        for _ in 0..<2000 {
            let name = (0..<Int.random(in: 1...5, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            var fast = CSVLines()
            fast.maskedName(name)
            var slow = CSVLines()
            slow.field(PersonName.mask(name))
            #expect(fast.bytes == slow.bytes, "\(name)")
        }
        var one = CSVLines()
        one.maskedName("张三丰")
        #expect(String(decoding: one.bytes, as: UTF8.self) == "张**")
    }

    @Test("ID numbers are masked the same through the byte path", arguments: [52])
    func maskedIDNumbers(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let pieces = ["1", "2", "X", "x", "0", " ", ",", "\"", "=", "-", "中", "Ｘ"]
        for _ in 0..<3000 {
            let id = (0..<Int.random(in: 0...22, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            var fast = CSVLines()
            fast.maskedIDNumber(id)
            var slow = CSVLines()
            slow.field(IDNumber.mask(id))
            #expect(fast.bytes == slow.bytes, "\(id)")
        }
        var one = CSVLines()
        one.maskedIDNumber("11010519491231002X")
        #expect(String(decoding: one.bytes, as: UTF8.self) == "110105********002X")
    }

    @Test("numbers are written with the digits and the zero padding String gives them", arguments: [91])
    func digits(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 10_000, 99_999, 100_000, .max, .max - 1, 1 << 63]
        for _ in 0..<5_000 { values.append(UInt64.random(in: 0 ... .max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)) }
        for value in values {
            for width in [0, 1, 2, 4, 7, 21, 30] {
                var out: [UInt8] = []
                CSVLines.appendDigits(value, minimumWidth: width, to: &out)
                let text = String(value)
                #expect(String(decoding: out, as: UTF8.self) == String(repeating: "0", count: max(0, width - text.count)) + text, "\(value) \(width)")
            }
        }
    }

    @Test("ledger JSON strings read back as the text they were made from")
    func jsonStrings() throws {
        for text in ["", "plain 文本", "=HYPERLINK(\"http://x\",\"点击\")", "a\\b", "line\nbreak\r\n", "tab\there", "bell\u{7}\u{1F}end", "“全角”"] {
            var bytes: [UInt8] = Array("[".utf8)
            JSON.appendString(text, to: &bytes)
            bytes.append(contentsOf: Array("]".utf8))
            let decoded = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String]
            #expect(decoded == [text], "\(text.debugDescription)")
        }
    }

    @Test("CSV fields and ledger JSON strings of any length round-trip: quoting and escaping are decided on every byte", arguments: [71, 72])
    func quotingAcrossBlocks(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        // Plain pieces, the bytes that force quotes or escapes, and multi-byte characters, at
        // lengths around the 16-byte blocks the scan reads.
        let pieces = ["a", "7", "中", "é", " ", ",", "\"", "\n", "\r", "\\", "\t", "\u{1}", "\u{1F}", "\u{7F}", "—"]
        for _ in 0..<400 {
            let length = Int.random(in: 0...70, using: &rng)
            let special = Int.random(in: 0..<4, using: &rng)
            var text = ""
            for _ in 0..<length { text += pieces[Int.random(in: 0..<(special == 0 ? 4 : pieces.count), using: &rng)] }

            var json: [UInt8] = Array("[".utf8)
            JSON.appendString(text, to: &json)
            json.append(contentsOf: Array("]".utf8))
            #expect(try JSONSerialization.jsonObject(with: Data(json)) as? [String] == [text], "\(text.debugDescription)")
            let escaped = text.utf8.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
            #expect((json.count != text.utf8.count + 4) == escaped, "\(text.debugDescription)")

            var line = CSVLines()
            line.field("x")
            line.field(text, defuse: false)
            line.endRow()
            let fields = ReferenceCSV.parse(line.bytes, delimiter: 0x2C)
            #expect(fields.first?.fields == ["x", text], "\(text.debugDescription)")
            let quoted = !text.isEmpty && (text.utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
                                           || text.utf8.first == 0x20 || text.utf8.last == 0x20)
            #expect((line.bytes.count != text.utf8.count + 3) == quoted, "\(text.debugDescription)")
        }
    }

    @Test("CSV lines built field by field keep every row, and a copy changed later leaves the original as it was", arguments: [91])
    func linesGrowAndCopy(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var lines = CSVLines()
        var expected: [[String]] = []
        var snapshot: (lines: CSVLines, rows: Int)?
        for r in 0..<3_000 {
            // Rows of growing and shrinking width, so the buffer grows many times from empty.
            let fields = (0..<Int.random(in: 1...12, using: &rng)).map { _ in
                String((0..<Int.random(in: 0...40, using: &rng)).map { _ in "ab中,\" 7".randomElement(using: &rng)! })
            }
            for f in fields { lines.field(f, defuse: false) }
            lines.field(r)
            lines.endRow()
            expected.append(fields.map { $0 } + [String(r)])
            if r == 1_000 {
                // A copy that goes on with a row of its own, written where the original's next
                // row goes: neither may see the other's.
                var copy = lines
                copy.field("copy")
                copy.endRow()
                snapshot = (copy, expected.count)
            }
        }
        let (copy, count) = try #require(snapshot)
        // Compared as one verdict each: a failure would otherwise print thousands of rows.
        let original = ReferenceCSV.parse(lines.bytes, delimiter: 0x2C).map(\.fields)
        let copied = ReferenceCSV.parse(copy.bytes, delimiter: 0x2C).map(\.fields)
        let originalIntact = original == expected
        let copyIntact = copied == Array(expected.prefix(count)) + [["copy"]]
        #expect(originalIntact, "the original lines changed: \(original.count) rows read back, \(expected.count) written")
        #expect(copyIntact, "the copy's lines changed: \(copied.count) rows read back, \(count + 1) written")
    }

    @Test("code patterns match exactly what the regular expression matches, byte by byte or through the automaton", arguments: [81, 82])
    func patternsAgreeWithRegex(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let patterns = ["[0-9]{17}[0-9X]", "[A-Z0-9]+", "T[0-9]{9}", "[0-9]{6}", "A?B{2,3}C*", "[a-c]{0,2}x", "[0-9]{2}-[0-9]{2}", "[0-9X]{1}",
                        "[0-9]{2}[0-9]+", "X{2}[A-Z]*", "[0-9]{3}[0-9X]{0,2}", ""]
        let alphabet = Array("0123456789XTABCabcx-")
        // Runs of classes taken a fixed number of times but the last are matched byte by byte.
        let byBytes: Set = ["[0-9]{17}[0-9X]", "[A-Z0-9]+", "T[0-9]{9}", "[0-9]{6}", "[0-9]{2}-[0-9]{2}", "[0-9X]{1}", "[0-9]{2}[0-9]+",
                            "X{2}[A-Z]*", "[0-9]{3}[0-9X]{0,2}"]
        for pattern in patterns {
            let compiled = try Pattern(pattern)
            #expect(([UInt8]().withUnsafeBufferPointer { compiled.quickMatch($0) } != nil) == byBytes.contains(pattern), "\(pattern)")
            let regex = try Regex("^(?:" + pattern + ")$")
            let digits = Array(UInt8(ascii: "0")...UInt8(ascii: "9"))
            let codeBytes = digits + (UInt8(ascii: "A")...UInt8(ascii: "Z")).filter { $0 != UInt8(ascii: "E") }
            let digitLengths = compiled.lengths(whenMadeOf: digits), codeLengths = compiled.lengths(whenMadeOf: codeBytes)
            // Digits settle `[0-9]{17}[0-9X]` by length, not `T[0-9]{9}`; codes settle `[A-Z0-9]+`.
            if pattern == "[0-9]{17}[0-9X]" { #expect(digitLengths == 18...18 && codeLengths == nil) }
            if pattern == "T[0-9]{9}" { #expect(digitLengths == nil) }
            if pattern == "[A-Z0-9]+" { #expect(codeLengths == 1...Int.max) }
            for _ in 0..<3_000 {
                // Mostly digits near the lengths the patterns want, sometimes anything.
                let length = Int.random(in: 0...20, using: &rng)
                let digitsOnly = Bool.random(using: &rng)
                let text = String((0..<length).map { _ in digitsOnly && Int.random(in: 0..<10, using: &rng) > 0
                    ? alphabet[Int.random(in: 0..<10, using: &rng)] : alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
                let expected = (try? regex.wholeMatch(in: text)) != nil
                #expect(compiled.matches(text) == expected, "\(pattern) \(text)")
                if let quick = Array(text.utf8).withUnsafeBufferPointer({ compiled.quickMatch($0) }) { #expect(quick == expected, "\(pattern) \(text)") }
                // A code cell made only of bytes every class allows is settled by its length.
                if text.utf8.allSatisfy({ digits.contains($0) }), let lengths = digitLengths {
                    #expect(lengths.contains(text.utf8.count) == expected, "\(pattern) \(text) by length")
                }
                if text.utf8.allSatisfy({ codeBytes.contains($0) }), let lengths = codeLengths {
                    #expect(lengths.contains(text.utf8.count) == expected, "\(pattern) \(text) by length")
                }
            }
        }
    }
}
