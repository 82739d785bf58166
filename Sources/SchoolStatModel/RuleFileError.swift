// Model (schema): mistakes in rule, schema and vocabulary files, with their place.

/// A place in a rule file: path, 1-based line and column.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public init(path: String, line: Int, column: Int) {
        self.path = path; self.line = line; self.column = column
    }

    public var path: String
    public var line: Int
    public var column: Int

    public var description: String { "\(path):\(line):\(column)" }
}

/// A mistake in a file under `Rules/`. The run stops before reading any data (exit code 2).
public struct RuleFileError: Error, Sendable, CustomStringConvertible {
    public init(location: SourceLocation, message: String) {
        self.location = location; self.message = message
    }

    public var location: SourceLocation
    public var message: String

    public var description: String { "\(location): 规则文件错误 (rule file error): \(message)" }
}

/// Every mistake found while loading rule files; loading goes on past the first.
public struct RuleFileErrors: Error, Sendable, CustomStringConvertible {
    public init(errors: [RuleFileError]) {
        self.errors = errors
    }

    public var errors: [RuleFileError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
