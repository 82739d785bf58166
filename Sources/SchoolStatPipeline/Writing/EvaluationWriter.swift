// Writing: evaluations.csv — every entity and group a pack rule judged, met
// or not, with the figures behind the verdict, so the arithmetic can be
// checked by hand. Written as evaluations are made.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

public final class EvaluationWriter {
    private let file: BufferedFile
    private let csv: CSVWriter
    /// Rule id → verdict → count, for summary.json.
    public private(set) var tally: [String: [String: Int]] = [:]

    public init(path: String) throws(WriteError) {
        file = try BufferedFile(path: path)
        file.write([0xEF, 0xBB, 0xBF])
        csv = CSVWriter(file: file)
        csv.writeRow(["rule_id", "table", "key", "source_file", "source_line", "verdict", "figures"])
    }

    public func write(_ e: Evaluation) {
        tally[e.ruleID, default: [:]][e.verdict.rawValue, default: 0] += 1
        csv.writeRow([e.ruleID, e.table, IDNumber.scrub(e.groupKey), IDNumber.scrub(e.sourceFile), e.line == 0 ? "" : String(e.line), e.verdict.rawValue,
                      e.figures.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")])
    }

    public func close() throws(WriteError) { try file.close() }
}
