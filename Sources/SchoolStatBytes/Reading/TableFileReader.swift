// Bytes (reading): opens one input file, works out its encoding and dialect, and
// streams its records in bounded memory.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// How a file's text is laid out: what separates fields and lines.
public struct Dialect: Sendable, Equatable, Codable {
    public var delimiter: UInt8
    public var lineEnding: String

    public var delimiterName: String {
        switch delimiter {
        case 0x09: return "tab"
        case 0x2C: return "comma"
        case 0x3B: return "semicolon"
        default: return String(UnicodeScalar(delimiter))
        }
    }

    public enum CodingKeys: String, CodingKey { case delimiter, lineEnding = "line_ending" }

    public init(delimiter: UInt8, lineEnding: String) {
        self.delimiter = delimiter
        self.lineEnding = lineEnding
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .delimiter)
        delimiter = name == "tab" ? 0x09 : name == "semicolon" ? 0x3B : 0x2C
        lineEnding = try c.decode(String.self, forKey: .lineEnding)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(delimiterName, forKey: .delimiter)
        try c.encode(lineEnding, forKey: .lineEnding)
    }
}

/// What reading a file established about it.
public struct FileFacts: Sendable {
    public var path: String
    /// `csv` (any delimited text) or `xlsx`.
    public var format = "csv"
    public var encoding: TextEncoding
    public var encodingDetected: Bool
    public var dialect: Dialect
    /// The worksheet read, for a workbook of several (nil: its first).
    public var sheet: String?
    public var byteCount: Int = 0
    public var sha256: String = ""
    public var invalidSequences: Int = 0
    /// The file as it was when its text was read (nil for a workbook).
    public var identity: FileIdentity?
    /// What a worksheet holds that its values alone do not say (a formula without a stored
    /// result, a value merged down over several rows), in sheet order, for the run to report.
    /// Always empty for delimited text.
    public var cellNotes: [CellNote] = []
}

/// Reads one CSV or tab-separated file through the transcoder and libcsv.
public struct TableFileReader: Sendable {
    public static let chunkSize = 1 << 18
    public static let sniffSize = 1 << 16

    public private(set) var facts: FileFacts
    /// Whether `read` computes the file's SHA-256 (a second pass over the same file need not).
    public var computesDigest = true
    /// A worksheet row is padded with empty cells to this width (its header's): Excel leaves
    /// trailing empty cells out, so a short row is not a short record, while a longer one is.
    public var minimumFields = 0
    /// Bounds on one value, one record and what a workbook inflates to.
    public var readLimits = ReadLimits()

    /// Opens `path` and decides its encoding and delimiter from its first bytes,
    /// unless the caller fixes them.
    public init(path: String, encoding: TextEncoding? = nil, delimiter: UInt8? = nil, sheet: String? = nil) throws(ReadError) {
        let lowered = path.lowercased()
        if lowered.hasSuffix(".xlsx") || lowered.hasSuffix(".xls") {
            // An Excel workbook: XML inside a zip (.xlsx) or Excel 97-2003's binary records (.xls,
            // through FreeXL, text converted from its code page); cells, not delimiters.
            let format = lowered.hasSuffix(".xls") ? "xls" : "xlsx"
            facts = FileFacts(path: path, encoding: .utf8, encodingDetected: true, dialect: Dialect(delimiter: 0x2C, lineEnding: format))
            facts.format = format
            facts.sheet = sheet
            return
        }
        let prefix = try Self.readPrefix(path: path, count: Self.sniffSize)
        let isWhole = prefix.count < Self.sniffSize
        let chosen = encoding ?? TextEncoding.detect(prefix: prefix, isWholeFile: isWhole)
        var transcoder = try Transcoder(encoding: chosen)
        defer { transcoder.close() }
        var text: [UInt8] = []
        let body = Array(prefix.dropFirst(Self.bomLength(of: prefix, encoding: chosen)))
        body.withUnsafeBytes { raw in transcoder.convert(raw, final: isWhole) { text.append(contentsOf: $0) } }
        let dialect = Dialect(delimiter: delimiter ?? Self.sniffDelimiter(text), lineEnding: Self.sniffLineEnding(text))
        facts = FileFacts(path: path, encoding: chosen, encodingDetected: encoding == nil, dialect: dialect)
    }

    /// Streams every record and blank line of the file to `sink`, in order.
    public mutating func read(_ sink: @escaping (ParseEvent) -> Void) throws(ReadError) {
        try read(sink, stopWhen: { false })
    }

    /// Streams the records and blank lines `keep` accepts in batches of `size`, in file
    /// order. The last, partial batch is handed over even when reading fails part-way,
    /// so that no record already read is lost.
    public mutating func readBatches(of size: Int, keeping keep: @escaping (EntrySummary) -> Bool,
                              _ body: @escaping (RecordBatch) -> Void) throws(ReadError) {
        var batch = RecordBatch()
        defer { if !batch.isEmpty { body(batch) } }
        if facts.format == "xlsx" || facts.format == "xls" {
            try readWorkbook({ event in
                switch event {
                case .blankLine(let line):
                    guard keep(EntrySummary(line: line, ordinal: 0, isBlankLine: true, isBlank: true)) else { return }
                    batch.appendBlankLine(line)
                case .record(let record):
                    guard keep(EntrySummary(line: record.line, ordinal: record.ordinal, isBlankLine: false, isBlank: record.isBlank)) else { return }
                    batch.append(record)
                }
                if batch.count >= size {
                    body(batch)
                    batch.removeAll()
                }
            }, stopWhen: { false })
            return
        }
        try readText(parser: CSVRecordParser(delimiter: facts.dialect.delimiter, limits: readLimits), stopWhen: { false }) { parser in
            parser.drain(into: &batch, size: size, keeping: keep, full: body)
        }
    }

    /// For the first part of a file split in two (see `splitPoint`): reads like `readBatches`
    /// up to byte `split` and stops there when a record begins there and at least
    /// `minimumRecords` records (the header's ordinal) were read, returning the lines and
    /// records read; the rest of the file then only goes through the digest. When the line
    /// end before `split` turns out to lie inside a quoted field, it reads on to the end
    /// of the file instead and returns nil.
    public mutating func readFirstPart(of size: Int, until split: Int, from minimumRecords: Int, keeping keep: @escaping (EntrySummary) -> Bool,
                                _ body: @escaping (RecordBatch) -> Void) throws(ReadError) -> PartEnd? {
        var batch = RecordBatch()
        defer { if !batch.isEmpty { body(batch) } }
        let parser = CSVRecordParser(delimiter: facts.dialect.delimiter, limits: readLimits)
        let stopped = try readText(parser: parser, stopAt: split, minimumRecords: minimumRecords, stopWhen: { false }) { parser in
            parser.drain(into: &batch, size: size, keeping: keep, full: body)
        }
        return stopped ? PartEnd(lines: parser.linesRead, records: parser.recordsRead) : nil
    }

    /// For the second part of a file split in two: every record and blank line from byte
    /// `start` to the end, numbered as if that part were a file of its own (the first
    /// part's `PartEnd` is added to them once it is known). Stops early when `stopWhen`
    /// says so after a chunk.
    public mutating func readLastPart(of size: Int, from start: Int, stopWhen: () -> Bool,
                               _ body: @escaping (RecordBatch) -> Void) throws(ReadError) {
        var batch = RecordBatch()
        defer { if !batch.isEmpty { body(batch) } }
        computesDigest = false
        try readText(parser: CSVRecordParser(delimiter: facts.dialect.delimiter, limits: readLimits), from: start, stopWhen: stopWhen) { parser in
            parser.drain(into: &batch, size: size, keeping: { _ in true }, full: body)
        }
    }

    /// Where the second part of a file may begin so that two threads can parse the two
    /// parts at once: just after the first line end past the middle of the file. Nil for
    /// files smaller than `minimumBytes`, workbooks, and encodings other than UTF-8 (in
    /// UTF-16 a line end is two bytes; GB 18030 files are converted as a stream).
    /// Whether that line end really ends a record (and not a line inside a quoted field) is
    /// only known once the first part is parsed: see `readFirstPart`.
    public func splitPoint(minimumBytes: Int) -> Int? {
        guard facts.format == "csv", facts.encoding == .utf8 || facts.encoding == .utf8BOM else { return nil }
        guard let fd = try? RegularFile.openForReading(facts.path) else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) >= max(minimumBytes, 2) else { return nil }
        let middle = Int(st.st_size) / 2
        var window = [UInt8](repeating: 0, count: Self.sniffSize)
        let n = window.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(middle)) }
        guard n > 0, let i = window[0..<n].firstIndex(of: 0x0A), middle + i + 1 < Int(st.st_size) else { return nil }
        return middle + i + 1
    }

    /// Collects up to `count` records from the start of the file (for finding the header).
    public func readPrefix(records count: Int, _ body: @escaping (RawRecord) -> Void) throws(ReadError) {
        var copy = self
        copy.computesDigest = false
        var seen = 0
        do {
            try copy.read({ event in
                if case .record(let r) = event, seen < count {
                    seen += 1
                    body(r)
                }
            }, stopWhen: { seen >= count })
        } catch {
            // Damage past the first records: the header may still be among them, and the main
            // pass reads up to the damage and reports it where it is.
            if seen == 0 { throw error }
        }
    }

    /// Streams events until the file ends or `stopWhen` says so after a chunk.
    public mutating func read(_ sink: @escaping (ParseEvent) -> Void, stopWhen: () -> Bool) throws(ReadError) {
        if facts.format == "xlsx" || facts.format == "xls" {
            try readWorkbook(sink, stopWhen: stopWhen)
            return
        }
        try readText(parser: CSVRecordParser(delimiter: facts.dialect.delimiter, limits: readLimits, sink: sink), stopWhen: stopWhen) { _ in }
    }

    /// Reads the file in chunks through the transcoder into `parser`, calling
    /// `afterChunk` once each chunk is parsed, until the end or `stopWhen`. From byte
    /// `start` when given (no byte order mark is looked for there). With `split`, parsing
    /// stops at that byte if a record begins there, and the function returns true.
    @discardableResult
    private mutating func readText(parser: CSVRecordParser, from start: Int = 0, stopAt split: Int? = nil, minimumRecords: Int = 0,
                                   stopWhen: () -> Bool,
                                   afterChunk: (CSVRecordParser) -> Void) throws(ReadError) -> Bool {
        let fd = try RegularFile.openForReading(facts.path)
        defer { close(fd) }
        if start > 0 && lseek(fd, off_t(start), SEEK_SET) < 0 {
            throw .ioFailure(path: facts.path, reason: String(cString: strerror(errno)))
        }
        facts.identity = FileIdentity(fd: fd)
        // UTF-8 goes to libcsv as it is in the file: the parser can say where each record is.
        let asInFile = facts.encoding == .utf8 || facts.encoding == .utf8BOM
        if asInFile && start > 0 { parser.trackRawOffsets(from: start) }
        var transcoder = try Transcoder(encoding: facts.encoding)
        defer { transcoder.close() }
        // The file's digest and size, from a thread reading the whole file by itself.
        let digest = computesDigest ? FileDigest(fd: fd) : nil
        defer { digest?.cancel() }
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        var total = start
        var first = start == 0
        var parseError: ReadError?
        var split = split
        var stopped = false
        while true {
            if let at = split, total >= at {
                if parser.isAtRecordStart && parser.recordsRead >= minimumRecords {
                    stopped = true
                    break
                }
                split = nil // the line end there lies inside a quoted field (or the header past it): read on
            }
            let n = try readChunk(fd, into: &buffer, count: split.map { min(buffer.count, $0 - total) } ?? buffer.count)
            let final = n == 0
            buffer.withUnsafeBytes { raw in
                var chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                if first {
                    let skip = min(Self.bomLength(of: Array(chunk.prefix(4)), encoding: facts.encoding), n)
                    chunk = UnsafeRawBufferPointer(rebasing: chunk[skip...])
                    first = false
                    if asInFile { parser.trackRawOffsets(from: skip) }
                }
                transcoder.convert(chunk, final: final) { utf8 in
                    guard parseError == nil else { return }
                    do throws(ReadError) { try parser.feed(utf8) } catch { parseError = error }
                }
            }
            if let parseError {
                afterChunk(parser) // what was read before the failure still counts
                if case .tooLarge(_, let line, let what) = parseError { throw .tooLarge(path: facts.path, line: line, what: what) }
                throw .parserFailure(path: facts.path, reason: parseError.description)
            }
            if final { parser.finish() }
            afterChunk(parser)
            total += n
            if final { break }
            if stopWhen() { return false }
        }
        // The rest of the file is another reader's to parse; the digest and byte count are of the whole file.
        if let digest {
            let (hex, bytes) = try digest.finish(path: facts.path)
            facts.sha256 = hex
            facts.byteCount = bytes
        } else if stopped {
            var st = stat()
            facts.byteCount = fstat(fd, &st) == 0 ? Int(st.st_size) : total
        } else {
            facts.byteCount = total
        }
        facts.invalidSequences = transcoder.invalidSequences
        return stopped
    }

    /// Reads up to `count` bytes into the front of `buffer`, again when interrupted; 0 at the end of the file.
    private func readChunk(_ fd: Int32, into buffer: inout [UInt8], count: Int) throws(ReadError) -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count) }
            if n >= 0 { return n }
            if errno != EINTR { throw .ioFailure(path: facts.path, reason: String(cString: strerror(errno))) }
        }
    }

    /// The worksheet's rows as records, streamed; rows Excel left empty are blank lines.
    private mutating func readWorkbook(_ sink: (ParseEvent) -> Void, stopWhen: () -> Bool) throws(ReadError) {
        var previous = 0
        var ordinal = 0
        var stopped = false
        var notes: [CellNote] = []
        defer { facts.cellNotes = notes }
        let width = minimumFields
        let rows: (_ row: Int, _ cells: [String]) -> Void = { number, row in
            guard !stopped else { return }
            ordinal += 1
            var cells = row
            if cells.count < width { cells.append(contentsOf: repeatElement("", count: width - cells.count)) }
            if previous > 0 { for blank in (previous + 1)..<max(previous + 1, number) { sink(.blankLine(line: blank)) } }
            previous = number
            sink(.record(RawRecord(fields: cells, line: number, ordinal: ordinal)))
            if stopWhen() { stopped = true }
        }
        if facts.format == "xls" {
            try XLSReader.read(path: facts.path, sheet: facts.sheet, limits: readLimits, sink: rows,
                               notes: { notes.append($0) }, stop: { stopped })
        } else {
            try XLSXReader.streamSheet(path: facts.path, sheet: facts.sheet, limits: readLimits, sink: rows,
                                       notes: { notes.append($0) }, stop: { stopped })
        }
        if stopped { return }
        let fd = try RegularFile.openForReading(facts.path)
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += n
        }
        facts.byteCount = total
        facts.sha256 = hasher.finalHex()
    }

    private static func bomLength(of prefix: [UInt8], encoding: TextEncoding) -> Int {
        switch encoding {
        case .utf8BOM, .utf8: return prefix.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        case .utf16LE: return prefix.starts(with: [0xFF, 0xFE]) ? 2 : 0
        case .utf16BE: return prefix.starts(with: [0xFE, 0xFF]) ? 2 : 0
        case .gb18030: return 0
        }
    }

    /// The encoding detection would choose for this file (when the caller forced another).
    public static func detectedEncoding(path: String) -> TextEncoding? {
        guard let prefix = try? readPrefix(path: path, count: sniffSize) else { return nil }
        return TextEncoding.detect(prefix: prefix, isWholeFile: prefix.count < sniffSize)
    }

    private static func readPrefix(path: String, count: Int) throws(ReadError) -> [UInt8] {
        // A named pipe or a device is refused here, without waiting on it.
        let fd = try RegularFile.openForReading(path)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .ioFailure(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            filled += n
        }
        return Array(buffer[0..<filled])
    }

    /// Picks tab, comma or semicolon: whichever occurs most, outside quotes, in the first non-blank line.
    public static func sniffDelimiter(_ text: [UInt8]) -> UInt8 {
        var counts: [UInt8: Int] = [0x2C: 0, 0x09: 0, 0x3B: 0]
        var inQuotes = false
        var sawContent = false
        for b in text {
            if b == 0x22 { inQuotes.toggle(); continue }
            if inQuotes { continue }
            if b == 0x0A || b == 0x0D {
                if sawContent { break }
                continue
            }
            sawContent = true
            if counts[b] != nil { counts[b]! += 1 }
        }
        let best = counts.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }!
        return best.value == 0 ? 0x2C : best.key
    }

    public static func sniffLineEnding(_ text: [UInt8]) -> String {
        guard let i = text.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) else { return "none" }
        if text[i] == 0x0A { return "lf" }
        return i + 1 < text.count && text[i + 1] == 0x0A ? "crlf" : "cr"
    }
}
