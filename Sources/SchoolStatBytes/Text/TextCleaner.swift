// Bytes (normalising): the first pass every cell gets — invisible characters,
// full-width forms and stray spaces.
import SchoolStatModel

/// How much of the full-width range to fold to ASCII.
public enum WidthFolding {
    /// Digits, letters and punctuation: for numbers, codes, dates and enums.
    case all
    /// Digits and letters only: names keep their Chinese brackets （）.
    case alphanumerics
}

public enum TextCleaner {
    /// Cleans a cell: drops zero-width characters, turns NBSP, ideographic
    /// and other spaces into plain spaces, folds full-width forms, trims, collapses
    /// runs of spaces and removes spaces between two Chinese characters (`张 三` → `张三`).
    public static func clean(_ input: String, folding: WidthFolding) -> String {
        isAlreadyClean(input) ? input : cleanScalars(input, folding: folding)
    }

    /// The cleaning itself, character by character.
    public static func cleanScalars(_ input: String, folding: WidthFolding) -> String {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(input.unicodeScalars.count)
        for s in input.unicodeScalars {
            let v = s.value
            switch v {
            case 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD:
                continue
            case 0x09, 0x0A, 0x0D, 0x00A0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
                scalars.append(" ")
            case 0xFF01...0xFF5E:
                let ascii = Unicode.Scalar(v - 0xFEE0)!
                let alnum = (0x30...0x39).contains(ascii.value) || (0x41...0x5A).contains(ascii.value) || (0x61...0x7A).contains(ascii.value)
                scalars.append(folding == .all || alnum ? ascii : s)
            case 0x2236 where folding == .all: // RATIO ∶ as typed in 1∶12.77
                scalars.append(":")
            default:
                scalars.append(s)
            }
        }
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in scalars {
            if s == " " {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                let before = out.last!
                if !(isCJK(before) && isCJK(s)) { out.append(" ") }
                pendingSpace = false
            }
            out.append(s)
        }
        return String(out)
    }

    /// Whether `clean` would return the text unchanged, decided from its UTF-8 bytes: printable
    /// ASCII with single inner spaces, and Chinese text without spaces. Lead bytes that can start a
    /// character `clean` changes (U+0080–00BF, U+1000–2FFF, U+3000–303F, U+F000–FFFF) send the
    /// text the long way, as does a space anywhere in non-ASCII text (`张 三` → `张三`).
    @inline(__always)
    public static func isAlreadyClean(_ s: String) -> Bool {
        s.withBytes { isAlreadyClean($0) }
    }

    public static func isAlreadyClean(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // Eight bytes at a time while they are all printable ASCII other than the space (codes,
        // numbers, dates): nothing in them to clean, so only the bytes after them need a look.
        var start = 0
        if let base = bytes.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            while start + 8 <= bytes.count {
                let v = UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self)
                let nonASCII = v & highs
                let belowExclamation = (v &- 0x21 &* ones) & ~v & highs   // a byte < 0x21 (control or space)
                let x = v ^ (0x7F &* ones)
                let delete = (x &- ones) & ~x & highs                     // a byte 0x7F
                if nonASCII | belowExclamation | delete != 0 { break }
                start += 8
            }
        }
        var previousSpace = start == 0
        var sawSpace = false
        var sawNonASCII = false
        var afterE3 = false
        for b in UnsafeBufferPointer(rebasing: bytes[start...]) {
            if afterE3 {
                if b == 0x80 { return false } // U+3000–303F: the ideographic space among them
                afterE3 = false
            }
            if b < 0x80 {
                if b < 0x20 || b == 0x7F { return false }
                if b == 0x20 {
                    if previousSpace { return false }
                    previousSpace = true
                    sawSpace = true
                } else {
                    previousSpace = false
                }
                continue
            }
            previousSpace = false
            sawNonASCII = true
            switch b {
            case 0xC2, 0xE1, 0xE2, 0xEF: return false
            case 0xE3: afterE3 = true
            default: break
            }
        }
        if sawSpace && sawNonASCII { return false }
        return !previousSpace || bytes.isEmpty
    }

    public static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return true
        default: return false
        }
    }

    /// Whether `matchKey` would return already-cleaned text unchanged: no ASCII capitals and
    /// none of the characters it drops.
    public static func isOwnMatchKey(_ cleaned: String) -> Bool {
        for u in cleaned.unicodeScalars {
            let v = u.value
            if v < 0x80 {
                if (0x41...0x5A).contains(v) || droppedASCII[Int(v)] { return false }
            } else if v >= 0xFF01 && v <= 0xFF5E || droppedFromKeys.contains(u) {
                return false
            }
        }
        return true
    }

    public static func isDroppedASCII(_ b: UInt8) -> Bool { droppedASCII[Int(b)] }

    private static let droppedASCII: [Bool] = (0..<128).map { droppedFromKeys.contains(Unicode.Scalar(UInt8($0))) }

    private static let droppedFromKeys: Set<Unicode.Scalar> = [" ", "_", "-", "(", ")", "[", "]", "{", "}", "【", "】", "〔", "〕", "《", "》", "<", ">", "*", "\"", "'", "“", "”", "‘", "’", ":", "：", "（", "）"]

    /// Whether `matchKey` of these UTF-8 bytes equals `key`, without building the key
    /// when the bytes are only ASCII letters and digits (their key is themselves, lowercased).
    public static func matchKey(of bytes: UnsafeBufferPointer<UInt8>, equals key: String) -> Bool {
        let simple = bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        guard simple else { return matchKey(String(decoding: bytes, as: UTF8.self)) == key }
        let k = key.utf8
        guard k.count == bytes.count else { return false }
        return zip(bytes, k).allSatisfy { b, c in (b >= 0x41 && b <= 0x5A ? b + 0x20 : b) == c }
    }

    /// `matchKey` of already-cleaned text, built directly when the text is ASCII
    /// (lowercased, dropped characters left out); the general path otherwise.
    public static func keyOfCleaned(_ cleaned: String) -> String {
        var ascii = true
        var own = true
        cleaned.withBytes { bytes in
            for b in bytes {
                if b >= 0x80 { ascii = false; break }
                if (b >= 0x41 && b <= 0x5A) || droppedASCII[Int(b)] { own = false }
            }
        }
        guard ascii else { return isOwnMatchKey(cleaned) ? cleaned : matchKey(cleaned) }
        if own { return cleaned }
        var key: [UInt8] = []
        key.reserveCapacity(cleaned.utf8.count)
        for b in cleaned.utf8 where !droppedASCII[Int(b)] { key.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b) }
        return String(decoding: key, as: UTF8.self)
    }

    /// A lookup key: cleaned, all folded, lowercased, with spaces, underscores,
    /// hyphens and brackets of either width removed. Used for headers, enum
    /// aliases and booleans.
    public static func matchKey(_ input: String) -> String {
        let cleaned = clean(input, folding: .all).lowercased()
        var out = String.UnicodeScalarView()
        for s in cleaned.unicodeScalars where !droppedFromKeys.contains(s) {
            out.append(s)
        }
        return String(out)
    }
}
