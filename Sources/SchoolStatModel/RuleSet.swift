// Model: everything a run validates against, as loaded from Rules/.

/// Spellings shared by all tables: booleans, missing placeholders, units.
public struct Vocabulary: Sendable {
    public init(trueWords: Set<String> = [], falseWords: Set<String> = [], missingWords: Set<String> = [], exactBooleans: [String: Bool] = [:], units: [String: UnitKind] = [:]) {
        self.trueWords = trueWords; self.falseWords = falseWords; self.missingWords = missingWords; self.exactBooleans = exactBooleans; self.units = units
    }

    public var trueWords: Set<String> = []
    public var falseWords: Set<String> = []
    public var missingWords: Set<String> = []
    /// Spellings exactly as written → value: the fast path before match keys.
    public var exactBooleans: [String: Bool] = [:]
    public var units: [String: UnitKind] = [:]
}

/// Everything a run validates against.
public struct RuleSet: Sendable {
    public init(vocabulary: Vocabulary, parameters: [String: Value], tables: [TableSchema], packs: [RulePack] = [], inactivePacks: [String] = [], profiles: [Profile] = [], profile: String? = nil, files: [(path: String, sha256: String)]) {
        self.vocabulary = vocabulary; self.parameters = parameters; self.tables = tables; self.packs = packs; self.inactivePacks = inactivePacks; self.profiles = profiles; self.profile = profile; self.files = files
    }

    public var vocabulary: Vocabulary
    public var parameters: [String: Value]
    public var tables: [TableSchema]
    /// Packs in force for the reporting year, each at its matching version.
    public var packs: [RulePack] = []
    /// Packs that have no version for the reporting year.
    public var inactivePacks: [String] = []
    public var profiles: [Profile] = []
    /// The profile whose parameters are in force, if any.
    public var profile: String?
    /// Rule files read, with their SHA-256, in a stable order.
    public var files: [(path: String, sha256: String)]

    public func table(named name: String) -> TableSchema? { tables.first { $0.name == name } }

    /// The reporting year: `report_year` if set, else the year of `report_date`.
    public var reportYear: Int {
        if case .integer(let y) = parameters["report_year"] { return Int(y) }
        if case .date(let d) = parameters["report_date"] { return d.year }
        return 0
    }
}
