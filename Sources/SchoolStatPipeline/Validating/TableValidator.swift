// Validating: the single streaming pass over one file's records — read
// checks, normalisation, schema constraints and row checks — deciding for
// each row whether it is clean or rejected. Rows are validated in batches on
// worker threads and committed in file order.
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
        clean = CSVWriter(file: try BufferedFile(path: cleanPath))
        rejected = CSVWriter(file: try BufferedFile(path: rejectedPath))
        clean.writeRow(cleanColumns.map { schema.columns[$0].name } + ["source_file", "source_line"])
        rejected.writeRow(["source_file", "source_line", "rule_ids"] + schema.columns.map(\.name) + ["extra_fields"])
    }

    public func close() throws(WriteError) {
        try clean.file.close()
        try rejected.file.close()
    }
}

/// A row check compiled for this table. A class: the row loop reads it without copying its texts.
public final class CompiledCheck {
    public let spec: RowCheck
    public let scope: CompiledExpression?
    public let condition: CompiledExpression
    public let values: [(String, CompiledExpression)]
    public let blamedColumn: Int?
    /// The columns it reads; it is skipped when one of them already failed its own check.
    public let columns: [Int]

    public init(spec: RowCheck, scope: CompiledExpression?, condition: CompiledExpression, values: [(String, CompiledExpression)],
         blamedColumn: Int?, columns: Set<Int>) {
        self.spec = spec
        self.scope = scope
        self.condition = condition
        self.values = values
        self.blamedColumn = blamedColumn
        self.columns = columns.sorted()
    }
}

/// Where findings go: the ledger, the summary counts and the console.

/// What validating one batch produced. Committed in file order by `TableValidator`.
public final class BatchResult: @unchecked Sendable {
    public var findings: [LedgerEntry] = []
    public var clean = CSVLines(capacity: 1 << 17)
    public var rejected = CSVLines(capacity: 1 << 12)
    /// Clean rows' values and lines, kept only when rule packs observe the table.
    public var cleanRows: RowBlock?
    /// Keys of rejected rows, when rule packs observe the table.
    public var rejectedKeys: [String] = []
    public var counts = TableCounts()
}

/// Clean rows' values on their way from a worker to the committer: the rows of a batch
/// back to back in one buffer. The committer moves each row out as it takes it, so
/// there is nothing left to destroy afterwards. (An array per row cost more than the
/// values in it: its allocation, and its destruction, which goes through the runtime's
/// generic path one value at a time.)

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
    /// normaliser held unretained (`normalisers` keeps it alive); one retain and release per
    /// cell were a tenth of the cells' cost.
    public let cellPlans: [CellPlan]
    public let checks: [CompiledCheck]
    /// The same, held unretained (`checks` keeps them alive): no retain and release of each check for each row.
    public let uncheckedChecks: [Unmanaged<CompiledCheck>]
    /// This file's rows that repeat an earlier key, by record (see `DuplicateRows`).
    public let duplicateRows: DuplicateRows
    public let fileNames: [String]
    public let headerKeys: [String]
    /// The first byte of the header's first match key (0 for none).
    public let headerFirstKeyByte: UInt8
    public let missingColumnRules: [String]
    /// The record key's columns: (name, index).
    public let keyColumns: [(String, Int)]
    /// Columns written to the clean file and what is done to each.
    public let cleanColumns: [(index: Int, policy: CleanOutputPolicy, personal: PersonalData?)]
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
        for spec in schema.checks {
            let scope: CompiledExpression?, condition: CompiledExpression, values: [(String, CompiledExpression)]
            do {
                scope = try spec.scope.map { e throws(ExpressionCompileError) in try compiler.compile(e.root) }
                condition = try compiler.compile(spec.condition.root)
                values = try spec.values.map { v throws(ExpressionCompileError) in (v.name, try compiler.compile(v.expression.root)) }
            } catch {
                throw RuleFileErrors(errors: [RuleFileError(location: spec.location, message: "\(spec.id): \(error.message)")])
            }
            var columns = condition.columns.union(scope?.columns ?? [])
            for (_, v) in values { columns.formUnion(v.columns) }
            if columns.contains(where: { header.fieldForColumn[$0] == nil && schema.columns[$0].required }) { continue }
            checks.append(CompiledCheck(spec: spec, scope: scope, condition: condition, values: values,
                                        blamedColumn: spec.column.flatMap { schema.columnIndex($0) }, columns: columns))
        }
        self.checks = checks
        uncheckedChecks = checks.map { Unmanaged.passUnretained($0) }
        headerKeys = header.headers.map(TextCleaner.matchKey)
        headerFirstKeyByte = headerKeys.first?.utf8.first ?? 0
        missingColumnRules = header.missingRequired.map { "\(schema.name).\(schema.columns[$0].name).required" }
        keyColumns = schema.key.compactMap { name in schema.columnIndex(name).map { (name, $0) } }
        cleanColumns = output.cleanColumns.map { ($0, schema.columns[$0].cleanOutput, schema.columns[$0].personal) }
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
                     zh: String, en: String, expected: String = "") -> LedgerEntry {
        LedgerEntry(table: schema.name, sourceFile: displayPath, line: line, recordKey: "", column: column, rawValue: raw,
                    normalisedValue: "", ruleID: rule, severity: severity, messageZh: zh, messageEn: en, expected: expected)
    }

    deinit { duplicateRows.deallocate() }
}

/// Validates rows. Each worker thread has its own; it only reads `FileRules`.
public final class RowValidator {
    public let rules: FileRules
    private let row: RowValues
    private var problems: [Bool]
    private var rowFindings: [LedgerEntry] = []
    private var failedRules: [String] = []
    private var result = BatchResult()

    public init(rules: FileRules) {
        self.rules = rules
        row = RowValues(count: rules.columns.count)
        problems = Array(repeating: false, count: rules.columns.count)
    }

    private var schema: TableSchema { rules.schema }

    public func validate(_ batch: RecordBatch) -> BatchResult {
        result = BatchResult()
        batch.forEachItem { item in
            switch item {
            case .blankLine(let line): blankLine(line)
            case .record(let record): process(record)
            }
        }
        return result
    }

    private func blankLine(_ line: Int) {
        result.counts.blankLines += 1
        result.findings.append(rules.fileFinding(line: line, rule: "read.blank_row",
            zh: "第 \(line) 行是空行，已跳过。", en: "Line \(line) is blank and was skipped."))
    }

    /// Handles one record after the header.
    private func process(_ record: RawRecord) {
        if record.isBlank {
            blankLine(record.line)
            return
        }
        if isRepeatedHeader(record) {
            result.counts.repeatedHeaders += 1
            result.findings.append(rules.fileFinding(line: record.line, rule: "read.repeated_header",
                zh: "第 \(record.line) 行重复了表头（可能是几个文件拼接而成），已跳过。",
                en: "Line \(record.line) repeats the header row (files pasted together?) and was skipped."))
            return
        }
        result.counts.rowsRead += 1
        row.beginRow()
        if !rowFindings.isEmpty { rowFindings.removeAll(keepingCapacity: true) }
        if !failedRules.isEmpty { failedRules.removeAll(keepingCapacity: true) }
        for i in problems.indices { problems[i] = false }
        row.values.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = .missing }
        }

        checkShape(record)
        normaliseCells(record)
        evaluateChecks(record)
        checkDuplicates(record)
        failedRules.append(contentsOf: rules.missingColumnRules)

        if !rowFindings.isEmpty {
            let key = recordKey()
            for var f in rowFindings {
                f.recordKey = key
                result.findings.append(f)
            }
        }
        if failedRules.isEmpty {
            result.counts.rowsClean += 1
            writeClean(record)
        } else {
            result.counts.rowsRejected += 1
            writeRejected(record)
        }
    }

    private func isRepeatedHeader(_ record: RawRecord) -> Bool {
        let keys = rules.headerKeys
        guard record.fieldCount == keys.count, !keys.isEmpty else { return false }
        // Cheap test first: a repeated header's first cell is the header's first cell. A cell
        // starting with an ASCII letter or digit has a match key starting with it, lower-cased,
        // so most data rows are told apart by their first byte.
        let first = record.firstByte
        if (first >= 0x30 && first <= 0x39) || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A),
           (first >= 0x41 ? first | 0x20 : first) != rules.headerFirstKeyByte { return false }
        guard record.withField(0, { TextCleaner.matchKey(of: $0, equals: keys[0]) }) else { return false }
        var same = 0
        for i in 0..<record.fieldCount where TextCleaner.matchKey(record.lossyString(i)) == keys[i] { same += 1 }
        return same * 5 >= keys.count * 4
    }

    private func addFinding(_ record: RawRecord, column: Int?, field: Int?, raw: String, normalised: String, rule: String,
                            severity: Severity, zh: String, en: String, expected: String) {
        let columnName = column.map { rules.columns[$0].name } ?? (field.map { "#\(TableValidator.columnLetter($0))" } ?? "")
        rowFindings.append(LedgerEntry(table: schema.name, sourceFile: rules.displayPath, line: record.line, recordKey: "", column: columnName,
                                       rawValue: raw, normalisedValue: normalised, ruleID: rule, severity: severity,
                                       messageZh: zh, messageEn: en, expected: expected))
        if severity == .error { failedRules.append(rule) }
    }

    private func checkShape(_ record: RawRecord) {
        let expected = rules.headerKeys.count
        let got = record.fieldCount
        if got == expected { return }
        let lines = record.lineCount > 1 ? "第 \(record.line)–\(record.line + record.lineCount - 1) 行" : "第 \(record.line) 行"
        if got < expected {
            // A short record spanning several lines is the mark of a quote opened and never closed.
            let quoteZh = record.lineCount > 1 ? "很可能是某个值以引号 \" 开头却没有结束引号，后面的行被并进了这个值；请检查引号是否成对。" : "这一行可能被换行截断，或少了分隔符；请核对该行。"
            let quoteEn = record.lineCount > 1 ? " A value probably opens a quote that is never closed, swallowing the following lines; check the quotes." : " The row may be cut by a line break or miss a separator."
            addFinding(record, column: nil, field: nil, raw: "", normalised: "", rule: "read.too_few_fields", severity: .error,
                zh: "\(lines)只有 \(got) 列，表头有 \(expected) 列。" + quoteZh,
                en: "Line \(record.line) has \(got) fields but the header has \(expected)." + quoteEn,
                expected: "\(expected) 列")
        } else {
            var extra: [String] = []
            for i in expected..<got { extra.append(record.lossyString(i)) }
            let nonEmpty = extra.contains { !$0.trimmingSpaces().isEmpty }
            let shown = extra.prefix(3).map { "“\($0)”" }.joined(separator: "、")
            addFinding(record, column: nil, field: expected, raw: extra.joined(separator: " | "), normalised: "",
                rule: nonEmpty ? "read.too_many_fields" : "read.trailing_empty_fields", severity: nonEmpty ? .error : .warning,
                zh: nonEmpty ? "\(lines)有 \(got) 列，比表头多 \(got - expected) 列（多出：\(shown)）。可能是某个值里含有未加引号的逗号；请检查该行。"
                             : "\(lines)末尾有 \(got - expected) 个多余的空列，已忽略。",
                en: nonEmpty ? "Line \(record.line) has \(got) fields, \(got - expected) more than the header. A value may contain an unquoted comma."
                             : "Line \(record.line) ends with \(got - expected) empty extra fields; ignored.",
                expected: "\(expected) 列")
        }
    }

    private func normaliseCells(_ record: RawRecord) {
        // Most cells: accepted straight from their bytes, written into the row in place. Text
        // that a spreadsheet would run as a formula, and every cell with a problem, take the
        // general way afterwards, which reports it. Those cells are noted as bits (the first 64
        // columns: every schema so far), any further ones in a list.
        var generalBits: UInt64 = 0
        var generalBeyond: [Int] = []
        rules.cellPlans.withUnsafeBufferPointer { plans in
            record.withFields { fields in
                row.values.withUnsafeMutableBufferPointer { values in
                    for (p, plan) in plans.enumerated() {
                        guard plan.field < fields.count else {
                            // The row is too short to reach this column: the shape finding already covers it.
                            problems[plan.column] = true
                            continue
                        }
                        let b = fields[plan.field]
                        let value = plan.normaliser._withUnsafeGuaranteedRef { $0.acceptedValue(b) }
                        if let value, !(plan.isText && CSVWriter.isFormulaLike(b)) {
                            values[plan.column] = value
                        } else if p < 64 {
                            generalBits |= 1 &<< UInt64(p)
                        } else {
                            generalBeyond.append(p)
                        }
                    }
                }
            }
        }
        while generalBits != 0 {
            let p = generalBits.trailingZeroBitCount
            generalBits &= generalBits &- 1
            normaliseInFull(record, rules.cellPlans[p])
        }
        for p in generalBeyond { normaliseInFull(record, rules.cellPlans[p]) }
    }

    /// A cell the bytes alone did not settle: its value the general way, or its problem reported.
    private func normaliseInFull(_ record: RawRecord, _ plan: CellPlan) {
        let i = plan.column, field = plan.field
        let normaliser = plan.normaliser.takeUnretainedValue()
        guard let outcome = record.withField(field, normaliser.normaliseInFull(field:)) else {
            let lossy = record.lossyString(field)
            let column = rules.columns[i]
            problems[i] = true
            addFinding(record, column: i, field: field, raw: normaliser.display(lossy), normalised: "", rule: "read.invalid_encoding", severity: .error,
                zh: "「\(column.label)」含有不能按 \(rules.encodingName) 解码的字节（显示为 �）：“\(normaliser.display(lossy))”。文件可能混用了编码或已损坏；请在 Excel 中另存为“CSV UTF-8”后重新导出。",
                en: "\(column.titleEn) contains bytes that are not valid \(rules.encodingName): \"\(normaliser.display(lossy))\". Re-save the file as CSV UTF-8.",
                expected: "有效的 \(rules.encodingName) 文本")
            return
        }
        let value: Value
        switch outcome {
        case .success(let v):
            value = v
        case .failure(let p):
            problems[i] = true
            addFinding(record, column: i, field: field, raw: normaliser.display(record.lossyString(field)), normalised: "",
                       rule: "\(schema.name).\(rules.columns[i].name).\(p.constraint)", severity: p.severity, zh: p.zh, en: p.en, expected: p.expected)
            return
        }
        row.values[i] = value
        if plan.isText, case .text(let s) = value, CSVWriter.isFormulaLike(s) {
            let column = rules.columns[i]
            addFinding(record, column: i, field: field, raw: record.lossyString(field), normalised: s, rule: "\(schema.name).\(column.name).formula_like",
                severity: .warning,
                zh: "「\(column.label)」的值以“\(s.prefix(1))”开头，在 Excel 中会被当作公式。输出文件中已在前面加上单引号 ' 使其成为文字；请核对该值。",
                en: "\(column.titleEn) starts with \"\(s.prefix(1))\", which a spreadsheet runs as a formula; outputs prefix it with ' to keep it text.",
                expected: "文字 (text)")
        }
    }

    private func recordKey() -> String {
        rules.keyColumns.compactMap { (name, i) in
            row.values[i].isMissing ? nil : "\(name)=\(rules.display(i, row.values[i]))"
        }.joined(separator: ";")
    }

    private func evaluateChecks(_ record: RawRecord) {
        for check in rules.uncheckedChecks {
            check._withUnsafeGuaranteedRef { check in
                // A value that failed its own column check is already reported; do not pile on.
                if check.columns.contains(where: { problems[$0] }) { return }
                if let scope = check.scope, !scope.evaluate(row).isTrue { return }
                let verdict = check.condition.evaluate(row)
                if verdict.isTrue { return }
                let notEvaluable = verdict.isMissing
                if notEvaluable && check.spec.onMissing == .skip { return }
                report(check, notEvaluable: notEvaluable, record)
            }
        }
    }

    private func report(_ check: CompiledCheck, notEvaluable: Bool, _ record: RawRecord) {
        let severity: Severity = notEvaluable && check.spec.onMissing == .report ? .warning : check.spec.severity
        let blamed = check.blamedColumn
        var named: [String: String] = [:]
        for (name, v) in check.values { named[name] = v.evaluate(row).description }
        let lookup: (String) -> String? = { name in
            if let v = named[name] { return v }
            if let i = self.schema.columnIndex(name) { return self.rules.display(i, self.row.values[i]) }
            if name == "value", let b = blamed { return self.rules.display(b, self.row.values[b]) }
            return nil
        }
        // In Chinese, an enumeration's value reads as its Chinese spelling (female → 女): a column's
        // own value, and a named value of the rule's column (`expected: id_sex(id_number)`).
        let lookupZh: (String) -> String? = { name in
            if let v = named[name] { return blamed.flatMap { self.rules.columns[$0].enumLabelsZh[v] } ?? v }
            if let i = self.schema.columnIndex(name) {
                let shown = self.rules.display(i, self.row.values[i])
                return self.rules.columns[i].enumLabelsZh[shown] ?? shown
            }
            return lookup(name)
        }
        var zh = Placeholders.fill(check.spec.messageZh, lookupZh)
        var en = Placeholders.fill(check.spec.messageEn, lookup)
        if let fix = check.spec.fixZh { zh += " " + Placeholders.fill(fix, lookupZh) }
        if let fix = check.spec.fixEn { en += " " + Placeholders.fill(fix, lookup) }
        if notEvaluable {
            zh = "无法核验（所需的值缺失）：" + check.spec.titleZh + "。"
            en = "Not evaluable (a value it needs is missing): " + check.spec.titleEn + "."
        }
        let raw: String
        if let b = blamed, let f = rules.header.fieldForColumn[b], f < record.fieldCount {
            raw = rules.normalisers[b]?.display(record.lossyString(f)) ?? ""
        } else {
            raw = ""
        }
        addFinding(record, column: blamed, field: nil, raw: raw, normalised: blamed.map { rules.display($0, row.values[$0]) } ?? "",
                   rule: check.spec.id, severity: severity, zh: zh, en: en, expected: named["expected"] ?? check.spec.condition.text)
    }

    private func checkDuplicates(_ record: RawRecord) {
        rules.duplicateRows.forEach(record: Int32(record.ordinal)) { n, first in
            let u = schema.unique[n]
            let keyText = rules.uniqueColumns[n].map { c in c.map { rules.display($0, row.values[$0]) } ?? "" }.joined(separator: ", ")
            let fileIndex = rules.fileIndex
            let where_ = first.file == fileIndex ? "第 \(first.line) 行" : "\(rules.fileNames[Int(first.file)]) 第 \(first.line) 行"
            let whereEn = first.file == fileIndex ? "line \(first.line)" : "\(rules.fileNames[Int(first.file)]) line \(first.line)"
            addFinding(record, column: rules.uniqueColumns[n].first ?? nil, field: nil, raw: keyText, normalised: keyText, rule: u.id, severity: u.severity,
                zh: "\(u.columns.joined(separator: "+")) 为“\(keyText)”的记录重复：与\(where_)相同。每条记录只能出现一次；请删除重复行，或更正编号。",
                en: "Duplicate \(u.columns.joined(separator: "+")) \"\(keyText)\": same as \(whereEn). Remove the duplicate row or correct the key.",
                expected: "唯一 (unique)")
        }
    }

    private func writeClean(_ record: RawRecord) {
        // Written through a local copy: the batch's buffer is moved out and back, not copied.
        var lines = CSVLines()
        swap(&lines, &result.clean)
        row.values.withUnsafeBufferPointer { values in
            for (i, policy, personal) in rules.cleanColumns {
                if policy == .mask && !values[i].isMissing {
                    if personal == .name { lines.maskedName(values[i].description) } else { lines.maskedIDNumber(values[i].description) }
                } else {
                    lines.field(values[i])
                }
            }
        }
        lines.field(encoded: rules.displayPathField)
        lines.field(record.line)
        lines.endRow()
        swap(&lines, &result.clean)
        if rules.observed {
            if result.cleanRows == nil { result.cleanRows = RowBlock(width: row.values.count) }
            result.cleanRows!.append(movingFrom: &row.values, columns: rules.observedColumns, line: record.line)
        }
    }

    private func writeRejected(_ record: RawRecord) {
        let header = rules.header
        let out = result
        out.rejected.field(rules.displayPath)
        out.rejected.field(record.line)
        out.rejected.field(Array(Set(failedRules)).sorted().joined(separator: ";"))
        header.forEachRejectedField(record) { out.rejected.field($0) }
        out.rejected.endRow()
        if rules.wantsRejectedKeys, let (_, i) = rules.keyColumns.first {
            // The normalised key when it could be read, else the cell as written.
            if !row.values[i].isMissing { out.rejectedKeys.append(row.values[i].description) }
            else if let f = header.fieldForColumn[i], f < record.fieldCount { out.rejectedKeys.append(TextCleaner.clean(record.lossyString(f), folding: .all)) }
        }
    }
}

/// Validates one file of a table: hands its records, in batches, to the worker
/// threads and commits what they return in file order, so the outputs do not
/// depend on the number of threads.
///
/// Three kinds of thread take part: the caller's reads and parses, the workers
/// validate, and one committer thread writes the results in order (outputs,
/// ledger, rule-pack accumulators). The committer has finished when `run` returns,
/// so the caller may go on recording findings itself.
public final class TableValidator: @unchecked Sendable {
    public static let batchSize = 1024

    public let rules: FileRules
    private let workerRules: [FileRules]
    public let output: TableOutput
    private let sink: FindingSink
    private let headerLine: Int
    /// The file's name as the committer hands it on with each row (the workers have theirs).
    private let committedPath: String

    public init(header: HeaderMap, headerLine: Int, output: TableOutput, fileIndex: Int32, displayPath: String,
         encodingName: String, ruleSet: RuleSet, converter: ChineseConverter,
         duplicates: DuplicateFiles, fileNames: [String], threads: Int, sink: FindingSink) throws(RuleFileErrors) {
        // Each worker gets its own compiled copy: threads that share objects contend on their reference counts.
        workerRules = try (0..<max(1, threads)).map { _ throws(RuleFileErrors) in
            try FileRules(header: header, output: output, fileIndex: fileIndex, displayPath: displayPath, encodingName: encodingName,
                          ruleSet: ruleSet, converter: converter, duplicates: duplicates, fileNames: fileNames)
        }
        rules = workerRules[0]
        committedPath = displayPath.unshared
        self.output = output
        self.sink = sink
        self.headerLine = headerLine
        reportHeader()
    }

    private var schema: TableSchema { rules.schema }

    /// Excel's column letters: A … Z, AA …
    public static func columnLetter(_ index: Int) -> String {
        var n = index + 1
        var s = ""
        while n > 0 {
            let r = (n - 1) % 26
            s = String(UnicodeScalar(UInt8(65 + r))) + s
            n = (n - 1) / 26
        }
        return s
    }

    /// `张三丰` → `张**`: the family name stays for readability.
    public static func maskName(_ name: String) -> String { PersonName.mask(name) }

    private func reportHeader() {
        let header = rules.header
        for (position, text) in header.unknown {
            sink.record(rules.fileFinding(line: headerLine, column: text, raw: text, rule: "\(schema.name).header.unknown_column", severity: .warning,
                zh: "第 \(Self.columnLetter(position)) 列的表头“\(text)”不属于「\(schema.titleZh)」，该列已忽略。如果它应当对应某个字段，请改用标准列名或在规则文件中添加别名。",
                en: "Header \"\(text)\" in column \(Self.columnLetter(position)) is not part of \(schema.titleEn); the column is ignored. Rename it or add an alias in the schema."))
        }
        for (column, first, repeated) in header.duplicates {
            let c = schema.columns[column]
            sink.record(rules.fileFinding(line: headerLine, column: c.name, raw: header.headers[repeated], rule: "\(schema.name).header.duplicate_column", severity: .warning,
                zh: "「\(c.label)」出现了两次：第 \(Self.columnLetter(first)) 列“\(header.headers[first])”和第 \(Self.columnLetter(repeated)) 列“\(header.headers[repeated])”。已使用第 \(Self.columnLetter(first)) 列，第 \(Self.columnLetter(repeated)) 列被忽略；请删除重复的列。",
                en: "\(c.titleEn) appears twice, in columns \(Self.columnLetter(first)) and \(Self.columnLetter(repeated)); column \(Self.columnLetter(first)) is used. Remove the duplicate."))
        }
        for column in header.missingRequired {
            let c = schema.columns[column]
            sink.record(rules.fileFinding(line: headerLine, column: c.name, rule: "\(schema.name).\(c.name).required", severity: .error,
                zh: "文件缺少必填列「\(c.label)」，所有数据行都无法通过。请添加该列（表头可写作：\(([c.titleZh] + c.aliases.prefix(3)).joined(separator: "、"))）。",
                en: "The file has no \(c.titleEn) column, which is required; every row fails. Add the column (header: \(c.titleEn) or \(c.titleZh)).",
                expected: c.titleZh))
        }
    }

    /// Reads the file after its header and validates every record on the worker threads.
    public func run(reader: inout TableFileReader, headerOrdinal: Int) throws(ReadError) {
        let headerLine = self.headerLine
        try run { (submit) throws(ReadError) in
            try reader.readBatches(of: Self.batchSize, keeping: { entry in
                Self.isAfterHeader(entry, headerLine: headerLine, headerOrdinal: headerOrdinal)
            }, submit)
        }
    }

    /// Validates the batches a first pass kept (see `BatchSpill`), the file not being parsed
    /// again: one spill, or one per part of a file parsed in two parts, in file order.
    public func run(spills: [BatchSpill.Reader]) throws(ReadError) {
        try run { (submit) throws(ReadError) in
            for spill in spills {
                while let batch = try spill.next() { submit(batch) }
            }
        }
    }

    /// What the main pass reads: blank lines below the header line, records after the header record.
    public static func isAfterHeader(_ entry: EntrySummary, headerLine: Int, headerOrdinal: Int) -> Bool {
        entry.isBlankLine ? entry.line > headerLine : entry.ordinal > headerOrdinal
    }

    private func run(batches: (_ submit: @escaping (RecordBatch) -> Void) throws(ReadError) -> Void) throws(ReadError) {
        let validators = workerRules.map(RowValidator.init)
        let workers = OrderedWorkers<RecordBatch, BatchResult>(threads: validators.count, window: 4 * validators.count) { worker, batch in
            validators[worker].validate(batch)
        }
        // Results go to the committer in order; at most `backlog` wait there, which bounds memory.
        let committer = DispatchQueue(label: "schoolstat.commit")
        let backlog = DispatchSemaphore(value: 4)
        let commit: (BatchResult) -> Void = { result in
            backlog.wait()
            committer.async {
                self.commit(result)
                backlog.signal()
            }
        }
        defer { committer.sync {} }
        defer { workers.finish(consume: commit) }
        try batches { workers.submit($0, consume: commit) }
    }

    /// Writes one batch's results, in file order.
    private func commit(_ result: BatchResult) {
        for finding in result.findings { sink.record(finding) }
        if !result.clean.isEmpty { output.clean.file.write(result.clean) }
        if !result.rejected.isEmpty { output.rejected.file.write(result.rejected) }
        if let observe = output.observer, let rows = result.cleanRows {
            for line in rows.lines {
                rows.takeNext(into: &output.scratch.values)
                observe(output.scratch, committedPath, line)
            }
        }
        if let observe = output.rejectObserver { for key in result.rejectedKeys { observe(key) } }
        let c = result.counts
        output.counts.rowsRead += c.rowsRead
        output.counts.rowsClean += c.rowsClean
        output.counts.rowsRejected += c.rowsRejected
        output.counts.blankLines += c.blankLines
        output.counts.repeatedHeaders += c.repeatedHeaders
    }
}

/// One column of a file as the row pass reads it.
public struct CellPlan {
    public let column: Int
    public let field: Int
    public let normaliser: Unmanaged<CellNormaliser>
    public let isText: Bool
}
