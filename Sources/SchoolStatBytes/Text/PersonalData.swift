// Bytes: personal data at the byte level — the ID number's checksum, birth date and sex, and the
// masks that keep a full ID number or name out of every message, ledger and clean file.
import CSupport
import SchoolStatModel

/// The 18-character resident ID number (GB 11643-1999).
public enum IDNumber {
    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checkCharacters: [UInt8] = Array("10X98765432".utf8)

    /// ISO 7064 MOD 11-2 over the first 17 digits gives the 18th character.
    public static func checksumIsValid(_ id: String) -> Bool {
        return id.withBytes { b in
            guard b.count == 18 else { return false }
            var sum = 0
            for i in 0..<17 {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return false }
                sum += Int(b[i] - 0x30) * weights[i]
            }
            let last = b[17] == 0x78 ? 0x58 : b[17]
            return checkCharacters[sum % 11] == last
        }
    }

    public static func birthDate(_ id: String) -> Day? {
        return id.withBytes { b in
            guard b.count == 18, b[6..<14].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            func n(_ r: Range<Int>) -> Int { b[r].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
            return Day(year: n(6..<10), month: n(10..<12), day: n(12..<14))
        }
    }

    /// The 17th digit is odd for men and even for women.
    public static func sex(_ id: String) -> String? {
        return id.withBytes { b in
            guard b.count == 18, b[16] >= 0x30 && b[16] <= 0x39 else { return nil }
            return (b[16] - 0x30) % 2 == 1 ? "male" : "female"
        }
    }

    /// Digits that make a number look like an ID number (18, or 15 for the first-generation cards).
    public static let scrubbedRunLength = 15

    /// `text` with every number that looks like an ID number masked as `mask` does: 15 or more
    /// digits (ASCII or full-width), with a final `X` if there is one, written in one run or in
    /// groups split by single spaces or dashes as people type them (`500110 19780817 0079`,
    /// `500110-19780817-0079`; every group but the last of four digits or more, so that dates and
    /// phone numbers side by side are left alone). A grouped number is masked without its
    /// separators (`500110********0079`). Whatever column a number landed in (a comma in a name
    /// shifts it into the next one), it never reaches a message or the ledger whole. Text without
    /// such a number is returned as it is, after one pass over its bytes.
    /// The quick test `scrub` starts with: false when `text` cannot hold such a number, after a
    /// look at a fraction of its bytes (without copying it).
    @inline(__always)
    public static func mayHoldIDNumber(_ text: String) -> Bool {
        let utf8 = text.utf8
        if utf8.count < scrubbedRunLength { return false }
        return utf8.withContiguousStorageIfAvailable { schoolstat_may_hold_digit_run($0.baseAddress, $0.count, scrubbedRunLength) != 0 } ?? true
    }

    /// A group of fewer digits ends a grouped number.
    static let continuedGroupLength = 4

    @inline(__always) static func isDigit(_ c: Unicode.Scalar) -> Bool { (0x30...0x39).contains(c.value) || (0xFF10...0xFF19).contains(c.value) }
    @inline(__always) static func isCheck(_ c: Unicode.Scalar) -> Bool { c == "X" || c == "x" || c == "Ｘ" || c == "ｘ" }
    /// Space, no-break space, ideographic space; hyphen-minus and its full-width form.
    @inline(__always) static func isSeparator(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "-" || c == "\u{00A0}" || c == "\u{3000}" || c == "\u{FF0D}"
    }

    public static func scrub(_ text: String) -> String {
        // A quick look first: such a number is 15 bytes in a row that can belong to a digit or a
        // separator (or holds a full-width digit). Looking at every 15th byte and around the few
        // that can, most text is passed over in a fraction of its bytes; only text with such a
        // run of bytes takes the exact pass below.
        guard mayHoldIDNumber(text) else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var changed = false
        while i < scalars.count {
            guard isDigit(scalars[i]) else { out.append(scalars[i]); i += 1; continue }
            // The groups from here: each one after a single separator, while the one before has
            // four digits or more.
            var end = i, digits = 0, firstEnd = i
            var j = i
            while true {
                var k = j
                while k < scalars.count && isDigit(scalars[k]) { k += 1 }
                if j == i { firstEnd = k }
                digits += k - j
                end = k
                guard k - j >= continuedGroupLength, k + 1 < scalars.count, isSeparator(scalars[k]), isDigit(scalars[k + 1]) else { break }
                j = k + 1
            }
            guard digits >= scrubbedRunLength else {
                // Not a number to hide: its first group as it is, then on from there.
                out.append(contentsOf: scalars[i..<firstEnd])
                i = firstEnd
                continue
            }
            if end < scalars.count && isCheck(scalars[end]) { end += 1 }
            let kept = scalars[i..<end].filter { !isSeparator($0) }
            for (k, c) in kept.enumerated() { out.append(keeps(k, of: kept.count) ? c : "*") }
            changed = true
            i = end
        }
        return changed ? String(out) : text
    }

    /// `500102********123X`: region kept for context, birth date and serial hidden.
    public static func mask(_ id: String) -> String {
        var text = id
        let ascii = text.withUTF8 { b -> String? in
            guard b.allSatisfy({ $0 < 0x80 }) else { return nil }
            return String(unsafeUninitializedCapacity: b.count) { out in
                for i in 0..<b.count { out[i] = keeps(i, of: b.count) ? b[i] : UInt8(ascii: "*") }
                return b.count
            }
        }
        if let ascii { return ascii }
        let chars = Array(id)
        return String(chars.indices.map { i in keeps(i, of: chars.count) ? chars[i] : "*" })
    }

    /// The masking rule, by character: of more than eight, the first six and the last four are
    /// kept (for nine they overlap); of eight or fewer, none.
    @inline(__always)
    public static func keeps(_ i: Int, of count: Int) -> Bool {
        count > 8 && (i < keptHead || i >= count - keptTail)
    }

    /// How many characters `keeps` keeps at each end of a long one.
    public static let keptHead = 6, keptTail = 4
}

/// A person's name as outputs show it.
public enum PersonName {
    /// `张三丰` → `张**`: the family name stays for readability.
    public static func mask(_ name: String) -> String {
        guard let first = name.first else { return name }
        return String(first) + String(repeating: "*", count: max(1, name.count - 1))
    }
}
