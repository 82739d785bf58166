// Bytes: which rows repeat a key, looked up from the sorted runs the key pre-pass wrote.
import Foundation
import SchoolStatModel

/// The rows of one file that repeat an earlier key: per unique constraint, the file
/// `DuplicateSorter` wrote for this input, sorted by record, read through a `DuplicateCursor`.
/// Each worker has its own (in its `FileRules`) and sees its records in increasing order, so the
/// cursor reads the file forward in small windows: a million repeats cost no more memory than none.
public struct DuplicateRows {
    @usableFromInline let cursors: [DuplicateCursor?]
    @usableFromInline let count: Int
    /// Per constraint, the records a lookup can skip: below `next` and not below `last` (the last
    /// record looked up) there is no repeat. Unmanaged storage, so that the per-row test touches
    /// no reference count; a constraint without repeats in this file skips every record.
    @usableFromInline let next: UnsafeMutableBufferPointer<Int32>
    @usableFromInline let last: UnsafeMutableBufferPointer<Int32>
    /// Whether any constraint has a repeat in this file: most files have none.
    @usableFromInline let any: Bool

    public init(_ duplicates: DuplicateFiles, file: Int32) {
        cursors = duplicates.map { found in found[file].flatMap(DuplicateCursor.init(path:)) }
        any = cursors.contains { $0 != nil }
        count = cursors.count
        // One slot per constraint, and one more for all of them together.
        next = .allocate(capacity: cursors.count + 1)
        last = .allocate(capacity: cursors.count + 1)
        for i in cursors.indices {
            next[i] = cursors[i] == nil ? .max : .min
            last[i] = .min
        }
        next[cursors.count] = .min
        last[cursors.count] = .min
    }

    public func deallocate() {
        next.deallocate()
        last.deallocate()
    }

    /// Calls `body` with each unique constraint `record` breaks, in the schema's order, and where the key first occurred.
    @inlinable @inline(__always)
    public func forEach(record: Int32, _ body: (_ constraint: Int, _ first: DuplicateOf) -> Void) {
        // Most rows: below every constraint's next repeat and not before its last lookup.
        guard any, !(record < next[count] && record >= last[count]) else { return }
        for constraint in 0..<count {
            if record < next[constraint] && record >= last[constraint] { continue }
            guard let cursor = cursors[constraint] else { continue }
            last[constraint] = record
            let found = cursor.lookup(record)
            next[constraint] = cursor.next
            if let e = found { body(constraint, DuplicateOf(file: e.firstFile, line: e.firstLine)) }
        }
        // The bounds of all constraints together: the lowest next, the highest last.
        var lowestNext = Int32.max, highestLast = Int32.min
        for c in 0..<count {
            lowestNext = min(lowestNext, next[c])
            highestLast = max(highestLast, last[c])
        }
        next[count] = lowestNext
        last[count] = highestLast
    }
}

/// Reads one file of `DuplicateEntry`s sorted by record through a window of a few thousand: a
/// lookup at or after the window moves it forward; one before it (not expected: a worker's
/// records increase) finds its place by binary search in the file.
public final class DuplicateCursor {
    private static let windowCapacity = 2048
    private static let stride = MemoryLayout<DuplicateEntry>.stride
    private let fd: Int32
    private let count: Int
    private let window: UnsafeMutableBufferPointer<DuplicateEntry>
    private var windowStart = 0
    private var windowCount = 0
    /// After a lookup: no entry lies between the record looked up and this one.
    public private(set) var next: Int32 = .min

    public init?(path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= Self.stride else { close(fd); return nil }
        self.fd = fd
        count = Int(st.st_size) / Self.stride
        window = .allocate(capacity: Self.windowCapacity)
    }

    deinit {
        close(fd)
        window.deallocate()
    }

    private func load(_ start: Int) {
        windowStart = start
        let wanted = min(Self.windowCapacity, count - start) * Self.stride
        var got = 0
        while got < wanted {
            let n = pread(fd, UnsafeMutableRawPointer(window.baseAddress!) + got, wanted - got, off_t((start * Self.stride) + got))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        windowCount = got / Self.stride
    }

    private func entry(at index: Int) -> DuplicateEntry? {
        var e = DuplicateEntry(file: 0, record: 0, firstFile: 0, firstLine: 0)
        let n = withUnsafeMutableBytes(of: &e) { pread(fd, $0.baseAddress, Self.stride, off_t(index * Self.stride)) }
        return n == Self.stride ? e : nil
    }

    /// The entry of `record`, if it repeats a key; sets `next`.
    public func lookup(_ record: Int32) -> DuplicateEntry? {
        let found = find(record)
        next = record &+ 1 // unless the window says more
        if windowCount > 0 {
            var low = 0, high = windowCount
            while low < high {
                let mid = (low + high) / 2
                if window[mid].record <= record { low = mid + 1 } else { high = mid }
            }
            if low < windowCount { next = window[low].record }
            else if windowStart + windowCount >= count { next = .max }
        }
        return found
    }

    private func find(_ record: Int32) -> DuplicateEntry? {
        if windowCount == 0 {
            load(0)
            if windowCount == 0 { return nil }
        }
        if record < window[0].record {
            guard windowStart > 0, let previous = entry(at: windowStart - 1), previous.record >= record else { return nil }
            // Back in the file: the first entry not below `record`, by binary search.
            var low = 0, high = windowStart
            while low < high {
                let mid = (low + high) / 2
                if (entry(at: mid)?.record ?? .max) < record { low = mid + 1 } else { high = mid }
            }
            load(low)
            if windowCount == 0 { return nil }
        }
        while window[windowCount - 1].record < record {
            guard windowStart + windowCount < count else { return nil }
            load(windowStart + windowCount)
            if windowCount == 0 || record < window[0].record { return nil } // between two windows
        }
        var low = 0, high = windowCount
        while low < high {
            let mid = (low + high) / 2
            if window[mid].record < record { low = mid + 1 } else { high = mid }
        }
        return low < windowCount && window[low].record == record ? window[low] : nil
    }
}
