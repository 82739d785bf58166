// Reading: failures that stop a file from being read at all (exit code 3).

/// A failure that stops one input file from being read; other files go on.
public enum ReadError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case ioFailure(path: String, reason: String)
    case encodingUnavailable(String)
    case parserFailure(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "无法打开文件 \(path)：\(reason)。请确认路径正确且文件可读。 (cannot open \(path): \(reason))"
        case let .ioFailure(path, reason):
            return "读取文件 \(path) 时出错：\(reason)。 (read error in \(path): \(reason))"
        case let .encodingUnavailable(name):
            return "系统缺少字符编码 \(name) 的转换支持。 (iconv cannot convert from \(name))"
        case let .parserFailure(path, reason):
            return "CSV 解析器在 \(path) 中失败：\(reason)。 (CSV parser failed in \(path): \(reason))"
        }
    }
}
