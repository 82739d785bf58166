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
}
