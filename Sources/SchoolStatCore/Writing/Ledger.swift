// Writing: the error ledger — one entry per finding, as CSV for people
// (UTF-8 with BOM so Excel on a Chinese Windows reads it) and JSON Lines for programs.
import CSupport

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

    /// `"name":` for each column, as bytes.
    private static let jsonNames: [[UInt8]] = columns.map { Array("\"\($0)\":".utf8) }
    private static let lineColumn = columns.firstIndex(of: "line")!

    func append(_ e: LedgerEntry) {
        let fields = [runID, e.table, e.sourceFile, e.line == 0 ? "" : String(e.line), e.recordKey, e.column, e.rawValue,
                      e.normalisedValue, e.ruleID, e.severity.rawValue, e.messageZh, e.messageEn, e.expected, e.note]
        var row = CSVLines()
        for field in fields { row.field(field) }
        row.endRow()
        csv.file.write(row)
        var json: [UInt8] = [0x7B] // {
        json.reserveCapacity(1024)
        for (i, name) in Self.jsonNames.enumerated() {
            if i > 0 { json.append(0x2C) }
            json.append(contentsOf: name)
            if i == Self.lineColumn { // a number, or null for findings about a whole file
                if e.line == 0 { json.append(contentsOf: "null".utf8) } else { CSVLines.appendInteger(Int64(e.line), to: &json) }
            } else {
                JSON.appendString(fields[i], to: &json)
            }
        }
        json.append(contentsOf: [0x7D, 0x0A]) // }\n
        jsonl.write(json)
    }

    func close() throws(WriteError) {
        try csv.file.close()
        try jsonl.close()
    }
}

enum JSON {
    /// Appends `s` as a JSON string literal, as UTF-8 bytes.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        // Most values need no escaping: copy them whole.
        let plain = s.withBytes { bytes -> Bool in
            guard schoolstat_json_needs_escapes(bytes.baseAddress, bytes.count) == 0 else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if plain {
            out.append(0x22)
            return
        }
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}
