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

    private func learnTraditionalCharacters() {
        guard let handle else { return }
        let ranges: [ClosedRange<UInt32>] = [0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF]
        for range in ranges {
            // One character per line so OpenCC's phrase tables do not join neighbours, as
            // UTF-8 bytes (every character here is three bytes); what comes back is read as
            // bytes too, line by line.
            var input: [UInt8] = []
            input.reserveCapacity(range.count * 4)
            for v in range {
                input.append(UInt8(0xE0 | (v >> 12)))
                input.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
                input.append(UInt8(0x80 | (v & 0x3F)))
                input.append(0x0A)
            }
            let count = input.count
            guard let out = input.withUnsafeBufferPointer({ buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: count) { opencc_convert_utf8(handle, $0, count) }
            }) else { continue }
            defer { opencc_convert_utf8_free(out) }
            let converted = UnsafeRawPointer(out).assumingMemoryBound(to: UInt8.self)
            let length = strlen(out)
            // Line k holds what character k became; a line other than the character itself
            // (or a different number of lines) marks it as one to convert.
            var lines: [Range<Int>] = []
            lines.reserveCapacity(range.count + 1)
            var start = 0
            for i in 0..<length where converted[i] == 0x0A {
                lines.append(start..<i)
                start = i + 1
            }
            lines.append(start..<length)
            guard lines.count >= range.count else { continue }
            for (k, v) in range.enumerated() {
                let line = lines[k]
                let sameBytes = line.count == 3 && converted[line.lowerBound] == input[4 * k]
                    && converted[line.lowerBound + 1] == input[4 * k + 1] && converted[line.lowerBound + 2] == input[4 * k + 2]
                // Other bytes may still be the same text (a compatibility ideograph and the one it
                // stands for are canonically equivalent): compared as text, as `String` compares.
                if !sameBytes && String(decoding: UnsafeBufferPointer(start: converted + line.lowerBound, count: line.count), as: UTF8.self)
                    != String(decoding: input[(4 * k)..<(4 * k + 3)], as: UTF8.self) {
                    let v = Int(v)
                    traditional[v >> 6] |= 1 << UInt64(v & 63)
                }
            }
        }
    }
}
