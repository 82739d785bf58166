// Evaluating: runs the rule packs after the row pass — derived values,
// aggregates from other tables, rules on each entity and rules on groups.
//
// Memory grows with the number of entities and groups (schools, counties),
// never with roster rows: a roster contributes to per-group accumulators as
// its clean rows stream past.
import CSupport
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// The verdict on one entity or group.
public enum Verdict: String, Sendable, Codable {
    case met, notMet = "not_met", notEvaluable = "not_evaluable"
}

/// One evaluated rule instance, with the figures behind it.
public struct Evaluation: Sendable {
    public var ruleID: String
    public var table: String
    public var groupKey: String
    public var sourceFile: String
    public var line: Int
    public var verdict: Verdict
    /// The rule's named values, in declaration order, as text.
    public var figures: [(name: String, value: String)]
}

/// Retained clean rows of a table that rules are evaluated on.
public final class EntityStore {
    public let schema: TableSchema
    public var rows: [[Value]] = []
    public var files: [String] = []
    public var lines: [Int] = []
    public init(schema: TableSchema) { self.schema = schema }
}

/// Per-group accumulators fed by a streaming table. Groups live in slots, in the
/// order they were first seen; one hash lookup per row finds the slot.
public final class GroupState {
    public private(set) var order: [String] = []
    private var slots: [String: Int] = [:]
    public private(set) var keyValues: [[Value]] = []
    /// Every slot's accumulators, one after another (`calls` per slot).
    public var accumulators: [Accumulator] = []
    private var calls = 0
    /// Where each group's first row is, so a finding about the group can point a clerk at the file.
    public private(set) var firstRows: [(file: String, line: Int)] = []

    /// Slots by group number (see `PackEvaluator.groupNumber`); -1 where the group has none yet.
    private var slotOfGroup: [Int] = []

    /// Asks for the accumulators of the group numbered `group` to be brought into the cache, when
    /// the group has a slot already.
    @inline(__always)
    public func prefetch(group: Int, calls: Int) {
        guard group < slotOfGroup.count, case let s = slotOfGroup[group], s >= 0 else { return }
        accumulators.withUnsafeBufferPointer { schoolstat_prefetch_for_write($0.baseAddress! + s * calls) }
    }

    /// The slot of the group numbered `group`, found by number; made on its first row.
    public func slot(group: Int, _ key: () -> String, keyValues: @autoclosure () -> [Value], calls: Int, file: String, line: Int) -> Int {
        if group < slotOfGroup.count, slotOfGroup[group] >= 0 { return slotOfGroup[group] }
        let s = slot(key(), keyValues: keyValues(), calls: calls, file: file, line: line)
        if group >= slotOfGroup.count { slotOfGroup.append(contentsOf: repeatElement(-1, count: group + 1 - slotOfGroup.count)) }
        slotOfGroup[group] = s
        return s
    }

    /// The slot of group `key`, made on its first row.
    public func slot(_ key: String, keyValues: @autoclosure () -> [Value], calls: Int, file: String, line: Int) -> Int {
        if let s = slots[key] { return s }
        let s = order.count
        slots[key] = s
        order.append(key)
        self.keyValues.append(keyValues())
        self.calls = calls
        accumulators.append(contentsOf: repeatElement(Accumulator(), count: calls))
        firstRows.append((file, line))
        return s
    }

    public func group(_ key: String) -> (keyValues: [Value], accumulators: [Accumulator], firstRow: (file: String, line: Int))? {
        guard let s = slots[key] else { return nil }
        return (keyValues[s], Array(accumulators[(s * calls)..<((s + 1) * calls)]), firstRows[s])
    }
}

/// What a streaming table's row feeds: a derived value from another table or a group rule.
private final class Streamer {
    let filter: CompiledExpression?
    let byColumns: [Int]
    let kinds: [AggregateCall.Kind]
    let arguments: [[CompiledExpression]]
    let state: GroupState
    /// Group rules keep each group's key values and first row; derived values need only the key text.
    let keepsGroupFacts: Bool
    /// Which set of group columns (numbered among all streamers) `byColumns` is.
    var grouping = 0

    init(filter: CompiledExpression?, byColumns: [Int], kinds: [AggregateCall.Kind], arguments: [[CompiledExpression]], state: GroupState, keepsGroupFacts: Bool) {
        self.filter = filter
        self.byColumns = byColumns
        self.kinds = kinds
        self.arguments = arguments
        self.state = state
        self.keepsGroupFacts = keepsGroupFacts
    }
}

public final class PackEvaluator {
    private struct CompiledDerived {
        var name: String
        var row: CompiledExpression?
        /// For values from another table: the source table, its group column, and the aggregate halves.
        var source: String?
        var by: Int?
        var calls: [AggregateCall] = []
        var arguments: [[CompiledExpression]] = []
        var filter: CompiledExpression?
        var outer: CompiledExpression?
        var state = GroupState()
    }

    private struct CompiledRule {
        var spec: PackRule
        var scope: CompiledExpression?
        var condition: CompiledExpression
        var values: [(String, CompiledExpression)]
        /// Group rules: the group columns (in the row schema), the aggregate calls and their arguments.
        var byColumns: [Int] = []
        var calls: [AggregateCall] = []
        var arguments: [[CompiledExpression]] = []
        var groupSchema: TableSchema?
        /// Entity tables joined into the group by key: (table, position in `by`, first column in the group schema).
        var joins: [(table: String, byPosition: Int, offset: Int)] = []
        /// Other tables the rule reads (`schools.school_name`): it runs only when they are in the run.
        var needs: Set<String> = []
        var streaming = false
        var state = GroupState()
    }

    public let parameters: [String: Value]
    public private(set) var stores: [String: EntityStore] = [:]
    private var extended: [String: TableSchema] = [:]
    private var derived: [String: [CompiledDerived]] = [:]
    private var rules: [CompiledRule] = []
    /// Per streaming table: the derived values and group rules its rows feed.
    private var streamers: [String: [Streamer]] = [:]
    /// The current row's group, per set of group columns (a streamer's `grouping`): its number,
    /// found for the row numbered `stamp`.
    private var rowGroups: [(stamp: Int, number: Int)] = []
    /// Per set of group columns: the last group's key and number. Exports are usually sorted by
    /// school, so a row mostly belongs to the group of the row before it.
    private var lastGroups: [(key: String, number: Int)] = []
    private var rowStamp = 0
    /// Every group key seen, per set of group columns, numbered in order of first sight: one
    /// hash lookup per row and set of columns, however many rules group by them.
    private var groupNumbers: [GroupNumbers] = []
    public private(set) var activePacks: [(name: String, version: String)] = []

    /// Clean rows of the previous period (`--previous`), by table and first key column.
    private var previous: [String: [String: [[Value]]]] = [:]

    /// Compiles every pack that applies to `reportYear`; mistakes are collected with their place.
    public init(ruleSet: RuleSet, reportYear: Int) throws(RuleFileErrors) {
        parameters = ruleSet.parameters
        var errors: [RuleFileError] = []
        // The loader has already chosen each pack's version for the reporting year.
        let packs = ruleSet.packs.filter { $0.years.contains(reportYear) }
        activePacks = packs.map { ($0.name, $0.version) }

        // Entity tables: their clean rows are kept. Each gets `previous.<column>`
        // columns, filled from the previous period's clean output when given.
        var entities: [String] = []
        for pack in packs {
            for name in pack.derived.map(\.table) + pack.rules.filter({ $0.by.isEmpty }).map(\.table) where !entities.contains(name) {
                entities.append(name)
            }
        }
        for name in entities {
            guard var schema = ruleSet.table(named: name) else { continue }
            stores[name] = EntityStore(schema: schema)
            for c in schema.columns {
                var p = c
                p.name = "previous." + c.name
                schema.columns.append(p)
            }
            extended[name] = schema
        }

        func fail(_ location: SourceLocation, _ offset: Int, _ message: String, _ text: String) {
            var l = location
            l.column += offset
            errors.append(RuleFileError(location: l, message: "\(message)\n    \(text)\n    \(String(repeating: " ", count: offset))^"))
        }
        func table(_ name: String, _ location: SourceLocation) -> TableSchema? {
            guard let t = extended[name] ?? ruleSet.table(named: name) else {
                errors.append(RuleFileError(location: location, message: "没有名为 `\(name)` 的表 (no such table)；已定义: \(ruleSet.tables.map(\.name).joined(separator: ", "))"))
                return nil
            }
            return t
        }

        // Derived values extend their table's schema, in declaration order.
        for pack in packs {
            for d in pack.derived {
                guard var schema = table(d.table, d.location) else { continue }
                let compiler = ExpressionCompiler(schema: schema, parameters: parameters)
                var c = CompiledDerived(name: d.name)
                switch d.source {
                case .row(let e):
                    do throws(ExpressionCompileError) { c.row = try compiler.compile(e.root) } catch { fail(e.location, error.offset, error.message, e.text); continue }
                case .other(let from, let by, let value, let filter):
                    guard let source = table(from, d.location) else { continue }
                    guard let byIndex = source.columnIndex(by) else {
                        errors.append(RuleFileError(location: d.location, message: "表 \(from) 没有列 `\(by)` (unknown column)")); continue
                    }
                    guard schema.key.count == 1 else {
                        errors.append(RuleFileError(location: d.location, message: "表 \(d.table) 的 key 须为单列才能按 \(by) 汇总 (needs a one-column key)")); continue
                    }
                    c.source = from
                    c.by = byIndex
                    let sourceCompiler = ExpressionCompiler(schema: source, parameters: parameters)
                    do throws(ExpressionCompileError) {
                        let rewritten = try AggregateRewriter.rewrite(value.root, into: &c.calls)
                        c.arguments = try c.calls.map { call throws(ExpressionCompileError) in try call.arguments.map { a throws(ExpressionCompileError) in try sourceCompiler.compile(a) } }
                        let types = zip(c.calls, c.arguments).map { call, args in call.kind == .first || call.kind == .min || call.kind == .max ? (args.first?.type ?? .number) : ValueType.number }
                        c.outer = try ExpressionCompiler(schema: Self.slotSchema(base: nil, keys: [], slots: c.calls.count, name: from, slotTypes: types), parameters: parameters).compile(rewritten)
                    } catch { fail(value.location, error.offset, error.message, value.text); continue }
                    if let filter {
                        do throws(ExpressionCompileError) { c.filter = try sourceCompiler.compile(filter.root) } catch { fail(filter.location, error.offset, error.message, filter.text) }
                    }
                }
                let type = c.row?.type ?? c.outer?.type ?? .number
                schema.columns.append(Self.syntheticColumn(d.name, type, d.location))
                extended[d.table] = schema
                derived[d.table, default: []].append(c)
            }
        }

        for pack in packs {
            for spec in pack.rules {
                guard let schema = table(spec.table, spec.location) else { continue }
                do throws(ExpressionCompileError) {
                    if spec.by.isEmpty {
                        let compiler = ExpressionCompiler(schema: schema, parameters: parameters)
                        let rule = CompiledRule(spec: spec, scope: try spec.scope.map { e throws(ExpressionCompileError) in try compiler.compile(e.root) },
                                                condition: try compiler.compile(spec.condition.root),
                                                values: try spec.values.map { v throws(ExpressionCompileError) in (v.name, try compiler.compile(v.expression.root)) })
                        guard rule.condition.type == .boolean || rule.condition.type == .any else {
                            throw ExpressionCompileError(offset: 0, message: "check 应得到 是/否 (the check must be true or false)")
                        }
                        rules.append(rule)
                    } else {
                        var byColumns: [Int] = []
                        for b in spec.by {
                            guard let i = schema.columnIndex(b) else { throw ExpressionCompileError(offset: 0, message: "by 中的列 `\(b)` 不在表 \(spec.table) 中 (unknown column)") }
                            byColumns.append(i)
                        }
                        var calls: [AggregateCall] = []
                        let condition = try AggregateRewriter.rewrite(spec.condition.root, into: &calls)
                        let values = try spec.values.map { v throws(ExpressionCompileError) in (v.name, try AggregateRewriter.rewrite(v.expression.root, into: &calls)) }
                        let rowCompiler = ExpressionCompiler(schema: schema, parameters: parameters)
                        let arguments = try calls.map { call throws(ExpressionCompileError) in try call.arguments.map { a throws(ExpressionCompileError) in try rowCompiler.compile(a) } }
                        let types = zip(calls, arguments).map { call, args in call.kind == .first || call.kind == .min || call.kind == .max ? (args.first?.type ?? .number) : ValueType.number }
                        var groupSchema = Self.slotSchema(base: schema, keys: byColumns, slots: calls.count, name: spec.table, slotTypes: types)
                        // Join entity tables whose key is one of the group columns: `schools.school_name`
                        // (their own columns; derived values are not carried into joins).
                        var joins: [(String, Int, Int)] = []
                        for (name, store) in stores.sorted(by: { $0.key < $1.key }) {
                            guard store.schema.key.count == 1, let position = spec.by.firstIndex(of: store.schema.key[0]) else { continue }
                            joins.append((name, position, groupSchema.columns.count))
                            for c in store.schema.columns {
                                var joined = c
                                joined.name = name + "." + c.name
                                groupSchema.columns.append(joined)
                            }
                            // `schools.rejected`: the key is among the table's rejected rows (not merely absent).
                            groupSchema.columns.append(Self.syntheticColumn(name + ".rejected", .boolean, spec.location))
                        }
                        let groupCompiler = ExpressionCompiler(schema: groupSchema, parameters: parameters)
                        var rule = CompiledRule(spec: spec, scope: try spec.scope.map { e throws(ExpressionCompileError) in try rowCompiler.compile(e.root) },
                                                condition: try groupCompiler.compile(condition),
                                                values: try values.map { v throws(ExpressionCompileError) in (v.0, try groupCompiler.compile(v.1)) })
                        rule.byColumns = byColumns
                        rule.joins = joins
                        let joined = Set(joins.map(\.0))
                        var names: Set<String> = []
                        for root in [spec.condition.root] + spec.values.map(\.expression.root) { Self.collectNames(root, into: &names) }
                        rule.needs = Set(names.compactMap { n in n.split(separator: ".").first.map(String.init) }.filter { joined.contains($0) })
                        rule.calls = calls
                        rule.arguments = arguments
                        rule.groupSchema = groupSchema
                        rules.append(rule)
                    }
                } catch {
                    let where_ = spec.condition
                    fail(where_.location, error.offset, "规则 \(spec.id)：\(error.message)", where_.text)
                }
            }
        }
        // Group rules on kept tables are grouped afterwards, with derived values; the others stream.
        for i in rules.indices where !rules[i].byColumns.isEmpty { rules[i].streaming = stores[rules[i].spec.table] == nil }
        if !errors.isEmpty { throw RuleFileErrors(errors: errors) }
        for (_, list) in derived.sorted(by: { $0.key < $1.key }) {
            for d in list {
                guard let source = d.source, let by = d.by else { continue }
                streamers[source, default: []].append(Streamer(filter: d.filter, byColumns: [by], kinds: d.calls.map(\.kind),
                                                                arguments: d.arguments, state: d.state, keepsGroupFacts: false))
            }
        }
        for rule in rules where rule.streaming {
            streamers[rule.spec.table, default: []].append(Streamer(filter: rule.scope, byColumns: rule.byColumns, kinds: rule.calls.map(\.kind),
                                                                    arguments: rule.arguments, state: rule.state, keepsGroupFacts: true))
        }
        var groupings: [[Int]] = []
        for list in streamers.values {
            for streamer in list {
                if let g = groupings.firstIndex(of: streamer.byColumns) {
                    streamer.grouping = g
                } else {
                    streamer.grouping = groupings.count
                    groupings.append(streamer.byColumns)
                }
            }
        }
        rowGroups = Array(repeating: (-1, 0), count: groupings.count)
        lastGroups = Array(repeating: ("", -1), count: groupings.count)
        groupNumbers = Array(repeating: GroupNumbers(), count: groupings.count)
    }

    /// A schema for a group: its key columns, then one number column per aggregate slot.
    public static func slotSchema(base: TableSchema?, keys: [Int], slots: Int, name: String, slotTypes: [ValueType] = []) -> TableSchema {
        var columns = keys.map { base!.columns[$0] }
        for i in 0..<slots { columns.append(syntheticColumn("__agg\(i)", slotTypes.count > i ? slotTypes[i] : .number, SourceLocation(path: "", line: 0, column: 0))) }
        return TableSchema(name: name, titleZh: name, titleEn: name, columns: columns, key: [], unique: [], checks: [], minimumHeaderMatches: 0, path: "")
    }

    public static func syntheticColumn(_ name: String, _ type: ValueType, _ location: SourceLocation) -> ColumnSpec {
        let columnType: ColumnType
        switch type {
        case .number, .any: columnType = .decimal
        case .text: columnType = .text
        case .date: columnType = .date
        case .boolean: columnType = .boolean
        }
        return ColumnSpec(name: name, type: columnType, titleZh: name, titleEn: name, aliases: [], required: false, unit: nil, minimum: nil,
                          maximum: nil, earliest: nil, latest: nil, length: nil, digitsOnly: false, uppercase: false, pattern: nil,
                          enumAliases: [:], enumValues: [], missingTokens: [], acceptRatio: false, personal: nil, cleanOutput: .keep,
                          hintZh: nil, hintEn: nil, location: location)
    }

    public static func collectNames(_ node: ExpressionNode, into names: inout Set<String>) {
        switch node {
        case let .column(n, _): names.insert(n)
        case let .call(_, args, _): args.forEach { collectNames($0, into: &names) }
        case let .negate(a, _), let .not(a, _), let .isMissing(a, _, _): collectNames(a, into: &names)
        case let .binary(_, l, r, _): collectNames(l, into: &names); collectNames(r, into: &names)
        case let .membership(s, items, _, _): collectNames(s, into: &names); items.forEach { collectNames($0, into: &names) }
        case let .between(a, b, c, _), let .conditional(a, b, c, _): [a, b, c].forEach { collectNames($0, into: &names) }
        case .literal, .parameter: break
        }
    }

    /// Every kept row of `table` with its derived values, by column name (for reports).
    public func entityRows(_ table: String) -> [[String: Value]] {
        guard let store = stores[table] else { return [] }
        let schema = extended[table] ?? store.schema
        let keyIndex = store.schema.key.first.flatMap { store.schema.columnIndex($0) }
        let row = RowValues(count: schema.columns.count)
        var out: [[String: Value]] = []
        for values in store.rows {
            for (i, v) in values.enumerated() { row.values[i] = v }
            var next = values.count * 2
            for d in derived[table] ?? [] {
                if let e = d.row {
                    row.values[next] = e.evaluate(row)
                } else if let outer = d.outer, let keyIndex {
                    let accumulators = d.state.group(values[keyIndex].description)?.accumulators ?? Array(repeating: Accumulator(), count: d.calls.count)
                    let slots = RowValues(count: d.calls.count)
                    for (j, call) in d.calls.enumerated() { slots.values[j] = accumulators[j].result(call.kind) }
                    row.values[next] = outer.evaluate(slots)
                }
                next += 1
            }
            var named: [String: Value] = [:]
            for (i, c) in schema.columns.enumerated() where !c.name.hasPrefix("previous.") { named[c.name] = row.values[i] }
            out.append(named)
        }
        return out
    }

    /// The previous period's row for a current row: with a `year` column, the
    /// latest earlier year; otherwise the only (or last) row with the same key.
    public static func previousRow(for current: [Value], in candidates: [[Value]], schema: TableSchema) -> [Value]? {
        guard let yearIndex = schema.columnIndex("year"), let year = current[yearIndex].number else { return candidates.last }
        return candidates.filter { ($0[yearIndex].number ?? .infinity) < year }.max { ($0[yearIndex].number ?? 0) < ($1[yearIndex].number ?? 0) }
    }

    /// Reads `clean/<table>.csv` of a previous run for every entity table.
    public func loadPrevious(directory: String) throws(ReadError) {
        for (name, store) in stores {
            let path = directory + "/clean/\(name).csv"
            guard let keyName = store.schema.key.first, let keyIndex = store.schema.columnIndex(keyName) else { continue }
            var reader: TableFileReader
            do { reader = try TableFileReader(path: path, encoding: .utf8, delimiter: 0x2C) } catch { continue }
            var positions: [Int?] = []
            var byKey: [String: [[Value]]] = [:]
            try reader.read { event in
                guard case .record(let r) = event else { return }
                if r.ordinal == 1 {
                    positions = store.schema.columns.map { c in (0..<r.fieldCount).first { r.string($0) == c.name } }
                    return
                }
                let values = store.schema.columns.enumerated().map { i, c -> Value in
                    guard let f = positions[i], f < r.fieldCount, let text = r.string(f) else { return .missing }
                    return Self.canonicalValue(text, c.type)
                }
                byKey[values[keyIndex].description, default: []].append(values)
            }
            previous[name] = byKey
        }
    }

    /// Reads a value in the canonical form clean outputs are written in.
    public static func canonicalValue(_ text: String, _ type: ColumnType) -> Value {
        if text.isEmpty { return .missing }
        switch type {
        case .integer, .decimal:
            guard let d = NumberText.parsePlainDecimal(text) else { return .missing }
            return d.exponent >= 0 ? .integer(d.mantissa) : .decimal(d)
        case .date: return DateText.parse(text).map(Value.date) ?? .missing
        case .boolean: return text == "true" ? .boolean(true) : (text == "false" ? .boolean(false) : .missing)
        default: return .text(text.hasPrefix("'") && CSVWriter.isFormulaLike(String(text.dropFirst())) ? String(text.dropFirst()) : text)
        }
    }

    /// Tables whose clean rows this evaluator needs to see during the row pass.
    public var observedTables: Set<String> {
        var names = Set(stores.keys)
        for list in derived.values { for d in list { if let s = d.source { names.insert(s) } } }
        for r in rules where r.streaming { names.insert(r.spec.table) }
        return names
    }

    /// Rows to move to rejected/ because a rule that quarantines failed for them:
    /// table → (columns identifying the rows, their values joined by U+001F) → rule ids.
    public private(set) var quarantines: [String: [[String]: [String: [String]]]] = [:]

    /// Rules that could not run because a table they need had no input, with the reason.
    public private(set) var notRun: [String: String] = [:]

    /// Keys of rejected rows of entity tables.
    private var rejectedKeys: [String: Set<String>] = [:]

    /// Called with the key of each rejected row of `table`.
    public func observeRejected(table: String, key: String) {
        guard stores[table] != nil else { return }
        rejectedKeys[table, default: []].insert(key)
    }

    /// The columns of `table` the observer reads from a clean row, in order; nil for all of
    /// them (a table whose rows are kept whole). Workers hand the committer only these, so the
    /// other values (an ID number's `String`, say) are freed on the thread that made them.
    public func observedColumns(table: String) -> [Int]? {
        guard stores[table] == nil else { return nil }
        var columns = Set<Int>()
        for streamer in streamers[table] ?? [] {
            columns.formUnion(streamer.byColumns)
            if let filter = streamer.filter { columns.formUnion(filter.columns) }
            for arguments in streamer.arguments { for argument in arguments { columns.formUnion(argument.columns) } }
        }
        return columns.sorted()
    }

    /// What to call with each clean row of `table` as it is written (the table's store and
    /// streamers are looked up here, once, not for every row).
    public func observer(table: String) -> (_ row: RowValues, _ file: String, _ line: Int) -> Void {
        let store = stores[table]
        // Taken unretained: `streamers` holds them for the evaluator's life, and a retain and
        // release of each, for each row, is what the loop below would otherwise cost.
        let list = (streamers[table] ?? []).map { Unmanaged.passUnretained($0) }
        return { row, file, line in
            if let store {
                store.rows.append(row.values)
                store.files.append(file)
                store.lines.append(line)
            }
            guard !list.isEmpty else { return }
            self.rowStamp += 1
            // Each streamer's accumulators for the row's group are asked for first, all at once:
            // in a file not sorted by school they are rarely in the cache, and the waits for them
            // then overlap instead of coming one after another.
            for streamer in list {
                streamer._withUnsafeGuaranteedRef { $0.state.prefetch(group: self.groupNumber($0, row), calls: $0.kinds.count) }
            }
            for streamer in list { streamer._withUnsafeGuaranteedRef { self.feed($0, row, file: file, line: line) } }
        }
    }

    /// The number of the row's group for the streamer's columns: found once per row for all the
    /// streamers with the same columns, and without a lookup when it is the previous row's group.
    private func groupNumber(_ streamer: Streamer, _ row: RowValues) -> Int {
        let g = streamer.grouping
        if rowGroups[g].stamp == rowStamp { return rowGroups[g].number }
        let number: Int
        let columns = streamer.byColumns
        if columns.count == 1, case .text(let text) = row.values[columns[0]], lastGroups[g].number >= 0, text == lastGroups[g].key {
            number = lastGroups[g].number
        } else {
            let key = Self.groupKey(columns, row)
            number = groupNumbers[g].number(for: key)
            lastGroups[g] = (key, number)
        }
        rowGroups[g] = (rowStamp, number)
        return number
    }

    /// A group's key: its columns' canonical text, joined by U+001F.
    private static func groupKey(_ columns: [Int], _ row: RowValues) -> String {
        columns.count == 1 ? row.values[columns[0]].description : columns.map { row.values[$0].description }.joined(separator: "\u{1F}")
    }

    private func feed(_ streamer: Streamer, _ row: RowValues, file: String, line: Int) {
        if let filter = streamer.filter, !filter.evaluate(row).isTrue { return }
        let number = groupNumber(streamer, row)
        let state = streamer.state
        let calls = streamer.kinds.count
        let slot = state.slot(group: number, { Self.groupKey(streamer.byColumns, row) },
                              keyValues: streamer.keepsGroupFacts ? streamer.byColumns.map { row.values[$0] } : [],
                              calls: calls, file: streamer.keepsGroupFacts ? file : "", line: line)
        let base = slot * calls
        state.accumulators.withUnsafeMutableBufferPointer { accumulators in
            for j in 0..<calls {
                let kind = streamer.kinds[j], a = streamer.arguments[j]
                switch a.count {
                case 0: accumulators[base + j].add(kind, count: 0, .missing, .missing)
                case 1: accumulators[base + j].add(kind, count: 1, a[0].evaluate(row), .missing)
                default: accumulators[base + j].add(kind, count: 2, a[0].evaluate(row), a[1].evaluate(row))
                }
            }
        }
    }

    /// Group rules on kept tables, fed after their rows have their derived values.
    private func accumulate(_ rule: CompiledRule, _ row: RowValues, file: String, line: Int) {
        if let scope = rule.scope, !scope.evaluate(row).isTrue { return }
        let keyValues = rule.byColumns.map { row.values[$0] }
        let key = keyValues.map(\.description).joined(separator: "\u{1F}")
        let state = rule.state
        let slot = state.slot(key, keyValues: keyValues, calls: rule.calls.count, file: file, line: line)
        for (j, call) in rule.calls.enumerated() {
            state.accumulators[slot * rule.calls.count + j].add(call.kind, rule.arguments[j].map { $0.evaluate(row) })
        }
    }

    /// Evaluates every rule once all rows are in. Findings go to `sink`; every
    /// evaluation, met or not, is returned with its figures.
    /// `tablesInRun` are the tables at least one input file was recognised as;
    /// a rule that reads another table runs only when that table is there too.
    /// Each evaluation is handed to `emit` as it is made, not collected.
    public func evaluate(sink: FindingSink, tablesInRun: Set<String>, emit: (Evaluation) -> Void) {
        let active = rules.filter { $0.needs.isSubset(of: tablesInRun) }
        notRun = [:]
        for rule in rules {
            let missing = ([rule.spec.table] + rule.needs.sorted()).filter { !tablesInRun.contains($0) }
            if !missing.isEmpty { notRun[rule.spec.id] = "本次运行没有表 (no input for table) \(missing.joined(separator: ", "))" }
        }

        // Entity tables, one row at a time: derive its values, judge the rules
        // on each row, feed the group rules. The extended row is then dropped,
        // so memory holds the entities' own columns, not their derived values.
        for name in stores.keys.sorted() {
            let store = stores[name]!
            let schema = extended[name] ?? store.schema
            let keyIndex = store.schema.key.first.flatMap { store.schema.columnIndex($0) }
            let rowRules = active.filter { $0.spec.table == name && $0.byColumns.isEmpty }
            let groupRules = active.filter { $0.spec.table == name && !$0.byColumns.isEmpty && !$0.streaming }
            let row = RowValues(count: schema.columns.count)
            for (r, values) in store.rows.enumerated() {
                for (i, v) in values.enumerated() { row.values[i] = v }
                var next = values.count
                if let keyIndex {
                    let earlier = Self.previousRow(for: values, in: previous[name]?[values[keyIndex].description] ?? [], schema: store.schema)
                    for i in 0..<values.count { row.values[next + i] = earlier?[i] ?? .missing }
                }
                next += values.count
                for d in derived[name] ?? [] {
                    if let e = d.row {
                        row.values[next] = e.evaluate(row)
                    } else if let outer = d.outer, let keyIndex {
                        let key = values[keyIndex].description
                        let accumulators = d.state.group(key)?.accumulators ?? Array(repeating: Accumulator(), count: d.calls.count)
                        let slots = RowValues(count: d.calls.count)
                        for (j, call) in d.calls.enumerated() { slots.values[j] = accumulators[j].result(call.kind) }
                        row.values[next] = outer.evaluate(slots)
                    }
                    next += 1
                }
                if !rowRules.isEmpty {
                    let key = store.schema.key.compactMap { k in store.schema.columnIndex(k).map { "\(k)=\(values[$0])" } }.joined(separator: ";")
                    for rule in rowRules {
                        if let scope = rule.scope, !scope.evaluate(row).isTrue { continue }
                        emit(judge(rule, context: row, schema: schema, key: key, file: store.files[r], line: store.lines[r], sink: sink))
                    }
                }
                for rule in groupRules { accumulate(rule, row, file: store.files[r], line: store.lines[r]) }
            }
        }

        // Groups, rule by rule, in key order. Joined tables give their own columns by key.
        var indexes: [String: [String: Int]] = [:]
        for (name, store) in stores {
            guard store.schema.key.count == 1, let k = store.schema.columnIndex(store.schema.key[0]) else { continue }
            var index: [String: Int] = [:]
            for (i, values) in store.rows.enumerated() where index[values[k].description] == nil { index[values[k].description] = i }
            indexes[name] = index
        }
        for rule in active where !rule.byColumns.isEmpty {
            let state = rule.state
            for key in state.order.sorted() {
                let (keyValues, accumulators, firstRow) = state.group(key)!
                let group = RowValues(count: rule.groupSchema!.columns.count)
                for (i, v) in keyValues.enumerated() { group.values[i] = v }
                for (j, call) in rule.calls.enumerated() { group.values[rule.byColumns.count + j] = accumulators[j].result(call.kind) }
                for join in rule.joins {
                    let store = stores[join.table]!
                    let joinKey = keyValues[join.byPosition].description
                    let found = indexes[join.table]?[joinKey]
                    group.values[join.offset + store.schema.columns.count] = .boolean(found == nil && rejectedKeys[join.table]?.contains(joinKey) == true)
                    guard let i = found else { continue }
                    for (c, v) in store.rows[i].enumerated() { group.values[join.offset + c] = v }
                }
                let keyText = zip(rule.spec.by, keyValues).map { "\($0)=\($1)" }.joined(separator: ";")
                // A group has no line of its own; its file is where its first row came from.
                emit(judge(rule, context: group, schema: rule.groupSchema!, key: keyText, file: firstRow.file, line: 0, sink: sink))
            }
        }
    }

    private func judge(_ rule: CompiledRule, context: RowValues, schema: TableSchema, key: String, file: String, line: Int, sink: FindingSink) -> Evaluation {
        let verdictValue = rule.condition.evaluate(context)
        var figures: [(String, String)] = []
        var named: [String: String] = [:]
        for (name, e) in rule.values {
            let v = e.evaluate(context).description
            figures.append((name, v))
            named[name] = v
        }
        let verdict: Verdict = verdictValue.isTrue ? .met : (verdictValue.isMissing ? .notEvaluable : .notMet)
        let evaluation = Evaluation(ruleID: rule.spec.id, table: rule.spec.table, groupKey: key, sourceFile: file, line: line, verdict: verdict, figures: figures)
        if verdict == .notMet && rule.spec.quarantine {
            // The rows of this entity or group are identified by the rule's group columns, or the table's key.
            let columns = rule.byColumns.isEmpty ? (stores[rule.spec.table]?.schema.key ?? []) : rule.spec.by
            let values = columns.map { c in schema.columnIndex(c).map { context.values[$0].description } ?? "" }
            quarantines[rule.spec.table, default: [:]][columns, default: [:]][values.joined(separator: "\u{1F}"), default: []].append(rule.spec.id)
        }
        if verdict == .met || (verdict == .notEvaluable && rule.spec.onMissing == .skip) { return evaluation }
        let lookup: (String) -> String? = { name in
            if let v = named[name] { return v }
            if let i = schema.columnIndex(name) { return context.values[i].description }
            return nil
        }
        let lookupZh: (String) -> String? = { name in
            if let i = schema.columnIndex(name), i < schema.columns.count { return schema.columns[i].zhText(context.values[i].description) }
            return lookup(name)
        }
        var zh = Placeholders.fill(rule.spec.messageZh, lookupZh)
        var en = Placeholders.fill(rule.spec.messageEn, lookup)
        if let fix = rule.spec.fixZh { zh += " " + Placeholders.fill(fix, lookupZh) }
        if let fix = rule.spec.fixEn { en += " " + Placeholders.fill(fix, lookup) }
        var severity = rule.spec.severity
        if verdict == .notEvaluable && rule.spec.onMissing == .report {
            severity = .warning
            zh = "无法核验（所需的数据缺失）：\(rule.spec.titleZh)。"
            en = "Not evaluable (data it needs is missing): \(rule.spec.titleEn)."
        }
        sink.record(LedgerEntry(table: rule.spec.table, sourceFile: file, line: line, recordKey: key, column: "", rawValue: "",
                                normalisedValue: figures.map { "\($0.0)=\($0.1)" }.joined(separator: "; "), ruleID: rule.spec.id,
                                severity: severity, messageZh: zh, messageEn: en, expected: rule.spec.condition.text))
        return evaluation
    }
}

/// Group keys numbered in order of first sight: open addressing over an FNV-1a hash of the
/// key's UTF-8 bytes. A `Dictionary<String, Int>` hashed each row's key with SipHash, about
/// 350 instructions for a school code, on the thread every row passes through.
public struct GroupNumbers {
    public init() {}
    /// Hash and number of each key, at the key's slot or after it; number -1 for an empty slot.
    private var slots = [(hash: UInt64, number: Int)](repeating: (0, -1), count: 64)
    private var keys: [String] = []

    public var count: Int { keys.count }

    /// The key's number, given the next number when it is new.
    public mutating func number(for key: String) -> Int {
        let hash = key.withBytes(FNV1a.hash)
        let mask = slots.count - 1
        var i = Self.home(hash, mask)
        while slots[i].number >= 0 {
            if slots[i].hash == hash && keys[slots[i].number] == key { return slots[i].number }
            i = (i + 1) & mask
        }
        let number = keys.count
        keys.append(key)
        slots[i] = (hash, number)
        if 2 * keys.count > slots.count { grow() }
        return number
    }

    /// The slot a key's search starts at (the hash's high bits folded in: slots are few).
    @inline(__always)
    private static func home(_ hash: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: (0, -1), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.number >= 0 {
            var i = Self.home(slot.hash, mask)
            while slots[i].number >= 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }
}
