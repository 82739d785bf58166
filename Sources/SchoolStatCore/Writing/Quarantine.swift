// Writing: moves rows that a quarantining pack rule failed from clean/ to
// rejected/, after the rules have run, keeping read = clean + rejected.
import Foundation

enum Quarantine {
    /// Rewrites `clean/<table>.csv` without the rows whose identifying columns
    /// match, appending them to `rejected/<table>.csv` with the rules' ids.
    /// Returns how many rows moved.
    static func apply(table: TableSchema, groups: [[String]: [String: [String]]], cleanPath: String, rejectedPath: String) throws(WriteError) -> Int {
        var reader: TableFileReader
        do { reader = try TableFileReader(path: cleanPath, encoding: .utf8, delimiter: 0x2C) } catch { throw WriteError(path: cleanPath, reason: error.description) }
        let kept = try BufferedFile(path: cleanPath + ".kept")
        let keptCSV = CSVWriter(file: kept)
        let rejected = try BufferedFile(path: rejectedPath, append: true)
        let rejectedCSV = CSVWriter(file: rejected)
        var header: [String] = []
        var moved = 0
        do {
            try reader.read { event in
                guard case .record(let r) = event else { return }
                let cells = (0..<r.fieldCount).map { r.string($0) ?? r.lossyString($0) }
                if r.ordinal == 1 {
                    header = cells
                    keptCSV.writeRow(cells, defuse: false)
                    return
                }
                var rules: [String] = []
                for (columns, keys) in groups {
                    let key = columns.map { c in header.firstIndex(of: c).map { $0 < cells.count ? cells[$0] : "" } ?? "" }.joined(separator: "\u{1F}")
                    if let ids = keys[key] { rules += ids }
                }
                if rules.isEmpty {
                    keptCSV.writeRow(cells, defuse: false)
                    return
                }
                moved += 1
                func cell(_ name: String) -> String { header.firstIndex(of: name).map { $0 < cells.count ? cells[$0] : "" } ?? "" }
                // Clean values are already defused; written as they are.
                rejectedCSV.writeRow([cell("source_file"), cell("source_line"), Array(Set(rules)).sorted().joined(separator: ";")]
                                     + table.columns.map { cell($0.name) } + [""], defuse: false)
            }
        } catch {
            throw WriteError(path: cleanPath, reason: error.description)
        }
        try kept.close()
        try rejected.close()
        guard rename(cleanPath + ".kept", cleanPath) == 0 else { throw WriteError(path: cleanPath, reason: String(cString: strerror(errno))) }
        return moved
    }
}
