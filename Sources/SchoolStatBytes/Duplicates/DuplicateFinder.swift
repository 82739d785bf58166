// Bytes (validating): finds repeated keys across all files of a table in bounded
// memory, before the main pass, so that duplicates are known as rows stream by.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HeapModule
import SchoolStatModel

/// Where a row is: which input file (by position in the run) and which record.
public struct RowPosition: Hashable, Comparable {
    public init(file: Int32, record: Int32) {
        self.file = file; self.record = record
    }

    public var file: Int32
    public var record: Int32
    public static func < (a: RowPosition, b: RowPosition) -> Bool { (a.file, a.record) < (b.file, b.record) }
}

/// The first occurrence a later row repeats.
public struct DuplicateOf {
    public init(file: Int32, line: Int32) {
        self.file = file; self.line = line
    }

    public var file: Int32
    public var line: Int32
}

/// Collects key fingerprints in sorted runs and reports every occurrence after the
/// first of each key.
///
/// A key is identified by a 128-bit fingerprint (MurmurHash3) of its canonical
/// text; the chance of two different keys colliding in
/// a national roster of 18 million rows is about 10⁻²⁴. Memory is one buffer
/// of `runCapacity` entries, the keys taken over from other finders (at most a run's
/// worth), and one read buffer per run written to disk. The keys still in the buffer when the
/// runs are merged, or taken over from another finder (`absorb`), are merged from
/// memory: writing them out then would only make the merge wait for pages it reads
/// straight back. A run that cannot be written is kept in memory, so that no key is
/// lost: on a full disk, memory then grows with the keys (32 bytes each) rather than a
/// repeat going unreported. Not thread-safe: one thread at a time adds to it (the
/// pre-pass's key thread).
public final class DuplicateFinder: @unchecked Sendable {
    public struct Entry {
        public init(h1: UInt64, h2: UInt64, file: Int32, record: Int32, line: Int32, pad: Int32 = 0) {
            self.h1 = h1; self.h2 = h2; self.file = file; self.record = record; self.line = line; self.pad = pad
        }

        public var h1: UInt64
        public var h2: UInt64
        public var file: Int32
        public var record: Int32
        public var line: Int32
        public var pad: Int32 = 0

        public static func < (a: Entry, b: Entry) -> Bool {
            (a.h1, a.h2, a.file, a.record) < (b.h1, b.h2, b.file, b.record)
        }
    }

    private let runCapacity: Int
    private var buffer: [Entry] = []
    private var sortSpace = SortSpace()
    /// Where a sorted run is: in memory, or in a file of the staging directory.
    private enum RunSource {
        case memory([Entry])
        /// A file and how many entries were written to it.
        case file(String, entries: Int)
    }
    /// The sorted runs, each with what is added to the positions read back from it (see `absorb`).
    private var runs: [(source: RunSource, offset: PartEnd)] = []
    /// Room (in entries) of the runs held in memory: what their arrays hold allocated, not
    /// only what they use.
    private var heldInMemory = 0
    private let tempDirectory: String
    private let name: String

    public static let defaultRunCapacity = 131_072

    public init(tempDirectory: String, name: String, runCapacity: Int = defaultRunCapacity) {
        self.tempDirectory = tempDirectory
        self.name = name
        self.runCapacity = runCapacity
        buffer.reserveCapacity(runCapacity)
    }

    /// How many runs are in files (tests).
    public var runsOnDisk: Int {
        runs.reduce(0) { n, run in if case .file = run.source { return n + 1 } else { return n } }
    }

    public func add(key: String, position: RowPosition, line: Int) {
        add(fingerprint: Self.fingerprint(key), position: position, line: line)
    }

    /// Adds a key by its fingerprint (computed where the key was made, perhaps on another thread).
    public func add(fingerprint: (UInt64, UInt64), position: RowPosition, line: Int) {
        let (h1, h2) = fingerprint
        buffer.append(Entry(h1: h1, h2: h2, file: position.file, record: position.record, line: Int32(truncatingIfNeeded: line)))
        if buffer.count >= runCapacity { spill() }
    }

    public static func fingerprint(_ key: String) -> (UInt64, UInt64) {
        key.withBytes(fingerprint)
    }

    /// The fingerprint of a key's UTF-8 bytes (the same as of the `String` they spell):
    /// MurmurHash3's 128-bit form (x64), its two 64-bit halves mixed into each other, read
    /// sixteen bytes at a time.
    @inlinable
    public static func fingerprint(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5, c2: UInt64 = 0x4cf5_ad43_2745_937f
        @inline(__always) func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x &<< r) | (x &>> (64 &- r)) }
        @inline(__always) func fmix(_ k: UInt64) -> UInt64 {
            var k = k
            k ^= k &>> 33; k = k &* 0xff51_afd7_ed55_8ccd
            k ^= k &>> 33; k = k &* 0xc4ce_b9fe_1a85_ec53
            return k ^ (k &>> 33)
        }
        var h1: UInt64 = 0x9E37_79B9_7F4A_7C15, h2: UInt64 = 0x9E37_79B9_7F4A_7C15
        let n = bytes.count
        var i = 0
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 16 <= n {
                var k1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                var k2 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                k1 = rotl(k1 &* c1, 31) &* c2; h1 ^= k1
                h1 = (rotl(h1, 27) &+ h2) &* 5 &+ 0x52dc_e729
                k2 = rotl(k2 &* c2, 33) &* c1; h2 ^= k2
                h2 = (rotl(h2, 31) &+ h1) &* 5 &+ 0x3849_5ab5
                i += 16
            }
        }
        // The last 0 to 15 bytes, little-endian as MurmurHash3 reads them, by loads within them.
        @inline(__always) func partial(_ p: UnsafeRawPointer, _ m: Int) -> UInt64 {
            switch m {
            case 8...: return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            case 4...: // two four-byte loads that overlap in the middle
                let low = UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                let high = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: m - 4, as: UInt32.self)))
                return low | high &<< UInt64(8 * (m - 4))
            case 1...:
                let b = p.assumingMemoryBound(to: UInt8.self)
                return UInt64(b[0]) | UInt64(b[m / 2]) &<< UInt64(8 * (m / 2)) | UInt64(b[m - 1]) &<< UInt64(8 * (m - 1))
            default: return 0
            }
        }
        let tail = n - i
        if tail > 0, let base = bytes.baseAddress {
            let p = UnsafeRawPointer(base + i)
            if tail > 8 { h2 ^= rotl(partial(p + 8, tail - 8) &* c2, 33) &* c1 }
            h1 ^= rotl(partial(p, min(tail, 8)) &* c1, 31) &* c2
        }
        h1 ^= UInt64(n); h2 ^= UInt64(n)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        return (h1, h2)
    }

    /// A key being sorted: the entry's h1 and where the entry is.
    fileprivate struct KeyIndex {
        var h1: UInt64
        var index: UInt32
    }

    /// What `sort` works in, kept from one sort to the next: allocating it afresh for every run
    /// costs a page fault per page, every time.
    public struct SortSpace {
        fileprivate var keys: [KeyIndex] = []
        /// Where each bucket starts (half a megabyte: allocated afresh for every sort, it was
        /// mapped, faulted in page by page and unmapped each time).
        fileprivate var starts: [Int] = []
        /// The sorted entries on their way to a run's file, a few at a time (64 KiB).
        fileprivate var gathered: [Entry] = []
        public init() {}
    }

    /// Below this many entries a sort compares them directly: the counting pass over 65,536
    /// buckets would cost more.
    static let comparedDirectly = 512

    /// Sorts entries by (h1, h2, file, record): `order`, then each entry moved to its place in
    /// place, cycle by cycle.
    public static func sort(_ entries: inout [Entry], space: inout SortSpace) {
        let n = entries.count
        guard n > 1 else { return }
        // A few entries: compared directly (the order is total: a record is in one place).
        if n < comparedDirectly {
            entries.sort(by: <)
            return
        }
        order(entries, space: &space)
        entries.withUnsafeMutableBufferPointer { e in
            space.keys.withUnsafeMutableBufferPointer { k in
                // Place i takes the entry at k[i].index: each cycle of that permutation is followed
                // once, its first entry held aside; a place done is marked by pointing at itself.
                for i in 0..<n {
                    var source = Int(k[i].index)
                    if source == i { continue }
                    let first = e[i]
                    var j = i
                    while source != i {
                        e[j] = e[source]
                        k[j].index = UInt32(j)
                        j = source
                        source = Int(k[j].index)
                    }
                    e[j] = first
                    k[j].index = UInt32(j)
                }
            }
        }
    }

    /// Where each entry goes when sorted by (h1, h2, file, record): `space.keys[i].index` is the
    /// entry that comes i-th. The (h1, index) pairs, half the width of an entry, are put in
    /// place by the top sixteen bits of h1 in one counting pass and one move; each of those
    /// buckets (two or three pairs, the hashes being random) is then ordered by h1 and index;
    /// last, the rare runs of equal h1 are ordered by the whole entry. A bucket much larger than
    /// the rest (keys made to collide) is sorted by comparison, so no input makes the sort
    /// slower than n log n.
    static func order(_ entries: [Entry], space: inout SortSpace) {
        let n = entries.count
        let buckets = 1 << 16
        if space.keys.count < n { space.keys = [KeyIndex](repeating: KeyIndex(h1: 0, index: 0), count: n) }
        if space.starts.count != buckets + 1 { space.starts = [Int](repeating: 0, count: buckets + 1) }
        entries.withUnsafeBufferPointer { e in
            space.keys.withUnsafeMutableBufferPointer { k in
                space.starts.withUnsafeMutableBufferPointer { startsBuffer in
                    let starts = startsBuffer.baseAddress!
                    starts.update(repeating: 0, count: buckets + 1)
                    for i in 0..<n { starts[Int(e[i].h1 >> 48) + 1] += 1 }
                    for b in 0..<buckets { starts[b + 1] += starts[b] }
                    // `starts[b]` moves on as bucket b fills; afterwards it is where bucket b + 1 starts.
                    for i in 0..<n {
                        let b = Int(e[i].h1 >> 48)
                        k[starts[b]] = KeyIndex(h1: e[i].h1, index: UInt32(i))
                        starts[b] += 1
                    }
                    var from = 0
                    for b in 0..<buckets {
                        let to = starts[b]
                        if to - from > 1 {
                            if to - from <= 32 {
                                for i in (from + 1)..<to {
                                    let x = k[i]
                                    var j = i
                                    while j > from && (k[j - 1].h1 > x.h1 || k[j - 1].h1 == x.h1 && k[j - 1].index > x.index) {
                                        k[j] = k[j - 1]
                                        j -= 1
                                    }
                                    k[j] = x
                                }
                            } else {
                                var part = UnsafeMutableBufferPointer(rebasing: k[from..<to])
                                part.sort { ($0.h1, $0.index) < ($1.h1, $1.index) }
                            }
                        }
                        from = to
                    }
                    // Equal h1 (two keys, or the same key twice): those few ordered by the whole entry.
                    var i = 0
                    while i < n {
                        var j = i + 1
                        while j < n && k[j].h1 == k[i].h1 { j += 1 }
                        if j - i > 1 {
                            var part = UnsafeMutableBufferPointer(rebasing: k[i..<j])
                            part.sort { e[Int($0.index)] < e[Int($1.index)] }
                        }
                        i = j
                    }
                }
            }
        }
    }

    /// Writes `entries` to `fd` sorted (as `sort` would leave them), gathered in order into a
    /// small buffer that is written each time it fills, rather than moved in place first: the
    /// moves in place jump about a run of four megabytes, and the writes then copy it from
    /// memory the cache no longer holds. False when a write fails.
    private static func writeSorted(_ entries: [Entry], to fd: Int32, space: inout SortSpace) -> Bool {
        let n = entries.count
        if n < comparedDirectly {
            var sorted = entries
            sort(&sorted, space: &space)
            return sorted.withUnsafeBytes { BufferedFile.writeAll(fd, $0) }
        }
        order(entries, space: &space)
        let room = 2048
        if space.gathered.count != room { space.gathered = [Entry](repeating: Entry(h1: 0, h2: 0, file: 0, record: 0, line: 0), count: room) }
        return entries.withUnsafeBufferPointer { e in
            space.keys.withUnsafeBufferPointer { k in
                space.gathered.withUnsafeMutableBufferPointer { out in
                    var start = 0
                    while start < n {
                        let count = min(room, n - start)
                        for i in 0..<count { out[i] = e[Int(k[start + i].index)] }
                        guard BufferedFile.writeAll(fd, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<(count * MemoryLayout<Entry>.stride)])) else {
                            return false
                        }
                        start += count
                    }
                    return true
                }
            }
        }
    }

    private func spill() {
        let path = "\(tempDirectory)/\(name).run\(runs.count)"
        guard write(buffer, to: path) else {
            // Kept in memory: the run could not be written (a full disk, an unwritable staging
            // directory), and no key may be lost.
            Self.sort(&buffer, space: &sortSpace)
            heldInMemory += buffer.capacity
            runs.append((.memory(buffer), .start))
            buffer = []
            buffer.reserveCapacity(runCapacity)
            return
        }
        runs.append((.file(path, entries: buffer.count), .start))
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes a run to `path`, sorted; false, and nothing left, when it cannot be written whole.
    private func write(_ entries: [Entry], to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return false }
        let written = Self.writeSorted(entries, to: fd, space: &sortSpace)
        if close(fd) != 0 || !written {
            unlink(path)
            return false
        }
        return true
    }

    /// Takes over the keys of `other`, which were added for the second part of a file split in
    /// two, numbered from that part's start: `offset` (the first part's lines and records) is
    /// added to their positions as the runs are read back. Adding the same number to every
    /// record of one file leaves each run in order.
    ///
    /// The keys `other` has not yet put in a run are taken over in memory while this finder
    /// holds at most a run's worth of room there, counted by the room their buffer holds
    /// allocated (a table of many files split in two would otherwise gather a buffer from
    /// each, however few keys each held); past that they are written out as a run.
    public func absorb(_ other: DuplicateFinder, offset: PartEnd) {
        if !other.buffer.isEmpty {
            if heldInMemory + other.buffer.capacity <= runCapacity {
                Self.sort(&other.buffer, space: &other.sortSpace)
                other.runs.append((.memory(other.buffer), .start))
            } else {
                other.spill()
            }
        }
        other.buffer = []
        other.sortSpace = SortSpace()
        for run in other.runs {
            runs.append((run.source, run.offset + offset))
            if case .memory(let entries) = run.source { heldInMemory += entries.capacity }
        }
        other.runs = []
        other.heldInMemory = 0
    }

    /// Deletes whatever was spilled (keys of a part that was read again another way).
    public func discard() {
        for run in runs { if case .file(let path, _) = run.source { unlink(path) } }
        runs = []
        heldInMemory = 0
        buffer.removeAll(keepingCapacity: false)
    }

    /// Every row whose key occurred earlier, with the place of the first occurrence (tests).
    public func duplicates() throws(WriteError) -> [RowPosition: DuplicateOf] {
        var result: [RowPosition: DuplicateOf] = [:]
        try forEachDuplicate { result[$0] = $1 }
        return result
    }

    /// Every row whose key occurred earlier, sorted on disk by file and record (see `DuplicateSorter`).
    public func duplicates(sortingIn directory: String) throws(WriteError) -> [Int32: String] {
        let sorter = DuplicateSorter(directory: directory, name: name)
        do {
            try forEachDuplicate { sorter.add(DuplicateEntry(file: $0.file, record: $0.record, firstFile: $1.file, firstLine: $1.line)) }
        } catch {
            sorter.discard()
            throw error
        }
        return try sorter.finish()
    }

    /// Calls `body` with every row whose key occurred earlier and the place of the first
    /// occurrence, in key order; the runs are deleted.
    /// A run that cannot be read back whole (its file gone or unreadable) is an error: its keys'
    /// repeats would otherwise go unreported.
    @inline(__always)
    public func forEachDuplicate(_ body: (RowPosition, DuplicateOf) -> Void) throws(WriteError) {
        var firstOfGroup: Entry?
        func visit(_ e: Entry) {
            if let f = firstOfGroup, f.h1 == e.h1, f.h2 == e.h2 {
                body(RowPosition(file: e.file, record: e.record), DuplicateOf(file: f.file, line: f.line))
            } else {
                firstOfGroup = e
            }
        }
        // The keys not yet in a run are one more, in memory (writing them out would only be read back).
        if !buffer.isEmpty {
            Self.sort(&buffer, space: &sortSpace)
            runs.append((.memory(buffer), .start))
        }
        buffer = []
        sortSpace = SortSpace()
        // All the keys in one run in memory (a file of up to a run's keys, read in one part): in order as they are.
        if runs.count == 1, case .memory(let entries) = runs[0].source, runs[0].offset == .start {
            runs = []
            heldInMemory = 0
            entries.forEach(visit)
            return
        }
        let files = runs.compactMap { run -> String? in if case .file(let path, _) = run.source { return path } else { return nil } }
        var readers = runs.map { RunReader($0.source, offset: $0.offset) }
        runs = []
        heldInMemory = 0
        defer { for path in files { unlink(path) } }
        if readers.count <= 8 {
            // A few runs (a file of a few million rows makes three or four): the smallest head by
            // a look at each; on equal entries the earlier run, as the order of the runs gave.
            while true {
                var best = -1
                for i in readers.indices where readers[i].head != nil {
                    if best < 0 || readers[i].head! < readers[best].head! { best = i }
                }
                guard best >= 0 else { break }
                visit(readers[best].head!)
                readers[best].advance()
            }
            try Self.checkReadBack(readers)
            return
        }
        // k-way merge through a min-heap of the runs' heads: O(n log k) in the n keys and k runs.
        // The run just read from puts its next head in place of the smallest (one sift, not two).
        var heap = Heap(readers.indices.compactMap { i in readers[i].head.map { RunHead(entry: $0, run: i) } })
        while let smallest = heap.min {
            visit(smallest.entry)
            readers[smallest.run].advance()
            if let next = readers[smallest.run].head {
                _ = heap.replaceMin(with: RunHead(entry: next, run: smallest.run))
            } else {
                _ = heap.popMin()
            }
        }
        try Self.checkReadBack(readers)
    }

    private static func checkReadBack(_ readers: [RunReader]) throws(WriteError) {
        if let short = readers.first(where: \.cutShort) { throw DuplicateSorter.notReadBack(short.path) }
    }

    /// A run's first entry not yet merged; the run's number settles ties, as the order of the runs did.
    private struct RunHead: Comparable {
        var entry: Entry
        var run: Int
        /// (h1, h2, file, record, run) in order: one pass, decided by h1 but for equal keys.
        @inline(__always)
        static func < (a: RunHead, b: RunHead) -> Bool {
            if a.entry.h1 != b.entry.h1 { return a.entry.h1 < b.entry.h1 }
            return (a.entry.h2, a.entry.file, a.entry.record, a.run) < (b.entry.h2, b.entry.file, b.entry.record, b.run)
        }
        static func == (a: RunHead, b: RunHead) -> Bool { !(a < b) && !(b < a) }
    }

    /// Streams one sorted run back, from memory or from its file, `offset` added to each position.
    private struct RunReader {
        private let fd: Int32
        private let records: Int32
        private let lines: Int32
        private var chunk: [Entry]
        private var index = 0
        private(set) var head: Entry?
        /// A run from a file: where, how many entries were written, how many were read back.
        private(set) var path = ""
        private var expected = 0
        private var readBack = 0
        /// The file ended, or could not be read, before all its entries were read back.
        var cutShort: Bool { !path.isEmpty && head == nil && readBack != expected }

        init(_ source: RunSource, offset: PartEnd) {
            records = Int32(truncatingIfNeeded: offset.records)
            lines = Int32(truncatingIfNeeded: offset.lines)
            switch source {
            case .memory(let entries):
                fd = -1
                chunk = entries
                head = chunk.first.map(shifted)
            case .file(let path, let entries):
                fd = open(path, O_RDONLY)
                self.path = path
                expected = entries
                chunk = []
                refill()
            }
        }

        /// The entry with the offset added to its position (the same number added to every
        /// record of one file leaves the run in order).
        @inline(__always)
        private func shifted(_ e: Entry) -> Entry {
            var e = e
            e.record &+= records
            e.line &+= lines
            return e
        }

        @inline(__always)
        mutating func advance() {
            index += 1
            if index < chunk.count { head = shifted(chunk[index]) } else { refill() }
        }

        private mutating func refill() {
            index = 0
            guard fd >= 0 else {
                head = nil
                chunk = []
                return
            }
            if chunk.count != 2048 { chunk = [Entry](repeating: Entry(h1: 0, h2: 0, file: 0, record: 0, line: 0), count: 2048) }
            // Whole entries: a read cut short by a signal, or ending inside an entry, is read on.
            let count = chunk.withUnsafeMutableBytes { RegularFile.readAll(fd, into: $0) } / MemoryLayout<Entry>.stride
            readBack += count
            if count < chunk.count { chunk.removeSubrange(count...) }
            head = chunk.first.map(shifted)
            if head == nil { close(fd) }
        }
    }
}
