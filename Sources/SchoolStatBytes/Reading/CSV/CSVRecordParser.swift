// Bytes (reading): the one place that talks to libcsv. Everything unsafe about the C
// callbacks lives in this file behind `CSVRecordParser.feed` and `finish`.
import CLibCSV
import CSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// One record as libcsv delivered it: raw UTF-8 field bytes and where it sits in the file.
///
/// A record either owns its bytes (an event from the parser, a worksheet row) or is
/// a view into a `RecordBatch`, whose records share its storage.
public struct RawRecord {
    /// Physical line (1-based) on which the record starts.
    public var line: Int = 0
    /// Physical lines the record spans (more than one when a quoted field holds newlines).
    public var lineCount: Int = 1
    /// 1-based ordinal of the record among all non-blank records, header included.
    public var ordinal: Int = 0
    /// Field bytes, back to back; in a batch, those of every record of the batch.
    @usableFromInline package internal(set) var bytes: [UInt8] = []
    /// End offset in `bytes` of each field; in a batch, of every field of the batch.
    @usableFromInline package internal(set) var ends: [Int] = []
    /// This record's first field in `ends` (0 unless the record lives in a batch).
    @usableFromInline var firstField = 0
    @usableFromInline var batchFieldCount: Int?

    @inlinable public var fieldCount: Int { batchFieldCount ?? ends.count }

    public init() {}

    /// A record from cells that did not come through libcsv (an Excel worksheet row).
    public init(fields: [String], line: Int, ordinal: Int) {
        self.line = line
        self.ordinal = ordinal
        for f in fields {
            bytes.append(contentsOf: f.utf8)
            ends.append(bytes.count)
        }
    }

    /// A record inside a batch's storage.
    @inlinable init(batchBytes: [UInt8], ends: [Int], firstField: Int, fieldCount: Int, line: Int, lineCount: Int, ordinal: Int) {
        bytes = batchBytes
        self.ends = ends
        self.firstField = firstField
        batchFieldCount = fieldCount
        self.line = line
        self.lineCount = lineCount
        self.ordinal = ordinal
    }

    /// Makes this view of a batch's storage show another of its records.
    @inlinable mutating func moveTo(firstField: Int, fieldCount: Int, line: Int, lineCount: Int, ordinal: Int) {
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

    /// Calls `body` with a view that gives each field's bytes without a closure per field.
    @inlinable
    public func withFields<R>(_ body: (FieldView) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in
            ends.withUnsafeBufferPointer { e in body(FieldView(bytes: b, ends: e, first: firstField, count: fieldCount)) }
        }
    }

    /// The fields of one record, valid inside `withFields`.
    public struct FieldView {
        @inlinable
        public init(bytes: UnsafeBufferPointer<UInt8>, ends: UnsafeBufferPointer<Int>, first: Int, count: Int) {
            self.bytes = bytes; self.ends = ends; self.first = first; self.count = count
        }

        @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
        @usableFromInline let ends: UnsafeBufferPointer<Int>
        @usableFromInline let first: Int
        public let count: Int

        @inlinable
        public subscript(index: Int) -> UnsafeBufferPointer<UInt8> {
            let i = first + index
            let start = i == 0 ? 0 : ends[i - 1]
            return UnsafeBufferPointer(rebasing: bytes[start..<ends[i]])
        }
    }

    /// The first byte of the first field; 0 when there is none.
    public var firstByte: UInt8 {
        let start = firstField == 0 ? 0 : ends[firstField - 1]
        return fieldCount > 0 && ends[firstField] > start ? bytes[start] : 0
    }

    public func withField<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let i = firstField + index
        let start = i == 0 ? 0 : ends[i - 1]
        let end = ends[i]
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// The field's bytes decoded as UTF-8, or nil when they are not valid UTF-8.
    public func string(_ index: Int) -> String? {
        withField(index) { field in UTF8Check.isValid(field) ? String(decoding: field, as: UTF8.self) : nil }
    }

    /// The field decoded leniently: invalid bytes become U+FFFD. For messages only.
    public func lossyString(_ index: Int) -> String {
        withField(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether every field is empty or only spaces (a row Excel writes as `,,,,`).
    public var isBlank: Bool {
        let range = byteRange
        return bytes.withUnsafeBufferPointer { b in
            for i in range where b[i] != 0x20 && b[i] != 0x09 { return false }
            return true
        }
    }
}

/// Records and blank lines of a file, in file order, gathered for a worker thread.
/// The records' bytes are copied into one buffer: no allocation per record.
public struct RecordBatch: Sendable {
    public enum Item {
        case record(RawRecord)
        case blankLine(Int)
    }

    public typealias Entry = (line: Int, lineCount: Int, ordinal: Int, firstField: Int, fieldCount: Int)
    public private(set) var bytes: [UInt8] = []
    /// End offset in `bytes` of every field of the batch, in order.
    public private(set) var ends: [Int] = []
    /// Blank lines as entries with no fields (`fieldCount` -1) and ordinal 0.
    public private(set) var entries: [Entry] = []
    public var count: Int { entries.count }
    /// Where the batch's first entry starts in the file, when the batch's entries lie there
    /// one after the other as their fields, delimiters and line ends and nothing else (see
    /// `CSVRecordParser.trackRawOffsets`); -1 otherwise. `BatchSpill` then stores no text for
    /// it and reads it back from the file.
    public private(set) var rawStart = -1

    public init() {
        bytes.reserveCapacity(1 << 17)
        ends.reserveCapacity(1 << 14)
    }

    /// A batch from its parts (as `BatchSpill` stores them).
    public init(bytes: [UInt8], ends: [Int], entries: [Entry]) {
        self.bytes = bytes
        self.ends = ends
        self.entries = entries
    }

    public var isEmpty: Bool { count == 0 }

    /// The batch's entries no longer follow one another in the file (one was left out).
    public mutating func forgetRawStart() {
        rawStart = -1
    }

    public mutating func append(_ record: RawRecord) {
        rawStart = -1
        let base = bytes.count
        let firstField = ends.count
        bytes.append(contentsOf: record.bytes)
        for e in record.ends { ends.append(base + e) }
        entries.append((record.line, record.lineCount, record.ordinal, firstField, record.fieldCount))
    }

    /// Appends the entries `range` of what the parser collected, copying their bytes and field ends in one go.
    public mutating func append(_ c: schoolstat_csv_sink, entries range: Range<Int>) {
        let firstEntry = c.entries[range.lowerBound], lastEntry = c.entries[range.upperBound - 1]
        let firstField = Int(firstEntry.firstField)
        let endField = Int(lastEntry.firstField) + max(0, Int(lastEntry.fieldCount))
        let byteStart = firstField == 0 ? 0 : Int(c.ends[firstField - 1])
        let byteEnd = endField == firstField ? byteStart : Int(c.ends[endField - 1])
        let base = bytes.count, fieldBase = ends.count
        bytes.append(contentsOf: UnsafeBufferPointer(start: c.bytes + byteStart, count: byteEnd - byteStart))
        let shift = base - byteStart
        // Grown once, then filled through a pointer: no capacity check per field.
        let fields = endField - firstField
        ends.append(contentsOf: repeatElement(0, count: fields))
        ends.withUnsafeMutableBufferPointer { out in
            for i in 0..<fields { out[fieldBase + i] = Int(c.ends[firstField + i]) + shift }
        }
        let entryBase = entries.count
        // The file position holds for the batch while every entry has one: they follow one
        // another in the sink as in the file.
        var raw = entryBase == 0 ? Int(firstEntry.rawStart) : rawStart
        entries.append(contentsOf: repeatElement(Entry(line: 0, lineCount: 0, ordinal: 0, firstField: 0, fieldCount: 0), count: range.count))
        entries.withUnsafeMutableBufferPointer { out in
            for (i, k) in range.enumerated() {
                let e = c.entries[k]
                if e.rawStart < 0 { raw = -1 }
                out[entryBase + i] = (Int(e.line), Int(e.lineCount), Int(e.ordinal), fieldBase + Int(e.firstField) - firstField, Int(e.fieldCount))
            }
        }
        rawStart = raw
    }

    public mutating func appendBlankLine(_ line: Int) {
        rawStart = -1
        entries.append((line, 0, 0, ends.count, -1))
    }

    /// Calls `record` with each record and `blankLine` with each blank line, in order. One view
    /// into the batch's storage is made for the whole batch and moved from record to record, so
    /// that going through a batch takes no reference count per record; a caller that keeps a
    /// record past its call copies it.
    @inlinable
    public func forEachRecord(_ record: (RawRecord) throws -> Void, blankLine: (Int) throws -> Void) rethrows {
        var view = RawRecord(batchBytes: bytes, ends: ends, firstField: 0, fieldCount: 0, line: 0, lineCount: 0, ordinal: 0)
        for e in entries {
            if e.fieldCount < 0 {
                try blankLine(e.line)
            } else {
                view.moveTo(firstField: e.firstField, fieldCount: e.fieldCount, line: e.line, lineCount: e.lineCount, ordinal: e.ordinal)
                try record(view)
            }
        }
    }

    /// The items as an array (tests and the spill round trip compare them).
    public var items: [Item] {
        var all: [Item] = []
        forEachRecord({ all.append(.record($0)) }, blankLine: { all.append(.blankLine($0)) })
        return all
    }

    public mutating func removeAll() {
        rawStart = -1
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }
}

/// What the parser reports, in file order.
public enum ParseEvent {
    case record(RawRecord)
    /// An empty physical line.
    case blankLine(line: Int)
}

/// What decides whether an entry goes into a batch, without building the record.
public struct EntrySummary {
    public init(line: Int, ordinal: Int, isBlankLine: Bool, isBlank: Bool) {
        self.line = line; self.ordinal = ordinal; self.isBlankLine = isBlankLine; self.isBlank = isBlank
    }

    /// Physical line where the record or blank line is.
    public var line: Int
    /// The record's ordinal (0 for a blank line).
    public var ordinal: Int
    public var isBlankLine: Bool
    /// Every field empty or only spaces and tabs (always true for a blank line).
    public var isBlank: Bool
}

/// Streaming CSV parser over libcsv with physical line tracking.
///
/// libcsv is run with `CSV_REPALL_NL` so that every line end outside a quoted
/// field is reported; that is how blank lines are seen and how a CR LF pair is
/// told apart from two line ends. No leading or trailing spaces are stripped:
/// trimming is the normaliser's job and the raw value must survive for the ledger.
///
/// libcsv's callbacks are C functions (`CSupport/csv_sink.c`) that collect
/// field bytes and records into flat arrays; after each chunk they are handed
/// on, either as events to `sink` or, in bulk, into batches (`drain(into:)`).
public final class CSVRecordParser {
    private var parser = csv_parser()
    private let collected: UnsafeMutablePointer<schoolstat_csv_sink>
    private let sink: ((ParseEvent) -> Void)?
    private let delimiter: UInt8
    /// Whether each chunk is looked at first, to spare libcsv the space test of every
    /// character and the fields the search for line ends when the chunk cannot need them.
    private let looksAtChunks: Bool
    private let limits: ReadLimits

    /// With `sink`, every record and blank line is delivered as an event as soon as
    /// its chunk is parsed; without, the caller drains batches itself. `looksAtChunks` false
    /// parses every chunk the long way (what the per-chunk shortcuts must be equal to).
    public init(delimiter: UInt8, looksAtChunks: Bool = true, limits: ReadLimits = ReadLimits(), sink: ((ParseEvent) -> Void)? = nil) {
        self.sink = sink
        self.limits = limits
        self.delimiter = delimiter
        // A space or tab delimiter is one of libcsv's own spaces: always the long way.
        self.looksAtChunks = looksAtChunks && delimiter != 0x20 && delimiter != 0x09
        collected = .allocate(capacity: 1)
        schoolstat_csv_sink_init(collected)
        _ = csv_init(&parser, UInt8(CSV_REPALL_NL))
        csv_set_delim(&parser, delimiter)
        csv_set_space_func(&parser, schoolstat_csv_no_space)
        csv_set_blk_size(&parser, 4096)
    }

    deinit {
        csv_free(&parser)
        schoolstat_csv_sink_free(collected)
        collected.deallocate()
    }

    /// Parses a chunk of UTF-8 bytes.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws(ReadError) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        // A quoted field begun in an earlier chunk, or a quote character in this one.
        let quoted = parser.quoted != 0 || memchr(base, 0x22, chunk.count) != nil
        if looksAtChunks {
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            // libcsv drops spaces around unquoted fields unless its space test, called for every
            // character, says none is a space; a chunk without a space libcsv would drop parses
            // the same with libcsv's own inline test.
            let trims = schoolstat_csv_spaces_may_be_trimmed(bytes, chunk.count, delimiter) != 0
            csv_set_space_func(&parser, trims ? schoolstat_csv_no_space : nil)
            // Only a quoted field holds a line end.
            collected.pointee.fieldsMayHoldLineEnds = quoted ? 1 : 0
        } else {
            collected.pointee.fieldsMayHoldLineEnds = 1
        }
        let consumed: Int
        if tracksRaw && quoted {
            consumed = feedLineByLine(chunk)
        } else {
            consumed = csv_parse(&parser, base, chunk.count, schoolstat_csv_field, schoolstat_csv_record, collected)
        }
        fedOffset += consumed
        if let sink { drainEvents(sink) }
        if consumed != chunk.count {
            throw .parserFailure(path: "", reason: String(cString: csv_strerror(csv_error(&parser))))
        }
        if collected.pointee.failed != 0 { throw .parserFailure(path: "", reason: "内存不足 (out of memory)") }
        try checkLimits()
    }

    /// A chunk with a quote character, while records' file offsets are tracked: parsed a line at
    /// a time, so that only the records holding a quote (or inside a quoted line break) lose
    /// their offset. After each line end that leaves no record or field open, the next byte's
    /// offset is known again. When fewer than half of a chunk's entries keep their offset (a
    /// file that quotes most records), the rest of the file is parsed chunk by chunk, without.
    private func feedLineByLine(_ chunk: UnsafeRawBufferPointer) -> Int {
        let base = chunk.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let entriesBefore = collected.pointee.entryCount
        var start = 0
        while start < chunk.count {
            let end = start + schoolstat_line_end(base + start, chunk.count - start)
            if parser.quoted != 0 || memchr(base + start, 0x22, end - start) != nil { collected.pointee.rawKnown = 0 }
            let n = csv_parse(&parser, base + start, end - start, schoolstat_csv_field, schoolstat_csv_record, collected)
            if n != end - start { return start + n }
            start = end
            if collected.pointee.rawKnown == 0 && isAtRecordStart {
                collected.pointee.rawKnown = 1
                collected.pointee.rawOffset = Int64(fedOffset + end)
            }
        }
        let c = collected.pointee
        var kept = 0
        for i in entriesBefore..<c.entryCount where c.entries[i].rawStart >= 0 { kept += 1 }
        if 2 * kept < c.entryCount - entriesBefore {
            tracksRaw = false
            collected.pointee.rawKnown = 0
        }
        return chunk.count
    }

    /// Stops at a value, or an open record, past the limits: libcsv's field buffer and the
    /// collected record grow no further than the limits and one chunk.
    private func checkLimits() throws(ReadError) {
        let c = collected.pointee
        let line = Int(c.nextLine)
        if parser.entry_pos > limits.fieldBytes {
            throw .tooLarge(path: "", line: line, what: "有一个值超过 \(limits.fieldBytes) 字节（确实需要时可用 --max-field-bytes 调高） (a value longer than \(limits.fieldBytes) bytes; --max-field-bytes raises the limit)")
        }
        guard c.recordOpen != 0 else { return }
        let first = Int(c.openFirstField)
        let fields = Int(c.endCount) - first
        if fields > limits.fields {
            throw .tooLarge(path: "", line: line, what: "有超过 \(limits.fields) 列 (more than \(limits.fields) fields)")
        }
        let start = first == 0 ? 0 : Int(c.ends[first - 1])
        if Int(c.byteCount) - start + parser.entry_pos > limits.recordBytes {
            throw .tooLarge(path: "", line: line, what: "这一条记录超过 \(limits.recordBytes) 字节（确实需要时可用 --max-record-bytes 调高） (a record longer than \(limits.recordBytes) bytes; --max-record-bytes raises the limit)")
        }
    }

    /// Whether the bytes fed so far end where a record may begin: no record, field or
    /// quoted text is open. A line end inside a quoted field leaves this false.
    public var isAtRecordStart: Bool {
        parser.pstate == 0 && parser.entry_pos == 0 && collected.pointee.recordOpen == 0
    }

    /// From here on, each record and blank line is given its offset in the file (the
    /// `offset` of the next byte fed) when its bytes there are its fields as they are, a
    /// delimiter between two and its line end: every record but those with a quote character
    /// (see `feedLineByLine`). A batch of such entries then knows where in the file its text is
    /// (`RecordBatch.rawStart`). Only for bytes fed as they are in the file (UTF-8, not transcoded).
    public func trackRawOffsets(from offset: Int) {
        tracksRaw = true
        fedOffset = offset
        collected.pointee.rawKnown = 1
        collected.pointee.rawOffset = Int64(offset)
    }

    /// Whether records' file offsets are tracked, and the offset of the next byte fed.
    private var tracksRaw = false
    private var fedOffset = 0

    /// Physical lines and records completed so far.
    public var linesRead: Int { Int(collected.pointee.nextLine) - 1 }
    public var recordsRead: Int { Int(collected.pointee.ordinal) }

    /// Flushes a last record that has no line end.
    public func finish() {
        _ = csv_fini(&parser, schoolstat_csv_field, schoolstat_csv_record, collected)
        if let sink { drainEvents(sink) }
    }

    /// Hands every collected record and blank line to `body`, in order, and forgets them.
    public func drainEvents(_ body: (ParseEvent) -> Void) {
        let c = collected.pointee
        for i in 0..<c.entryCount {
            let e = c.entries[i]
            if e.fieldCount < 0 {
                body(.blankLine(line: Int(e.line)))
                continue
            }
            var record = RawRecord()
            let first = Int(e.firstField)
            let start = first == 0 ? 0 : Int(c.ends[first - 1])
            let end = e.fieldCount == 0 ? start : Int(c.ends[first + Int(e.fieldCount) - 1])
            record.bytes = Array(UnsafeBufferPointer(start: c.bytes + start, count: end - start))
            record.ends = (0..<Int(e.fieldCount)).map { Int(c.ends[first + $0]) - start }
            record.line = Int(e.line)
            record.lineCount = Int(e.lineCount)
            record.ordinal = Int(e.ordinal)
            body(.record(record))
        }
        schoolstat_csv_sink_clear(collected)
    }

    /// Moves the collected entries that `keep` accepts into `batch`, handing each
    /// batch to `full` when it reaches `size`, and forgets them. Runs of accepted
    /// entries are copied in bulk.
    public func drain(into batch: inout RecordBatch, size: Int, keeping keep: (EntrySummary) -> Bool, full: (RecordBatch) -> Void) {
        let c = collected.pointee
        func summary(_ k: Int) -> EntrySummary {
            let e = c.entries[k]
            return EntrySummary(line: Int(e.line), ordinal: Int(e.ordinal), isBlankLine: e.fieldCount < 0, isBlank: e.isBlank != 0)
        }
        var i = 0
        while i < c.entryCount {
            if !keep(summary(i)) {
                batch.forgetRawStart() // (when it has entries) they no longer follow one another
                i += 1
                continue
            }
            // A run of accepted entries, no longer than what fills the batch.
            var end = i + 1
            while end < c.entryCount && batch.count + (end - i) < size && keep(summary(end)) { end += 1 }
            batch.append(c, entries: i..<end)
            if batch.count >= size {
                full(batch)
                batch.removeAll()
            }
            i = end
        }
        schoolstat_csv_sink_clear(collected)
    }
}
