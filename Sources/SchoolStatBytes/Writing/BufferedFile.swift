// Bytes (writing): a file written through a large buffer, handed to the disk as it grows and
// synced on close; every output file goes through it.
import CSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// A file written through a large buffer and flushed to disk on close.
public final class BufferedFile {
    public let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private static let capacity = 1 << 16
    public private(set) var failure: WriteError?
    /// Bytes written so far, and how many of them are already on their way to disk: the
    /// disk writes while the run computes, instead of all at once when `close` syncs.
    private var written = 0
    private var writebackStarted = 0
    private static let writebackStep = 8 << 20

    public init(path: String, append: Bool = false) throws(WriteError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(Self.capacity)
        if append {
            written = max(0, Int(lseek(fd, 0, SEEK_END)))
            writebackStarted = written
        }
    }

    @inline(__always)
    public func write(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.capacity { flush() }
    }

    public func write(_ s: String) { write(s.utf8) }

    public func write(_ lines: CSVLines) { lines.withBytes { write($0) } }

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

    public func flush() {
        guard !buffer.isEmpty, failure == nil else { buffer.removeAll(keepingCapacity: true); return }
        if !buffer.withUnsafeBytes({ Self.writeAll(fd, $0) }) {
            failure = WriteError(path: path, reason: String(cString: strerror(errno)))
        }
        written += buffer.count
        buffer.removeAll(keepingCapacity: true)
        if written - writebackStarted >= Self.writebackStep {
            _ = schoolstat_start_writeback(fd, Int64(writebackStarted), Int64(written - writebackStarted))
            writebackStarted = written
        }
    }

    /// Flushes, syncs to disk and closes; the file is complete when this returns.
    public func close() throws(WriteError) {
        flush()
        if fd >= 0 {
            if fsync(fd) != 0 && failure == nil { failure = WriteError(path: path, reason: String(cString: strerror(errno))) }
            _ = Glibc.close(fd)
            fd = -1
        }
        if let failure { throw failure }
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }
}
