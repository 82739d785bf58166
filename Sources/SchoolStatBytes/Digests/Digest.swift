// Bytes (writing): SHA-256 of input and rule files for the run summary, computed while reading,
// by OpenSSL's libcrypto (Debian's libssl-dev), which uses the CPU's SHA instructions when it has them.
import CLibCrypto

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

/// SHA-256 computed on its own thread: the reading thread hands over copies of the
/// chunks it reads (at most four waiting) and gets the digest at the end.
public final class BackgroundDigest: @unchecked Sendable {
    public init() {}
    private var hasher = SHA256()
    private let stage = BoundedStage(label: "schoolstat.digest", capacity: 4)

    public func update(_ chunk: UnsafeRawBufferPointer) {
        let copy = [UInt8](chunk)
        stage.submit { copy.withUnsafeBytes { self.hasher.update($0) } }
    }

    /// Waits for the chunks handed over so far and returns the digest.
    public func finalHex() -> String {
        stage.drain { hasher.finalHex() }
    }
}
