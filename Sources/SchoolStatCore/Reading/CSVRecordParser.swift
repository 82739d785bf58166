// Reading: the one place that talks to libcsv. Everything unsafe about the C
// callbacks lives in this file behind `CSVRecordParser.feed` and `finish`.
import CLibCSV
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One record as libcsv delivered it: raw UTF-8 field bytes and where it sits in the file.
///
/// The parser's record is reused from record to record; copy what you keep, or
/// gather records into a `RecordBatch`, whose records share its storage.
struct RawRecord {
    /// Physical line (1-based) on which the record starts.
    var line: Int = 0
    /// Physical lines the record spans (more than one when a quoted field holds newlines).
    var lineCount: Int = 1
    /// 1-based ordinal of the record among all non-blank records, header included.
    var ordinal: Int = 0
    /// Field bytes, back to back; in a batch, those of every record of the batch.
    fileprivate(set) var bytes: [UInt8] = []
    /// End offset in `bytes` of each field; in a batch, of every field of the batch.
    fileprivate(set) var ends: [Int] = []
    /// This record's first field in `ends` (0 unless the record lives in a batch).
    private var firstField = 0
    private var batchFieldCount: Int?

    var fieldCount: Int { batchFieldCount ?? ends.count }

    init() {}

    /// A record from cells that did not come through libcsv (an Excel worksheet row).
    init(fields: [String], line: Int, ordinal: Int) {
        self.line = line
        self.ordinal = ordinal
        for f in fields {
            bytes.append(contentsOf: f.utf8)
            ends.append(bytes.count)
        }
    }

    /// A record inside a batch's storage.
    fileprivate init(batchBytes: [UInt8], ends: [Int], firstField: Int, fieldCount: Int, line: Int, lineCount: Int, ordinal: Int) {
        bytes = batchBytes
        self.ends = ends
        self.firstField = firstField
        batchFieldCount = fieldCount
        self.line = line
        self.lineCount = lineCount
        self.ordinal = ordinal
    }

    /// Where the record's bytes start and end in `bytes`.
    private var byteRange: Range<Int> {
        let start = firstField == 0 ? 0 : ends[firstField - 1]
        return start..<(fieldCount == 0 ? start : ends[firstField + fieldCount - 1])
    }

    func withField<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let i = firstField + index
        let start = i == 0 ? 0 : ends[i - 1]
        let end = ends[i]
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// The field's bytes decoded as UTF-8, or nil when they are not valid UTF-8.
    func string(_ index: Int) -> String? {
        withField(index) { field in UTF8Check.isValid(field) ? String(decoding: field, as: UTF8.self) : nil }
    }

    /// The field decoded leniently: invalid bytes become U+FFFD. For messages only.
    func lossyString(_ index: Int) -> String {
        withField(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether every field is empty or only spaces (a row Excel writes as `,,,,`).
    var isBlank: Bool {
        bytes[byteRange].allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }
}

/// Records and blank lines of a file, in file order, gathered for a worker thread.
/// The records' bytes are copied into one buffer: no allocation per record.
struct RecordBatch {
    enum Item {
        case record(RawRecord)
        case blankLine(Int)
    }

    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    private var entries: [(line: Int, lineCount: Int, ordinal: Int, firstField: Int, fieldCount: Int)] = []
    /// Blank lines as entries with no fields and ordinal 0.
    private(set) var count = 0

    init() {
        bytes.reserveCapacity(1 << 17)
        ends.reserveCapacity(1 << 14)
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ record: RawRecord) {
        let base = bytes.count
        let firstField = ends.count
        bytes.append(contentsOf: record.bytes)
        for e in record.ends { ends.append(base + e) }
        entries.append((record.line, record.lineCount, record.ordinal, firstField, record.fieldCount))
        count += 1
    }

    mutating func appendBlankLine(_ line: Int) {
        entries.append((line, 0, 0, ends.count, -1))
        count += 1
    }

    /// The items, each record a view into the batch's storage.
    var items: [Item] {
        entries.map { e in
            e.fieldCount < 0 ? .blankLine(e.line)
                : .record(RawRecord(batchBytes: bytes, ends: ends, firstField: e.firstField, fieldCount: e.fieldCount,
                                    line: e.line, lineCount: e.lineCount, ordinal: e.ordinal))
        }
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        count = 0
    }
}

/// What the parser reports, in file order.
enum ParseEvent {
    case record(RawRecord)
    /// An empty physical line.
    case blankLine(line: Int)
}

/// Streaming CSV parser over libcsv with physical line tracking.
///
/// libcsv is run with `CSV_REPALL_NL` so that every line end outside a quoted
/// field is reported; that is how blank lines are seen and how a CR LF pair is
/// told apart from two line ends. No leading or trailing spaces are stripped:
/// trimming is the normaliser's job and the raw value must survive for the ledger.
final class CSVRecordParser {
    private var parser = csv_parser()
    private var record = RawRecord()
    private var nextLine = 1
    private var newlinesInRecord = 0
    private var recordOpen = false
    private var lastTerminator: Int32 = -2
    private var ordinal = 0
    private let sink: (ParseEvent) -> Void

    init(delimiter: UInt8, sink: @escaping (ParseEvent) -> Void) {
        self.sink = sink
        _ = csv_init(&parser, UInt8(CSV_REPALL_NL))
        csv_set_delim(&parser, delimiter)
        csv_set_space_func(&parser) { _ in 0 }
        csv_set_blk_size(&parser, 4096)
    }

    deinit { csv_free(&parser) }

    /// Parses a chunk of UTF-8 bytes; records are delivered to the sink as they complete.
    func feed(_ chunk: UnsafeRawBufferPointer) throws(ReadError) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let consumed = csv_parse(&parser, base, chunk.count, fieldCallback, recordCallback, context)
        if consumed != chunk.count {
            throw .parserFailure(path: "", reason: String(cString: csv_strerror(csv_error(&parser))))
        }
    }

    /// Flushes a last record that has no line end.
    func finish() {
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = csv_fini(&parser, fieldCallback, recordCallback, context)
    }

    fileprivate func field(_ data: UnsafeMutableRawPointer?, _ length: Int) {
        if !recordOpen {
            recordOpen = true
            record.reset()
            newlinesInRecord = 0
        }
        if let data, length > 0 {
            let bytes = UnsafeRawBufferPointer(start: data, count: length)
            // Only a quoted field holds line ends; memchr finds out quickly that most do not.
            if memchr(data, 0x0A, length) != nil {
                for b in bytes where b == 0x0A { newlinesInRecord += 1 }
            }
            record.bytes.append(contentsOf: bytes)
        }
        record.ends.append(record.bytes.count)
    }

    fileprivate func endOfRecord(_ terminator: Int32) {
        defer { lastTerminator = terminator }
        if !recordOpen {
            // A line end outside any record: the LF of a CR LF pair, or a blank line.
            if terminator == 0x0A && lastTerminator == 0x0D { return }
            if terminator == -1 { return }
            sink(.blankLine(line: nextLine))
            nextLine += 1
            return
        }
        recordOpen = false
        ordinal += 1
        record.line = nextLine
        // At end of file inside an unclosed quote, the file's final line end is not another line.
        if terminator == -1, newlinesInRecord > 0, record.bytes.last == 0x0A { newlinesInRecord -= 1 }
        record.lineCount = newlinesInRecord + 1
        record.ordinal = ordinal
        nextLine += newlinesInRecord + (terminator == -1 ? 0 : 1)
        sink(.record(record))
    }
}

private func fieldCallback(_ data: UnsafeMutableRawPointer?, _ length: Int, _ context: UnsafeMutableRawPointer?) {
    Unmanaged<CSVRecordParser>.fromOpaque(context!).takeUnretainedValue().field(data, length)
}

private func recordCallback(_ terminator: Int32, _ context: UnsafeMutableRawPointer?) {
    Unmanaged<CSVRecordParser>.fromOpaque(context!).takeUnretainedValue().endOfRecord(terminator)
}
