// Rules (schema): a thin, position-aware reading layer over Yams nodes.
import Foundation
import Yams
import SchoolStatModel
import SchoolStatBytes

/// Walks a YAML document, recording every mistake with its file, line and column.
public final class YAMLDocument {
    public let path: String
    public private(set) var errors: [RuleFileError] = []

    public init(path: String) { self.path = path }

    public func location(of node: Node?) -> SourceLocation {
        SourceLocation(path: path, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }

    public func fail(_ node: Node?, _ message: String) {
        errors.append(RuleFileError(location: location(of: node), message: message))
    }

    public func failAt(_ location: SourceLocation, _ message: String) {
        errors.append(RuleFileError(location: location, message: message))
    }

    /// The largest rule file read, in bytes: rule files are a few kilobytes.
    public static let maximumBytes = 4 << 20
    /// How deep collections may nest, and how many aliases a file may use: Yams builds the tree
    /// recursively, and every alias is a copy the loaders walk.
    public static let maximumNesting = 64
    public static let maximumAliases = 100

    /// Reads a rule file: a regular file of at most `maximumBytes`, in UTF-8. A failure is recorded.
    public func readText() -> (text: String, data: [UInt8])? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            failAt(SourceLocation(path: path, line: 1, column: 1), "规则文件不是普通文件 (a rule file must be a regular file)")
            return nil
        }
        guard Int(st.st_size) <= Self.maximumBytes else {
            failAt(SourceLocation(path: path, line: 1, column: 1), "规则文件过大（\(st.st_size) 字节，上限 \(Self.maximumBytes) 字节） (rule file larger than \(Self.maximumBytes) bytes)")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            failAt(SourceLocation(path: path, line: 1, column: 1), "无法读取规则文件 (cannot read the rule file)")
            return nil
        }
        let bytes = [UInt8](data.prefix(Self.maximumBytes + 1))
        guard bytes.count <= Self.maximumBytes else {
            failAt(SourceLocation(path: path, line: 1, column: 1), "规则文件过大 (rule file larger than \(Self.maximumBytes) bytes)")
            return nil
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            failAt(SourceLocation(path: path, line: 1, column: 1), "规则文件必须是 UTF-8 编码 (rule files must be UTF-8)")
            return nil
        }
        return (text, bytes)
    }

    /// Checks, before Yams sees the text, that collections nest at most `maximumNesting` deep
    /// (flow brackets, block indentation and `- ` items on one line together) and that at most
    /// `maximumAliases` aliases are used. Conservative: it reads lines, not YAML. Lines are
    /// split at each LF byte, so a file with CRLF line ends is read line by line too (a `String`
    /// split at "\n" keeps CRLF together, one character), and no line is copied.
    private func checkShape(_ text: String) -> Bool {
        var text = text
        return text.withUTF8(checkShape)
    }

    private func checkShape(_ all: UnsafeBufferPointer<UInt8>) -> Bool {
        var indents: [Int] = []
        var flow = 0
        var aliases = 0
        var lineNumber = 0
        var lineStart = 0
        var more = true
        while more {
            var lineEnd = lineStart
            while lineEnd < all.count && all[lineEnd] != 0x0A { lineEnd += 1 }
            more = lineEnd < all.count
            defer { lineStart = lineEnd + 1 }
            lineNumber += 1
            let b = UnsafeBufferPointer(rebasing: all[lineStart..<lineEnd])
            var i = 0
            while i < b.count && b[i] == 0x20 { i += 1 }
            if i == b.count || b[i] == 0x23 || b[i] == 0x0D { continue } // blank or comment
            if flow == 0 {
                while let last = indents.last, last >= i { indents.removeLast() }
                indents.append(i)
            }
            var dashes = 0
            var j = i
            while j + 1 < b.count && b[j] == 0x2D && b[j + 1] == 0x20 {
                dashes += 1
                j += 2
                while j < b.count && b[j] == 0x20 { j += 1 }
            }
            var quote: UInt8 = 0
            var previous: UInt8 = 0x20
            while j < b.count {
                let c = b[j]
                if quote != 0 {
                    if c == quote { quote = 0 }
                } else if c == 0x27 || c == 0x22 {
                    quote = c
                } else if c == 0x23 && previous == 0x20 {
                    break // a comment
                } else if c == 0x5B || c == 0x7B {
                    flow += 1
                } else if c == 0x5D || c == 0x7D {
                    flow = max(0, flow - 1)
                } else if c == 0x2A, previous == 0x20 || previous == 0x5B || previous == 0x2C, j + 1 < b.count, b[j + 1] != 0x20 {
                    aliases += 1
                }
                previous = c
                j += 1
                let depth = indents.count + dashes + flow
                if depth > Self.maximumNesting {
                    failAt(SourceLocation(path: path, line: lineNumber, column: j),
                           "YAML 嵌套过深（超过 \(Self.maximumNesting) 层） (collections nested deeper than \(Self.maximumNesting) levels)")
                    return false
                }
            }
            if indents.count + dashes + flow > Self.maximumNesting {
                failAt(SourceLocation(path: path, line: lineNumber, column: i + 1),
                       "YAML 嵌套过深（超过 \(Self.maximumNesting) 层） (collections nested deeper than \(Self.maximumNesting) levels)")
                return false
            }
            if aliases > Self.maximumAliases {
                failAt(SourceLocation(path: path, line: lineNumber, column: 1),
                       "YAML 别名（*name）过多（超过 \(Self.maximumAliases) 个） (more than \(Self.maximumAliases) aliases)")
                return false
            }
        }
        return true
    }

    /// Parses text into a node tree; a syntax error is recorded with its position.
    public func compose(_ text: String) -> Node? {
        guard checkShape(text) else { return nil }
        do {
            // Every value is read as the text it is written as (`string`, `int`, `bool` here parse
            // it), so no scalar needs its type guessed: Yams's default resolver matches regular
            // expressions against each one, a third of the time rules took to load.
            // The encoding is named: Yams's default reads the whole environment on every call
            // (for YAMS_DEFAULT_ENCODING), as much work as parsing a small rule file.
            return try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch let error as YamlError {
            switch error {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                failAt(SourceLocation(path: path, line: mark.line, column: mark.column), "YAML 语法错误 (syntax error): \(problem)")
            default:
                failAt(SourceLocation(path: path, line: 1, column: 1), "YAML 语法错误 (syntax error): \(error)")
            }
            return nil
        } catch {
            failAt(SourceLocation(path: path, line: 1, column: 1), "\(error)")
            return nil
        }
    }

    /// The entries of a mapping, checking that only `allowed` keys appear.
    public func mapping(_ node: Node?, context: String, allowed: Set<String>? = nil) -> [(key: String, keyNode: Node, value: Node)] {
        guard let node else { return [] }
        guard let map = node.mapping else {
            fail(node, "\(context) 应为映射 (expected a mapping of key: value)")
            return []
        }
        var out: [(String, Node, Node)] = []
        for (k, v) in map {
            guard let key = k.scalar?.string else { fail(k, "\(context) 的键应为文字 (keys must be plain text)"); continue }
            if let allowed, !allowed.contains(key) {
                let suggestion = closest(key, in: allowed).map { "；是否想写 `\($0)`? (did you mean `\($0)`?)" } ?? ""
                fail(k, "\(context) 中未知的键 `\(key)` (unknown key)\(suggestion)。允许的键 (allowed): \(allowed.sorted().joined(separator: ", "))")
                continue
            }
            out.append((key, k, v))
        }
        return out
    }

    public func string(_ node: Node?, context: String) -> String? {
        guard let node else { return nil }
        guard let s = node.scalar?.string else { fail(node, "\(context) 应为文字 (expected text)"); return nil }
        return s
    }

    public func strings(_ node: Node?, context: String) -> [String] {
        guard let node else { return [] }
        if let s = node.scalar?.string { return [s] }
        guard let seq = node.sequence else { fail(node, "\(context) 应为列表 (expected a list)"); return [] }
        return seq.compactMap { string($0, context: context) }
    }

    public func bool(_ node: Node?, context: String) -> Bool? {
        guard let node else { return nil }
        switch node.scalar?.string.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: fail(node, "\(context) 应为 true 或 false (expected true or false)"); return nil
        }
    }

    public func int(_ node: Node?, context: String) -> Int? {
        guard let node else { return nil }
        guard let s = node.scalar?.string, let i = Int(s) else { fail(node, "\(context) 应为整数 (expected an integer)"); return nil }
        return i
    }

    /// An integer that must lie in `range`: a number outside it is refused here, with its place,
    /// so that no later arithmetic sees it.
    public func int(_ node: Node?, context: String, in range: ClosedRange<Int>) -> Int? {
        guard let node, let i = int(node, context: context) else { return nil }
        guard range.contains(i) else {
            fail(node, "\(context) 应在 \(range.lowerBound) 到 \(range.upperBound) 之间，写的是 \(i) (must be between \(range.lowerBound) and \(range.upperBound))")
            return nil
        }
        return i
    }

    public func decimal(_ node: Node?, context: String) -> FixedDecimal? {
        guard let node else { return nil }
        guard let s = node.scalar?.string, let d = NumberText.parsePlainDecimal(s) else {
            fail(node, "\(context) 应为数字 (expected a number)")
            return nil
        }
        if let problem = ParameterText.numberProblem(s) { fail(node, "\(context): \(problem)"); return nil }
        return d
    }

    /// A span of reporting years, `[first, last]` or one year; every entry must be a year
    /// (1–9999) and the first no later than the last. Empty when refused.
    public func years(_ node: Node?, context: String) -> [Int] {
        guard let node else { return [] }
        let entries = node.sequence ?? [node]
        var ys: [Int] = []
        for entry in entries {
            guard let y = int(entry, context: "\(context) 中的年份 (year)", in: 1...9999) else { return [] }
            ys.append(y)
        }
        return ys
    }

    /// A parameter's value (a number, a date, true/false or text); a number too large to hold
    /// exactly is refused here, with its place.
    public func parameter(_ node: Node?, context: String) -> Value? {
        guard let text = string(node, context: context) else { return nil }
        if let problem = ParameterText.numberProblem(text) { fail(node!, "\(context): \(problem)"); return nil }
        return ParameterText.parse(text)
    }

    private func closest(_ word: String, in options: Set<String>) -> String? {
        var best: (name: String, distance: Int)?
        for option in options.sorted() {
            let d = editDistance(option, word)
            if d <= 2 && d < (best?.distance ?? Int.max) { best = (option, d) }
        }
        return best?.name
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = prev
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
