// Writing: the error ledger — one entry per finding, as CSV for people
// (UTF-8 with BOM so Excel on a Chinese Windows reads it) and JSON Lines for programs.

/// One finding about the data.
public struct LedgerEntry: Sendable {
    public var table: String
    public var sourceFile: String
    /// Physical line in the source file; 0 for findings about a whole file.
    public var line: Int
    /// Record key such as `school_code=5001100001`, when the row has one.
    public var recordKey: String
    public var column: String
    /// The value as it was in the file (ID numbers masked).
    public var rawValue: String
    public var normalisedValue: String
    public var ruleID: String
    public var severity: Severity
    public var messageZh: String
    public var messageEn: String
    public var expected: String
    /// The waiver that covers this finding (reason, expiry, rectification); empty otherwise.
    public var note: String = ""
}

/// Writes ledger.csv and ledger.jsonl side by side.
final class LedgerWriter {
    static let columns = ["run_id", "table", "source_file", "line", "record_key", "column", "raw_value", "normalised_value",
                          "rule_id", "severity", "message_zh", "message_en", "expected", "waiver"]
    private let csv: CSVWriter
    private let jsonl: BufferedFile
    private let runID: String

    init(csvPath: String, jsonlPath: String, runID: String) throws(WriteError) {
        let file = try BufferedFile(path: csvPath)
        file.write([0xEF, 0xBB, 0xBF])
        csv = CSVWriter(file: file)
        csv.writeRow(Self.columns)
        jsonl = try BufferedFile(path: jsonlPath)
        self.runID = runID
    }

    func append(_ e: LedgerEntry) {
        let fields = [runID, e.table, e.sourceFile, e.line == 0 ? "" : String(e.line), e.recordKey, e.column, e.rawValue,
                      e.normalisedValue, e.ruleID, e.severity.rawValue, e.messageZh, e.messageEn, e.expected, e.note]
        csv.writeRow(fields)
        var json = "{"
        for (i, name) in Self.columns.enumerated() {
            if i > 0 { json += "," }
            json += "\"\(name)\":"
            if name == "line" {
                json += e.line == 0 ? "null" : String(e.line)
            } else {
                JSON.appendString(fields[i], to: &json)
            }
        }
        json += "}\n"
        jsonl.write(json)
    }

    func close() throws(WriteError) {
        try csv.file.close()
        try jsonl.close()
    }
}

enum JSON {
    /// Appends `s` as a JSON string literal.
    static func appendString(_ s: String, to out: inout String) {
        // Most values need no escaping: copy them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
