// Evaluating: runs the rule packs after the row pass — derived values,
// aggregates from other tables, rules on each entity and rules on groups.
//
// Memory grows with the number of entities and groups (schools, counties),
// never with roster rows: a roster contributes to per-group accumulators as
// its clean rows stream past.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

public final class PackEvaluator {
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

    /// Compiles every pack that applies to `reportYear` (`PackCompiler`), mistakes collected with
    /// their place, and wires the streaming rules to the tables that feed them.
    public init(ruleSet: RuleSet, reportYear: Int) throws(RuleFileErrors) {
        let packs = try PackCompiler.compile(ruleSet: ruleSet, reportYear: reportYear)
        parameters = packs.parameters
        activePacks = packs.activePacks
        stores = packs.stores
        extended = packs.extended
        derived = packs.derived
        rules = packs.rules
        wireStreamers(tables: nil)
    }

    /// Streams only what can be evaluated with `tables`, the tables the run's files were
    /// recognised as: a value derived for a table the run does not have, or a group rule that
    /// reads one, is not accumulated row by row only to be left out by `evaluate`. The findings
    /// and evaluations are the same; the row pass does less.
    public func restrict(toTables tables: Set<String>) {
        wireStreamers(tables: tables)
    }

    private func wireStreamers(tables: Set<String>?) {
        streamers = [:]
        for (target, list) in derived.sorted(by: { $0.key < $1.key }) {
            if let tables, !tables.contains(target) { continue }
            for d in list {
                guard let source = d.source, let by = d.by else { continue }
                streamers[source, default: []].append(Streamer(filter: d.filter, byColumns: [by], kinds: d.calls.map(\.kind),
                                                                arguments: d.arguments, state: d.state, keepsGroupFacts: false))
            }
        }
        for rule in rules where rule.streaming {
            if let tables, !rule.needs.isSubset(of: tables) || !tables.contains(rule.spec.table) { continue }
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
            // A table the previous run did not write is left out; one that is there but is not a
            // regular file (a named pipe would block the run for ever) is refused.
            if PathKind(path: path, followingLinks: true) == .absent { continue }
            var reader = try CleanTableReader(path: path)
            var positions: [Int?] = []
            var byKey: [String: [[Value]]] = [:]
            try reader.forEachRow { header, cells, _ in
                if positions.isEmpty { positions = store.schema.columns.map { c in header.firstIndex(of: c.name) } }
                let values = store.schema.columns.enumerated().map { i, c -> Value in
                    guard let f = positions[i], f < cells.count else { return .missing }
                    return CleanTableReader.canonicalValue(cells[f], c.type)
                }
                byKey[values[keyIndex].description, default: []].append(values)
            }
            previous[name] = byKey
        }
    }

    /// Tables whose clean rows this evaluator needs to see during the row pass.
    public var observedTables: Set<String> {
        Set(stores.keys).union(streamers.keys)
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

