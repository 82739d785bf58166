// Validating: the rules compiled for one file — its header, its columns' normalisers and plans,
// its row checks — one copy per worker.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// A row check compiled for this table. A class: the row loop reads it without copying its texts.
public final class CompiledCheck {
    public let spec: RowCheck
    public let scope: CompiledExpression?
    public let condition: CompiledExpression
    /// The scope and condition as loops over a batch's rows (`RowValidator` runs these; the
    /// closures above give the same values for one row).
    public let batchScope: BatchNode?
    public let batchCondition: BatchNode
    public let values: [(String, CompiledExpression)]
    public let blamedColumn: Int?
    /// The columns it reads; it is skipped when one of them already failed its own check.
    public let columns: [Int]

    public init(spec: RowCheck, scope: CompiledExpression?, condition: CompiledExpression, batchScope: BatchNode?, batchCondition: BatchNode,
                values: [(String, CompiledExpression)], blamedColumn: Int?, columns: Set<Int>) {
        self.spec = spec
        self.scope = scope
        self.condition = condition
        self.batchScope = batchScope
        self.batchCondition = batchCondition
        self.values = values
        self.blamedColumn = blamedColumn
        self.columns = columns.sorted()
    }
}

/// Where findings go: the ledger, the summary counts and the console.

/// Everything about one file that stays the same from row to row. Each worker has a copy of its own
/// (see `TableValidator.init`) and only reads it.
public final class FileRules: @unchecked Sendable {
    public let header: HeaderMap
    public let schema: TableSchema
    public let columns: [ColumnSpec]
    public let fileIndex: Int32
    public let displayPath: String
    /// The file's name as the clean rows' `source_file` field.
    public let displayPathField: [UInt8]
    public let encodingName: String
    public let normalisers: [CellNormaliser?]
    /// The columns the file has, in column order: what the row pass needs of each, with the
    /// normaliser held unretained (`normalisers` keeps it alive): no retain and release per cell.
    public let cellPlans: [CellPlan]
    public let checks: [CompiledCheck]
    /// The same, held unretained (`checks` keeps them alive): no retain and release of each check for each row.
    public let borrowedChecks: BorrowedObjects<CompiledCheck>
    /// This file's rows that repeat an earlier key, by record (see `DuplicateRows`).
    public let duplicateRows: DuplicateRows
    public let fileNames: [String]
    public let headerKeys: [String]
    /// The first byte of the header's first match key (0 for none).
    public let headerFirstKeyByte: UInt8
    public let missingColumnRules: [String]
    /// The record key's columns: (name, index).
    public let keyColumns: [(String, Int)]
    /// The `school_code` column, in a table keyed otherwise (the roster): findings carry the school.
    public let schoolColumn: Int?
    /// Columns written to the clean file and what is done to each.
    public let cleanColumns: [(index: Int, policy: CleanOutputPolicy, personal: PersonalData?)]
    /// Per column, whether every value it can take in a clean row is ASCII letters, digits and `_`
    /// (digit codes, codes whose pattern allows nothing else, enumerations whose keys are such):
    /// written as it is, without looking for what would need quotes or the formula guard.
    public let plainColumns: [Bool]
    public let uniqueColumns: [[Int?]]
    /// Whether the rule packs see the clean rows.
    public let observed: Bool
    /// The columns the observer reads (all when nil): only these go to the committer.
    public let observedColumns: [Int]?
    public let wantsRejectedKeys: Bool

    public init(header: HeaderMap, output: TableOutput, fileIndex: Int32, displayPath: String, encodingName: String,
         ruleSet: RuleSet, converter: ChineseConverter, duplicates: DuplicateFiles, fileNames: [String]) throws(RuleFileErrors) {
        self.header = header
        let schema = header.schema
        self.schema = schema
        columns = schema.columns
        self.fileIndex = fileIndex
        // Copies of its own, as each worker retains them on every row (see `String.unshared`).
        self.displayPath = displayPath.unshared
        displayPathField = CSVLines.encoded(displayPath)
        self.encodingName = encodingName
        duplicateRows = DuplicateRows(duplicates, file: fileIndex)
        self.fileNames = fileNames
        let normalisers = schema.columns.indices.map { i in
            header.fieldForColumn[i] == nil ? nil :
                CellNormaliser(column: schema.columns[i], vocabulary: ruleSet.vocabulary, converter: converter, headerUnit: header.unitForColumn[i])
        }
        self.normalisers = normalisers
        cellPlans = schema.columns.indices.compactMap { i in
            guard let normaliser = normalisers[i], let field = header.fieldForColumn[i] else { return nil }
            return CellPlan(column: i, field: field, normaliser: Unmanaged.passUnretained(normaliser), isText: schema.columns[i].type == .text)
        }
        var compiler = ExpressionCompiler(schema: schema, parameters: ruleSet.parameters)
        compiler.shared = SharedCalls(schema.checks.flatMap { spec in
            [spec.condition.root] + (spec.scope.map { [$0.root] } ?? []) + spec.values.map(\.expression.root)
        })
        // A check that needs a required column the file does not have is skipped: the missing column is
        // reported once. An absent optional column is simply missing in every row (coalesce() sees it so).
        // The loader compiled every check against the schema already; a check that does not compile
        // now is reported as a mistake in its rule file, never as a crash.
        var checks: [CompiledCheck] = []
        let batchCompiler = BatchCompiler(compiler)
        for spec in schema.checks {
            let scope: CompiledExpression?, condition: CompiledExpression, values: [(String, CompiledExpression)]
            let batchScope: BatchNode?, batchCondition: BatchNode
            do {
                scope = try spec.scope.map { e throws(ExpressionCompileError) in try compiler.compile(e.root) }
                condition = try compiler.compile(spec.condition.root)
                values = try spec.values.map { v throws(ExpressionCompileError) in (v.name, try compiler.compile(v.expression.root)) }
                batchScope = try spec.scope.map { e throws(ExpressionCompileError) in try batchCompiler.compile(e.root) }
                batchCondition = try batchCompiler.compile(spec.condition.root)
            } catch {
                throw RuleFileErrors(errors: [RuleFileError(location: spec.location, message: "\(spec.id): \(error.message)")])
            }
            var columns = condition.columns.union(scope?.columns ?? [])
            for (_, v) in values { columns.formUnion(v.columns) }
            if columns.contains(where: { header.fieldForColumn[$0] == nil && schema.columns[$0].required }) { continue }
            checks.append(CompiledCheck(spec: spec, scope: scope, condition: condition, batchScope: batchScope, batchCondition: batchCondition, values: values,
                                        blamedColumn: spec.column.flatMap { schema.columnIndex($0) }, columns: columns))
        }
        self.checks = checks
        borrowedChecks = BorrowedObjects(checks)
        headerKeys = header.headers.map(TextCleaner.matchKey)
        headerFirstKeyByte = headerKeys.first?.utf8.first ?? 0
        missingColumnRules = header.missingRequired.map { RuleID.column(schema.name, schema.columns[$0].name, "required") }
        keyColumns = schema.key.compactMap { name in schema.columnIndex(name).map { (name, $0) } }
        schoolColumn = schema.key == ["school_code"] ? nil : schema.columnIndex("school_code")
        cleanColumns = output.cleanColumns.map { ($0, schema.columns[$0].cleanOutput, schema.columns[$0].personal) }
        plainColumns = schema.columns.map { c in
            switch c.type {
            case .code: return c.digitsOnly || (c.pattern?.allowsOnlyAlphanumerics ?? false)
            case .enumeration:
                return !c.enumValues.isEmpty && c.enumValues.allSatisfy { key in
                    !key.isEmpty && key.utf8.allSatisfy { b in (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x5F }
                }
            default: return false
            }
        }
        uniqueColumns = schema.unique.map { u in u.columns.map { schema.columnIndex($0) } }
        observed = output.observer != nil
        observedColumns = output.observedColumns.map { columns in columns.map { $0 } }
        wantsRejectedKeys = output.rejectObserver != nil
    }

    /// A value as messages show it: ID numbers masked.
    public func display(_ column: Int, _ value: Value) -> String {
        columns[column].personal == .idNumber ? IDNumber.mask(value.description) : value.description
    }

    /// A finding about a line of the file rather than a cell (header, blank or repeated-header lines).
    public func fileFinding(line: Int, column: String = "", raw: String = "", rule: String, severity: Severity = .warning,
                            _ message: FileMessage, expected: String = "") -> LedgerEntry {
        LedgerEntry(table: schema.name, file: displayPath, line: line, rule: rule, severity: severity, message: message,
                    column: column, raw: raw, expected: expected)
    }

    deinit { duplicateRows.deallocate() }
}

/// One column of a file as the row pass reads it.
public struct CellPlan {
    public let column: Int
    public let field: Int
    public let normaliser: Unmanaged<CellNormaliser>
    public let isText: Bool
}
