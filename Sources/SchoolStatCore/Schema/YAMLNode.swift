// Schema: a thin, position-aware reading layer over Yams nodes.
import Yams

/// Walks a YAML document, recording every mistake with its file, line and column.
final class YAMLDocument {
    let path: String
    private(set) var errors: [RuleFileError] = []

    init(path: String) { self.path = path }

    func location(of node: Node?) -> SourceLocation {
        SourceLocation(path: path, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }

    func fail(_ node: Node?, _ message: String) {
        errors.append(RuleFileError(location: location(of: node), message: message))
    }

    func failAt(_ location: SourceLocation, _ message: String) {
        errors.append(RuleFileError(location: location, message: message))
    }

    /// Parses text into a node tree; a syntax error is recorded with its position.
    func compose(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text)
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
    func mapping(_ node: Node?, context: String, allowed: Set<String>? = nil) -> [(key: String, keyNode: Node, value: Node)] {
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

    func string(_ node: Node?, context: String) -> String? {
        guard let node else { return nil }
        guard let s = node.scalar?.string else { fail(node, "\(context) 应为文字 (expected text)"); return nil }
        return s
    }

    func strings(_ node: Node?, context: String) -> [String] {
        guard let node else { return [] }
        if let s = node.scalar?.string { return [s] }
        guard let seq = node.sequence else { fail(node, "\(context) 应为列表 (expected a list)"); return [] }
        return seq.compactMap { string($0, context: context) }
    }

    func bool(_ node: Node?, context: String) -> Bool? {
        guard let node else { return nil }
        switch node.scalar?.string.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: fail(node, "\(context) 应为 true 或 false (expected true or false)"); return nil
        }
    }

    func int(_ node: Node?, context: String) -> Int? {
        guard let node else { return nil }
        guard let s = node.scalar?.string, let i = Int(s) else { fail(node, "\(context) 应为整数 (expected an integer)"); return nil }
        return i
    }

    func decimal(_ node: Node?, context: String) -> FixedDecimal? {
        guard let node else { return nil }
        guard let s = node.scalar?.string, let d = NumberText.parsePlainDecimal(s) else {
            fail(node, "\(context) 应为数字 (expected a number)")
            return nil
        }
        return d
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
func editDistance(_ a: String, _ b: String) -> Int {
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
