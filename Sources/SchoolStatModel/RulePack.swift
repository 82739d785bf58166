// Rules: rule packs — derived values, aggregates and rules over entities and
// groups, as loaded from Rules/packs/*.yaml — and regional profiles.

/// A value computed for each row of an entity table.
package struct DerivedValue: Sendable {
    package init(table: String, name: String, source: Source, location: SourceLocation) {
        self.table = table; self.name = name; self.source = source; self.location = location
    }

    package enum Source: Sendable {
        /// An expression over the row's own columns and earlier derived values.
        case row(Expression)
        /// An aggregate over the rows of another table whose `by` column equals this row's key.
        case other(table: String, by: String, value: Expression, filter: Expression?)
    }
    package var table: String
    package var name: String
    package var source: Source
    package var location: SourceLocation
}

/// A rule evaluated after all rows are read: per entity row, or per group of rows.
package struct PackRule: Sendable {
    package init(id: String, titleZh: String, titleEn: String, table: String, by: [String], scope: Expression? = nil, condition: Expression, values: [(name: String, expression: Expression)], severity: Severity, messageZh: String, messageEn: String, fixZh: String? = nil, fixEn: String? = nil, onMissing: MissingPolicy, source: String? = nil, pack: String, location: SourceLocation, quarantine: Bool = false) {
        self.id = id; self.titleZh = titleZh; self.titleEn = titleEn; self.table = table; self.by = by; self.scope = scope; self.condition = condition; self.values = values; self.severity = severity; self.messageZh = messageZh; self.messageEn = messageEn; self.fixZh = fixZh; self.fixEn = fixEn; self.onMissing = onMissing; self.source = source; self.pack = pack; self.location = location; self.quarantine = quarantine
    }

    package var id: String
    package var titleZh: String
    package var titleEn: String
    package var table: String
    /// Group columns; empty for a rule on each row.
    package var by: [String]
    package var scope: Expression?
    package var condition: Expression
    package var values: [(name: String, expression: Expression)]
    package var severity: Severity
    package var messageZh: String
    package var messageEn: String
    package var fixZh: String?
    package var fixEn: String?
    package var onMissing: MissingPolicy
    package var source: String?
    package var pack: String
    package var location: SourceLocation
    /// Whether the rows of an entity or group that fails are moved to `rejected/`.
    /// Most aggregate rules only report; dependent rows of a rejected entity are moved.
    package var quarantine = false
}

package struct RulePack: Sendable {
    package init(name: String, titleZh: String, version: String, source: String? = nil, years: ClosedRange<Int>, parameters: [String: Value], derived: [DerivedValue], rules: [PackRule], path: String, versions: [PackVersion] = []) {
        self.name = name; self.titleZh = titleZh; self.version = version; self.source = source; self.years = years; self.parameters = parameters; self.derived = derived; self.rules = rules; self.path = path; self.versions = versions
    }

    package var name: String
    package var titleZh: String
    package var version: String
    package var source: String?
    /// Reporting years this version applies to.
    package var years: ClosedRange<Int>
    package var parameters: [String: Value]
    package var derived: [DerivedValue]
    package var rules: [PackRule]
    package var path: String
    /// Versions by reporting year: each overrides some parameters (standards change over time).
    package var versions: [PackVersion] = []

    /// The pack as it applies to `year`: the matching version's name, years and parameters.
    package func applying(to year: Int) -> RulePack? {
        guard !versions.isEmpty else { return years.contains(year) ? self : nil }
        guard let v = versions.first(where: { $0.years.contains(year) }) else { return nil }
        var copy = self
        copy.version = v.version
        copy.years = v.years
        for (k, value) in v.parameters { copy.parameters[k] = value }
        return copy
    }
}

package struct PackVersion: Sendable {
    package init(version: String, years: ClosedRange<Int>, parameters: [String: Value], location: SourceLocation) {
        self.version = version; self.years = years; self.parameters = parameters; self.location = location
    }

    package var version: String
    package var years: ClosedRange<Int>
    package var parameters: [String: Value]
    package var location: SourceLocation
}

/// A region's parameter values (national baseline, Yubei, Shapingba …).
package struct Profile: Sendable {
    package init(name: String, titleZh: String, parameters: [String: Value], path: String) {
        self.name = name; self.titleZh = titleZh; self.parameters = parameters; self.path = path
    }

    package var name: String
    package var titleZh: String
    package var parameters: [String: Value]
    package var path: String
}
