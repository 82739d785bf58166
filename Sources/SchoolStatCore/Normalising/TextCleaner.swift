// Normalising: the first pass every cell gets — invisible characters,
// full-width forms and stray spaces.

/// How much of the full-width range to fold to ASCII.
enum WidthFolding {
    /// Digits, letters and punctuation: for numbers, codes, dates and enums.
    case all
    /// Digits and letters only: names keep their Chinese brackets （）.
    case alphanumerics
}

enum TextCleaner {
    /// Cleans a cell: drops zero-width characters, turns NBSP, ideographic
    /// and other spaces into plain spaces, folds full-width forms, trims, collapses
    /// runs of spaces and removes spaces between two Chinese characters (`张 三` → `张三`).
    static func clean(_ input: String, folding: WidthFolding) -> String {
        if isPlainASCII(input) { return input }
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

    /// Printable ASCII with no space at either end and no double spaces needs no work.
    @inline(__always)
    static func isPlainASCII(_ s: String) -> Bool {
        var previousSpace = true
        for b in s.utf8 {
            if b < 0x20 || b > 0x7E { return false }
            if b == 0x20 {
                if previousSpace { return false }
                previousSpace = true
            } else {
                previousSpace = false
            }
        }
        return !previousSpace || s.isEmpty
    }

    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return true
        default: return false
        }
    }

    /// Whether `matchKey` would return already-cleaned text unchanged: no ASCII capitals and
    /// none of the characters it drops.
    static func isOwnMatchKey(_ cleaned: String) -> Bool {
        for u in cleaned.unicodeScalars {
            if (0x41...0x5A).contains(u.value) || droppedFromKeys.contains(u) || u.value >= 0xFF01 && u.value <= 0xFF5E { return false }
        }
        return true
    }

    private static let droppedFromKeys: Set<Unicode.Scalar> = [" ", "_", "-", "(", ")", "[", "]", "{", "}", "【", "】", "〔", "〕", "《", "》", "<", ">", "*", "\"", "'", "“", "”", "‘", "’", ":", "：", "（", "）"]

    /// A lookup key: cleaned, all folded, lowercased, with spaces, underscores,
    /// hyphens and brackets of either width removed. Used for headers, enum
    /// aliases and booleans.
    static func matchKey(_ input: String) -> String {
        let cleaned = clean(input, folding: .all).lowercased()
        var out = String.UnicodeScalarView()
        for s in cleaned.unicodeScalars where !droppedFromKeys.contains(s) {
            out.append(s)
        }
        return String(out)
    }
}
