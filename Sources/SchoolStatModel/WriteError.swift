/// What happened writing an output file.
public struct WriteError: Error, Sendable, CustomStringConvertible {
    public init(path: String, reason: String) {
        self.path = path; self.reason = reason
    }

    public var path: String
    public var reason: String
    public var description: String { "无法写入 \(path)：\(reason) (cannot write \(path): \(reason))" }
}

