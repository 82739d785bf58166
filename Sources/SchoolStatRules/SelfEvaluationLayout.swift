// Rules: Rules/reports/self_evaluation.yaml — the self-evaluation report's parts and indicators in
// the official method's order, each indicator's title, standard and unit, where its figures come
// from, and one sentence per rule. Adding an indicator to the report is an edit of that file.
import Foundation
import SchoolStatModel
import Yams

public struct SelfEvaluationLayout: Sendable {
    public struct Indicator: Sendable {
        public var id: String
        public var titleZh: String
        /// A template over the rule set's parameters (`{r1_primary}`, `{weakest_share:%}`).
        public var standardZh: String
        public var unitZh: String
        /// A resource indicator of the schools layout (R1–R7): per school and section, with variation coefficients.
        public var report: String?
        /// The school verdict of the schools layout (6 of 7).
        public var schoolRule: Bool
        public var rules: [String]
        /// What the evaluator has to supply, when no table holds it.
        public var fillZh: String?
    }

    public struct Part: Sendable {
        public var id: String
        public var nameZh: String
        public var nameEn: String
        public var headingZh: String
        public var headingEn: String
        /// Whether the part is counted in the overall verdict (the veto items are not).
        public var counted: Bool
        public var indicators: [Indicator]
    }

    public var titleZh: String
    public var titleEn: String
    public var parts: [Part]
    /// Rule id → sentence template over its verdict's figures.
    public var sentencesZh: [String: String]

    public static let relativePath = "reports/self_evaluation.yaml"

    /// Reads the layout from a rules directory; nil when the directory has none. Rule ids and
    /// resource indicators it names must exist in `ruleSet`.
    public static func load(rulesDirectory: String, ruleSet: RuleSet) throws(RuleFileErrors) -> SelfEvaluationLayout? {
        let path = (rulesDirectory as NSString).appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let doc = YAMLDocument(path: path)
        guard let (text, _) = doc.readText(), let root = doc.compose(text) else { throw RuleFileErrors(errors: doc.errors) }
        // A rule of a pack not in force for the reporting year is not a mistake; one missing from a pack in force is.
        let known = Set(ruleSet.packs.flatMap(\.rules).map(\.id)), packs = Set(ruleSet.packs.map(\.name))
        func unknown(_ rule: String) -> Bool {
            !known.contains(rule) && packs.contains(String(rule.split(separator: ".").first ?? ""))
        }
        var layout = SelfEvaluationLayout(titleZh: "", titleEn: "", parts: [], sentencesZh: [:])
        for (key, _, node) in doc.mapping(root, context: "self_evaluation.yaml", allowed: ["title_zh", "title_en", "parts", "sentences_zh"]) {
            switch key {
            case "title_zh": layout.titleZh = doc.string(node, context: key) ?? ""
            case "title_en": layout.titleEn = doc.string(node, context: key) ?? ""
            case "sentences_zh":
                for (rule, ruleNode, sentence) in doc.mapping(node, context: "sentences_zh") {
                    if unknown(rule) { doc.fail(ruleNode, "sentences_zh: 规则包中没有规则 `\(rule)` (no such rule)") }
                    layout.sentencesZh[rule] = doc.string(sentence, context: rule) ?? ""
                }
            default:
                for (partID, _, partNode) in doc.mapping(node, context: "parts") {
                    var part = Part(id: partID, nameZh: partID, nameEn: partID, headingZh: partID, headingEn: partID, counted: true, indicators: [])
                    for (field, _, value) in doc.mapping(partNode, context: "parts.\(partID)",
                                                         allowed: ["name_zh", "name_en", "heading_zh", "heading_en", "counted", "indicators"]) {
                        switch field {
                        case "name_zh": part.nameZh = doc.string(value, context: field) ?? partID
                        case "name_en": part.nameEn = doc.string(value, context: field) ?? partID
                        case "heading_zh": part.headingZh = doc.string(value, context: field) ?? partID
                        case "heading_en": part.headingEn = doc.string(value, context: field) ?? partID
                        case "counted": part.counted = doc.bool(value, context: field) ?? true
                        default:
                            for (id, idNode, spec) in doc.mapping(value, context: "parts.\(partID).indicators") {
                                var indicator = Indicator(id: id, titleZh: id, standardZh: "", unitZh: "", report: nil, schoolRule: false, rules: [], fillZh: nil)
                                for (f, fNode, v) in doc.mapping(spec, context: "\(partID).\(id)",
                                                                 allowed: ["title_zh", "standard_zh", "unit_zh", "report", "school_rule", "rules", "fill_zh"]) {
                                    switch f {
                                    case "title_zh": indicator.titleZh = doc.string(v, context: f) ?? id
                                    case "standard_zh": indicator.standardZh = doc.string(v, context: f) ?? ""
                                    case "unit_zh": indicator.unitZh = doc.string(v, context: f) ?? ""
                                    case "report":
                                        // One the packs do not compute (dropped from a pack's report:) is reported as lacking data.
                                        indicator.report = doc.string(v, context: f)
                                    case "school_rule": indicator.schoolRule = doc.bool(v, context: f) ?? false
                                    case "rules":
                                        indicator.rules = doc.strings(v, context: f)
                                        for r in indicator.rules where unknown(r) {
                                            doc.fail(fNode, "\(id): 规则包中没有规则 `\(r)` (no such rule)")
                                        }
                                    default: indicator.fillZh = doc.string(v, context: f)
                                    }
                                }
                                if indicator.report == nil && !indicator.schoolRule && indicator.rules.isEmpty && indicator.fillZh == nil {
                                    doc.fail(idNode, "\(id): 应有 report、school_rule、rules 或 fill_zh 之一 (needs report, school_rule, rules or fill_zh)")
                                }
                                part.indicators.append(indicator)
                            }
                        }
                    }
                    layout.parts.append(part)
                }
            }
        }
        if !doc.errors.isEmpty { throw RuleFileErrors(errors: doc.errors) }
        return layout
    }
}
