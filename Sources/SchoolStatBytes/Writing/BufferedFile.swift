// Bytes (writing): a file written through a large buffer, handed to the disk as it grows and
// synced on close; every output file goes through it.
import CSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// A file written through a large buffer and flushed to disk on close.
///
/// A file opened `bypassingCache` (a run's large outputs: clean rows, rejected rows, both
/// ledgers) is written in whole blocks of 1 MiB straight to the disk (O_DIRECT), past the
/// system's page cache, and only its last partial block through the cache. Every page a cached
/// write fills is one the system has to find, and on a virtual machine whose host takes back the memory its guest frees, finding it costs several times the
/// copy into it: writing the 4,000,000-row roster's gigabyte of outputs through the cache took
/// seconds of system time. Where the file system refuses direct writes, the file is written
/// through the cache as any other.
///
/// A direct write waits for the disk, a millisecond or more for each block (much more when the
/// disk is busy), so a full block is written on a thread of its own while the next one fills
/// (`WriteBehind`): at most two blocks wait to be written, and the writer of rows waits only
/// when the disk falls that far behind.
public final class BufferedFile {
    public let path: String
    private var fd: Int32
    /// Bytes waiting to be written: `capacity` of them at most, at an address aligned for direct writes.
    private var storage: UnsafeMutableRawPointer
    private var count = 0
    private let capacity: Int
    /// Whole blocks are written past the page cache (see above).
    public private(set) var isDirect: Bool
    public private(set) var failure: WriteError?
    /// Bytes written so far, and how many of them are already on their way to disk: the
    /// disk writes while the run computes, instead of all at once when `close` syncs.
    private var written = 0
    private var writebackStarted = 0
    private static let writebackStep = 8 << 20
    private static let cachedCapacity = 1 << 16
    private static let directCapacity = 1 << 20
    /// What a direct write's address, length and file offset must be multiples of (a page
    /// covers every block size in use).
    private static let alignment = 4096
    /// The thread writing a direct file's full blocks; nil for a file through the cache.
    private let behind: WriteBehind?

    public init(path: String, append: Bool = false, bypassingCache: Bool = false) throws(WriteError) {
        self.path = path
        let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        var fd: Int32 = -1
        var direct = false
        if bypassingCache && !append && schoolstat_direct_flag() != 0 {
            fd = open(path, flags | schoolstat_direct_flag(), 0o644)
            direct = fd >= 0
        }
        if fd < 0 { fd = open(path, flags, 0o644) }
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        isDirect = direct
        capacity = direct ? Self.directCapacity : Self.cachedCapacity
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, Self.alignment, capacity) == 0, let memory else {
            _ = Glibc.close(fd)
            throw WriteError(path: path, reason: String(cString: strerror(ENOMEM)))
        }
        storage = memory
        behind = direct ? WriteBehind(fd: fd, path: path, blockSize: Self.directCapacity) : nil
        if append {
            written = max(0, Int(lseek(fd, 0, SEEK_END)))
            writebackStarted = written
        }
    }

    @inline(__always)
    public func write(_ bytes: some Sequence<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ write(UnsafeRawBufferPointer($0)) }) != nil { return }
        for byte in bytes {
            storage.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
            count += 1
            if count == capacity { drain() }
        }
    }

    /// Copies `raw` in, writing out each time the buffer fills.
    public func write(_ raw: UnsafeRawBufferPointer) {
        guard var from = raw.baseAddress else { return }
        var left = raw.count
        while left > 0 {
            let n = min(capacity - count, left)
            (storage + count).copyMemory(from: from, byteCount: n)
            count += n
            from += n
            left -= n
            if count == capacity { drain() }
        }
    }

    public func write(_ s: String) { write(s.utf8) }

    public func write(_ lines: CSVLines) { lines.withBytes { write(UnsafeRawBufferPointer($0)) } }

    /// Writes all of `raw` to `fd`, retrying short and interrupted writes; false (with
    /// `errno` set) when the system refuses.
    public static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Clears `fd`'s direct flag: its writes go through the cache from now on; false when the
    /// system refuses.
    fileprivate static func stopBypassing(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        return flags >= 0 && fcntl(fd, F_SETFL, flags & ~schoolstat_direct_flag()) == 0
    }

    /// Writes what is waiting: all of it through the cache; the whole blocks of it when direct,
    /// the rest staying for the next write or `close`.
    public func flush() {
        catchUp()
        let n = isDirect ? count & ~(Self.alignment - 1) : count
        guard n > 0 else { return }
        write(first: n)
    }

    /// The buffer is full: all of it goes out (a whole number of blocks), a direct file's on
    /// the thread behind it while the next block fills.
    private func drain() {
        guard let behind, failure == nil, let next = behind.handOver(storage, count: count) else { return write(first: count) }
        written += count
        storage = next
        count = 0
    }

    /// Waits for the blocks handed to the thread behind the file; what went wrong there becomes
    /// the file's failure.
    private func catchUp() {
        guard let behind else { return }
        if let problem = behind.wait(), failure == nil { failure = problem }
    }

    private func write(first n: Int) {
        defer {
            written += n
            count -= n
            if count > 0 { storage.copyMemory(from: storage + n, byteCount: count) }
        }
        guard failure == nil else { return }
        var offset = 0
        while offset < n {
            let got = Glibc.write(fd, storage + offset, n - offset)
            if got >= 0 { offset += got; continue }
            if errno == EINTR { continue }
            // A file system that took the direct open but not the write (or a short write that
            // left the offset out of line): the rest goes through the cache.
            if isDirect && errno == EINVAL && stopBypassing() { continue }
            failure = WriteError(path: path, reason: String(cString: strerror(errno)))
            return
        }
        if !isDirect && written + n - writebackStarted >= Self.writebackStep {
            _ = schoolstat_start_writeback(fd, Int64(writebackStarted), Int64(written + n - writebackStarted))
            writebackStarted = written + n
        }
    }

    /// Turns direct writing off for the rest of the file; false when the system refuses.
    private func stopBypassing() -> Bool {
        guard Self.stopBypassing(fd) else { return false }
        isDirect = false
        writebackStarted = written
        return true
    }

    /// Writes what is left (a direct file's last partial block through the cache), syncs to
    /// disk and closes; the file is complete when this returns.
    public func close() throws(WriteError) {
        if fd >= 0 {
            flush() // after the blocks behind it
            if count > 0 && isDirect && !stopBypassing() && failure == nil {
                failure = WriteError(path: path, reason: String(cString: strerror(errno)))
            }
            if count > 0 { write(first: count) }
            if fsync(fd) != 0 && failure == nil { failure = WriteError(path: path, reason: String(cString: strerror(errno))) }
            _ = Glibc.close(fd)
            fd = -1
        }
        if let failure { throw failure }
    }

    deinit {
        _ = behind?.wait()
        if fd >= 0 { _ = Glibc.close(fd) }
        free(storage)
    }
}

/// A direct file's full blocks, written in order on a thread of their own: at most
/// `blocksInFlight` wait, each in a buffer of its own, given back for filling once written.
private final class WriteBehind: @unchecked Sendable {
    private static let blocksInFlight = 2
    private let stage = BoundedStage(label: "schoolstat-write", capacity: blocksInFlight)
    private let fd: Int32
    private let path: String
    private let blockSize: Int
    /// Buffers written and free to fill again, and the first problem writing one (both shared
    /// with the writing thread).
    private let state = Mutex<(spare: [UncheckedPointer], failure: WriteError?)>(([], nil))

    init(fd: Int32, path: String, blockSize: Int) {
        self.fd = fd
        self.path = path
        self.blockSize = blockSize
    }

    /// Takes `count` bytes at `block` (a whole number of blocks) to write; gives a buffer to fill
    /// next, or nil (the caller writing the bytes itself) when there is no memory for one.
    /// Waits while `blocksInFlight` blocks are waiting.
    func handOver(_ block: UnsafeMutableRawPointer, count: Int) -> UnsafeMutableRawPointer? {
        var next = state.withLock { $0.spare.popLast()?.pointer }
        if next == nil {
            var memory: UnsafeMutableRawPointer?
            if posix_memalign(&memory, 4096, blockSize) == 0 { next = memory }
        }
        guard let next else { return nil }
        let written = UncheckedPointer(block)
        stage.submit { [self] in
            if let problem = write(written.pointer, count) { state.withLock { if $0.failure == nil { $0.failure = problem } } }
            state.withLock { $0.spare.append(written) }
        }
        return next
    }

    /// Waits until every block handed over is written; the first problem writing one, or nil.
    func wait() -> WriteError? {
        stage.drain()
        return state.withLock { $0.failure }
    }

    /// Writes the bytes, retrying short and interrupted writes; a file system that took the
    /// direct open but not the write gets them, and the rest of the file, through the cache.
    private func write(_ from: UnsafeMutableRawPointer, _ n: Int) -> WriteError? {
        var offset = 0
        var bypassing = true
        while offset < n {
            let got = Glibc.write(fd, from + offset, n - offset)
            if got >= 0 { offset += got; continue }
            if errno == EINTR { continue }
            if bypassing && errno == EINVAL && BufferedFile.stopBypassing(fd) {
                bypassing = false
                continue
            }
            return WriteError(path: path, reason: String(cString: strerror(errno)))
        }
        return nil
    }

    deinit {
        state.withLock { for block in $0.spare { free(block.pointer) } }
    }
}

/// A buffer's address handed to the writing thread, which alone uses it until it gives it back.
private struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}
