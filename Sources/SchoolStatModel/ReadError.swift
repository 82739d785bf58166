// Model (reading): failures that stop a file from being read at all (exit code 3).

/// A failure that stops one input file from being read; other files go on.
public enum ReadError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// The file opened but is not a workbook that can be read (not a zip, no worksheet).
    case notAWorkbook(path: String, reason: String)
    case ioFailure(path: String, reason: String)
    case encodingUnavailable(String)
    case parserFailure(path: String, reason: String)
    /// A workbook whose parts are damaged or pass a limit; `place` names the part, sheet, row and cell.
    case damaged(path: String, place: String, reason: String)
    /// A value or record past `ReadLimits`: reading stops there; `line` is where the record starts.
    case tooLarge(path: String, line: Int, what: String)

    /// The ledger rule a file that could not be read (to its end) is reported under.
    public var ruleID: String {
        switch self {
        case .damaged: return "read.damaged_workbook"
        case .tooLarge: return "read.too_large"
        default: return "read.unreadable_file"
        }
    }

    /// The file is not the one read a moment before: written to, or replaced, during the run.
    public static func changedWhileRead(path: String) -> ReadError {
        .ioFailure(path: path, reason: "文件在本次运行读取期间被改动或替换；请在文件写完、不再改动时重新运行 "
            + "(the file was changed or replaced while this run was reading it; run again once nothing is writing to it)")
    }

    /// The file could not be read through for its SHA-256 (a read error past what was parsed).
    public static func unreadForDigest(path: String) -> ReadError {
        .ioFailure(path: path, reason: "读到文件末尾计算 SHA-256 校验值时出错；请确认文件完整、可以读取（不在网络盘上断开、没有被其他程序锁住）后重新运行 "
            + "(the file could not be read to its end for its SHA-256; check that it is whole and readable, then run again)")
    }

    /// The line reading stopped at, when it is known.
    public var line: Int {
        if case .tooLarge(_, let line, _) = self { return line }
        return 0
    }

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "无法打开文件 \(path)：\(reason)。请确认路径正确且文件可读。 (cannot open \(path): \(reason))"
        case let .notAWorkbook(path, reason):
            return "\(path) 不是可以读取的 Excel 工作簿：\(reason)。请在 Excel 或 WPS 中打开它，另存为“Excel 工作簿 (.xlsx)”或 CSV 后再检查。 (\(path) is not a readable Excel workbook: \(reason); open it in Excel and save it as .xlsx or CSV)"
        case let .ioFailure(path, reason):
            return "读取文件 \(path) 时出错：\(reason)。 (read error in \(path): \(reason))"
        case let .encodingUnavailable(name):
            return "系统缺少字符编码 \(name) 的转换支持。 (iconv cannot convert from \(name))"
        case let .damaged(path, place, reason):
            return "工作簿 \(path) 已损坏或超出读取上限，读到\(place)时停止：\(reason)。此前的行已检查；请在 Excel 中打开该文件、另存为新的 .xlsx 后再检查。 (workbook \(path) is damaged or past a limit; reading stopped at \(place): \(reason))"
        case let .tooLarge(path, line, what):
            return "\(path) 第 \(line) 行\(what)，超过读取上限，从这一行起未读取；此前的行已检查。请检查该行是否缺少引号或分隔符。 (\(path) line \(line): \(what), past the read limit; the rest of the file was not read)"
        case let .parserFailure(path, reason):
            return "CSV 解析器在 \(path) 中失败：\(reason)。 (CSV parser failed in \(path): \(reason))"
        }
    }
}
