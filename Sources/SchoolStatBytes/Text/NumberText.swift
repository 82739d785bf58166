// Bytes (normalising): reading numbers as people write them in exports —
// `1,814.2`, `-3`, `1.2E+05`, `15.4203万`, `21.528%`.
import SchoolStatModel

public enum NumberText {
    public enum Failure: Error, Equatable {
        case notANumber
        case tooManyDigits
        case badGrouping
    }

    /// Reads a number at the start of already-cleaned text (full-width folded)
    /// and returns it with the text that follows it, trimmed.
    public static func parseLeading(_ s: String) -> Result<(FixedDecimal, String), Failure> {
        var s = s
        return s.withUTF8 { bytes in
            parseLeading(bytes).map { number, restStart in
                let rest = restStart < bytes.count ? String(decoding: UnsafeBufferPointer(rebasing: bytes[restStart...]), as: UTF8.self).trimmingSpaces() : ""
                return (number, rest)
            }
        }
    }

    /// The same on UTF-8 bytes: the number and where the text after it starts.
    public static func parseLeading(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<(FixedDecimal, Int), Failure> {
        // Whole numbers of up to 18 digits and nothing else (counts, hours, yuan), read at once.
        if bytes.count > 0 && bytes.count <= 18 {
            var value: Int64 = 0
            var allDigits = true
            for b in bytes {
                guard b >= 0x30 && b <= 0x39 else { allDigits = false; break }
                value = value &* 10 &+ Int64(b &- 0x30)
            }
            if allDigits { return .success((FixedDecimal(mantissa: value, exponent: 0), bytes.count)) }
        }
        var i = 0
        var negative = false
        if i < bytes.count && (bytes[i] == 0x2D || bytes[i] == 0x2B) { // - +
            negative = bytes[i] == 0x2D
            i += 1
        }
        var mantissa: Int64 = 0
        var exponent = 0
        var digits = 0
        var sawPoint = false
        var groupLength = -1 // digits since the last thousands separator; -1 before any
        var sawGroup = false
        var significant = 0
        while i < bytes.count {
            let b = bytes[i]
            if b >= 0x30 && b <= 0x39 {
                if mantissa != 0 || b != 0x30 { significant += 1 }
                if significant > 18 { return .failure(.tooManyDigits) }
                mantissa = mantissa * 10 + Int64(b - 0x30)
                if sawPoint { exponent -= 1 }
                digits += 1
                if groupLength >= 0 && !sawPoint { groupLength += 1 }
                i += 1
            } else if b == 0x2C && !sawPoint && digits > 0 { // thousands separator
                if sawGroup && groupLength != 3 { return .failure(.badGrouping) }
                if !sawGroup && digits > 3 { return .failure(.badGrouping) }
                sawGroup = true
                groupLength = 0
                i += 1
            } else if b == 0x2E && !sawPoint { // .
                if sawGroup && groupLength != 3 { return .failure(.badGrouping) }
                sawPoint = true
                i += 1
            } else {
                break
            }
        }
        if digits == 0 { return .failure(.notANumber) }
        if sawGroup && !sawPoint && groupLength != 3 { return .failure(.badGrouping) }
        // Exponent, as Excel writes large numbers: 1.2E+05
        if i < bytes.count && (bytes[i] == 0x45 || bytes[i] == 0x65) {
            var j = i + 1
            var expNegative = false
            if j < bytes.count && (bytes[j] == 0x2B || bytes[j] == 0x2D) { expNegative = bytes[j] == 0x2D; j += 1 }
            var e = 0
            var expDigits = 0
            while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39, expDigits < 3 {
                e = e * 10 + Int(bytes[j] - 0x30); j += 1; expDigits += 1
            }
            if expDigits > 0 {
                exponent += expNegative ? -e : e
                i = j
            }
        }
        while i < bytes.count && bytes[i] == 0x20 { i += 1 }
        return .success((FixedDecimal(mantissa: negative ? -mantissa : mantissa, exponent: exponent), i))
    }

    /// A whole string that is a plain number (rule files, parameters).
    public static func parsePlainDecimal(_ s: String) -> FixedDecimal? {
        guard case .success(let (value, rest)) = parseLeading(s.trimmingSpaces()), rest.isEmpty else { return nil }
        return value
    }

    /// Whether text looks like Excel's scientific notation (`5.00102E+17`), which
    /// destroys the digits of long codes and ID numbers.
    public static func looksLikeScientific(_ s: String) -> Bool {
        // ASCII text (every cell that could be one), byte by byte: each byte is a character.
        if let verdict = s.withBytes({ b -> Bool? in
            guard b.allSatisfy({ $0 < 0x80 }) else { return nil }
            guard let e = b.firstIndex(where: { $0 == 0x45 || $0 == 0x65 }), e > 0 else { return false }
            for c in b[..<e] where !((c >= 0x30 && c <= 0x39) || c == 0x2E) { return false }
            let power = b[(e + 1)...]
            guard power.count >= 2, let sign = power.first, sign == 0x2B || sign == 0x2D || (sign >= 0x30 && sign <= 0x39) else { return false }
            return power.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }) {
            return verdict
        }
        guard s.utf8.contains(where: { $0 == 0x45 || $0 == 0x65 }) else { return false }
        guard let e = s.firstIndex(where: { $0 == "E" || $0 == "e" }) else { return false }
        let mantissa = s[..<e], power = s[s.index(after: e)...]
        return !mantissa.isEmpty && mantissa.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
            && power.count >= 2 && (power.first == "+" || power.first == "-" || power.first!.isNumber)
            && power.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
    }
}

extension String {
    public func trimmingSpaces() -> String {
        var view = Substring(self)
        while let f = view.first, f == " " { view = view.dropFirst() }
        while let l = view.last, l == " " { view = view.dropLast() }
        return String(view)
    }
}
