// Bytes (text): text from the data made safe inside an HTML page, as element text or as a quoted
// attribute's value — the one escaping every page schoolstat writes goes through.
public enum HTMLText {
    /// `& < > " '` as character references; text with none of them (most values) is returned as
    /// it is, after one pass over its bytes.
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { b in b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x27 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
