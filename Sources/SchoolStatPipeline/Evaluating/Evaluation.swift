// Evaluating: what a pack rule concludes, and the kept rows of entity tables.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// The verdict on one entity or group.
public enum Verdict: String, Sendable, Codable {
    case met, notMet = "not_met", notEvaluable = "not_evaluable"
}

/// One evaluated rule instance, with the figures behind it.
public struct Evaluation: Sendable {
    public var ruleID: String
    public var table: String
    public var groupKey: String
    public var sourceFile: String
    public var line: Int
    public var verdict: Verdict
    /// The rule's named values, in declaration order, as text.
    public var figures: [(name: String, value: String)]
}

/// Retained clean rows of a table that rules are evaluated on.
public final class EntityStore {
    public let schema: TableSchema
    public var rows: [[Value]] = []
    public var files: [String] = []
    public var lines: [Int] = []
    public init(schema: TableSchema) { self.schema = schema }
}
