// Model (messages): the ids of the checks schoolstat makes itself, spelt in one place. Rule files
// name their own rules; these are the ids of the schema constraints, header checks and table
// checks, as the ledger and waivers use them.

public enum RuleID {
    /// `teachers.birth_date.type`: a constraint of one column.
    public static func column(_ table: String, _ column: String, _ constraint: String) -> String {
        table + "." + column + "." + constraint
    }

    /// `teachers.header.unknown_column`.
    public static func header(_ table: String, _ what: String) -> String { table + ".header." + what }

    /// `county_finance.year_not_covered`: a check of a table as a whole.
    public static func table(_ table: String, _ what: String) -> String { table + "." + what }
}
