// Validating: one row through the reading checks, normalisation, schema constraints and row
// checks, and into the clean or rejected lines.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// Validates rows. Each worker thread has its own, with `FileRules` of its own (whose check
/// nodes keep their results for the batch last run).
///
/// A batch goes through in three passes. Reading: each record's cells are normalised into the
/// batch's value store (one row of `width` values per record), and what reading and normalising
/// found is kept per row. Checking: each row check runs as loops over the store's rows (see
/// `BatchNode`), leaving the rows it fails. Writing: each record again, in file order, with its
/// findings (reading's, then the checks' in their order, then a repeated key), and its clean or
/// rejected line. Messages are rendered only for the rows a check fails.
public final class RowValidator {
    public let rules: FileRules
    /// A failing row's values, for the closures that render its messages (`CompiledCheck.values`).
    private let row: RowValues
    private let width: Int
    /// The batch's values, row after row; rows not yet reached hold `.missing`.
    private var store: UnsafeMutablePointer<Value>
    private var storeRows: Int
    /// Columns whose cell failed its own check, a bit per column, `problemWords` words per row.
    private let problemWords: Int
    private var problems: [UInt64] = []
    /// Each check's columns as the same bits: a check is skipped on a row where one of them failed.
    private let checkMasks: [[UInt64]]
    /// What each item of the batch is: a row (0), a blank line (1) or a repeated header (2).
    private var kinds: [UInt8] = []
    /// Reading's findings, all rows of the batch in order; `findingEnds[r]` ends row r's.
    private var readFindings: [LedgerEntry] = []
    private var findingEnds: [Int] = []
    /// Per check, the rows it fails and whether for want of a value.
    private var failures: [[(row: Int32, notEvaluable: Bool)]]
    private var cursors: [Int]
    private var batchNumber = 0
    private var rowFindings: [LedgerEntry] = []
    private var failedRules: [String] = []
    private var result = BatchResult()
    /// The rules' lists read on every row, copied once into storage of this validator's own:
    /// read without a reference count per row.
    private let cellPlans: UnsafeMutableBufferPointer<CellPlan>
    private let cleanColumns: UnsafeMutableBufferPointer<(index: Int, policy: CleanOutputPolicy, personal: PersonalData?)>
    private let plainColumns: UnsafeMutableBufferPointer<Bool>
    private let displayPathField: UnsafeMutableBufferPointer<UInt8>

    public init(rules: FileRules) {
        self.rules = rules
        func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: array.count)
            _ = buffer.initialize(from: array)
            return buffer
        }
        cellPlans = copy(rules.cellPlans)
        cleanColumns = copy(rules.cleanColumns)
        plainColumns = copy(rules.plainColumns)
        displayPathField = copy(rules.displayPathField)
        width = rules.columns.count
        row = RowValues(count: width)
        storeRows = 0
        store = .allocate(capacity: 0)
        problemWords = max(1, (width + 63) / 64)
        checkMasks = rules.checks.map { check in
            var words = [UInt64](repeating: 0, count: max(1, (rules.columns.count + 63) / 64))
            for c in check.columns { words[c / 64] |= 1 &<< UInt64(c % 64) }
            return words
        }
        failures = Array(repeating: [], count: rules.checks.count)
        cursors = Array(repeating: 0, count: rules.checks.count)
    }

    deinit {
        store.deinitialize(count: storeRows * width)
        store.deallocate()
        // Plain values: nothing to deinitialise.
        cellPlans.deallocate()
        cleanColumns.deallocate()
        plainColumns.deallocate()
        displayPathField.deallocate()
    }

    private var schema: TableSchema { rules.schema }

    public func validate(_ batch: RecordBatch) -> BatchResult {
        result = BatchResult()
        kinds.removeAll(keepingCapacity: true)
        readFindings.removeAll(keepingCapacity: true)
        findingEnds.removeAll(keepingCapacity: true)
        var rows = 0
        batch.forEachRecord({ record in
            guard !record.isBlank else { kinds.append(1); return }
            if isRepeatedHeader(record) { kinds.append(2); return }
            kinds.append(0)
            read(record, slot: rows)
            rows += 1
        }, blankLine: { _ in kinds.append(1) })
        runChecks(rows: rows)
        var k = 0, slot = 0
        for c in cursors.indices { cursors[c] = 0 }
        batch.forEachRecord({ record in
            let kind = kinds[k]
            k += 1
            if kind == 1 { blankLine(record.line); return }
            if kind == 2 {
                result.counts.repeatedHeaders += 1
                result.findings.append(rules.fileFinding(line: record.line, rule: "read.repeated_header", .repeatedHeader(line: record.line)))
                return
            }
            finish(record, slot: slot)
            slot += 1
        }, blankLine: { line in
            k += 1
            blankLine(line)
        })
        return result
    }

    private func blankLine(_ line: Int) {
        result.counts.blankLines += 1
        result.findings.append(rules.fileFinding(line: line, rule: "read.blank_row", .blankLine(line: line)))
    }

    /// The row's values in the store.
    @inline(__always)
    private func values(_ slot: Int) -> UnsafeMutablePointer<Value> { store + slot * width }

    @inline(__always)
    private func value(_ slot: Int, _ column: Int) -> Value { store[slot * width + column] }

    private func ensureStore(rows: Int) {
        guard rows > storeRows else { return }
        let grown = max(rows, storeRows * 2, 1024)
        let fresh = UnsafeMutablePointer<Value>.allocate(capacity: grown * width)
        fresh.moveInitialize(from: store, count: storeRows * width)
        (fresh + storeRows * width).initialize(repeating: .missing, count: (grown - storeRows) * width)
        store.deallocate()
        store = fresh
        storeRows = grown
    }

    /// Reading: the record's shape and cells, into the store's row `slot`.
    private func read(_ record: RawRecord, slot: Int) {
        ensureStore(rows: slot + 1)
        // Each column the file has is given its value or `.missing` below; the others are never
        // written and stay missing.
        let p = slot * problemWords
        if problems.count < p + problemWords { problems.append(contentsOf: repeatElement(0, count: p + problemWords - problems.count)) }
        for w in 0..<problemWords { problems[p + w] = 0 }
        if !rowFindings.isEmpty { rowFindings.removeAll(keepingCapacity: true) }
        if !failedRules.isEmpty { failedRules.removeAll(keepingCapacity: true) }
        checkShape(record)
        normaliseCells(record, slot: slot)
        if !rowFindings.isEmpty { readFindings.append(contentsOf: rowFindings) }
        findingEnds.append(readFindings.count)
    }

    private func markProblem(_ slot: Int, _ column: Int) {
        problems[slot * problemWords + column / 64] |= 1 &<< UInt64(column % 64)
    }

    /// Checking: each check over the batch's rows, noting the rows it fails.
    private func runChecks(rows: Int) {
        guard !rules.checks.isEmpty else { return }
        batchNumber = BatchNode.newBatchNumber()
        let b = BatchValues(base: UnsafePointer(store), width: width, rows: rows)
        let words = problemWords
        var c = 0
        rules.borrowedChecks.forEach { check in
            defer { c += 1 }
            failures[c].removeAll(keepingCapacity: true)
            guard rows > 0 else { return }
            let scope = check.batchScope?.values(b, batch: batchNumber)
            let condition = check.batchCondition.values(b, batch: batchNumber)
            let skip = check.spec.onMissing == .skip
            let mask = checkMasks[c]
            problems.withUnsafeBufferPointer { flags in
                for r in 0..<rows {
                    // A value that failed its own column check is already reported; do not pile on.
                    var failed = false
                    for w in 0..<words where flags[r * words + w] & mask[w] != 0 { failed = true }
                    if failed { continue }
                    if let scope, !scope[r].isTrue { continue }
                    let verdict = condition[r]
                    if verdict.isTrue { continue }
                    let notEvaluable = verdict.isMissing
                    if notEvaluable && skip { continue }
                    failures[c].append((Int32(r), notEvaluable))
                }
            }
        }
    }

    /// Writing: the row's findings in order, then its clean or rejected line.
    private func finish(_ record: RawRecord, slot: Int) {
        result.counts.rowsRead += 1
        if !rowFindings.isEmpty { rowFindings.removeAll(keepingCapacity: true) }
        if !failedRules.isEmpty { failedRules.removeAll(keepingCapacity: true) }
        let from = slot == 0 ? 0 : findingEnds[slot - 1], to = findingEnds[slot]
        if from < to {
            // Moved, not copied: a finding holds a dozen texts, each retained by a copy.
            readFindings.withUnsafeMutableBufferPointer { all in
                let base = all.baseAddress!
                for i in from..<to {
                    let f = (base + i).move()
                    (base + i).initialize(to: .vacated)
                    if f.severity == .error { failedRules.append(f.ruleID) }
                    rowFindings.append(f)
                }
            }
        }
        var loaded = false
        var c = 0
        rules.borrowedChecks.forEach { check in
            defer { c += 1 }
            let cursor = cursors[c]
            guard cursor < failures[c].count, Int(failures[c][cursor].row) == slot else { return }
            cursors[c] = cursor + 1
            if !loaded {
                row.beginRow()
                row.values.withUnsafeMutableBufferPointer { target in
                    for i in 0..<width { target[i] = value(slot, i) }
                }
                loaded = true
            }
            report(check, notEvaluable: failures[c][cursor].notEvaluable, record)
        }
        checkDuplicates(record, slot: slot)
        if !rules.missingColumnRules.isEmpty { failedRules.append(contentsOf: rules.missingColumnRules) }

        if !rowFindings.isEmpty {
            let key = recordKey(slot)
            let school = rules.schoolColumn.map { value(slot, $0).isMissing ? "" : value(slot, $0).description } ?? ""
            rowFindings.withUnsafeMutableBufferPointer { all in
                let base = all.baseAddress!
                for i in all.indices {
                    var f = (base + i).move()
                    (base + i).initialize(to: .vacated)
                    f.recordKey = key
                    f.school = school
                    result.findings.append(f)
                }
            }
        }
        if failedRules.isEmpty {
            result.counts.rowsClean += 1
            writeClean(record, slot: slot)
        } else {
            result.counts.rowsRejected += 1
            writeRejected(record, slot: slot)
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
                            severity: Severity, _ message: FileMessage, expected: String) {
        addFinding(record, column: column, field: field, raw: raw, normalised: normalised, rule: rule, severity: severity,
                   zh: message.zh, en: message.en, expected: expected)
    }

    private func addFinding(_ record: RawRecord, column: Int?, field: Int?, raw: String, normalised: String, rule: String,
                            severity: Severity, zh: String, en: String, expected: String) {
        let columnName = column.map { rules.columns[$0].name } ?? (field.map { "#\(Spreadsheet.columnLetter($0))" } ?? "")
        rowFindings.append(LedgerEntry(table: schema.name, sourceFile: rules.displayPath, line: record.line, recordKey: "", column: columnName,
                                       rawValue: raw, normalisedValue: normalised, ruleID: rule, severity: severity,
                                       messageZh: zh, messageEn: en, expected: expected))
        if severity == .error { failedRules.append(rule) }
    }

    private func checkShape(_ record: RawRecord) {
        let expected = rules.headerKeys.count
        let got = record.fieldCount
        if got == expected { return }
        if got < expected {
            addFinding(record, column: nil, field: nil, raw: "", normalised: "", rule: "read.too_few_fields", severity: .error,
                .tooFewFields(line: record.line, lineCount: record.lineCount, got: got, expected: expected), expected: "\(expected) 列")
        } else {
            var extra: [String] = []
            for i in expected..<got { extra.append(record.lossyString(i)) }
            let nonEmpty = extra.contains { !$0.trimmingSpaces().isEmpty }
            addFinding(record, column: nil, field: expected, raw: extra.joined(separator: " | "), normalised: "",
                rule: nonEmpty ? "read.too_many_fields" : "read.trailing_empty_fields", severity: nonEmpty ? .error : .warning,
                nonEmpty ? .tooManyFields(line: record.line, lineCount: record.lineCount, got: got, expected: expected, extra: extra)
                         : .trailingEmptyFields(line: record.line, lineCount: record.lineCount, got: got, expected: expected),
                expected: "\(expected) 列")
        }
    }

    private func normaliseCells(_ record: RawRecord, slot: Int) {
        // Most cells: accepted straight from their bytes, written into the row in place. Text
        // that a spreadsheet would run as a formula, and every cell with a problem, take the
        // general way afterwards, which reports it. Those cells are noted as bits (the first 64
        // columns: every schema so far), any further ones in a list.
        var generalBits: UInt64 = 0
        var generalBeyond: [Int] = []
        let values = self.values(slot)
        let plans = cellPlans
        record.withFields { fields in
            for (p, plan) in plans.enumerated() {
                guard plan.field < fields.count else {
                    // The row is too short to reach this column: the shape finding already covers it.
                    values[plan.column] = .missing
                    markProblem(slot, plan.column)
                    continue
                }
                let b = fields[plan.field]
                let value = plan.normaliser._withUnsafeGuaranteedRef { $0.acceptedValue(b) }
                if let value, !(plan.isText && CSVWriter.isFormulaLike(b)) {
                    values[plan.column] = value
                    continue
                }
                // Missing until the general way below gives it a value.
                values[plan.column] = .missing
                if p < 64 {
                    generalBits |= 1 &<< UInt64(p)
                } else {
                    generalBeyond.append(p)
                }
            }
        }
        while generalBits != 0 {
            let p = generalBits.trailingZeroBitCount
            generalBits &= generalBits &- 1
            normaliseInFull(record, cellPlans[p], slot: slot)
        }
        for p in generalBeyond { normaliseInFull(record, cellPlans[p], slot: slot) }
    }

    /// A cell the bytes alone did not settle: its value the general way, or its problem reported.
    private func normaliseInFull(_ record: RawRecord, _ plan: CellPlan, slot: Int) {
        let i = plan.column, field = plan.field
        let normaliser = plan.normaliser.takeUnretainedValue()
        guard let outcome = record.withField(field, normaliser.normaliseInFull(field:)) else {
            let lossy = record.lossyString(field)
            markProblem(slot, i)
            addFinding(record, column: i, field: field, raw: normaliser.display(lossy), normalised: "", rule: "read.invalid_encoding", severity: .error,
                .invalidEncoding(column: normaliser.subject, encoding: rules.encodingName, shown: normaliser.display(lossy)),
                expected: "有效的 \(rules.encodingName) 文本")
            return
        }
        let value: Value
        switch outcome {
        case .success(let v):
            value = v
        case .failure(let p):
            markProblem(slot, i)
            addFinding(record, column: i, field: field, raw: normaliser.display(record.lossyString(field)), normalised: "",
                       rule: RuleID.column(schema.name, rules.columns[i].name, p.constraint), severity: p.severity, zh: p.zh, en: p.en, expected: p.expected)
            return
        }
        values(slot)[i] = value
        if plan.isText, case .text(let s) = value, CSVWriter.isFormulaLike(s) {
            let column = rules.columns[i]
            addFinding(record, column: i, field: field, raw: record.lossyString(field), normalised: s, rule: RuleID.column(schema.name, column.name, "formula_like"),
                severity: .warning,
                .formulaLike(column: normaliser.subject, first: String(s.prefix(1))),
                expected: "文字 (text)")
        }
    }

    private func recordKey(_ slot: Int) -> String {
        rules.keyColumns.compactMap { (name, i) in
            value(slot, i).isMissing ? nil : "\(name)=\(rules.display(i, value(slot, i)))"
        }.joined(separator: ";")
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

    private func checkDuplicates(_ record: RawRecord, slot: Int) {
        rules.duplicateRows.forEach(record: Int32(record.ordinal)) { n, first in
            let u = schema.unique[n]
            let keyText = rules.uniqueColumns[n].map { c in c.map { rules.display($0, value(slot, $0)) } ?? "" }.joined(separator: ", ")
            let fileIndex = rules.fileIndex
            let columnsZh = u.columns.map { name in schema.columnIndex(name).map { schema.columns[$0].titleZh } ?? name }.joined(separator: "+")
            addFinding(record, column: rules.uniqueColumns[n].first ?? nil, field: nil, raw: keyText, normalised: keyText, rule: u.id, severity: u.severity,
                .duplicateKey(columnsZh: columnsZh, columnsEn: u.columns.joined(separator: "+"), key: keyText, firstLine: Int(first.line),
                              firstFile: first.file == fileIndex ? nil : rules.fileNames[Int(first.file)]),
                expected: "唯一 (unique)")
        }
    }

    private func writeClean(_ record: RawRecord, slot: Int) {
        let values = self.values(slot)
        // The row's room is reserved once: at most what each field can take, quoted.
        var bound = cleanColumns.count + displayPathField.count + 22
        for (i, policy, _) in cleanColumns {
            // Masked, a value takes at most twice its own bound (a name's first character kept, the rest stars).
            bound += (policy == .mask ? 2 : 1) * CSVLines.bound(of: values + i)
        }
        let plain = plainColumns, cleanColumns = self.cleanColumns, displayPathField = UnsafeBufferPointer(self.displayPathField)
        result.clean.writeRow(bound: bound) { row in
            for (i, policy, personal) in cleanColumns {
                if policy == .mask && !values[i].isMissing {
                    if personal == .name { row.maskedName(values[i].description) } else { row.maskedIDNumber(values[i].description, plain: plain[i]) }
                } else if plain[i], case .text(let s) = values[i] {
                    row.plainField(s)
                } else {
                    row.field(values[i])
                }
            }
            row.field(encoded: displayPathField)
            row.field(record.line)
        }
        if rules.observed {
            if result.cleanRows == nil { result.cleanRows = RowBlock(width: width) }
            result.cleanRows!.append(movingFrom: values, columns: rules.observedColumns, line: record.line)
        }
    }

    private func writeRejected(_ record: RawRecord, slot: Int) {
        let header = rules.header
        let out = result
        out.rejected.field(rules.displayPath)
        out.rejected.field(record.line)
        // The rules it failed, each once, in order (usually one or two).
        if failedRules.count == 1 {
            out.rejected.field(failedRules[0])
        } else {
            var unique: [String] = []
            for rule in failedRules.sorted() where unique.last != rule { unique.append(rule) }
            out.rejected.field(unique.joined(separator: ";"))
        }
        // Cells as written: valid UTF-8 straight from the batch, anything else decoded leniently.
        header.forEachRejectedField(record, cell: { b in
            if UTF8Check.isValid(b) { out.rejected.field(utf8: b) } else { out.rejected.field(String(decoding: b, as: UTF8.self)) }
        }, extra: { out.rejected.field($0) })
        out.rejected.endRow()
        if rules.wantsRejectedKeys, let (_, i) = rules.keyColumns.first {
            // The normalised key when it could be read, else the cell as written.
            if !value(slot, i).isMissing { out.rejectedKeys.append(value(slot, i).description) }
            else if let f = header.fieldForColumn[i], f < record.fieldCount { out.rejectedKeys.append(TextCleaner.clean(record.lossyString(f), folding: .all)) }
        }
    }
}
