// Bytes (writing): SHA-256 of input and rule files for the run summary, computed while reading,
// by OpenSSL's libcrypto (Debian's libssl-dev), which uses the CPU's SHA instructions when it has them.
import CLibCrypto
import SchoolStatModel
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Incremental SHA-256 (FIPS 180-4) through libcrypto's EVP interface. Not copyable: a copy
/// would share the one digest state libcrypto holds.
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("libcrypto could not allocate a digest context") }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { fatalError("libcrypto has no SHA-256") }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard let base = data.baseAddress, !data.isEmpty else { return }
        _ = EVP_DigestUpdate(context, base, data.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest as 64 lowercase hex digits. The hasher starts again empty afterwards.
    public mutating func finalHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = digest.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        _ = EVP_DigestInit_ex(context, EVP_sha256(), nil)
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest.prefix(Int(length)) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The digest of `bytes`, as 64 hex digits.
    public static func hexDigest(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalHex()
    }
}

/// SHA-256 and size of a whole file, computed by a thread of its own that reads the file itself
/// from its start while the caller parses it: the reading threads neither copy chunks for it nor,
/// when a file is parsed in two parts, read the second part again for it.
public final class FileDigest: @unchecked Sendable {
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)
    private var result: Pending<(hex: String, bytes: Int)?>!
    /// The file read, as it was when the digest began.
    public let identity: FileIdentity?

    /// Starts on a duplicate of `fd` (the caller may close its own); nil when it cannot be had.
    /// `yielding`: the thread gives way to the run's other threads, taking a core only while
    /// it would be idle (a digest begun before the work it is not to slow down).
    public init?(fd: Int32, yielding: Bool = false) {
        let copy = dup(fd)
        guard copy >= 0 else { return nil }
        self.fd = copy
        identity = FileIdentity(fd: copy)
        // Without a thread of its own (none could be started) the digest is read here, on the
        // caller's thread, which must keep its priority.
        let caller = pthread_self()
        result = Pending(name: "schoolstat-digest") { [self] in
            var hasher = SHA256()
            if yielding && pthread_equal(pthread_self(), caller) == 0 { Threads.yieldToOthers() }
            let size = 256 << 10 // read a quarter megabyte at a time: held from the run's start when begun early
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            defer { buffer.deallocate() }
            var total = 0
            while !stopped.load(ordering: .relaxed) {
                let n = pread(copy, buffer, size, off_t(total))
                if n < 0 {
                    if errno == EINTR { continue }
                    return nil
                }
                if n == 0 { return (hasher.finalHex(), total) }
                hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
                total += n
            }
            return nil
        }
    }

    deinit {
        stopped.store(true, ordering: .relaxed)
        _ = result.value
        close(fd)
    }

    /// Waits for the whole file: its digest as 64 hex digits and its size. The file, as read to
    /// its end, must be the one `identity` names when one is given (not written to or replaced
    /// meanwhile); `path` is what an error names.
    public func finish(path: String, expecting identity: FileIdentity? = nil) throws(ReadError) -> (hex: String, bytes: Int) {
        guard let whole = result.value else { throw .unreadForDigest(path: path) }
        if let identity, FileIdentity(fd: fd) != identity { throw .changedWhileRead(path: path) }
        return whole
    }

    /// Stops reading (the caller stopped before the end).
    public func cancel() {
        stopped.store(true, ordering: .relaxed)
    }
}
