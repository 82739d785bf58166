// Bytes (normalising): traditional to simplified Chinese through OpenCC (Debian's libopencc).
import COpenCC
import Foundation
import SchoolStatModel

/// Converts traditional Chinese to simplified with OpenCC's `t2s` configuration.
///
/// Most cells are already simplified, so at start-up the converter learns
/// which single characters OpenCC would change and only calls OpenCC for
/// strings that contain one of them. Conversions are serialised by a lock, so
/// one converter can be shared.
public final class ChineseConverter: @unchecked Sendable {
    private let handle: opencc_t?
    /// One bit per code point below U+10000: set when OpenCC changes that character on its own.
    private var traditional = [UInt64](repeating: 0, count: 0x10000 / 64)
    private var cache: [String: String] = [:]
    private let lock = NSLock()

    public init() {
        var h = opencc_open("t2s.json")
        if h == nil || h == opencc_t(bitPattern: -1) {
            h = opencc_open("/usr/share/opencc/t2s.json")
        }
        handle = (h == nil || h == opencc_t(bitPattern: -1)) ? nil : h
        learnTraditionalCharacters()
    }

    deinit {
        if let handle { _ = opencc_close(handle) }
    }

    /// Whether OpenCC's data could be loaded; without it text is left as it is.
    public var isAvailable: Bool { handle != nil }

    public func needsConversion(_ s: String) -> Bool {
        for u in s.unicodeScalars where u.value >= 0x3400 {
            let v = Int(u.value)
            if v >= 0x10000 { continue }
            if traditional[v >> 6] & (1 << UInt64(v & 63)) != 0 { return true }
        }
        return false
    }

    /// The same from UTF-8 bytes (characters U+3400–FFFF are three bytes, lead E3–EF).
    public func needsConversion(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0xE3 || c > 0xEF || i + 2 >= n { i += 1; continue }
            let v = Int(c & 0x0F) << 12 | Int(b[i + 1] & 0x3F) << 6 | Int(b[i + 2] & 0x3F)
            if v >= 0x3400 && traditional[v >> 6] & (1 << UInt64(v & 63)) != 0 { return true }
            i += 3
        }
        return false
    }

    public func toSimplified(_ s: String) -> String {
        guard handle != nil, needsConversion(s) else { return s }
        lock.lock()
        defer { lock.unlock() }
        if let hit = cache[s] { return hit }
        let converted = convert(s)
        if cache.count > 50_000 { cache.removeAll(keepingCapacity: true) }
        cache[s] = converted
        return converted
    }

    private func convert(_ s: String) -> String {
        guard let handle else { return s }
        var bytes = Array(s.utf8)
        let count = bytes.count
        return bytes.withUnsafeMutableBufferPointer { buf -> String in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: count) { p in
                guard let out = opencc_convert_utf8(handle, p, count) else { return s }
                defer { opencc_convert_utf8_free(out) }
                return String(cString: out)
            }
        }
    }

    private func learnTraditionalCharacters() {
        guard handle != nil else { return }
        let ranges: [ClosedRange<UInt32>] = [0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF]
        for range in ranges {
            var scalars: [Unicode.Scalar] = []
            for v in range { if let u = Unicode.Scalar(v) { scalars.append(u) } }
            // One character per line so OpenCC's phrase tables do not join neighbours.
            var text = String.UnicodeScalarView()
            for u in scalars { text.append(u); text.append("\n") }
            let converted = convert(String(text)).split(separator: "\n", omittingEmptySubsequences: false)
            guard converted.count >= scalars.count else { continue }
            for (i, u) in scalars.enumerated() where converted[i] != Substring(String(u)) {
                let v = Int(u.value)
                traditional[v >> 6] |= 1 << UInt64(v & 63)
            }
        }
    }
}
