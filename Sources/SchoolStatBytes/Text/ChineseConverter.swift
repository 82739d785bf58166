// Bytes (normalising): traditional to simplified Chinese through OpenCC (Debian's libopencc).
import COpenCC
import CSupport
import Foundation
import SchoolStatModel

/// Converts traditional Chinese to simplified with OpenCC's `t2s` configuration.
///
/// Most cells are already simplified, so OpenCC is called only for strings that hold a
/// character it would change on its own. Which characters those are is learnt as they come:
/// the first time any text holds a CJK character, OpenCC is asked about that character alone,
/// and the answer is kept in a table every thread reads without a lock. A run meets a few
/// hundred distinct characters; asking about all 28,000 at start-up took longer than the rest
/// of the start-up together. Conversions and questions are serialised by a lock, so one
/// converter can be shared.
public final class ChineseConverter: @unchecked Sendable {
    private let handle: opencc_t?
    /// One bit per code point below U+10000 in each, in words read and set atomically
    /// (`CSupport`): `asked` once OpenCC has been asked about the character, `traditional` when
    /// it changes it. `traditional` is set before `asked`, so a reader that sees `asked` sees it.
    private let asked: UnsafeMutablePointer<UInt64>
    private let traditional: UnsafeMutablePointer<UInt64>
    private static let words = 0x10000 / 64
    private var cache: [String: String] = [:]
    private let lock = NSLock()

    public init() {
        var h = opencc_open("t2s.json")
        if h == nil || h == opencc_t(bitPattern: -1) {
            h = opencc_open("/usr/share/opencc/t2s.json")
        }
        handle = (h == nil || h == opencc_t(bitPattern: -1)) ? nil : h
        asked = .allocate(capacity: Self.words)
        asked.initialize(repeating: 0, count: Self.words)
        traditional = .allocate(capacity: Self.words)
        traditional.initialize(repeating: 0, count: Self.words)
    }

    deinit {
        if let handle { _ = opencc_close(handle) }
        asked.deallocate()
        traditional.deallocate()
    }

    /// Whether OpenCC's data could be loaded; without it text is left as it is.
    public var isAvailable: Bool { handle != nil }

    public func needsConversion(_ s: String) -> Bool {
        guard handle != nil else { return false }
        return s.unicodeScalars.contains { isTraditional(Int($0.value)) }
    }

    /// The same from UTF-8 bytes (characters U+3400–FFFF are three bytes, lead E3–EF).
    public func needsConversion(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard handle != nil else { return false }
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0xE3 || c > 0xEF || i + 2 >= n { i += 1; continue }
            let v = Int(c & 0x0F) << 12 | Int(b[i + 1] & 0x3F) << 6 | Int(b[i + 2] & 0x3F)
            if isTraditional(v) { return true }
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

    /// What OpenCC makes of `s`, without the test of which characters it would change (tests
    /// compare that test with this).
    package func convertedByOpenCC(_ s: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        return convert(s)
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

    /// Whether OpenCC changes the character `v` on its own; asked the first time, read from the
    /// table after. Only the CJK blocks below U+10000 are asked about: nothing else is converted
    /// on its own.
    @inline(__always)
    private func isTraditional(_ v: Int) -> Bool {
        guard (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xF900...0xFAFF).contains(v) else { return false }
        let word = v >> 6
        let bit: UInt64 = 1 << UInt64(v & 63)
        if schoolstat_load_acquire_u64(asked + word) & bit == 0 { ask(v, word: word, bit: bit) }
        return schoolstat_load_relaxed_u64(traditional + word) & bit != 0
    }

    /// Asks OpenCC about one character, once, and keeps the answer.
    private func ask(_ v: Int, word: Int, bit: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        guard schoolstat_load_relaxed_u64(asked + word) & bit == 0 else { return } // another thread asked meanwhile
        guard let scalar = Unicode.Scalar(UInt32(v)) else { return }
        let character = String(scalar)
        // Other bytes may still be the same text (a compatibility ideograph and the one it
        // stands for are canonically equivalent): compared as text, as `String` compares.
        if convert(character) != character { schoolstat_or_release_u64(traditional + word, bit) }
        schoolstat_or_release_u64(asked + word, bit)
    }
}
