// Model (schema): what a table looks like, as loaded from Rules/schemas/*.yaml.

public enum ColumnType: String, Sendable, CaseIterable {
    case integer, decimal, text, date, boolean, code
    case enumeration = "enum"
}

public enum Severity: String, Sendable, Codable, Comparable {
    case error, warning

    public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .error }
}

/// Personal data a column holds, and what the clean output does with it.
public enum PersonalData: String, Sendable {
    case idNumber = "id_number", name, wage
}

public enum CleanOutputPolicy: String, Sendable {
    case keep, mask, drop
}

/// A family of units and the suffixes that scale into its canonical unit.
public struct UnitKind: Sendable {
    public init(name: String, canonical: String, scales: [String: Int]) {
        self.name = name; self.canonical = canonical; self.scales = scales
    }

    public var name: String
    public var canonical: String
    /// Match key of a written unit → power of ten to multiply by (万元 → 4, % → -2).
    public var scales: [String: Int]

    /// The powers of ten a rule file may give a unit: from 10⁻¹² to 10¹² (万亿). The units in
    /// use run from ‰ (-3) to 亿 (8); anything beyond is a typing mistake, refused at load.
    public static let powers: ClosedRange<Int> = -12...12
}

public struct ColumnSpec: Sendable {
    public init(name: String, type: ColumnType, titleZh: String, titleEn: String, aliases: [String], required: Bool, unit: UnitKind? = nil, minimum: FixedDecimal? = nil, maximum: FixedDecimal? = nil, earliest: Day? = nil, latest: Day? = nil, length: ClosedRange<Int>? = nil, digitsOnly: Bool, uppercase: Bool, pattern: Pattern? = nil, enumAliases: [String: String], enumValues: [String], enumExact: [String: String] = [:], enumLabelsZh: [String: String] = [:], missingTokens: Set<String>, acceptRatio: Bool, personal: PersonalData? = nil, cleanOutput: CleanOutputPolicy, hintZh: String? = nil, hintEn: String? = nil, location: SourceLocation) {
        self.name = name; self.type = type; self.titleZh = titleZh; self.titleEn = titleEn; self.aliases = aliases; self.required = required; self.unit = unit; self.minimum = minimum; self.maximum = maximum; self.earliest = earliest; self.latest = latest; self.length = length; self.digitsOnly = digitsOnly; self.uppercase = uppercase; self.pattern = pattern; self.enumAliases = enumAliases; self.enumValues = enumValues; self.enumExact = enumExact; self.enumLabelsZh = enumLabelsZh; self.missingTokens = missingTokens; self.acceptRatio = acceptRatio; self.personal = personal; self.cleanOutput = cleanOutput; self.hintZh = hintZh; self.hintEn = hintEn; self.location = location
    }

    public var name: String
    public var type: ColumnType
    public var titleZh: String
    public var titleEn: String
    public var aliases: [String]
    public var required: Bool
    public var unit: UnitKind?
    public var minimum: FixedDecimal?
    public var maximum: FixedDecimal?
    public var earliest: Day?
    public var latest: Day?
    public var length: ClosedRange<Int>?
    public var digitsOnly: Bool
    public var uppercase: Bool
    /// `pattern:`, compiled when the rules load.
    public var pattern: Pattern?
    /// Match key of an accepted spelling → canonical value.
    public var enumAliases: [String: String]
    public var enumValues: [String]
    /// Spellings exactly as written in the schema → canonical value: the fast path before match keys.
    public var enumExact: [String: String] = [:]
    /// Canonical value → its first Chinese spelling in the schema (`female` → 女): what Chinese
    /// messages show instead of the canonical key.
    public var enumLabelsZh: [String: String] = [:]
    public var missingTokens: Set<String>
    public var acceptRatio: Bool
    public var personal: PersonalData?
    public var cleanOutput: CleanOutputPolicy
    public var hintZh: String?
    public var hintEn: String?
    public var location: SourceLocation

    /// How a value of this column reads in a Chinese message: an enumeration's Chinese spelling.
    public func zhText(_ value: String) -> String { enumLabelsZh[value] ?? value }

    /// The column's label in messages: `出生日期（birth_date）`.
    public var label: String { "\(titleZh)（\(name)）" }
}

/// A cross-field check on one row, written as an expression in the rule language.
public struct RowCheck: Sendable {
    public init(id: String, titleZh: String, titleEn: String, column: String? = nil, scope: Expression? = nil, condition: Expression, severity: Severity, messageZh: String, messageEn: String, fixZh: String? = nil, fixEn: String? = nil, values: [(name: String, expression: Expression)], onMissing: MissingPolicy, source: String? = nil, location: SourceLocation) {
        self.id = id; self.titleZh = titleZh; self.titleEn = titleEn; self.column = column; self.scope = scope; self.condition = condition; self.severity = severity; self.messageZh = messageZh; self.messageEn = messageEn; self.fixZh = fixZh; self.fixEn = fixEn; self.values = values; self.onMissing = onMissing; self.source = source; self.location = location
    }

    public var id: String
    public var titleZh: String
    public var titleEn: String
    public var column: String?
    public var scope: Expression?
    public var condition: Expression
    public var severity: Severity
    public var messageZh: String
    public var messageEn: String
    public var fixZh: String?
    public var fixEn: String?
    /// Named expressions usable as `{name}` in the messages.
    public var values: [(name: String, expression: Expression)]
    public var onMissing: MissingPolicy
    public var source: String?
    public var location: SourceLocation
}

/// What a rule does when the values it needs are missing.
public enum MissingPolicy: String, Sendable {
    /// Report the row as not evaluable, at the rule's severity lowered to warning.
    case report
    /// The rule does not apply; say so in the rule.
    case skip
    /// Treat as a failure at the rule's severity.
    case fail
}

public struct UniqueKey: Sendable {
    public init(id: String, columns: [String], severity: Severity, location: SourceLocation) {
        self.id = id; self.columns = columns; self.severity = severity; self.location = location
    }

    public var id: String
    public var columns: [String]
    public var severity: Severity
    public var location: SourceLocation
}

public struct TableSchema: Sendable {
    public init(name: String, titleZh: String, titleEn: String, columns: [ColumnSpec], key: [String], unique: [UniqueKey], checks: [RowCheck], minimumHeaderMatches: Int, path: String) {
        self.name = name; self.titleZh = titleZh; self.titleEn = titleEn; self.columns = columns; self.key = key; self.unique = unique; self.checks = checks; self.minimumHeaderMatches = minimumHeaderMatches; self.path = path
    }

    public var name: String
    public var titleZh: String
    public var titleEn: String
    public var columns: [ColumnSpec]
    public var key: [String]
    public var unique: [UniqueKey]
    public var checks: [RowCheck]
    public var minimumHeaderMatches: Int
    public var path: String

    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }
}
