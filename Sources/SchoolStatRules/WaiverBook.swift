// Rules: waivers — findings a county has accepted, with the reason and an
// expiry date. A waived finding stays in the ledger, marked, and does not
// fail the run; an expired waiver no longer applies and is itself reported.
import Foundation
import Yams
import SchoolStatModel
import SchoolStatBytes

public final class WaiverBook {
    public private(set) var waivers: [Waiver] = []
    private var used: [Bool] = []
    public let asOf: Day

    public init(waivers: [Waiver], asOf: Day) {
        self.waivers = waivers
        self.used = Array(repeating: false, count: waivers.count)
        self.asOf = asOf
    }

    public static func load(path: String, asOf: Day) throws(RuleFileErrors) -> WaiverBook {
        let doc = YAMLDocument(path: path)
        guard let (text, _) = doc.readText() else {
            let errors = doc.errors.isEmpty
                ? [RuleFileError(location: SourceLocation(path: path, line: 1, column: 1), message: "无法读取豁免文件 (cannot read the waivers file)")] : doc.errors
            throw RuleFileErrors(errors: errors)
        }
        var waivers: [Waiver] = []
        if let root = doc.compose(text) {
            if let seq = root.sequence {
                for item in seq {
                    var w = Waiver(rule: "", key: "*", reason: "", expires: asOf, rectification: nil, location: doc.location(of: item))
                    var sawExpiry = false
                    for (k, _, v) in doc.mapping(item, context: "waiver", allowed: ["rule", "key", "reason", "expires", "rectification"]) {
                        switch k {
                        case "rule": w.rule = doc.string(v, context: k) ?? ""
                        case "key": w.key = doc.string(v, context: k) ?? "*"
                        case "reason": w.reason = doc.string(v, context: k) ?? ""
                        case "rectification": w.rectification = doc.string(v, context: k)
                        default:
                            if let s = doc.string(v, context: k), let d = DateText.parse(s) { w.expires = d; sawExpiry = true } else { doc.fail(v, "expires 应为日期，如 2025-12-31 (expected a date)") }
                        }
                    }
                    if w.rule.isEmpty { doc.fail(item, "豁免缺少 rule (which rule id is waived)") }
                    if w.reason.isEmpty { doc.fail(item, "豁免缺少 reason (why the finding is accepted)") }
                    if !sawExpiry { doc.fail(item, "豁免缺少 expires (every waiver needs an expiry date)") }
                    waivers.append(w)
                }
            } else {
                doc.fail(root, "豁免文件应为列表 (expected a list of waivers)")
            }
        }
        if !doc.errors.isEmpty { throw RuleFileErrors(errors: doc.errors) }
        return WaiverBook(waivers: waivers, asOf: asOf)
    }

    /// The waiver covering a finding, if one is in force.
    public func match(_ entry: LedgerEntry) -> Waiver? {
        for (i, w) in waivers.enumerated() where w.rule == entry.ruleID && (w.key == "*" || w.key == entry.recordKey) {
            used[i] = true
            if w.expires >= asOf { return w }
        }
        return nil
    }

    /// Findings about the waivers themselves: expired ones that were needed, and ones nothing matched.
    public func report() -> [LedgerEntry] {
        var out: [LedgerEntry] = []
        for (i, w) in waivers.enumerated() {
            let place = "\(w.location.path)"
            if w.expires < asOf {
                out.append(LedgerEntry(table: "", file: place, line: w.location.line, rule: "waiver.expired", severity: .warning,
                                       message: .waiverExpired(rule: w.rule, key: w.key, expires: w.expires.description, wasNeeded: used[i]),
                                       recordKey: w.key, expected: "expires ≥ \(asOf)"))
            } else if !used[i] {
                out.append(LedgerEntry(table: "", file: place, line: w.location.line, rule: "waiver.unused", severity: .warning,
                                       message: .waiverUnused(rule: w.rule, key: w.key), recordKey: w.key))
            }
        }
        return out
    }
}
