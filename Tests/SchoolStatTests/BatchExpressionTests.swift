import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

/// A value of the column's kind, or something near its edges: missing, out of range, another type
/// than the schema says (a check must not assume what normalising would have guaranteed).
private func randomValue(_ column: ColumnSpec, _ g: inout SplitMix) -> Value {
    switch g.next() % 12 {
    case 0: return .missing
    case 1: return .integer(Int64(bitPattern: g.next()) % 200 - 100)
    case 2: return .text(["", "female", "male", "junior", "primary", "Y", "11010519491231002X"][Int(g.next() % 7)])
    default: break
    }
    switch column.type {
    case .integer: return .integer(Int64(g.next() % 5000))
    case .decimal: return .decimal(FixedDecimal(mantissa: Int64(g.next() % 2_000_000) - 10_000, exponent: -Int(g.next() % 4)))
    case .date: return .date(Day(daysSinceEpoch: Int(g.next() % 30_000) - 10_000))
    case .boolean: return .boolean(g.next() % 2 == 0)
    case .enumeration: return column.enumValues.isEmpty ? .text("x") : .text(column.enumValues[Int(g.next() % UInt64(column.enumValues.count))])
    case .code, .text:
        // ID numbers both valid and not: a real one's check digit, then one digit changed.
        let valid = ["11010519491231002X", "500110199112130000", "440524188001010014", "110105194912310021"]
        return .text(g.next() % 2 == 0 ? valid[Int(g.next() % 4)] : String(g.next() % 100_000))
    }
}

private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Equal as the checks and the ledger see values (a NaN is equal to a NaN here).
private func same(_ a: Value, _ b: Value) -> Bool { a == b || a.description == b.description && ExpressionCompiler.type(of: a) == ExpressionCompiler.type(of: b) }

@Suite("Checks over a batch")
struct BatchExpressionTests {
    /// Every expression of every table's checks, and expressions that use each kind of node.
    @Test("a batch gives every row the value the row-at-a-time closures give it")
    func sameAsRowByRow() throws {
        let ruleSet = try LoadedRules.load(directory: TestSupport.rules).ruleSet
        let extra: [String: [String]] = [
            "teachers": [
                "-training_hours", "not certified", "annual_wage is missing", "annual_wage is not missing",
                "training_hours * 2 - annual_wage / 3 + 1", "birth_date - $report_date > 100",
                "if certified then training_hours else annual_wage", "sex in ['male', id_sex(id_number)]",
                "degree not in ['bachelor', 'postgraduate']", "training_hours between 10 and annual_wage",
                "coalesce(training_hours, annual_wage, 0) >= 1", "year(birth_date) <= 1990 or certified",
                "len(name) > 2 and starts_with(teacher_id, 'T')", "round(annual_wage / 7, 2) != 0",
            ],
        ]
        for table in ruleSet.tables {
            var texts = table.checks.flatMap { c in [c.condition.root] + (c.scope.map { [$0.root] } ?? []) + c.values.map(\.expression.root) }
            for text in extra[table.name] ?? [] { texts.append(try ExpressionParser.parse(text)) }
            var rowCompiler = ExpressionCompiler(schema: table, parameters: ruleSet.parameters)
            rowCompiler.shared = SharedCalls(texts)
            let batchCompiler = BatchCompiler(ExpressionCompiler(schema: table, parameters: ruleSet.parameters))
            let rowForm = try texts.map { try rowCompiler.compile($0) }
            let batchForm = try texts.map { try batchCompiler.compile($0) }

            let width = table.columns.count, rows = 700
            var g = SplitMix(state: 42)
            var store: [Value] = []
            for _ in 0..<rows { for c in table.columns { store.append(randomValue(c, &g)) } }
            let row = RowValues(count: width)
            try store.withUnsafeBufferPointer { buffer in
                let batch = BatchValues(base: buffer.baseAddress!, width: width, rows: rows)
                for batchNumber in 1...2 {   // a second batch number runs every node again
                    let results = batchForm.map { $0.values(batch, batch: batchNumber) }
                    for r in 0..<rows {
                        row.beginRow()
                        for c in 0..<width { row.values[c] = buffer[r * width + c] }
                        for (k, compiled) in rowForm.enumerated() {
                            let expected = compiled.evaluate(row), got = results[k][r]
                            try #require(same(expected, got), "\(table.name): \(texts[k].canonicalText) row \(r): \(got) instead of \(expected)")
                        }
                    }
                }
            }
        }
    }

    @Test("a subexpression several checks share is one node, run once per batch")
    func sharedNode() throws {
        let schema = try LoadedRules.load(directory: TestSupport.rules).ruleSet.table(named: "teachers")!
        let compiler = BatchCompiler(ExpressionCompiler(schema: schema, parameters: [:]))
        let a = try compiler.compile(try ExpressionParser.parse("id_checksum_ok(id_number)"))
        let b = try compiler.compile(try ExpressionParser.parse("id_checksum_ok( id_number )"))
        #expect(a === b)
        var values = [Value](repeating: .missing, count: schema.columns.count * 2)
        let id = schema.columnIndex("id_number")!
        values[id] = .text("11010519491231002X")
        values[schema.columns.count + id] = .text("110105194912310021")
        values.withUnsafeBufferPointer { buffer in
            let batch = BatchValues(base: buffer.baseAddress!, width: schema.columns.count, rows: 2)
            let first = a.values(batch, batch: 1)
            #expect(first[0] == .boolean(true) && first[1] == .boolean(false))
        }
        // The next batch, with other values in the same places, is computed afresh.
        values[id] = .text("110105194912310021")
        values.withUnsafeBufferPointer { buffer in
            let batch = BatchValues(base: buffer.baseAddress!, width: schema.columns.count, rows: 2)
            #expect(a.values(batch, batch: 2)[0] == .boolean(false))
        }
    }
}
