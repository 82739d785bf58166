// Rules (schema): reads one Rules/schemas/<table>.yaml into a TableSchema.
import Yams
import SchoolStatModel
import SchoolStatBytes

public struct SchemaLoader {
    public init(document: YAMLDocument, vocabulary: Vocabulary, parameters: [String: Value]) {
        self.document = document; self.vocabulary = vocabulary; self.parameters = parameters
    }

    public let document: YAMLDocument
    public let vocabulary: Vocabulary
    public let parameters: [String: Value]

    public static let tableKeys: Set<String> = ["table", "title_zh", "title_en", "description", "recognise_with", "key", "unique", "columns", "checks"]
    public static let columnKeys: Set<String> = ["type", "title_zh", "title_en", "aliases", "required", "unit", "min", "max", "earliest", "latest",
                                          "length", "digits", "uppercase", "pattern", "values", "missing", "accept_ratio", "personal",
                                          "clean_output", "hint_zh", "hint_en"]
    public static let checkKeys: Set<String> = ["id", "title_zh", "title_en", "column", "when", "check", "severity", "message_zh", "message_en",
                                         "fix_zh", "fix_en", "values", "on_missing", "source"]

    public func load(_ root: Node?) -> TableSchema? {
        guard let root else { return nil }
        var schema = TableSchema(name: "", titleZh: "", titleEn: "", columns: [], key: [], unique: [], checks: [], minimumHeaderMatches: 2, path: document.path)
        var keyNode: Node?, uniqueNode: Node?, checksNode: Node?
        for (key, _, node) in document.mapping(root, context: "表结构 (schema)", allowed: Self.tableKeys) {
            switch key {
            case "table": schema.name = document.string(node, context: "table") ?? ""
            case "title_zh": schema.titleZh = document.string(node, context: key) ?? ""
            case "title_en": schema.titleEn = document.string(node, context: key) ?? ""
            case "recognise_with": schema.minimumHeaderMatches = document.int(node, context: key, in: 1...16_384) ?? 2
            case "key": keyNode = node
            case "unique": uniqueNode = node
            case "checks": checksNode = node
            case "columns":
                for (name, nameNode, spec) in document.mapping(node, context: "columns") {
                    if let column = loadColumn(name, nameNode, spec) { schema.columns.append(column) }
                }
            default: break
            }
        }
        if schema.name.isEmpty { document.fail(root, "缺少 `table:` 表名 (missing table name)") }
        if schema.columns.isEmpty { document.fail(root, "缺少 `columns:` 列定义 (no columns defined)") }
        if schema.titleZh.isEmpty { schema.titleZh = schema.name }
        if schema.titleEn.isEmpty { schema.titleEn = schema.name }

        schema.key = document.strings(keyNode, context: "key")
        for k in schema.key where schema.columnIndex(k) == nil { document.fail(keyNode, "key 中的列 `\(k)` 未定义 (unknown column)") }

        if let seq = uniqueNode?.sequence {
            for item in seq {
                var u = UniqueKey(id: "", columns: [], severity: .error, location: document.location(of: item))
                for (k, _, v) in document.mapping(item, context: "unique", allowed: ["id", "columns", "severity"]) {
                    switch k {
                    case "id": u.id = document.string(v, context: k) ?? ""
                    case "columns":
                        u.columns = document.strings(v, context: k)
                        for c in u.columns where schema.columnIndex(c) == nil { document.fail(v, "unique 中的列 `\(c)` 未定义 (unknown column)") }
                    default: u.severity = severity(v)
                    }
                }
                if u.id.isEmpty { u.id = RuleID.table(schema.name, "unique_" + u.columns.joined(separator: "_")) }
                if u.columns.isEmpty { document.fail(item, "unique 需要 columns (list the key columns)") }
                schema.unique.append(u)
            }
        } else if let uniqueNode {
            document.fail(uniqueNode, "unique 应为列表 (expected a list)")
        }

        if let seq = checksNode?.sequence {
            var seen: Set<String> = []
            for item in seq {
                guard let check = loadCheck(item, schema) else { continue }
                if !seen.insert(check.id).inserted { document.fail(item, "规则编号 \(check.id) 重复 (duplicate rule id)") }
                schema.checks.append(check)
            }
        } else if let checksNode {
            document.fail(checksNode, "checks 应为列表 (expected a list)")
        }
        return schema.name.isEmpty ? nil : schema
    }

    private func severity(_ node: Node?) -> Severity {
        guard let s = document.string(node, context: "severity") else { return .error }
        guard let sev = Severity(rawValue: s) else {
            document.fail(node, "severity 应为 error 或 warning，实际为 `\(s)` (expected error or warning)")
            return .error
        }
        return sev
    }

    private func loadColumn(_ name: String, _ nameNode: Node, _ spec: Node) -> ColumnSpec? {
        var c = ColumnSpec(name: name, type: .text, titleZh: name, titleEn: name, aliases: [], required: false, unit: nil,
                           minimum: nil, maximum: nil, earliest: nil, latest: nil, length: nil, digitsOnly: false,
                           uppercase: false, pattern: nil, enumAliases: [:], enumValues: [], missingTokens: vocabulary.missingWords,
                           acceptRatio: false, personal: nil, cleanOutput: .keep, hintZh: nil, hintEn: nil,
                           location: document.location(of: nameNode))
        var sawType = false
        let entries = document.mapping(spec, context: "列 \(name) (column)", allowed: Self.columnKeys)
        for (key, _, node) in entries where key == "type" {
            sawType = true
            let t = document.string(node, context: "type") ?? ""
            if let type = ColumnType(rawValue: t) { c.type = type } else {
                document.fail(node, "列 \(name) 的类型 `\(t)` 无效；可用 (valid types): \(ColumnType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if !sawType { document.fail(nameNode, "列 \(name) 缺少 type (missing type)") }
        if c.type == .boolean { c.missingTokens.subtract(vocabulary.trueWords.union(vocabulary.falseWords)) }
        for (key, _, node) in entries {
            let ctx = "\(name).\(key)"
            switch key {
            case "type": break
            case "title_zh": c.titleZh = document.string(node, context: ctx) ?? name
            case "title_en": c.titleEn = document.string(node, context: ctx) ?? name
            case "aliases": c.aliases = document.strings(node, context: ctx)
            case "required": c.required = document.bool(node, context: ctx) ?? false
            case "unit":
                let u = document.string(node, context: ctx) ?? ""
                if let kind = vocabulary.units[u] { c.unit = kind } else {
                    document.fail(node, "未知单位 `\(u)` (unknown unit)；vocabulary.yaml 中定义的有: \(vocabulary.units.keys.sorted().joined(separator: ", "))")
                }
            case "min", "max":
                if c.type == .date {
                    guard let s = document.string(node, context: ctx), let d = DateText.parse(s) else { document.fail(node, "\(ctx) 应为日期 (expected a date)"); continue }
                    if key == "min" { c.earliest = d } else { c.latest = d }
                } else {
                    if key == "min" { c.minimum = document.decimal(node, context: ctx) } else { c.maximum = document.decimal(node, context: ctx) }
                }
            case "earliest", "latest":
                guard let s = document.string(node, context: ctx), let d = DateText.parse(s) else { document.fail(node, "\(ctx) 应为日期 (expected a date)"); continue }
                if key == "earliest" { c.earliest = d } else { c.latest = d }
            case "length":
                // A length is a count of characters in one cell, which holds at most 1 MB.
                let lengths = 0...(1 << 20)
                if let seq = node.sequence {
                    guard seq.count == 2 else { document.fail(node, "\(ctx) 应为一个数或 [最短, 最长] (expected a number or [shortest, longest])"); continue }
                    guard let lo = document.int(seq[0], context: ctx, in: lengths), let hi = document.int(seq[1], context: ctx, in: lengths) else { continue }
                    if lo <= hi { c.length = lo...hi } else { document.fail(node, "\(ctx) 的最短 \(lo) 大于最长 \(hi) (shortest is above longest)") }
                } else if let n = document.int(node, context: ctx, in: lengths) {
                    c.length = n...n
                }
            case "digits": c.digitsOnly = document.bool(node, context: ctx) ?? false
            case "uppercase": c.uppercase = document.bool(node, context: ctx) ?? false
            case "pattern":
                guard let p = document.string(node, context: ctx) else { continue }
                // Only patterns that match in linear time are taken; the rest are refused here, with why.
                do { c.pattern = try Pattern(p) } catch {
                    document.fail(node, "正则表达式 `\(p)` 不能使用：\(error.description) (pattern refused: \(error.message))")
                }
            case "values":
                for (canonical, _, aliases) in document.mapping(node, context: ctx) {
                    c.enumValues.append(canonical)
                    c.enumAliases[TextCleaner.matchKey(canonical)] = canonical
                    c.enumExact[canonical] = canonical
                    for alias in document.strings(aliases, context: "\(ctx).\(canonical)") {
                        if c.enumLabelsZh[canonical] == nil, alias.unicodeScalars.contains(where: { $0.value >= 0x3400 }) { c.enumLabelsZh[canonical] = alias }
                        c.enumExact[alias] = canonical
                        let k = TextCleaner.matchKey(alias)
                        if let other = c.enumAliases[k], other != canonical {
                            document.fail(aliases, "别名 `\(alias)` 同时属于 \(other) 与 \(canonical) (alias used twice)")
                        }
                        c.enumAliases[k] = canonical
                    }
                }
            case "missing": c.missingTokens = Set(document.strings(node, context: ctx).map(TextCleaner.matchKey))
            case "accept_ratio": c.acceptRatio = document.bool(node, context: ctx) ?? false
            case "personal":
                let p = document.string(node, context: ctx) ?? ""
                if let kind = PersonalData(rawValue: p) { c.personal = kind } else { document.fail(node, "personal 应为 id_number、name 或 wage (expected id_number, name or wage)") }
            case "clean_output":
                let p = document.string(node, context: ctx) ?? ""
                if let policy = CleanOutputPolicy(rawValue: p) { c.cleanOutput = policy } else { document.fail(node, "clean_output 应为 keep、mask 或 drop") }
            case "hint_zh": c.hintZh = document.string(node, context: ctx)
            case "hint_en": c.hintEn = document.string(node, context: ctx)
            default: break
            }
        }
        if c.type == .enumeration && c.enumValues.isEmpty { document.fail(nameNode, "枚举列 \(name) 需要 values (enum columns need values)") }
        if c.type != .enumeration && !c.enumValues.isEmpty { document.fail(nameNode, "只有 enum 类型的列可以有 values (values given for a non-enum column)") }
        if c.unit != nil && c.type != .integer && c.type != .decimal { document.fail(nameNode, "只有数字列可以有 unit (unit given for a non-number column)") }
        return c
    }

    private func loadCheck(_ item: Node, _ schema: TableSchema) -> RowCheck? {
        var check = RowCheck(id: "", titleZh: "", titleEn: "", column: nil, scope: nil,
                             condition: Expression(text: "true", location: document.location(of: item), root: .literal(.boolean(true), offset: 0)),
                             severity: .error, messageZh: "", messageEn: "", fixZh: nil, fixEn: nil, values: [], onMissing: .report,
                             source: nil, location: document.location(of: item))
        var sawCheck = false
        for (key, _, node) in document.mapping(item, context: "check", allowed: Self.checkKeys) {
            switch key {
            case "id": check.id = document.string(node, context: key) ?? ""
            case "title_zh": check.titleZh = document.string(node, context: key) ?? ""
            case "title_en": check.titleEn = document.string(node, context: key) ?? ""
            case "column":
                check.column = document.string(node, context: key)
                if let col = check.column, schema.columnIndex(col) == nil { document.fail(node, "column `\(col)` 未定义 (unknown column)") }
            case "when": check.scope = parseExpression(node, schema, expecting: .boolean)
            case "check":
                sawCheck = true
                if let e = parseExpression(node, schema, expecting: .boolean) { check.condition = e }
            case "severity": check.severity = severity(node)
            case "message_zh": check.messageZh = document.string(node, context: key) ?? ""
            case "message_en": check.messageEn = document.string(node, context: key) ?? ""
            case "fix_zh": check.fixZh = document.string(node, context: key)
            case "fix_en": check.fixEn = document.string(node, context: key)
            case "source": check.source = document.string(node, context: key)
            case "on_missing":
                let s = document.string(node, context: key) ?? ""
                if let p = MissingPolicy(rawValue: s) { check.onMissing = p } else { document.fail(node, "on_missing 应为 report、skip 或 fail") }
            case "values":
                for (name, _, exprNode) in document.mapping(node, context: "values") {
                    if let e = parseExpression(exprNode, schema, expecting: nil) { check.values.append((name, e)) }
                }
            default: break
            }
        }
        if check.id.isEmpty { document.fail(item, "规则缺少 id (every check needs a stable id)"); return nil }
        if !sawCheck { document.fail(item, "规则 \(check.id) 缺少 check 表达式 (missing `check:`)") }
        if check.messageZh.isEmpty { document.fail(item, "规则 \(check.id) 缺少 message_zh (missing Chinese message)") }
        if check.messageEn.isEmpty { check.messageEn = check.messageZh }
        if check.titleZh.isEmpty { check.titleZh = check.id }
        if check.titleEn.isEmpty { check.titleEn = check.titleZh }
        // Placeholders must name a column or a declared value.
        for message in [check.messageZh, check.messageEn, check.fixZh ?? "", check.fixEn ?? ""] {
            for name in Placeholders.names(in: message) where schema.columnIndex(name) == nil && !check.values.contains(where: { $0.name == name }) && !["expected", "value", "column"].contains(name) {
                document.failAt(check.location, "规则 \(check.id) 的消息引用了未知的占位符 {\(name)} (unknown placeholder)")
            }
        }
        return check
    }

    private func parseExpression(_ node: Node, _ schema: TableSchema, expecting: ValueType?) -> Expression? {
        guard let text = document.string(node, context: "expression") else { return nil }
        var location = document.location(of: node)
        if case .scalar(let s) = node, s.style == .singleQuoted || s.style == .doubleQuoted { location.column += 1 }
        func place(_ offset: Int) -> SourceLocation {
            var l = location
            l.column += offset
            return l
        }
        do {
            let root = try ExpressionParser.parse(text)
            let compiled = try ExpressionCompiler(schema: schema, parameters: parameters).compile(root)
            if let expecting, !expecting.accepts(compiled.type) {
                document.failAt(location, "表达式应得到 \(expecting.label)，实际得到 \(compiled.type.label) (expression must give \(expecting.rawValue))")
                return nil
            }
            return Expression(text: text, location: location, root: root)
        } catch let e as ExpressionSyntaxError {
            document.failAt(place(e.offset), "表达式语法错误 (syntax error): \(e.message)\n    \(text)\n    \(String(repeating: " ", count: e.offset))^")
        } catch let e as ExpressionCompileError {
            document.failAt(place(e.offset), "\(e.message)\n    \(text)\n    \(String(repeating: " ", count: e.offset))^")
        } catch {
            document.failAt(location, "\(error)")
        }
        return nil
    }
}

/// `{name}` placeholders in rule messages.
public enum Placeholders {
    public static func names(in text: String) -> [String] {
        var names: [String] = []
        var current: String?
        for ch in text {
            if ch == "{" { current = "" } else if ch == "}" {
                if let c = current, !c.isEmpty { names.append(c) }
                current = nil
            } else if current != nil { current!.append(ch) }
        }
        return names
    }

    /// Replaces each `{name}` by `lookup(name)`; unknown names and unclosed braces stay as written.
    public static func fill(_ text: String, _ lookup: (String) -> String?) -> String {
        let utf8 = text.utf8
        guard utf8.contains(0x7B) else { return text }
        var out = ""
        var literalStart = utf8.startIndex
        var open: String.Index?
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let b = utf8[i]
            if b == 0x7B { // {: what came before, an unclosed `{…` included, is text
                out += text[literalStart..<i]
                literalStart = i
                open = i
            } else if b == 0x7D, let o = open { // }
                let name = String(text[utf8.index(after: o)..<i])
                out += lookup(name) ?? "{\(name)}"
                literalStart = utf8.index(after: i)
                open = nil
            }
            i = utf8.index(after: i)
        }
        out += text[literalStart...]
        return out
    }
}
