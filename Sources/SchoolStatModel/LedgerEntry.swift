// Model (writing): the error ledger — one entry per finding, as CSV for people
// (UTF-8 with BOM so Excel on a Chinese Windows reads it) and JSON Lines for programs.

/// One finding about the data.
public struct LedgerEntry: Sendable {
    public init(table: String, sourceFile: String, line: Int, recordKey: String, column: String, rawValue: String, normalisedValue: String, ruleID: String, severity: Severity, messageZh: String, messageEn: String, expected: String, note: String = "") {
        self.table = table; self.sourceFile = sourceFile; self.line = line; self.recordKey = recordKey; self.column = column; self.rawValue = rawValue; self.normalisedValue = normalisedValue; self.ruleID = ruleID; self.severity = severity; self.messageZh = messageZh; self.messageEn = messageEn; self.expected = expected; self.note = note
    }

    public var table: String
    public var sourceFile: String
    /// The worksheet of a workbook of several sheets the finding is in (empty: a file of one table).
    public var sheet: String = ""
    /// Physical line in the source file; 0 for findings about a whole file.
    public var line: Int
    /// The last line of a range of consecutive lines with the same finding, recorded once
    /// (0: the finding is about `line` alone).
    public var lastLine: Int = 0
    /// Record key such as `school_code=5001100001`, when the row has one.
    public var recordKey: String
    public var column: String
    /// The value as it was in the file (ID numbers masked).
    public var rawValue: String
    public var normalisedValue: String
    public var ruleID: String
    public var severity: Severity
    public var messageZh: String
    public var messageEn: String
    public var expected: String
    /// The waiver that covers this finding (reason, expiry, rectification); empty otherwise.
    public var note: String = ""
    /// The school code of the row the finding is about, when its table has one and the key is
    /// not it (a teacher's row): for the run history's changes per school. Not in the ledger.
    public var school: String = ""

    /// What is left in a list of findings in place of one moved on: its texts are empty and so
    /// take no reference counts to copy or destroy.
    public static let vacated = LedgerEntry(table: "", sourceFile: "", line: 0, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                                            ruleID: "", severity: .warning, messageZh: "", messageEn: "", expected: "")
}

extension LedgerEntry {
    /// The input the finding is about as the run names it: the file, and the sheet of a workbook
    /// of several (`全县报表.xlsx [教师名册]`).
    public var input: String { sheet.isEmpty ? sourceFile : "\(sourceFile) [\(sheet)]" }

    /// A file that could not be read, or not past `line` (0: not at all); its message is the
    /// error's own, which names the file, place and what to do in both languages.
    public init(table: String, file: String, line: Int, readError: ReadError) {
        self.init(table: table, sourceFile: file, line: line, recordKey: "", column: "", rawValue: "", normalisedValue: "",
                  ruleID: readError.ruleID, severity: .error, messageZh: readError.description, messageEn: readError.description, expected: "")
    }

    /// A finding whose words come from the message catalogue.
    public init(table: String, file: String, line: Int, rule: String, severity: Severity, message: FileMessage,
                column: String = "", raw: String = "", normalised: String = "", recordKey: String = "", expected: String = "") {
        self.init(table: table, sourceFile: file, line: line, recordKey: recordKey, column: column, rawValue: raw, normalisedValue: normalised,
                  ruleID: rule, severity: severity, messageZh: message.zh, messageEn: message.en, expected: expected)
    }
}
