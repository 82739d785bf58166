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
            guard PathKind(path: clean, followingLinks: true) != .absent else { continue }
            found.insert(schema.name)
            var reader = try CleanTableReader(path: clean)
            var positions: [Int?]?
            var fileColumn: Int?, lineColumn: Int?
            let row = RowValues(count: schema.columns.count)
            let observe = evaluator.observer(table: schema.name)
            var hasValue = Array(repeating: false, count: schema.columns.count)
            try reader.forEachRow { header, cells, line in
                if positions == nil {
                    positions = schema.columns.map { c in header.firstIndex(of: c.name) }
                    fileColumn = header.firstIndex(of: "source_file")
                    lineColumn = header.firstIndex(of: "source_line")
                }
                for (i, c) in schema.columns.enumerated() {
                    row.values[i] = positions![i].map { $0 < cells.count ? CleanTableReader.canonicalValue(cells[$0], c.type) : .missing } ?? .missing
                    if !row.values[i].isMissing { hasValue[i] = true }
                }
                let file = fileColumn.map { $0 < cells.count ? cells[$0] : "" } ?? clean
                let line = lineColumn.flatMap { $0 < cells.count ? Int(cells[$0]) : nil } ?? line
                observe(row, file, line)
            }
            filled[schema.name] = Set(schema.columns.indices.filter { hasValue[$0] }.map { schema.columns[$0].name })
            let rejected = run + "/rejected/\(schema.name).csv"
            guard let keyName = schema.key.first, PathKind(path: rejected, followingLinks: true) != .absent else { continue }
            var rejectedReader = try CleanTableReader(path: rejected)
            var keyPosition: Int??
            try rejectedReader.forEachRow { header, cells, _ in
                if keyPosition == nil { keyPosition = .some(header.firstIndex(of: keyName)) }
                if let k = keyPosition!, k < cells.count {
                    evaluator.observeRejected(table: schema.name, key: TextCleaner.clean(cells[k], folding: .all))
                }
            }
        }
        return found
    }
}
