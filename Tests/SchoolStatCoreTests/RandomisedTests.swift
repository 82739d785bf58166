import Foundation
import Testing
@testable import SchoolStatCore

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
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...9, using: &rng))
                try Array(bytes[start..<end]).withUnsafeBytes { try parser.feed($0) }
                start = end
            }
            parser.finish()
            #expect(got == rows, "\(text.debugDescription)")
            #expect(lines == expectedLines, "\(text.debugDescription)")
        }
    }

    @Test("random expression text never crashes the parser or compiler")
    func expressionFuzz() throws {
        let schema = try RuleSetLoader.load(directory: TestSupport.rules).table(named: "schools")!
        let pieces = ["total_pupils", "school_type", "(", ")", "[", "]", ",", "+", "-", "*", "/", "==", "<", "and", "or", "not",
                      "in", "between", "is", "missing", "if", "then", "else", "'primary'", "3", "0.5", "coalesce", "present", "$report_date", "=", "\"", "@"]
        var rng = SeededGenerator(seed: 99)
        var compiled = 0
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 1...9, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined(separator: " ")
            do {
                let node = try ExpressionParser.parse(text)
                let c = try ExpressionCompiler(schema: schema, parameters: ["report_date": .date(Day(year: 2024, month: 9, day: 30)!)]).compile(node)
                _ = c.evaluate(RowValues(count: schema.columns.count))
                compiled += 1
            } catch is ExpressionSyntaxError {
            } catch is ExpressionCompileError {
            }
        }
        #expect(compiled > 0)
    }
}
