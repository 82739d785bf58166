// Evaluating: Rules/ loaded and every pack compiled, before any data is read.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// The rule set and the evaluator compiled from its packs, for one run. Loading compiles the
/// packs against the schemas, so that a mistake in a pack is reported with the others in the
/// rule files, before any data is read; the run then uses that same evaluator.
public struct LoadedRules {
    public let ruleSet: RuleSet
    public let evaluator: PackEvaluator

    /// Throws `RuleFileErrors` listing the rule files' mistakes.
    public static func load(directory: String, profile: String? = nil, parameterOverrides: [String: String] = [:]) throws(RuleFileErrors) -> LoadedRules {
        let ruleSet = try RuleSetLoader.load(directory: directory, profile: profile, parameterOverrides: parameterOverrides)
        return LoadedRules(ruleSet: ruleSet, evaluator: try PackEvaluator(ruleSet: ruleSet, reportYear: ruleSet.reportYear))
    }
}
