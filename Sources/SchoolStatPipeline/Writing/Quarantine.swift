// Writing: moves rows that a quarantining pack rule failed from clean/ to
// rejected/, after the rules have run, keeping read = clean + rejected.
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

public enum Quarantine {
    /// A clean row that a quarantining rule moves to rejected/.
    public struct Moved {
        public var file: String
        public var line: Int
        public var rules: [String]
        /// The row as it was in clean/ (canonical), in rejected/'s column order: written only
        /// when the row can no longer be found in its input file.
        public var canonical: [String]
    }

    /// Rewrites `clean/<table>.csv` without the rows whose identifying columns
    /// match, and returns them: the caller writes each to `rejected/<table>.csv`
    /// as it was read from its input file (`writeAsRead`).
    public static func apply(table: TableSchema, groups: [[String]: [String: [String]]], cleanPath: String) throws(WriteError) -> [Moved] {
        var reader: CleanTableReader
        do { reader = try CleanTableReader(path: cleanPath) } catch { throw WriteError(path: cleanPath, reason: error.description) }
        let kept = try BufferedFile(path: cleanPath + ".kept")
        let keptCSV = CSVWriter(file: kept)
        var moved: [Moved] = []
        do {
            try reader.forEachRow(header: { keptCSV.writeRow($0, defuse: false) }) { header, cells, _ in
                var rules: [String] = []
                for (columns, keys) in groups {
                    let key = columns.map { c in header.firstIndex(of: c).map { $0 < cells.count ? cells[$0] : "" } ?? "" }.joined(separator: "\u{1F}")
                    if let ids = keys[key] { rules += ids }
                }
                if rules.isEmpty {
                    keptCSV.writeRow(cells, defuse: false)
                    return
                }
                func cell(_ name: String) -> String { header.firstIndex(of: name).map { $0 < cells.count ? cells[$0] : "" } ?? "" }
                let ids = Array(Set(rules)).sorted()
                moved.append(Moved(file: cell("source_file"), line: Int(cell("source_line")) ?? 0, rules: ids,
                                   canonical: [cell("source_file"), cell("source_line"), ids.joined(separator: ";")] + table.columns.map { cell($0.name) } + [""]))
            }
        } catch {
            throw WriteError(path: cleanPath, reason: error.description)
        }
        try kept.close()
        guard rename(cleanPath + ".kept", cleanPath) == 0 else { throw WriteError(path: cleanPath, reason: String(cString: strerror(errno))) }
        return moved
    }

    /// Appends the moved rows to `rejectedPath` as they were read: each input file that holds
    /// some is read again (with the encoding, dialect and header its run settled) up to its
    /// last moved line, and each row is written like a row rejected by its own checks — raw
    /// fields under the canonical column names, fields no column claimed — so that a school can
    /// correct it and send it back. A row no longer in its file keeps its canonical form.
    public static func writeAsRead(_ moved: [Moved], readers: [(display: String, reader: TableFileReader, header: HeaderMap)],
                            rejectedPath: String) throws(WriteError) {
        guard !moved.isEmpty else { return }
        let file = try BufferedFile(path: rejectedPath, append: true)
        let csv = CSVWriter(file: file)
        var byFile: [String: [Int: Moved]] = [:]
        for m in moved { byFile[m.file, default: [:]][m.line] = m }
        for (display, original, header) in readers {
            guard var wanted = byFile[display], !wanted.isEmpty else { continue }
            var reader = original
            reader.computesDigest = false
            let last = wanted.keys.max() ?? 0
            var done = false
            try? reader.read({ event in
                guard case .record(let record) = event, let m = wanted[record.line] else { return }
                var row = [display, String(record.line), m.rules.joined(separator: ";")]
                header.forEachRejectedField(record) { row.append($0) }
                csv.writeRow(row)
                wanted[record.line] = nil
                if record.line >= last { done = true }
            }, stopWhen: { done })
            // Rows that could not be found again (the file changed during the run): as they were in clean/.
            for line in wanted.keys.sorted() { csv.writeRow(wanted[line]!.canonical, defuse: false) }
            byFile[display] = nil
        }
        for display in byFile.keys.sorted() {
            for line in byFile[display]!.keys.sorted() { csv.writeRow(byFile[display]![line]!.canonical, defuse: false) }
        }
        try file.close()
    }
}
