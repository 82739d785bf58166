// Writing: buffered CSV output, RFC 4180 quoting, and the guard against
// spreadsheet formula injection.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What happened writing an output file.
public struct WriteError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "无法写入 \(path)：\(reason) (cannot write \(path): \(reason))" }
}

/// A file written through a large buffer and flushed to disk on close.
final class BufferedFile {
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private static let capacity = 1 << 16
    private(set) var failure: WriteError?

    init(path: String, append: Bool = false) throws(WriteError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(Self.capacity)
    }

    @inline(__always)
    func write(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.capacity { flush() }
    }

    func write(_ s: String) { write(s.utf8) }

    func flush() {
        guard !buffer.isEmpty, failure == nil else { buffer.removeAll(keepingCapacity: true); return }
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = WriteError(path: path, reason: String(cString: strerror(errno)))
                    return
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs to disk and closes; the file is complete when this returns.
    func close() throws(WriteError) {
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

/// Writes CSV rows with minimal quoting.
struct CSVWriter {
    let file: BufferedFile

    /// Excel treats a cell starting with these as a formula.
    static let formulaTriggers: Set<UInt8> = [0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D] // = + - @ TAB CR

    /// Whether a value would start a live formula in a spreadsheet. Plain
    /// numbers such as `-5` or `+3.2` are left alone: Excel reads them as numbers.
    static func isFormulaLike(_ s: String) -> Bool {
        guard let first = s.utf8.first, formulaTriggers.contains(first) else { return false }
        if first == 0x2D || first == 0x2B {
            return NumberText.parsePlainDecimal(s) == nil
        }
        return true
    }

    /// Neutralises a formula-like value by a leading apostrophe, the form
    /// Excel itself uses for "text, not formula".
    static func defuse(_ s: String) -> String { isFormulaLike(s) ? "'" + s : s }

    func writeRow(_ fields: [String], defuse: Bool = true) {
        var first = true
        for field in fields {
            if !first { file.write(CollectionOfOne(UInt8(0x2C))) }
            first = false
            writeField(defuse ? Self.defuse(field) : field)
        }
        file.write(CollectionOfOne(UInt8(0x0A)))
    }

    @inline(__always)
    func writeField(_ s: String) {
        var needsQuotes = false
        for b in s.utf8 where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D {
            needsQuotes = true
            break
        }
        if let f = s.utf8.first, f == 0x20 { needsQuotes = true }
        if let l = s.utf8.last, l == 0x20 { needsQuotes = true }
        if !needsQuotes {
            file.write(s.utf8)
            return
        }
        file.write(CollectionOfOne(UInt8(0x22)))
        for b in s.utf8 {
            if b == 0x22 { file.write(CollectionOfOne(UInt8(0x22))) }
            file.write(CollectionOfOne(b))
        }
        file.write(CollectionOfOne(UInt8(0x22)))
    }
}
