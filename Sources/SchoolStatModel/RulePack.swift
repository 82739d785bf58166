// Model (rules): rule packs — derived values, aggregates and rules over entities and
// groups, as loaded from Rules/packs/*.yaml — and regional profiles.

/// A value computed for each row of an entity table.
public struct DerivedValue: Sendable {
    public init(table: String, name: String, source: Source, location: SourceLocation) {
        self.table = table; self.name = name; self.source = source; self.location = location
    }

    public enum Source: Sendable {
        /// An expression over the row's own columns and earlier derived values.
        case row(Expression)
        /// An aggregate over the rows of another table whose `by` column equals this row's key.
        case other(table: String, by: String, value: Expression, filter: Expression?)
    }
    public var table: String
    public var name: String
    public var source: Source
    public var location: SourceLocation
}

/// A rule evaluated after all rows are read: per entity row, or per group of rows.
public struct PackRule: Sendable {
    public init(id: String, titleZh: String, titleEn: String, table: String, by: [String], scope: Expression? = nil, condition: Expression, values: [(name: String, expression: Expression)], severity: Severity, messageZh: String, messageEn: String, fixZh: String? = nil, fixEn: String? = nil, onMissing: MissingPolicy, source: String? = nil, pack: String, location: SourceLocation, quarantine: Bool = false) {
        self.id = id; self.titleZh = titleZh; self.titleEn = titleEn; self.table = table; self.by = by; self.scope = scope; self.condition = condition; self.values = values; self.severity = severity; self.messageZh = messageZh; self.messageEn = messageEn; self.fixZh = fixZh; self.fixEn = fixEn; self.onMissing = onMissing; self.source = source; self.pack = pack; self.location = location; self.quarantine = quarantine
    }

    public var id: String
    public var titleZh: String
    public var titleEn: String
    public var table: String
    /// Group columns; empty for a rule on each row.
    public var by: [String]
    public var scope: Expression?
    public var condition: Expression
    public var values: [(name: String, expression: Expression)]
    public var severity: Severity
    public var messageZh: String
    public var messageEn: String
    public var fixZh: String?
    public var fixEn: String?
    public var onMissing: MissingPolicy
    public var source: String?
    public var pack: String
    public var location: SourceLocation
    /// Whether the rows of an entity or group that fails are moved to `rejected/`.
    /// Most aggregate rules only report; dependent rows of a rejected entity are moved.
    public var quarantine = false
}

public struct RulePack: Sendable {
    public init(name: String, titleZh: String, version: String, source: String? = nil, years: ClosedRange<Int>, parameters: [String: Value], derived: [DerivedValue], rules: [PackRule], path: String, versions: [PackVersion] = []) {
        self.name = name; self.titleZh = titleZh; self.version = version; self.source = source; self.years = years; self.parameters = parameters; self.derived = derived; self.rules = rules; self.path = path; self.versions = versions
    }

    public var name: String
    public var titleZh: String
    public var version: String
    public var source: String?
    /// Reporting years this version applies to.
    public var years: ClosedRange<Int>
    public var parameters: [String: Value]
    public var derived: [DerivedValue]
    public var rules: [PackRule]
    public var path: String
    /// Versions by reporting year: each overrides some parameters (standards change over time).
    public var versions: [PackVersion] = []
    /// How `schoolstat score` lays the pack's results out; a pack without one is not in the evaluation.
    public var report: PackReport?

    /// The pack as it applies to `year`: the matching version's name, years and parameters.
    public func applying(to year: Int) -> RulePack? {
        guard !versions.isEmpty else { return years.contains(year) ? self : nil }
        guard let v = versions.first(where: { $0.years.contains(year) }) else { return nil }
        var copy = self
        copy.version = v.version
        copy.years = v.years
        for (k, value) in v.parameters { copy.parameters[k] = value }
        return copy
    }
}

public struct PackVersion: Sendable {
    public init(version: String, years: ClosedRange<Int>, parameters: [String: Value], location: SourceLocation) {
        self.version = version; self.years = years; self.parameters = parameters; self.location = location
    }

    public var version: String
    public var years: ClosedRange<Int>
    public var parameters: [String: Value]
    public var location: SourceLocation
}

/// A region's parameter values (national baseline, Yubei, Shapingba …).
public struct Profile: Sendable {
    public init(name: String, titleZh: String, parameters: [String: Value], path: String) {
        self.name = name; self.titleZh = titleZh; self.parameters = parameters; self.path = path
    }

    public var name: String
    public var titleZh: String
    public var parameters: [String: Value]
    public var path: String
}

/// How `schoolstat score` reports a pack, as its `report:` block says: the indicator ids, titles
/// and rules of the evaluation tables and charts are data in the pack, not code.
public struct PackReport: Sendable {
    public enum Layout: String, Sendable {
        /// One row per school and section: each indicator's value, standard and verdict, then the
        /// school's verdict; per county and section, each indicator's schools and variation.
        case schools
        /// One row per county and rule.
        case county
    }

    /// An indicator of the `schools` layout: its rule is `<rule>.<section>`.
    public struct Indicator: Sendable {
        public var id: String
        public var rule: String
        public var titleZh: String
        /// The county rule's figure holding this indicator's variation coefficient.
        public var variation: String
        public init(id: String, rule: String, titleZh: String, variation: String) {
            self.id = id; self.rule = rule; self.titleZh = titleZh; self.variation = variation
        }
    }

    public var layout: Layout
    /// Sections in order, with their Chinese names.
    public var sections: [(name: String, titleZh: String)] = []
    public var indicators: [Indicator] = []
    /// The rule judging a school as a whole, `<schoolRule>.<section>`, grouped by school.
    public var schoolRule: String?
    /// The rule judging the county's variation, `<countyRule>.<section>`, grouped by county.
    public var countyRule: String?
    /// Why schools of a type are not evaluated, by `school_type`; `other` for any type not in
    /// scope and not listed. `{name}` is a parameter's value.
    public var excluded: [String: String] = [:]
    public var location: SourceLocation

    public init(layout: Layout, location: SourceLocation) {
        self.layout = layout
        self.location = location
    }
}
