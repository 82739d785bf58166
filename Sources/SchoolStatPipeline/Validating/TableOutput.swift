// Validating: what one table's files produce — counts, clean and rejected lines, the batches
// the workers hand back.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// Counts for one table, summed over its files.
public struct TableCounts {
    public var files: [String] = []
    public var rowsRead = 0
    public var rowsClean = 0
    public var rowsRejected = 0
    public var blankLines = 0
    public var repeatedHeaders = 0
    public var titleRows = 0
    public var titleTexts: [String] = []
}

/// The outputs of one table, shared by every file of that table.
public final class TableOutput {
    public let schema: TableSchema
    public let clean: CSVWriter
    public let rejected: CSVWriter
    /// Schema columns written to the clean file (personal columns may be dropped).
    public let cleanColumns: [Int]
    public var counts = TableCounts()
    /// Sees each clean row as it is written (rule packs keep or aggregate it).
    public var observer: ((RowValues, String, Int) -> Void)?
    /// The columns `observer` reads, nil for all: the others reach it as missing.
    public var observedColumns: [Int]?
    /// Sees the key of each rejected row, so rules can tell "rejected" from "absent".
    public var rejectObserver: ((String) -> Void)?
    /// The row handed to `observer`, reused.
    public let scratch: RowValues

    public init(schema: TableSchema, cleanPath: String, rejectedPath: String) throws(WriteError) {
        self.schema = schema
        scratch = RowValues(count: schema.columns.count)
        cleanColumns = schema.columns.indices.filter { schema.columns[$0].cleanOutput != .drop }
        clean = CSVWriter(file: try BufferedFile(path: cleanPath, bypassingCache: true))
        rejected = CSVWriter(file: try BufferedFile(path: rejectedPath, bypassingCache: true))
        clean.writeRow(cleanColumns.map { schema.columns[$0].name } + ["source_file", "source_line"])
        rejected.writeRow(["source_file", "source_line", "rule_ids"] + schema.columns.map(\.name) + ["extra_fields"])
    }

    public func close() throws(WriteError) {
        try clean.file.close()
        try rejected.file.close()
    }
}

/// What validating one batch produced. Committed in file order by `TableValidator`.
public final class BatchResult: @unchecked Sendable {
    public var findings: [LedgerEntry] = []
    public var clean = CSVLines(capacity: 1 << 18)
    public var rejected = CSVLines(capacity: 1 << 12)
    /// Clean rows' values and lines, kept only when rule packs observe the table.
    public var cleanRows: RowBlock?
    /// Keys of rejected rows, when rule packs observe the table.
    public var rejectedKeys: [String] = []
    public var counts = TableCounts()
}
