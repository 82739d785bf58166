// Pipeline: the entry points the fuzz targets (Fuzz/, `make fuzz`) and the corpus replay in the
// tests drive: each takes arbitrary bytes through one reader or loader exactly as a run would.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

@_spi(Fuzzing) public enum FuzzEntryPoints {
    /// Writes `bytes` to `path` and reads it as a delimited text file to the end: encoding and
    /// dialect detection, transcoding, libcsv. Returns the records read, or -1 when the file
    /// was refused with a read error.
    public static func readText(_ bytes: [UInt8], scratch path: String) -> Int {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return -1 }
        return readAll(path)
    }

    /// Writes `bytes` to `path` (ending in .xlsx) and streams its first worksheet to the end.
    public static func readWorkbook(_ bytes: [UInt8], scratch path: String, limits: ReadLimits = ReadLimits()) -> Int {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return -1 }
        return readAll(path, limits: limits)
    }

    /// Writes `bytes` to `path` (ending in .xls) and reads every sheet the legacy workbook lists
    /// to the end. Returns the records read in all, or -1 when the workbook or a sheet was refused.
    public static func readLegacyWorkbook(_ bytes: [UInt8], scratch path: String, limits: ReadLimits = ReadLimits()) -> Int {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)), let sheets = try? XLSReader.sheets(path: path) else { return -1 }
        var total = 0
        for sheet in sheets {
            let n = readAll(path, limits: limits, sheet: sheet.name)
            guard n >= 0 else { return -1 }
            total += n
        }
        return total
    }

    private static func readAll(_ path: String, limits: ReadLimits = ReadLimits(), sheet: String? = nil) -> Int {
        do {
            var reader = try TableFileReader(path: path, sheet: sheet)
            reader.readLimits = limits
            var records = 0
            try reader.read { event in
                if case .record(let r) = event {
                    records += 1
                    for i in 0..<r.fieldCount { _ = r.lossyString(i) }
                }
            }
            return records
        } catch {
            _ = error.description
            return -1
        }
    }

    /// Parses `text` as a rule expression, compiles it against `table` of the rule set and
    /// evaluates it on an empty row and on one of text values. Returns whether it compiled.
    public static func expression(_ text: String, ruleSet: RuleSet, table: String) -> Bool {
        guard let schema = ruleSet.table(named: table) else { return false }
        do {
            let node = try ExpressionParser.parse(text)
            let compiled = try ExpressionCompiler(schema: schema, parameters: ruleSet.parameters).compile(node)
            let row = RowValues(count: schema.columns.count)
            _ = compiled.evaluate(row)
            for i in 0..<schema.columns.count { row.values[i] = .text(String(i)) }
            _ = compiled.evaluate(row)
            return true
        } catch {
            return false
        }
    }

    /// Writes `text` as `relative` inside `rules` (a scratch copy of a rule directory) and loads
    /// the whole rule set. Returns whether it loaded; a mistake must come back as errors.
    public static func ruleFile(_ text: [UInt8], relative: String, rules: String) -> Bool {
        _ = FileManager.default.createFile(atPath: rules + "/" + relative, contents: Data(text))
        do {
            _ = try LoadedRules.load(directory: rules).ruleSet
            return true
        } catch {
            _ = error.description
            return false
        }
    }

    /// One rule-language input: its first byte picks what the rest is — an expression compiled
    /// and evaluated against the teachers table, a pattern then a newline and a cell, or a rule
    /// pack file loaded with the rest of `rules` (a scratch copy). Returns whether it was taken.
    public static func ruleLanguage(_ bytes: [UInt8], ruleSet: RuleSet, rules: String) -> Bool {
        guard let first = bytes.first else { return false }
        let rest = Array(bytes.dropFirst())
        switch first % 3 {
        case 0:
            return expression(String(decoding: rest, as: UTF8.self), ruleSet: ruleSet, table: "teachers")
        case 1:
            let parts = String(decoding: rest, as: UTF8.self).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            return pattern(String(parts[0]), cell: parts.count > 1 ? String(parts[1]) : "") != nil
        default:
            return ruleFile(rest, relative: "packs/fuzz.yaml", rules: rules)
        }
    }

    /// Whether a pattern is taken, and if so a match against `cell`.
    public static func pattern(_ pattern: String, cell: String) -> Bool? {
        guard let compiled = try? Pattern(pattern) else { return nil }
        return compiled.matches(cell)
    }
}
