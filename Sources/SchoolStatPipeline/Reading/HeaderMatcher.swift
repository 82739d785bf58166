// Schema: recognises a table from its header row and maps each header cell
// to a canonical column, ignoring width, brackets, spaces, case, traditional
// characters and units written into the header.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// How one file's header cells map onto a schema's columns.
public struct HeaderMap {
    public var schema: TableSchema
    /// Header cells as written.
    public var headers: [String]
    /// For each field position, the column it feeds (nil: not in the schema).
    public var columnForField: [Int?]
    /// For each schema column, the field position that feeds it.
    public var fieldForColumn: [Int?]
    /// A unit written in the header of a column, e.g. 万元.
    public var unitForColumn: [String?]
    /// Header cells that match no column: (position, text).
    public var unknown: [(Int, String)]
    /// A column named twice: (column, first position, repeated position).
    public var duplicates: [(Int, Int, Int)]
    public var matched: Int { fieldForColumn.compactMap { $0 }.count }

    /// A record's cells as rejected/ lays them out after its source and rule ids: one per schema
    /// column, as written (empty when the file has no such column), then the fields no column
    /// claimed, as `header=value | …`.
    public func forEachRejectedField(_ record: RawRecord, _ emit: (String) -> Void) {
        forEachRejectedField(record, cell: { emit(String(decoding: $0, as: UTF8.self)) }, extra: emit)
    }

    /// The same, each column's cell given as its bytes (`cell`, decoded leniently by whoever
    /// wants text), the fields no column claimed as one text (`extra`).
    public func forEachRejectedField(_ record: RawRecord, cell: (UnsafeBufferPointer<UInt8>) -> Void, extra emitExtra: (String) -> Void) {
        for i in schema.columns.indices {
            if let f = fieldForColumn[i], f < record.fieldCount { record.withField(f, cell) } else { cell(UnsafeBufferPointer(start: nil, count: 0)) }
        }
        var extra: [String] = []
        for f in 0..<record.fieldCount where f >= columnForField.count || columnForField[f] == nil {
            let s = record.lossyString(f)
            if !s.isEmpty { extra.append((f < headers.count ? headers[f] : "#\(Spreadsheet.columnLetter(f))") + "=" + s) }
        }
        emitExtra(extra.joined(separator: " | "))
    }
    public var missingRequired: [Int] {
        schema.columns.indices.filter { schema.columns[$0].required && fieldForColumn[$0] == nil }
    }
}

public struct HeaderMatcher {
    public let ruleSet: RuleSet
    public let converter: ChineseConverter
    /// Per table: match key → column index.
    private let lookup: [String: [String: Int]]
    private let unitWords: Set<String>

    public init(ruleSet: RuleSet, converter: ChineseConverter) {
        self.ruleSet = ruleSet
        self.converter = converter
        var lookup: [String: [String: Int]] = [:]
        for table in ruleSet.tables {
            var map: [String: Int] = [:]
            for (i, c) in table.columns.enumerated() {
                for name in [c.name, c.titleZh, c.titleEn] + c.aliases {
                    let key = TextCleaner.matchKey(converter.toSimplified(name))
                    if map[key] == nil { map[key] = i }
                }
            }
            lookup[table.name] = map
        }
        self.lookup = lookup
        unitWords = Set(ruleSet.vocabulary.units.values.flatMap { $0.scales.keys })
    }

    /// Splits `年工资收入（万元）` into the name `年工资收入` and the unit `万元`.
    public func split(_ header: String) -> (key: String, unit: String?) {
        let text = converter.toSimplified(TextCleaner.clean(header, folding: .all))
        var name = text
        var unit: String?
        // A trailing bracketed part: (万元) [m²] 【元】
        if let close = name.last, ")]】".contains(close) {
            let open: Character = close == ")" ? "(" : (close == "]" ? "[" : "【")
            if let start = name.lastIndex(of: open) {
                let inner = String(name[name.index(after: start)..<name.index(before: name.endIndex)])
                if unitWords.contains(TextCleaner.matchKey(inner)) {
                    unit = inner
                    name = String(name[..<start])
                }
            }
        }
        // A trailing "/万元" or "_万元"
        if unit == nil, let sep = name.lastIndex(where: { $0 == "/" || $0 == "_" }) {
            let inner = String(name[name.index(after: sep)...])
            if unitWords.contains(TextCleaner.matchKey(inner)) {
                unit = inner
                name = String(name[..<sep])
            }
        }
        return (TextCleaner.matchKey(name), unit)
    }

    public func map(headers: [String], to schema: TableSchema) -> HeaderMap {
        let table = lookup[schema.name] ?? [:]
        var m = HeaderMap(schema: schema, headers: headers, columnForField: Array(repeating: nil, count: headers.count),
                          fieldForColumn: Array(repeating: nil, count: schema.columns.count),
                          unitForColumn: Array(repeating: nil, count: schema.columns.count), unknown: [], duplicates: [])
        for (position, header) in headers.enumerated() {
            let (key, unit) = split(header)
            guard !key.isEmpty else { m.unknown.append((position, header)); continue }
            guard let column = table[key] else { m.unknown.append((position, header)); continue }
            if let first = m.fieldForColumn[column] {
                m.duplicates.append((column, first, position))
                continue
            }
            m.columnForField[position] = column
            m.fieldForColumn[column] = position
            m.unitForColumn[column] = unit
        }
        return m
    }

    /// The schema whose columns best match these headers, if it matches enough.
    /// Returns nil and the scores when nothing matches or two tables tie.
    public func recognise(headers: [String], named: String?) -> (HeaderMap?, [(String, Int)]) {
        let candidates = named.flatMap { ruleSet.table(named: $0) }.map { [$0] } ?? ruleSet.tables
        let maps = candidates.map { map(headers: headers, to: $0) }
        let scores = maps.map { ($0.schema.name, $0.matched) }
        guard let best = maps.max(by: { $0.matched < $1.matched }),
              best.matched >= best.schema.minimumHeaderMatches else { return (nil, scores) }
        if maps.filter({ $0.matched == best.matched }).count > 1 { return (nil, scores) }
        return (best, scores)
    }
}
