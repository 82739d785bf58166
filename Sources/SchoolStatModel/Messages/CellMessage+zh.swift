// Model (messages): the Chinese catalogue of cell messages. Each names the column by its Chinese
// label and says what to do.

extension CellMessage {
    public func zh(_ c: CellSubject) -> String {
        switch self {
        case .required:
            return "「\(c.label)」为必填项，但此处为空。请填写\(c.titleZh)\(c.hintZh)。"
        case let .length(expected, found, shown):
            return "「\(c.label)」应为 \(expected) 个字符，实际为 \(found) 个（“\(shown)”）\(c.hintZh)。"
        case let .pattern(shown):
            return "「\(c.label)」的值“\(shown)”格式不对\(c.hintZh)。"
        case let .scientific(shown):
            return "「\(c.label)」的值“\(shown)”是 Excel 的科学计数法，原来的各位数字已经丢失。请在 Excel 中把该列设置为“文本”格式，重新填写后再导出。"
        case let .digits(shown):
            return "「\(c.label)」应只含数字，实际为“\(shown)”\(c.hintZh)。"
        case let .notNumber(integer, unit, shown):
            return "「\(c.label)」应为\(integer ? "整数" : "数字")\(unit.map { "（单位：\($0)）" } ?? "")，实际为“\(shown)”\(c.hintZh)。"
        case let .misplacedGrouping(shown):
            return "「\(c.label)」的值“\(shown)”中的千位分隔符“,”位置不对，无法确定数值。请去掉逗号后重新填写。"
        case let .tooManyDigits(shown):
            return "「\(c.label)」的值“\(shown)”位数过多，超出了可处理的范围。"
        case let .unknownUnit(shown, written, unit, spellings):
            return "「\(c.label)」的值“\(shown)”中的单位“\(written)”不适用；本列的单位是\(unit)，可写作：\(spellings)。"
        case let .notWhole(shown, read):
            return "「\(c.label)」应为整数，实际为“\(shown)”（\(read)）。"
        case let .outOfRange(shown, range, unit, negative, headerUnit, read):
            let scaled = headerUnit.map { "（表头单位为\($0)，折合 \(read)\(unit)）" } ?? ""
            return "「\(c.label)」的值“\(shown)”\(scaled)\(negative ? "为负数，" : "")超出合理范围 \(range)\(unit)。请核对数值和单位后更正\(c.hintZh)。"
        case let .notDate(shown):
            return "「\(c.label)」的值“\(shown)”不是有效日期。请写成 2024-09-01、2024/9/1 或 2024年9月1日 的形式\(c.hintZh)。"
        case let .dateOutOfRange(day, shown, range):
            return "「\(c.label)」的日期 \(day)（“\(shown)”）不在合理范围 \(range) 内。请核对。"
        case let .notBoolean(shown):
            return "「\(c.label)」应填“是”或“否”，实际为“\(shown)”。"
        case let .notAccepted(shown, acceptedZh, _):
            return "「\(c.label)」的值“\(shown)”不在允许的取值中。可填：\(acceptedZh)。"
        }
    }
}
