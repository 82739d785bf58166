// Reporting: reads a run's clean/ and rejected/ outputs back, as typed values,
// into the rule packs — the input of `schoolstat score`.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline

public enum CleanDataLoader {
    /// Feeds every `clean/<table>.csv` of a run to the evaluator, and the keys of `rejected/<table>.csv`.
    /// Returns the tables found.
    /// `filled` receives, per table, the columns that have a value in at least one row.
    public static func load(run: String, ruleSet: RuleSet, into evaluator: PackEvaluator, filled: inout [String: Set<String>]) throws(ReadError) -> Set<String> {
        var found: Set<String> = []
        for schema in ruleSet.tables {
            let clean = run + "/clean/\(schema.name).csv"
            guard FileManager.default.fileExists(atPath: clean) else { continue }
            found.insert(schema.name)
            var reader = try TableFileReader(path: clean, encoding: .utf8, delimiter: 0x2C)
            var positions: [Int?] = []
            var fileColumn: Int?, lineColumn: Int?
            let row = RowValues(count: schema.columns.count)
            let observe = evaluator.observer(table: schema.name)
            var hasValue = Array(repeating: false, count: schema.columns.count)
            try reader.read { event in
                guard case .record(let r) = event else { return }
                let cells = (0..<r.fieldCount).map { r.string($0) ?? "" }
                if r.ordinal == 1 {
                    positions = schema.columns.map { c in cells.firstIndex(of: c.name) }
                    fileColumn = cells.firstIndex(of: "source_file")
                    lineColumn = cells.firstIndex(of: "source_line")
                    return
                }
                for (i, c) in schema.columns.enumerated() {
                    row.values[i] = positions[i].map { $0 < cells.count ? PackEvaluator.canonicalValue(cells[$0], c.type) : .missing } ?? .missing
                    if !row.values[i].isMissing { hasValue[i] = true }
                }
                let file = fileColumn.map { $0 < cells.count ? cells[$0] : "" } ?? clean
                let line = lineColumn.flatMap { $0 < cells.count ? Int(cells[$0]) : nil } ?? r.line
                observe(row, file, line)
            }
            filled[schema.name] = Set(schema.columns.indices.filter { hasValue[$0] }.map { schema.columns[$0].name })
            let rejected = run + "/rejected/\(schema.name).csv"
            guard let keyName = schema.key.first, FileManager.default.fileExists(atPath: rejected) else { continue }
            var rejectedReader = try TableFileReader(path: rejected, encoding: .utf8, delimiter: 0x2C)
            var keyPosition: Int?
            try rejectedReader.read { event in
                guard case .record(let r) = event else { return }
                if r.ordinal == 1 {
                    keyPosition = (0..<r.fieldCount).first { r.string($0) == keyName }
                    return
                }
                if let k = keyPosition, k < r.fieldCount {
                    evaluator.observeRejected(table: schema.name, key: TextCleaner.clean(r.lossyString(k), folding: .all))
                }
            }
        }
        return found
    }
}
