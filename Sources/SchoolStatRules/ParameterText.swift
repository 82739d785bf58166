// Rules: a parameter's value as written in parameters.yaml, a pack, a profile or on the command
// line — a number, a date, true/false, or text.
import SchoolStatModel
import SchoolStatBytes

public enum ParameterText {
    public static func parse(_ text: String) -> Value {
        if let d = NumberText.parsePlainDecimal(text) { return d.exponent >= 0 ? .integer(d.mantissa) : .decimal(d) }
        if text.count >= 8, let day = DateText.parse(text), text.contains("-") || text.contains("/") { return .date(day) }
        if text == "true" || text == "false" { return .boolean(text == "true") }
        return .text(text)
    }

    /// Why `text`, written as a number, cannot be held exactly (more than 18 significant digits,
    /// or a power of ten beyond a 64-bit integer); nil for a number that fits and for text that
    /// is not a number.
    public static func numberProblem(_ text: String) -> String? {
        let t = text.trimmingSpaces()
        switch NumberText.parseLeading(t) {
        case .failure(.tooManyDigits) where t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 || $0 == 0x2E || $0 == 0x2C || $0 == 0x2B || $0 == 0x2D }):
            return "数字“\(t)”位数过多，超出了可处理的范围 (more than 18 significant digits)"
        case .success(let (d, rest)) where rest.isEmpty && d.exponent > 0:
            return "数字“\(t)”过大，超出了可处理的范围 (too large to hold exactly)"
        default:
            return nil
        }
    }
}
