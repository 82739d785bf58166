// Writing: evaluations.csv — every entity and group a pack rule judged, met
// or not, with the figures behind the verdict, so the arithmetic can be
// checked by hand.

enum EvaluationWriter {
    static func write(_ evaluations: [Evaluation], to path: String) throws(WriteError) {
        let file = try BufferedFile(path: path)
        file.write([0xEF, 0xBB, 0xBF])
        let csv = CSVWriter(file: file)
        csv.writeRow(["rule_id", "table", "key", "source_file", "source_line", "verdict", "figures"])
        for e in evaluations {
            csv.writeRow([e.ruleID, e.table, e.groupKey, e.sourceFile, e.line == 0 ? "" : String(e.line), e.verdict.rawValue,
                          e.figures.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")])
        }
        try file.close()
    }
}
