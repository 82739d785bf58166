// Evaluating: the rule packs that apply to a reporting year compiled against the schemas — derived
// values extending their tables, row rules, group rules with their aggregate calls and joins —
// every mistake collected with its place in the pack file. `PackEvaluator` runs what this gives.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

struct CompiledDerived {
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

struct CompiledRule {
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

/// Everything `PackEvaluator` needs from the packs, compiled.
struct CompiledPacks {
    var parameters: [String: Value]
    var activePacks: [(name: String, version: String)]
    /// Entity tables whose clean rows are kept, each extended with `previous.<column>` columns.
    var stores: [String: EntityStore]
    var extended: [String: TableSchema]
    var derived: [String: [CompiledDerived]]
    var rules: [CompiledRule]
}

enum PackCompiler {
    /// Compiles every pack that applies to `reportYear`; throws every mistake found, with its place.
    /// The phases: the entity tables kept, the derived values extending their tables (in
    /// declaration order, so that a derived value may use those before it), then the rules.
    static func compile(ruleSet: RuleSet, reportYear: Int) throws(RuleFileErrors) -> CompiledPacks {
        // The loader has already chosen each pack's version for the reporting year.
        let packs = ruleSet.packs.filter { $0.years.contains(reportYear) }
        var compilation = Compilation(ruleSet: ruleSet)
        compilation.keepEntityTables(packs)
        for pack in packs { for d in pack.derived { compilation.compileDerived(d) } }
        for pack in packs { for spec in pack.rules { compilation.compileRule(spec) } }
        return try compilation.finish(activePacks: packs.map { ($0.name, $0.version) })
    }

    /// What the packs compile to so far, and every mistake found.
    private struct Compilation {
        let ruleSet: RuleSet
        let parameters: [String: Value]
        var stores: [String: EntityStore] = [:]
        var extended: [String: TableSchema] = [:]
        var derived: [String: [CompiledDerived]] = [:]
        var rules: [CompiledRule] = []
        var errors: [RuleFileError] = []

        init(ruleSet: RuleSet) {
            self.ruleSet = ruleSet
            parameters = ruleSet.parameters
        }

        /// Entity tables (those with derived values or row rules): their clean rows are kept. Each
        /// gets `previous.<column>` columns, filled from the previous period's clean output when given.
        mutating func keepEntityTables(_ packs: [RulePack]) {
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
        }

        mutating func fail(_ location: SourceLocation, _ offset: Int, _ message: String, _ text: String) {
            var l = location
            l.column += offset
            errors.append(RuleFileError(location: l, message: "\(message)\n    \(text)\n    \(String(repeating: " ", count: offset))^"))
        }

        /// A table as the packs see it (extended with what was derived so far), or a mistake.
        mutating func table(_ name: String, _ location: SourceLocation) -> TableSchema? {
            guard let t = extended[name] ?? ruleSet.table(named: name) else {
                errors.append(RuleFileError(location: location, message: "没有名为 `\(name)` 的表 (no such table)；已定义: \(ruleSet.tables.map(\.name).joined(separator: ", "))"))
                return nil
            }
            return t
        }

        /// A derived value: computed from its own row, or aggregated from another table by a
        /// column; it extends its table's schema.
        mutating func compileDerived(_ d: DerivedValue) {
            guard var schema = table(d.table, d.location) else { return }
            let compiler = ExpressionCompiler(schema: schema, parameters: parameters)
            var c = CompiledDerived(name: d.name)
            switch d.source {
            case .row(let e):
                do throws(ExpressionCompileError) { c.row = try compiler.compile(e.root) } catch { fail(e.location, error.offset, error.message, e.text); return }
            case .other(let from, let by, let value, let filter):
                guard let source = table(from, d.location) else { return }
                guard let byIndex = source.columnIndex(by) else {
                    errors.append(RuleFileError(location: d.location, message: "表 \(from) 没有列 `\(by)` (unknown column)")); return
                }
                guard schema.key.count == 1 else {
                    errors.append(RuleFileError(location: d.location, message: "表 \(d.table) 的 key 须为单列才能按 \(by) 汇总 (needs a one-column key)")); return
                }
                c.source = from
                c.by = byIndex
                let sourceCompiler = ExpressionCompiler(schema: source, parameters: parameters)
                do throws(ExpressionCompileError) {
                    let rewritten = try AggregateRewriter.rewrite(value.root, into: &c.calls)
                    c.arguments = try c.calls.map { call throws(ExpressionCompileError) in try call.arguments.map { a throws(ExpressionCompileError) in try sourceCompiler.compile(a) } }
                    c.outer = try ExpressionCompiler(schema: PackCompiler.slotSchema(base: nil, keys: [], slots: c.calls.count, name: from, slotTypes: PackCompiler.slotTypes(c.calls, c.arguments)),
                                                     parameters: parameters).compile(rewritten)
                } catch { fail(value.location, error.offset, error.message, value.text); return }
                if let filter {
                    do throws(ExpressionCompileError) { c.filter = try sourceCompiler.compile(filter.root) } catch { fail(filter.location, error.offset, error.message, filter.text) }
                }
            }
            let type = c.row?.type ?? c.outer?.type ?? .number
            schema.columns.append(PackCompiler.syntheticColumn(d.name, type, d.location))
            extended[d.table] = schema
            derived[d.table, default: []].append(c)
        }

        /// A rule: on each row, or on groups of rows (`by:`); a mistake is named at the rule's check.
        mutating func compileRule(_ spec: PackRule) {
            guard let schema = table(spec.table, spec.location) else { return }
            do throws(ExpressionCompileError) {
                rules.append(spec.by.isEmpty ? try rowRule(spec, schema) : try groupRule(spec, schema))
            } catch {
                fail(spec.condition.location, error.offset, "规则 \(spec.id)：\(error.message)", spec.condition.text)
            }
        }

        func rowRule(_ spec: PackRule, _ schema: TableSchema) throws(ExpressionCompileError) -> CompiledRule {
            let compiler = ExpressionCompiler(schema: schema, parameters: parameters)
            let rule = CompiledRule(spec: spec, scope: try spec.scope.map { e throws(ExpressionCompileError) in try compiler.compile(e.root) },
                                    condition: try compiler.compile(spec.condition.root),
                                    values: try spec.values.map { v throws(ExpressionCompileError) in (v.name, try compiler.compile(v.expression.root)) })
            guard rule.condition.type == .boolean || rule.condition.type == .any else {
                throw ExpressionCompileError(offset: 0, message: "check 应得到 是/否 (the check must be true or false)")
            }
            return rule
        }

        /// A group rule: its aggregate calls computed per row into slots, its check and values
        /// compiled against the group (the `by` columns, the slots, and the entity tables joined by key).
        func groupRule(_ spec: PackRule, _ schema: TableSchema) throws(ExpressionCompileError) -> CompiledRule {
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
            var groupSchema = PackCompiler.slotSchema(base: schema, keys: byColumns, slots: calls.count, name: spec.table, slotTypes: PackCompiler.slotTypes(calls, arguments))
            let joins = joinEntityTables(spec, into: &groupSchema)
            let groupCompiler = ExpressionCompiler(schema: groupSchema, parameters: parameters)
            var rule = CompiledRule(spec: spec, scope: try spec.scope.map { e throws(ExpressionCompileError) in try rowCompiler.compile(e.root) },
                                    condition: try groupCompiler.compile(condition),
                                    values: try values.map { v throws(ExpressionCompileError) in (v.0, try groupCompiler.compile(v.1)) })
            rule.byColumns = byColumns
            rule.joins = joins
            let joined = Set(joins.map(\.table))
            var names: Set<String> = []
            for root in [spec.condition.root] + spec.values.map(\.expression.root) { ExpressionNode.collectNames(root, into: &names) }
            rule.needs = Set(names.compactMap { n in n.split(separator: ".").first.map(String.init) }.filter { joined.contains($0) })
            rule.calls = calls
            rule.arguments = arguments
            rule.groupSchema = groupSchema
            return rule
        }

        /// Joins the entity tables whose key is one of the group columns (`schools.school_name`:
        /// their own columns; derived values are not carried into joins), each with `<table>.rejected`.
        func joinEntityTables(_ spec: PackRule, into groupSchema: inout TableSchema) -> [(table: String, byPosition: Int, offset: Int)] {
            var joins: [(table: String, byPosition: Int, offset: Int)] = []
            for (name, store) in stores.sorted(by: { $0.key < $1.key }) {
                guard store.schema.key.count == 1, let position = spec.by.firstIndex(of: store.schema.key[0]) else { continue }
                joins.append((name, position, groupSchema.columns.count))
                for c in store.schema.columns {
                    var joined = c
                    joined.name = name + "." + c.name
                    groupSchema.columns.append(joined)
                }
                // `schools.rejected`: the key is among the table's rejected rows (not merely absent).
                groupSchema.columns.append(PackCompiler.syntheticColumn(name + ".rejected", .boolean, spec.location))
            }
            return joins
        }

        /// Group rules on kept tables are grouped afterwards, with derived values; the others stream.
        mutating func finish(activePacks: [(name: String, version: String)]) throws(RuleFileErrors) -> CompiledPacks {
            for i in rules.indices where !rules[i].byColumns.isEmpty { rules[i].streaming = stores[rules[i].spec.table] == nil }
            if !errors.isEmpty { throw RuleFileErrors(errors: errors) }
            return CompiledPacks(parameters: parameters, activePacks: activePacks, stores: stores, extended: extended, derived: derived, rules: rules)
        }
    }

    /// The type of each aggregate slot: that of its argument for first, min and max; a number otherwise.
    static func slotTypes(_ calls: [AggregateCall], _ arguments: [[CompiledExpression]]) -> [ValueType] {
        zip(calls, arguments).map { call, args in call.kind == .first || call.kind == .min || call.kind == .max ? (args.first?.type ?? .number) : ValueType.number }
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
}
