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
    /// One entry's line of each file, built in storage kept from entry to entry.
    private var csvRow = CSVLines(capacity: 1024)
    private var json = ByteBuffer(capacity: 2048)

    func append(_ e: LedgerEntry) {
        csvRow.removeAll()
        json.removeAll()
        json.append(0x7B) // {
        var column = 0
        /// The next column's name in the JSON object, after a comma from the second on.
        func nextName() {
            if column > 0 { json.append(0x2C) }
            Self.jsonNames[column].withUnsafeBufferPointer { json.appendBytes($0) }
            column += 1
        }
        /// The next column's value in both files.
        func add(_ value: String) {
            csvRow.field(value)
            nextName()
            JSON.appendString(value, to: &json)
        }
        add(runID)
        add(e.table)
        add(e.sourceFile)
        // The line: a number in JSON, or null (and empty in CSV) for findings about a whole file.
        nextName()
        if e.line == 0 {
            csvRow.field("")
            json.appendUTF8("null")
        } else {
            csvRow.field(e.line)
            CSVLines.appendInteger(Int64(e.line), to: &json)
        }
        add(e.recordKey)
        add(e.column)
        add(e.rawValue)
        add(e.normalisedValue)
        add(e.ruleID)
        add(e.severity.rawValue)
        add(e.messageZh)
        add(e.messageEn)
        add(e.expected)
        add(e.note)
        assert(column == Self.columns.count)
        csvRow.endRow()
        csv.file.write(csvRow)
        json.append(0x7D) // }
        json.append(0x0A)
        json.withBytes { jsonl.write($0) }
    }

    func close() throws(WriteError) {
        try csv.file.close()
        try jsonl.close()
    }
}

enum JSON {
    /// Appends `s` as a JSON string literal, as UTF-8 bytes.
    static func appendString(_ s: String, to out: inout some ByteAppending) {
        out.append(0x22)
        s.withBytes { bytes in
            // Most values need no escaping: copied whole. Otherwise the runs between the
            // bytes that need it are (messages quote values with ").
            guard schoolstat_json_needs_escapes(bytes.baseAddress, bytes.count) != 0 else {
                out.appendBytes(bytes)
                return
            }
            var run = 0
            for (i, b) in bytes.enumerated() where b == 0x22 || b == 0x5C || b < 0x20 {
                out.appendBytes(UnsafeBufferPointer(rebasing: bytes[run..<i]))
                run = i + 1
                out.append(0x5C)
                switch b {
                case 0x22, 0x5C: out.append(b)
                case 0x0A: out.append(0x6E)
                case 0x0D: out.append(0x72)
                case 0x09: out.append(0x74)
                default:
                    let hex: StaticString = "0123456789abcdef"
                    for c in [0x75, 0x30, 0x30, hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 0xF)]] { out.append(c) }
                }
            }
            out.appendBytes(UnsafeBufferPointer(rebasing: bytes[run...]))
        }
        out.append(0x22)
    }
}
