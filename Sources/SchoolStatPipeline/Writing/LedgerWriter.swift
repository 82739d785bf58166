// Writing: the error ledger — one entry per finding, as CSV for people
// (UTF-8 with BOM so Excel on a Chinese Windows reads it) and JSON Lines for programs.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// Writes ledger.csv and ledger.jsonl side by side.
public final class LedgerWriter {
    public static let columns = ["run_id", "table", "source_file", "line", "record_key", "column", "raw_value", "normalised_value",
                          "rule_id", "severity", "message_zh", "message_en", "expected", "waiver", "last_line", "sheet"]
    private let csv: CSVWriter
    private let jsonl: BufferedFile
    private let runID: String

    public init(csvPath: String, jsonlPath: String, runID: String) throws(WriteError) {
        let file = try BufferedFile(path: csvPath, bypassingCache: true)
        file.write([0xEF, 0xBB, 0xBF])
        csv = CSVWriter(file: file)
        csv.writeRow(Self.columns)
        jsonl = try BufferedFile(path: jsonlPath, bypassingCache: true)
        self.runID = IDNumber.scrub(runID)
    }

    /// The last source file named and its name as written (ID numbers masked): findings come file
    /// by file, so the name is scrubbed about once per file.
    private var lastFile = "", lastFileShown = ""

    /// `"name":` for each column, as bytes back to back, and where each ends.
    private let jsonNames: [UInt8] = Array(columns.map { "\"\($0)\":" }.joined().utf8)
    private let jsonNameEnds: [Int] = columns.reduce(into: []) { ends, name in ends.append((ends.last ?? 0) + name.utf8.count + 3) }
    /// One entry's line of each file, built in storage kept from entry to entry.
    private var csvRow = CSVLines(capacity: 1024)
    private var json = ByteBuffer(capacity: 2048)

    public func append(_ e: LedgerEntry) {
        csvRow.removeAll()
        json.removeAll()
        json.append(0x7B) // {
        var column = 0
        /// The next column's name in the JSON object, after a comma from the second on.
        func nextName() {
            if column > 0 { json.append(0x2C) }
            let start = column == 0 ? 0 : jsonNameEnds[column - 1]
            jsonNames.withUnsafeBufferPointer { json.appendBytes(UnsafeBufferPointer(rebasing: $0[start..<jsonNameEnds[column]])) }
            column += 1
        }
        /// The next column's value in both files. Every text is through the ID-number scrub: the
        /// entry's own fields as `ValidationRun.record` took it (every entry comes that way), the
        /// run id and the file's name here.
        func add(_ value: String) {
            csvRow.field(value)
            nextName()
            JSON.appendString(value, to: &json)
        }
        add(runID)
        add(e.table)
        if e.sourceFile != lastFile {
            lastFile = e.sourceFile
            lastFileShown = IDNumber.scrub(e.sourceFile)
        }
        add(lastFileShown)
        /// A line number: a number in JSON, or null (and empty in CSV) when there is none.
        func addLine(_ line: Int) {
            nextName()
            if line == 0 {
                csvRow.field("")
                json.appendUTF8("null")
            } else {
                csvRow.field(line)
                CSVLines.appendInteger(Int64(line), to: &json)
            }
        }
        // The line, none for findings about a whole file.
        addLine(e.line)
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
        // The end of a range of lines recorded once, none for one line.
        addLine(e.lastLine)
        add(e.sheet.isEmpty ? "" : IDNumber.scrub(e.sheet))
        assert(column == Self.columns.count)
        csvRow.endRow()
        csv.file.write(csvRow)
        json.append(0x7D) // }
        json.append(0x0A)
        json.withBytes { jsonl.write($0) }
    }

    public func close() throws(WriteError) {
        try csv.file.close()
        try jsonl.close()
    }
}
