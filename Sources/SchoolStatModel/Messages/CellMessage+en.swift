// Model (messages): the English catalogue of cell messages.

extension CellMessage {
    public func en(_ c: CellSubject) -> String {
        switch self {
        case .required:
            return "\(c.titleEn) (\(c.name)) is required but empty.\(c.hintEn)"
        case let .length(expected, found, shown):
            return "\(c.titleEn) must have \(expected) characters, found \(found) (\"\(shown)\").\(c.hintEn)"
        case let .pattern(shown):
            return "\(c.titleEn) value \"\(shown)\" does not have the expected form.\(c.hintEn)"
        case let .scientific(shown):
            return "\(c.titleEn) \"\(shown)\" is in Excel scientific notation; the digits are lost. Format the column as Text in Excel, re-enter the codes and export again."
        case let .digits(shown):
            return "\(c.titleEn) must contain digits only, found \"\(shown)\".\(c.hintEn)"
        case let .notNumber(integer, unit, shown):
            return "\(c.titleEn) must be \(integer ? "a whole number" : "a number")\(unit.map { " in \($0)" } ?? ""), found \"\(shown)\".\(c.hintEn)"
        case let .misplacedGrouping(shown):
            return "\(c.titleEn) \"\(shown)\" has misplaced thousands separators; the number is ambiguous. Remove the commas and re-enter it."
        case let .tooManyDigits(shown):
            return "\(c.titleEn) \"\(shown)\" has too many digits."
        case let .unknownUnit(shown, written, unit, _):
            return "\(c.titleEn) \"\(shown)\": unit \"\(written)\" is not accepted; this column is in \(unit)."
        case let .notWhole(shown, read):
            return "\(c.titleEn) must be a whole number, found \"\(shown)\" (\(read))."
        case let .outOfRange(shown, range, unit, _, headerUnit, read):
            let scaled = headerUnit.map { " (the header says \($0), so this is \(read) \(unit))" } ?? ""
            return "\(c.titleEn) \"\(shown)\"\(scaled) is outside the plausible range \(range) \(unit).\(c.hintEn)"
        case let .notDate(shown):
            return "\(c.titleEn) \"\(shown)\" is not a valid date. Write it as 2024-09-01, 2024/9/1 or 2024年9月1日.\(c.hintEn)"
        case let .dateOutOfRange(day, shown, range):
            return "\(c.titleEn) \(day) (\"\(shown)\") is outside \(range)."
        case let .notBoolean(shown):
            return "\(c.titleEn) must be yes or no (是/否, Y/N, 1/0), found \"\(shown)\"."
        case let .notAccepted(shown, _, acceptedEn):
            return "\(c.titleEn) \"\(shown)\" is not an accepted value. Accepted: \(acceptedEn)."
        }
    }
}
