// Rules: loads rule packs (Rules/packs/*.yaml) and regional profiles.
import Yams
import SchoolStatModel
import SchoolStatBytes

public enum RulePackLoader {
    public static let packKeys: Set<String> = ["pack", "title_zh", "title_en", "version", "source", "years", "parameters", "derive", "rules", "versions", "report"]
    public static let ruleKeys: Set<String> = ["id", "title_zh", "title_en", "on", "by", "when", "check", "values", "severity", "message_zh",
                                        "message_en", "fix_zh", "fix_en", "on_missing", "source", "quarantine"]

    public static func loadPack(_ doc: YAMLDocument, _ root: Node?) -> RulePack? {
        guard let root else { return nil }
        var pack = RulePack(name: "", titleZh: "", version: "", source: nil, years: 0...9999, parameters: [:], derived: [], rules: [], path: doc.path)
        for (key, keyNode, node) in doc.mapping(root, context: "规则包 (rule pack)", allowed: packKeys) {
            switch key {
            case "pack": pack.name = doc.string(node, context: key) ?? ""
            case "title_zh": pack.titleZh = doc.string(node, context: key) ?? ""
            case "title_en": break
            case "version": pack.version = doc.string(node, context: key) ?? ""
            case "source": pack.source = doc.string(node, context: key)
            case "years":
                let ys = doc.years(node, context: key)
                if ys.count == 2, ys[0] <= ys[1] { pack.years = ys[0]...ys[1] } else if ys.count == 1 { pack.years = ys[0]...ys[0] } else {
                    doc.fail(node, "years 应为 [起始年, 结束年]，例如 [2017, 2030] (expected [first, last])")
                }
            case "parameters":
                for (name, _, value) in doc.mapping(node, context: key) {
                    if let value = doc.parameter(value, context: name) { pack.parameters[name] = value }
                }
            case "derive":
                for (table, _, entries) in doc.mapping(node, context: key) {
                    for (name, nameNode, spec) in doc.mapping(entries, context: "derive.\(table)") {
                        if let d = loadDerived(doc, table: table, name: name, nameNode: nameNode, spec: spec) { pack.derived.append(d) }
                    }
                }
            case "versions":
                guard let seq = node.sequence else { doc.fail(node, "versions 应为列表 (expected a list)"); continue }
                for item in seq {
                    var v = PackVersion(version: "", years: 0...9999, parameters: [:], location: doc.location(of: item))
                    for (k, kn, value) in doc.mapping(item, context: "versions", allowed: ["version", "years", "parameters"]) {
                        switch k {
                        case "version": v.version = doc.string(value, context: k) ?? ""
                        case "years":
                            let ys = doc.years(value, context: k)
                            if ys.count == 2, ys[0] <= ys[1] { v.years = ys[0]...ys[1] } else { doc.fail(value, "years 应为 [起始年, 结束年] (expected [first, last])") }
                        default:
                            for (name, _, pv) in doc.mapping(value, context: "parameters") {
                                if let value = doc.parameter(pv, context: name) { v.parameters[name] = value }
                            }
                        }
                        _ = kn
                    }
                    if let other = pack.versions.first(where: { $0.years.overlaps(v.years) }) {
                        doc.failAt(v.location, "版本 \(v.version) 的年份与版本 \(other.version) 重叠 (versions overlap in years)")
                    }
                    pack.versions.append(v)
                }
            case "rules":
                guard let seq = node.sequence else { doc.fail(node, "rules 应为列表 (expected a list)"); continue }
                for item in seq { if let r = loadRule(doc, item, pack: pack.name) { pack.rules.append(r) } }
            case "report":
                pack.report = loadReport(doc, node)
            default: doc.fail(keyNode, "unknown key")
            }
        }
        if pack.name.isEmpty { doc.fail(root, "缺少 `pack:` 名称 (missing pack name)"); return nil }
        var seen: Set<String> = []
        for r in pack.rules where !seen.insert(r.id).inserted { doc.failAt(r.location, "规则编号 \(r.id) 重复 (duplicate rule id)") }
        if let report = pack.report, report.layout == .schools {
            // Every rule the layout names is one of the pack's.
            var named = report.indicators.map(\.rule)
            named += [report.schoolRule, report.countyRule].compactMap { $0 }
            for base in named {
                for section in report.sections where !seen.contains("\(base).\(section.name)") {
                    doc.failAt(report.location, "report 引用的规则 \(base).\(section.name) 不在本规则包中 (the report names a rule the pack does not have)")
                }
            }
            // Each indicator's variation is a value the county rule computes.
            if let county = report.countyRule {
                for section in report.sections {
                    guard let rule = pack.rules.first(where: { $0.id == "\(county).\(section.name)" }) else { continue }
                    let values = Set(rule.values.map(\.name))
                    for indicator in report.indicators where !indicator.variation.isEmpty && !values.contains(indicator.variation) {
                        doc.failAt(report.location, "report 中 \(indicator.id) 的 variation `\(indicator.variation)` 不是规则 \(rule.id) 的 values 之一 (not a value of the county rule)")
                    }
                }
            }
        }
        return pack
    }

    /// The `report:` block: `layout: county`, or `layout: schools` with sections, indicators and
    /// the school and county rules.
    static func loadReport(_ doc: YAMLDocument, _ node: Node) -> PackReport? {
        let entries = doc.mapping(node, context: "report", allowed: ["layout", "sections", "indicators", "school_rule", "county_rule", "excluded"])
        guard let layoutEntry = entries.first(where: { $0.key == "layout" }) else {
            doc.fail(node, "report 缺少 layout（schools 或 county） (report needs a layout: schools or county)")
            return nil
        }
        guard let text = doc.string(layoutEntry.value, context: "layout"), let layout = PackReport.Layout(rawValue: text) else {
            doc.fail(layoutEntry.value, "layout 应为 schools 或 county (layout must be schools or county)")
            return nil
        }
        var report = PackReport(layout: layout, location: doc.location(of: node))
        for (key, _, value) in entries {
            switch key {
            case "sections":
                for (name, _, title) in doc.mapping(value, context: "report.sections") {
                    report.sections.append((name, doc.string(title, context: "report.sections.\(name)") ?? name))
                }
            case "indicators":
                guard let seq = value.sequence else { doc.fail(value, "report.indicators 应为列表 (expected a list)"); continue }
                for item in seq {
                    var id = "", rule = "", title = "", variation = ""
                    for (k, _, v) in doc.mapping(item, context: "report.indicators", allowed: ["id", "rule", "title_zh", "variation"]) {
                        let s = doc.string(v, context: "report.indicators.\(k)") ?? ""
                        switch k {
                        case "id": id = s
                        case "rule": rule = s
                        case "title_zh": title = s
                        default: variation = s
                        }
                    }
                    guard !id.isEmpty, !rule.isEmpty else { doc.fail(item, "report.indicators 的每项须有 id 和 rule (each indicator needs an id and a rule)"); continue }
                    report.indicators.append(PackReport.Indicator(id: id, rule: rule, titleZh: title.isEmpty ? id : title, variation: variation))
                }
            case "school_rule": report.schoolRule = doc.string(value, context: key)
            case "county_rule": report.countyRule = doc.string(value, context: key)
            case "excluded":
                for (type, _, reason) in doc.mapping(value, context: "report.excluded") {
                    report.excluded[type] = doc.string(reason, context: "report.excluded.\(type)") ?? ""
                }
            default: break
            }
        }
        if layout == .schools && (report.sections.isEmpty || report.indicators.isEmpty || report.schoolRule == nil) {
            doc.fail(node, "layout: schools 需要 sections、indicators 和 school_rule (the schools layout needs sections, indicators and school_rule)")
        }
        return report
    }

    public static func loadProfile(_ doc: YAMLDocument, _ root: Node?) -> Profile? {
        guard let root else { return nil }
        var profile = Profile(name: "", titleZh: "", parameters: [:], path: doc.path)
        for (key, _, node) in doc.mapping(root, context: "地区参数 (profile)", allowed: ["profile", "title_zh", "title_en", "source", "parameters"]) {
            switch key {
            case "profile": profile.name = doc.string(node, context: key) ?? ""
            case "title_zh": profile.titleZh = doc.string(node, context: key) ?? ""
            case "parameters":
                for (name, _, value) in doc.mapping(node, context: key) {
                    if let value = doc.parameter(value, context: name) { profile.parameters[name] = value }
                }
            default: break
            }
        }
        if profile.name.isEmpty { doc.fail(root, "缺少 `profile:` 名称 (missing profile name)"); return nil }
        return profile
    }

    private static func expression(_ doc: YAMLDocument, _ node: Node?) -> Expression? {
        guard let node, let text = doc.string(node, context: "expression") else { return nil }
        var location = doc.location(of: node)
        if case .scalar(let s) = node, s.style == .singleQuoted || s.style == .doubleQuoted { location.column += 1 }
        do throws(ExpressionSyntaxError) {
            return Expression(text: text, location: location, root: try ExpressionParser.parse(text))
        } catch {
            var l = location
            l.column += error.offset
            doc.failAt(l, "表达式语法错误 (syntax error): \(error.message)\n    \(text)\n    \(String(repeating: " ", count: error.offset))^")
            return nil
        }
    }

    private static func loadDerived(_ doc: YAMLDocument, table: String, name: String, nameNode: Node, spec: Node) -> DerivedValue? {
        let location = doc.location(of: nameNode)
        if spec.scalar != nil {
            return expression(doc, spec).map { DerivedValue(table: table, name: name, source: .row($0), location: location) }
        }
        var from: String?, by: String?, value: Expression?, filter: Expression?
        for (key, _, node) in doc.mapping(spec, context: "derive.\(table).\(name)", allowed: ["from", "by", "value", "where"]) {
            switch key {
            case "from": from = doc.string(node, context: key)
            case "by": by = doc.string(node, context: key)
            case "value": value = expression(doc, node)
            default: filter = expression(doc, node)
            }
        }
        guard let from, let by, let value else {
            doc.fail(spec, "derive.\(table).\(name) 需要 from、by 和 value (needs from, by and value)")
            return nil
        }
        return DerivedValue(table: table, name: name, source: .other(table: from, by: by, value: value, filter: filter), location: location)
    }

    private static func loadRule(_ doc: YAMLDocument, _ item: Node, pack: String) -> PackRule? {
        var rule = PackRule(id: "", titleZh: "", titleEn: "", table: "", by: [], scope: nil,
                            condition: Expression(text: "true", location: doc.location(of: item), root: .literal(.boolean(true), offset: 0)),
                            values: [], severity: .error, messageZh: "", messageEn: "", fixZh: nil, fixEn: nil, onMissing: .report,
                            source: nil, pack: pack, location: doc.location(of: item))
        var sawCheck = false
        for (key, _, node) in doc.mapping(item, context: "rule", allowed: ruleKeys) {
            switch key {
            case "id": rule.id = doc.string(node, context: key) ?? ""
            case "title_zh": rule.titleZh = doc.string(node, context: key) ?? ""
            case "title_en": rule.titleEn = doc.string(node, context: key) ?? ""
            case "on": rule.table = doc.string(node, context: key) ?? ""
            case "by": rule.by = doc.strings(node, context: key)
            case "when": rule.scope = expression(doc, node)
            case "check":
                sawCheck = true
                if let e = expression(doc, node) { rule.condition = e }
            case "values":
                for (name, _, v) in doc.mapping(node, context: key) { if let e = expression(doc, v) { rule.values.append((name, e)) } }
            case "severity":
                let s = doc.string(node, context: key) ?? ""
                if let sev = Severity(rawValue: s) { rule.severity = sev } else { doc.fail(node, "severity 应为 error 或 warning") }
            case "message_zh": rule.messageZh = doc.string(node, context: key) ?? ""
            case "message_en": rule.messageEn = doc.string(node, context: key) ?? ""
            case "fix_zh": rule.fixZh = doc.string(node, context: key)
            case "fix_en": rule.fixEn = doc.string(node, context: key)
            case "source": rule.source = doc.string(node, context: key)
            case "quarantine": rule.quarantine = doc.bool(node, context: key) ?? false
            case "on_missing":
                let s = doc.string(node, context: key) ?? ""
                if let p = MissingPolicy(rawValue: s) { rule.onMissing = p } else { doc.fail(node, "on_missing 应为 report、skip 或 fail") }
            default: break
            }
        }
        if rule.id.isEmpty { doc.fail(item, "规则缺少 id (every rule needs a stable id)"); return nil }
        if rule.table.isEmpty { doc.fail(item, "规则 \(rule.id) 缺少 on: 表名 (which table the rule is about)") }
        if !sawCheck { doc.fail(item, "规则 \(rule.id) 缺少 check 表达式 (missing `check:`)") }
        if rule.messageZh.isEmpty { doc.fail(item, "规则 \(rule.id) 缺少 message_zh (missing Chinese message)") }
        if rule.messageEn.isEmpty { rule.messageEn = rule.messageZh }
        if rule.titleZh.isEmpty { rule.titleZh = rule.id }
        if rule.titleEn.isEmpty { rule.titleEn = rule.titleZh }
        return rule
    }
}
