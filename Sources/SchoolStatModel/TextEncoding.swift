// Model (reading): which character encoding a file is in, and how it was decided.

/// The encodings Chinese spreadsheet exports arrive in.
public enum TextEncoding: String, Sendable, CaseIterable, Codable {
    case utf8 = "utf-8"
    case utf8BOM = "utf-8-bom"
    case gb18030 = "gb18030"
    case utf16LE = "utf-16le"
    case utf16BE = "utf-16be"

    /// Accepts the names people type on a command line: `gbk`, `GB2312`, `utf8`, `UTF-16`.
    public init?(userName: String) {
        let key = userName.lowercased().replacingOccurrences(of: "_", with: "-")
        switch key {
        case "utf-8", "utf8": self = .utf8
        case "utf-8-bom", "utf8-bom", "utf-8-sig", "utf8bom": self = .utf8BOM
        case "gb18030", "gbk", "gb2312", "cp936", "936": self = .gb18030
        case "utf-16le", "utf16le", "utf-16", "utf16", "unicode": self = .utf16LE
        case "utf-16be", "utf16be": self = .utf16BE
        default: return nil
        }
    }

    /// The name iconv knows this encoding by.
    public var iconvName: String {
        switch self {
        case .utf8, .utf8BOM: return "UTF-8"
        case .gb18030: return "GB18030"
        case .utf16LE: return "UTF-16LE"
        case .utf16BE: return "UTF-16BE"
        }
    }

    /// Length of the byte-order mark this encoding starts with in a file, if any.
    public var bomLength: Int {
        switch self {
        case .utf8BOM: return 3
        case .utf16LE, .utf16BE: return 2
        default: return 0
        }
    }

    /// Bytes to skip after an undecodable sequence: one code unit.
    public var invalidSkip: Int {
        switch self {
        case .utf16LE, .utf16BE: return 2
        default: return 1
        }
    }

    /// Chooses an encoding from the first bytes of a file.
    ///
    /// A byte-order mark decides outright. Without one, text with NUL bytes in
    /// alternate positions is UTF-16; text that is (almost all) valid UTF-8 is UTF-8;
    /// anything else is taken as GB18030, the superset of GBK and GB2312 that
    /// Excel on a Chinese Windows writes.
    public static func detect(prefix: [UInt8], isWholeFile: Bool) -> TextEncoding {
        if prefix.starts(with: [0xEF, 0xBB, 0xBF]) { return .utf8BOM }
        if prefix.starts(with: [0xFF, 0xFE]) { return .utf16LE }
        if prefix.starts(with: [0xFE, 0xFF]) { return .utf16BE }
        if prefix.count >= 4 {
            let pairs = prefix.count / 2
            var evenZero = 0, oddZero = 0
            for i in 0..<pairs {
                if prefix[2 * i] == 0 { evenZero += 1 }
                if prefix[2 * i + 1] == 0 { oddZero += 1 }
            }
            if oddZero * 3 > pairs && evenZero * 10 < pairs { return .utf16LE }
            if evenZero * 3 > pairs && oddZero * 10 < pairs { return .utf16BE }
        }
        // Mostly-valid UTF-8 with a few damaged bytes is still UTF-8: the damaged
        // cells are reported, not the whole file misread as GB18030.
        let (valid, invalid) = utf8SequenceCounts(prefix, allowTruncatedTail: !isWholeFile)
        return invalid == 0 || valid >= 8 * invalid ? .utf8 : .gb18030
    }

    /// Counts well-formed multi-byte UTF-8 sequences and malformed bytes.
    public static func utf8SequenceCounts(_ bytes: [UInt8], allowTruncatedTail: Bool) -> (valid: Int, invalid: Int) {
        var valid = 0, invalid = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let need: Int
            if b >= 0xC2 && b <= 0xDF { need = 1 } else if b & 0xF0 == 0xE0 { need = 2 } else if b >= 0xF0 && b <= 0xF4 { need = 3 } else {
                invalid += 1; i += 1; continue
            }
            if i + need >= n {
                if !allowTruncatedTail { invalid += 1 }
                break
            }
            if (1...need).allSatisfy({ bytes[i + $0] & 0xC0 == 0x80 }) {
                valid += 1
                i += need + 1
            } else {
                invalid += 1
                i += 1
            }
        }
        return (valid, invalid)
    }

}
