// Bytes (reading): a file's parsed batches kept on disk, so that a file read twice (the
// unique-key pre-pass, then the main pass) goes through libcsv only once.
import CSupport
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// Where the first part of a file split in two ended: the lines and records in it, which
/// the second part's line numbers and record ordinals are counted on from.
public struct PartEnd: Equatable, Sendable {
    public init(lines: Int, records: Int) {
        self.lines = lines; self.records = records
    }

    public var lines: Int
    public var records: Int

    /// Nothing before: a file's own start.
    public static let start = PartEnd(lines: 0, records: 0)

    /// Both parts' lines and records together: where a part that follows both would be counted from.
    public static func + (a: PartEnd, b: PartEnd) -> PartEnd { PartEnd(lines: a.lines + b.lines, records: a.records + b.records) }
}

/// The batches of one file, written by the first pass and read back by the second.
///
/// Each batch is stored as a header of six 64-bit numbers (five counts and the batch's
/// position in the file, or -1), then the length of every field and the entries (line, lines
/// spanned, field count, ordinal) as variable-length integers, then the field bytes as they
/// are. Field ends and each record's first field are sums of what is stored.
///
/// A batch whose records lie in the file as they were parsed (UTF-8 without a quote: each
/// field's bytes as they are, a delimiter between fields, a line end after each record; see
/// `RecordBatch.rawStart`) is stored without its field lengths and bytes: the reader takes its
/// text from the file again and splits it at the delimiters, checking each record's fields and
/// line end on the way, and that the file is the one read and unchanged. That is most batches
/// of most files, and the spill is then a few bytes a row instead of the file's size: every page
/// written to it is one the system must find, which on a virtual machine can cost more than the
/// copy into it.
public enum BatchSpill {
    /// The file a spill's batches were parsed from, for those stored without their bytes.
    public struct Text: Sendable {
        public init(path: String, identity: FileIdentity, delimiter: UInt8) {
            self.path = path; self.identity = identity; self.delimiter = delimiter
        }

        public var path: String
        /// The file as the first pass read it: the one the reader must find there, unchanged.
        public var identity: FileIdentity
        public var delimiter: UInt8
    }

    /// Appends batches to the spill file on a thread of its own (the reading thread, which
    /// hands them over, is what a first pass waits for); `finish` says whether all of them
    /// were written.
    public final class Writer: @unchecked Sendable {
        public let path: String
        private var fd: Int32
        private var scratch: [UInt8] = []
        private var failed = false
        private let stage = BoundedStage(label: "schoolstat.spill", capacity: 8)

        /// Whether every batch is stored with its bytes, even one whose text the file holds as it is.
        private let storesText: Bool

        public init?(path: String, storesText: Bool = false) {
            self.path = path
            self.storesText = storesText
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { return nil }
        }

        deinit { if fd >= 0 { close(fd) } }

        /// Queues `batch` for writing; waits while eight are already queued.
        public func write(_ batch: RecordBatch) {
            stage.submit { self.store(batch) }
        }

        /// Closes the file once every queued batch is written; true when all of them reached it.
        public func finish() -> Bool {
            stage.drain {
                if close(fd) != 0 { failed = true }
                fd = -1
                return !failed
            }
        }

        private func store(_ batch: RecordBatch) {
            guard !failed else { return }
            // At most ten bytes a varint: one per field, four per entry; the header's six numbers
            // go first, filled in once the rest is encoded. Written through a pointer, not appended.
            let bound = Self.headerBytes + 10 * batch.ends.count + 40 * batch.entries.count
            if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
            let h = Self.headerBytes
            // A batch kept by position needs no field lengths either: the file's delimiters give them.
            let raw = storesText ? -1 : batch.rawStart
            let (lengthBytes, entryBytes): (Int, Int) = scratch.withUnsafeMutableBufferPointer { out in
                var p = h
                @inline(__always) func varint(_ value: Int) {
                    var v = UInt64(bitPattern: Int64(value))
                    while v >= 0x80 {
                        out[p] = UInt8(truncatingIfNeeded: v) | 0x80
                        p += 1
                        v >>= 7
                    }
                    out[p] = UInt8(v)
                    p += 1
                }
                var previousEnd = 0
                if raw < 0 {
                    batch.ends.withUnsafeBufferPointer { ends in
                        for end in ends {
                            varint(end - previousEnd)
                            previousEnd = end
                        }
                    }
                }
                let lengthBytes = p - h
                var previousLine = 0, previousOrdinal = 0
                batch.entries.withUnsafeBufferPointer { entries in
                    for e in entries {
                        varint(e.line - previousLine)
                        varint(e.lineCount)
                        varint(e.fieldCount + 1)
                        previousLine = e.line
                        if e.fieldCount >= 0 {
                            varint(e.ordinal - previousOrdinal)
                            previousOrdinal = e.ordinal
                        }
                    }
                }
                return (lengthBytes, p - h - lengthBytes)
            }
            let counts = [batch.entries.count, batch.ends.count, batch.bytes.count, lengthBytes, entryBytes, raw]
            scratch.withUnsafeMutableBytes { out in
                for (i, n) in counts.enumerated() { out.storeBytes(of: Int64(n).littleEndian, toByteOffset: 8 * i, as: Int64.self) }
            }
            let used = h + lengthBytes + entryBytes
            failed = !(scratch.withUnsafeBytes { BufferedFile.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<used])) }
                       && (raw >= 0 || batch.bytes.withUnsafeBytes { BufferedFile.writeAll(fd, $0) }))
        }

        static let headerBytes = 48
    }

    /// Reads the batches back in the order they were written.
    public final class Reader {
        /// The input file the batches came from: what errors name, since the spill file
        /// itself is nothing a user knows of.
        public let source: String
        private let fd: Int32
        /// Bytes read so far, how many of them have been given back (see `release`), and whether
        /// the file system still takes that.
        private var consumed = 0
        private var released = 0
        private var releasing = true
        /// Added to every line number and record ordinal read: the second part of a file
        /// split in two was numbered as if it were a file of its own (see `PartEnd`).
        private let offset: PartEnd
        /// The file the batches stored without their bytes are read from, opened at the first.
        private let text: Text?
        private var textFD: Int32 = -1
        private var window: [UInt8] = []

        public init(path: String, source: String, offset: PartEnd = .start, text: Text? = nil) throws(ReadError) {
            self.source = source
            self.offset = offset
            self.text = text
            // Opened for writing too, which giving pages back needs; read-only where that is refused.
            var fd = open(path, O_RDWR)
            if fd < 0 { fd = open(path, O_RDONLY) }
            guard fd >= 0 else { throw Self.failure(source, String(cString: strerror(errno))) }
            self.fd = fd
        }

        deinit {
            close(fd)
            if textFD >= 0 { close(textFD) }
        }

        /// The next batch, or nil at the end of the file.
        public func next() throws(ReadError) -> RecordBatch? {
            var header = [Int64](repeating: 0, count: 6)
            let got = header.withUnsafeMutableBytes { readFully($0) }
            if got == 0 {
                try checkTextUnchanged()
                return nil
            }
            guard got == Writer.headerBytes else { throw Self.failure(source, "truncated batch header") }
            let counts = header.map { Int(Int64(littleEndian: $0)) }
            let (entryCount, fieldCount, byteCount, lengthBytes, entryBytes) = (counts[0], counts[1], counts[2], counts[3], counts[4])
            let rawStart = counts[5]
            // Counts no batch of this run could have (a damaged file) are refused before anything
            // is allocated for them: a batch is at most the part of a file read at once.
            guard counts[0..<5].allSatisfy({ $0 >= 0 && $0 <= Self.largestCount }), rawStart >= -1 else { throw Self.failure(source, "bad batch header") }
            // Read straight into arrays of their size, not zeroed first; whatever is short of it is an error.
            let scratch = [UInt8](unsafeUninitializedCapacity: lengthBytes + entryBytes) { buffer, count in
                count = readFully(UnsafeMutableRawBufferPointer(buffer))
            }
            guard scratch.count == lengthBytes + entryBytes else { throw Self.failure(source, "truncated batch") }
            // A batch kept with its bytes has them next; one kept by position has them in the file,
            // gathered once its entries are known, into room for as much text as is read for them
            // (see `gather`) and thirty-two bytes more.
            let room = rawStart >= 0 ? byteCount + fieldCount + 2 * entryCount + 32 : byteCount
            var bytes = [UInt8](unsafeUninitializedCapacity: room) { buffer, count in
                count = rawStart >= 0 ? byteCount : readFully(UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: byteCount))
            }
            guard bytes.count == byteCount else { throw Self.failure(source, "truncated batch") }

            // Decoded into arrays of their final size through pointers; a stored count that does
            // not fit what was read makes the batch corrupt, never a crash. The entries (after the
            // lengths) first: a batch kept by position needs them to find its fields in the file.
            guard fieldCount <= lengthBytes || (rawStart >= 0 && lengthBytes == 0), entryCount <= entryBytes else { throw Self.failure(source, "corrupt batch") }
            var decoded = true
            let entries: [RecordBatch.Entry] = scratch.withUnsafeBufferPointer { buffer in
                Array(unsafeUninitializedCapacity: entryCount) { out, initialised in
                    var position = lengthBytes
                    var line = offset.lines, ordinal = offset.records, firstField = 0
                    for i in 0..<entryCount {
                        guard let lineDelta = Self.varint(buffer, &position), let lineCount = Self.varint(buffer, &position),
                              let storedCount = Self.varint(buffer, &position) else { decoded = false; break }
                        line &+= lineDelta
                        let count = storedCount &- 1
                        guard lineCount >= 0, count >= -1, count <= fieldCount - firstField else { decoded = false; break }
                        if count >= 0 {
                            guard let ordinalDelta = Self.varint(buffer, &position) else { decoded = false; break }
                            ordinal &+= ordinalDelta
                        }
                        out[i] = (line, lineCount, count >= 0 ? ordinal : 0, firstField, count)
                        initialised = i + 1
                        firstField &+= max(0, count)
                    }
                    if decoded && (position != buffer.count || firstField != fieldCount) { decoded = false }
                }
            }
            guard decoded else { throw Self.failure(source, "corrupt batch") }
            let ends: [Int]
            if rawStart >= 0 {
                ends = try gather(into: &bytes, at: rawStart, fieldCount: fieldCount, entries: entries)
            } else {
                ends = scratch.withUnsafeBufferPointer { buffer in
                    Array(unsafeUninitializedCapacity: fieldCount) { out, initialised in
                        var position = 0
                        var end = 0
                        for i in 0..<fieldCount {
                            // Each field within the batch's bytes, after the one before; most lengths
                            // are one byte.
                            let length: Int
                            if position < lengthBytes, buffer[position] < 0x80 {
                                length = Int(buffer[position])
                                position += 1
                            } else {
                                guard let long = Self.varint(UnsafeBufferPointer(rebasing: buffer[0..<lengthBytes]), &position) else { decoded = false; break }
                                length = long
                            }
                            guard length >= 0, length <= byteCount - end else { decoded = false; break }
                            end += length
                            out[i] = end
                            initialised = i + 1
                        }
                        if decoded && (position != lengthBytes || end > byteCount) { decoded = false }
                    }
                }
                guard decoded else { throw Self.failure(source, "corrupt batch") }
            }
            release()
            return RecordBatch(bytes: bytes, ends: ends, entries: entries)
        }

        /// A batch kept by position: its fields found in the file's text at `start` and copied
        /// into `bytes` (whose count is the batch's), each record's fields, delimiters and line end
        /// checked against its entry on the way; returns the field ends. The text read is at most
        /// one delimiter per field and two bytes of line end per entry past the field bytes.
        private func gather(into bytes: inout [UInt8], at start: Int, fieldCount: Int, entries: [RecordBatch.Entry]) throws(ReadError) -> [Int] {
            guard let text, MemoryLayout<RecordBatch.Entry>.stride == 40 else { throw Self.failure(source, "no text for a batch kept by position") }
            if textFD < 0 {
                let fd = try RegularFile.openForReading(text.path)
                textFD = fd
                try checkTextUnchanged()
            }
            let wanted = bytes.count + fieldCount + 2 * entries.count
            // The split looks at 64 bytes at a time, up to 63 past the text.
            if window.count < wanted + 64 { window = [UInt8](repeating: 0, count: wanted + 64) }
            guard bytes.capacity >= wanted + 32 else { throw Self.failure(source, "batch buffer") }
            let got = try readText(count: wanted, at: start)
            var laidOut: Int32 = 0
            let ends = [Int](unsafeUninitializedCapacity: fieldCount) { endsOut, initialised in
                laidOut = window.withUnsafeBufferPointer { raw in
                    entries.withUnsafeBufferPointer { entries in
                        bytes.withUnsafeMutableBufferPointer { out in
                            // An entry is five Ints, an Int 64 bits wherever schoolstat builds (a batch of
                            // blank lines has no fields).
                            schoolstat_split_batch(raw.baseAddress, got, got < wanted ? 1 : 0, text.delimiter,
                                                   UnsafeRawPointer(entries.baseAddress)?.assumingMemoryBound(to: Int64.self), entries.count,
                                                   UnsafeMutableRawPointer(endsOut.baseAddress)?.assumingMemoryBound(to: Int64.self), fieldCount,
                                                   out.baseAddress, out.count)
                        }
                    }
                }
                initialised = laidOut == 1 ? fieldCount : 0
            }
            guard laidOut == 1 else { throw .changedWhileRead(path: source) }
            return ends
        }

        /// Reads up to `count` bytes of the text at `offset` into the window; fewer only at its end.
        private func readText(count: Int, at offset: Int) throws(ReadError) -> Int {
            var got = 0
            while got < count {
                let n = window.withUnsafeMutableBytes { pread(textFD, $0.baseAddress! + got, count - got, off_t(offset + got)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .ioFailure(path: source, reason: String(cString: strerror(errno)))
                }
                if n == 0 { break }
                got += n
            }
            return got
        }

        /// The file the batches' text is read from must be the one parsed, as it was: checked
        /// when it is opened and once every batch is read.
        private func checkTextUnchanged() throws(ReadError) {
            guard textFD >= 0, let text else { return }
            guard FileIdentity(fd: textFD) == text.identity else { throw .changedWhileRead(path: source) }
        }

        /// Each batch is read once: the pages behind what has been read are given back to the
        /// system every 8 MiB (a hole punched in the file), so that the outputs written meanwhile
        /// take pages just freed instead of ones the system has to find (on a virtual machine,
        /// fresh pages can cost more than the copy into them). Nothing is lost when the file
        /// system cannot do it.
        private func release() {
            guard releasing, consumed - released >= Self.releaseStep else { return }
            let end = consumed & ~4095
            releasing = schoolstat_release_range(fd, Int64(released), Int64(end - released)) == 0
            released = end
        }

        static let releaseStep = 8 << 20

        /// The most bytes, fields or entries one stored batch may claim (1 GiB of text).
        static let largestCount = 1 << 30

        @inline(__always)
        private static func varint(_ buffer: UnsafeBufferPointer<UInt8>, _ position: inout Int) -> Int? {
            var value: UInt64 = 0, shift: UInt64 = 0
            while position < buffer.count, shift < 64 {
                let b = buffer[position]
                position += 1
                value |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return Int(truncatingIfNeeded: value) }
                shift += 7
            }
            return nil
        }

        /// The run's parsed copy of `source` could not be read back: nothing is wrong with the
        /// file itself, so the message says so and what to do.
        private static func failure(_ source: String, _ what: String) -> ReadError {
            .ioFailure(path: source, reason: "本次运行保存的解析副本无法读回（\(what)），文件本身没有问题；"
                + "请检查输出目录所在磁盘的剩余空间后重新运行 (the run's parsed copy of this file could not be read back: "
                + "\(what); the file itself is fine. Check free disk space where --out is and run again)")
        }

        /// Reads until `raw` is full or the file ends; the number of bytes read.
        private func readFully(_ raw: UnsafeMutableRawBufferPointer) -> Int {
            let got = RegularFile.readAll(fd, into: raw)
            consumed += got
            return got
        }
    }
}
