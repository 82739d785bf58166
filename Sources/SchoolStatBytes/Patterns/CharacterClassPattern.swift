// Bytes (normalising): a fast matcher for the simple patterns codes use, such as
// `[0-9]{17}[0-9X]` or `[A-Z0-9]+`. Anything richer falls back to Regex.
import SchoolStatModel

/// A whole-string pattern made of ASCII character classes and literals with
/// quantifiers `{n}`, `{m,n}`, `+`, `*`, `?`.
public struct CharacterClassPattern {
    private struct Piece {
        /// The ASCII bytes allowed, one bit each: 0–63 in `low`, 64–127 in `high`.
        var low: UInt64
        var high: UInt64
        var minimum: Int
        var maximum: Int

        init(allowed: [Bool], minimum: Int, maximum: Int) {
            low = 0
            high = 0
            for (b, yes) in allowed.enumerated() where yes {
                if b < 64 { low |= 1 << UInt64(b) } else { high |= 1 << UInt64(b - 64) }
            }
            self.minimum = minimum
            self.maximum = maximum
        }

        @inline(__always)
        func allows(_ b: UInt8) -> Bool {
            b < 64 ? low & (1 &<< UInt64(b)) != 0 : b < 128 && high & (1 &<< UInt64(b &- 64)) != 0
        }
    }

    private let pieces: [Piece]

    /// Nil when the pattern uses syntax this matcher does not handle.
    public init?(_ pattern: String) {
        let b = Array(pattern.utf8)
        var pieces: [Piece] = []
        var i = 0
        while i < b.count {
            var allowed = [Bool](repeating: false, count: 128)
            if b[i] == UInt8(ascii: "[") {
                i += 1
                guard i < b.count, b[i] != UInt8(ascii: "^") else { return nil }
                while i < b.count && b[i] != UInt8(ascii: "]") {
                    let c = b[i]
                    guard c < 128, c != UInt8(ascii: "\\") else { return nil }
                    if i + 2 < b.count && b[i + 1] == UInt8(ascii: "-") && b[i + 2] != UInt8(ascii: "]") {
                        guard b[i + 2] >= c, b[i + 2] < 128 else { return nil }
                        for x in c...b[i + 2] { allowed[Int(x)] = true }
                        i += 3
                    } else {
                        allowed[Int(c)] = true
                        i += 1
                    }
                }
                guard i < b.count else { return nil }
                i += 1
            } else {
                let c = b[i]
                guard c < 128, !"\\.()|^$?*+{}".utf8.contains(c) else { return nil }
                allowed[Int(c)] = true
                i += 1
            }
            var minimum = 1, maximum = 1
            if i < b.count {
                switch b[i] {
                case UInt8(ascii: "+"): minimum = 1; maximum = Int.max; i += 1
                case UInt8(ascii: "*"): minimum = 0; maximum = Int.max; i += 1
                case UInt8(ascii: "?"): minimum = 0; maximum = 1; i += 1
                case UInt8(ascii: "{"):
                    guard let close = b[i...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
                    let parts = String(decoding: b[(i + 1)..<close], as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
                    guard let lo = Int(parts[0]) else { return nil }
                    minimum = lo
                    maximum = parts.count == 1 ? lo : (parts[1].isEmpty ? Int.max : (Int(parts[1]) ?? -1))
                    guard parts.count <= 2, maximum >= minimum else { return nil }
                    i = close + 1
                default: break
                }
            }
            pieces.append(Piece(allowed: allowed, minimum: minimum, maximum: maximum))
        }
        self.pieces = pieces
        fixedUntilLast = pieces.dropLast().allSatisfy { $0.minimum == $0.maximum }
    }

    /// Whole-string match. Greedy per piece with backtracking over counts.
    public func matches(_ s: String) -> Bool {
        s.withBytes(matches)
    }

    public func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        fixedUntilLast ? matchInOrder(bytes) : match(bytes, 0, 0)
    }

    /// Whether every piece but the last takes a fixed count (`[0-9]{17}[0-9X]`, `[A-Z0-9]+`):
    /// then each piece's share of the text is known and nothing needs backtracking.
    private let fixedUntilLast: Bool

    private func matchInOrder(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        pieces.withUnsafeBufferPointer { pieces in
            var position = 0
            for k in pieces.indices {
                let p = pieces[k]
                let end = k == pieces.count - 1 ? bytes.count : position + p.minimum
                guard end <= bytes.count, end - position >= p.minimum, end - position <= p.maximum else { return false }
                var j = position
                while j < end {
                    guard p.allows(bytes[j]) else { return false }
                    j += 1
                }
                position = end
            }
            return position == bytes.count
        }
    }

    private func match(_ bytes: UnsafeBufferPointer<UInt8>, _ piece: Int, _ position: Int) -> Bool {
        if piece == pieces.count { return position == bytes.count }
        let p = pieces[piece]
        var count = 0
        while count < p.maximum && position + count < bytes.count && p.allows(bytes[position + count]) { count += 1 }
        if count < p.minimum { return false }
        if piece == pieces.count - 1 { return position + count == bytes.count }
        while count >= p.minimum {
            if match(bytes, piece + 1, position + count) { return true }
            count -= 1
        }
        return false
    }
}
