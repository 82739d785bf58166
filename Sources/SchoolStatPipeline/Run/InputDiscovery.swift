// Run: finding the inputs — files and directories named on the command line, what is skipped and
// why — and where each file's header is.
import CSupport
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

extension ValidationRun {
    // MARK: - Inputs

    public struct Input {
        public var path: String
        public var display: String
    }

    public struct FilePlan {
        public var input: Input
        public var index: Int32
        public var reader: TableFileReader
        public var header: HeaderMap
        public var headerLine: Int
        public var headerOrdinal: Int
        public var titleRows: [Int]
    }

    public static let dataExtensions: Set<String> = ["csv", "tsv", "txt", "xlsx"]

    /// Finds the files to read: named ones, and in named directories every regular `.csv`, `.tsv`,
    /// `.txt` and `.xlsx` file, searched recursively (through symbolic links, each directory once)
    /// in sorted order. Directories holding schoolstat's own outputs are not read. Whatever is
    /// skipped otherwise — a pipe or device, a directory that cannot be opened, a broken link, an
    /// `.xls` workbook — comes back as a finding, to be recorded once the ledger is open.
    func discoverInputs() throws(RunError) -> (inputs: [Input], skipped: [LedgerEntry], outputs: [String]) {
        var found: [Input] = []
        var skipped: [LedgerEntry] = []
        var outputs: [String] = []
        func skip(_ path: String, _ rule: String, _ severity: Severity, _ message: FileMessage, expected: String = "") {
            skipped.append(LedgerEntry(table: "", file: path, line: 0, rule: rule, severity: severity, message: message, expected: expected))
        }
        func isCandidate(_ name: String) -> Bool { Self.dataExtensions.contains((name as NSString).pathExtension.lowercased()) }
        func notRegular(_ path: String, _ mode: mode_t) {
            let kind: SpecialFile = switch mode & S_IFMT {
            case S_IFIFO: .pipe
            case S_IFSOCK: .socket
            case S_IFCHR, S_IFBLK: .device
            default: .other
            }
            skip(path, "read.not_regular_file", .error, .notRegularFile(path: path, kind: kind))
        }
        var visited: Set<[UInt64]> = []
        // Walks one directory; `relative` is its path under the argument, for sorting.
        func walk(_ directory: String, relative: String, into entries: inout [(String, Input)]) {
            guard let handle = opendir(directory) else {
                let reason = String(cString: strerror(errno))
                skip(directory, "read.unreadable_directory", .error, .unreadableDirectory(path: directory, reason: reason))
                return
            }
            closedir(handle)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names {
                let full = directory + "/" + name
                let rel = relative.isEmpty ? name : relative + "/" + name
                var st = stat()
                guard lstat(full, &st) == 0 else { continue }
                let isLink = (st.st_mode & S_IFMT) == S_IFLNK
                if isLink && stat(full, &st) != 0 {
                    if isCandidate(name) {
                        skip(full, "read.broken_link", .error, .brokenLink(path: full))
                    }
                    continue
                }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    if OutputMarker.kind(of: full) != nil { outputs.append(full); continue }
                    guard visited.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { continue } // a link back up the tree
                    walk(full, relative: rel, into: &entries)
                case S_IFREG:
                    if isCandidate(name) {
                        entries.append((rel, Input(path: full, display: full)))
                    } else if (name as NSString).pathExtension.lowercased() == "xls" {
                        skip(full, "read.unsupported_format", .warning, .oldExcelWorkbook, expected: "xlsx / CSV")
                    }
                default:
                    if isCandidate(name) { notRegular(full, st.st_mode) }
                }
            }
        }
        for argument in options.inputs {
            var st = stat()
            guard stat(argument, &st) == 0 else {
                let reason = String(cString: strerror(errno))
                throw .arguments("找不到输入文件或目录：\(argument)（\(reason)）。请检查路径。 (input not found: \(argument): \(reason))")
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                let base = argument.hasSuffix("/") && argument.count > 1 ? String(argument.dropLast()) : argument
                if OutputMarker.kind(of: base) != nil { outputs.append(base); continue }
                visited.insert([UInt64(st.st_dev), UInt64(st.st_ino)])
                var entries: [(String, Input)] = []
                walk(base, relative: "", into: &entries)
                found += entries.sorted { $0.0 < $1.0 }.map(\.1)
            case S_IFREG:
                found.append(Input(path: argument, display: argument))
            default:
                notRegular(argument, st.st_mode)
            }
        }
        if found.isEmpty {
            let why = skipped.map(\.messageZh).joined(separator: "\n")
            throw .arguments("没有找到可检查的文件（.csv、.tsv、.txt、.xlsx）。 (no input files found)" + (why.isEmpty ? "" : "\n" + why))
        }
        return (found, skipped, outputs)
    }

    /// Reads the first records of a file to find its header row: the first of
    /// the first ten records that matches a table. Records before it are title rows.
    func locateHeader(reader: TableFileReader, input: Input, index: Int32, matcher: HeaderMatcher) throws(ReadError) -> FilePlan? {
        var candidates: [RawRecord] = []
        try reader.readPrefix(records: 10) { candidates.append($0) }
        var best: [(String, Int)] = []
        var bestRecord: Int?
        for (n, record) in candidates.enumerated() {
            let headers = (0..<record.fieldCount).map { record.lossyString($0) }
            let (map, scores) = matcher.recognise(headers: headers, named: options.table)
            if let map {
                var reader = reader
                reader.minimumFields = record.fieldCount
                return FilePlan(input: input, index: index, reader: reader, header: map, headerLine: record.line,
                                headerOrdinal: record.ordinal, titleRows: candidates[..<n].map(\.line))
            }
            if best.isEmpty || (scores.map(\.1).max() ?? 0) > (best.map(\.1).max() ?? 0) {
                best = scores
                bestRecord = n
            }
        }
        // A table named on the command line: take the closest row as the header and report what is missing.
        if let named = options.table, let schema = matcher.ruleSet.table(named: named), let n = bestRecord {
            let record = candidates[n]
            let headers = (0..<record.fieldCount).map { record.lossyString($0) }
            var reader = reader
            reader.minimumFields = record.fieldCount
            return FilePlan(input: input, index: index, reader: reader, header: matcher.map(headers: headers, to: schema),
                            headerLine: record.line, headerOrdinal: record.ordinal, titleRows: candidates[..<n].map(\.line))
        }
        // An encoding given on the command line that the bytes do not fit: say so, not "unknown header".
        if let forced = options.encoding, reader.facts.format != "xlsx",
           candidates.contains(where: { r in (0..<r.fieldCount).contains { r.lossyString($0).contains("\u{FFFD}") } }),
           let detected = TableFileReader.detectedEncoding(path: input.path), detected != forced {
            record(LedgerEntry(table: "", file: input.display, line: candidates.first?.line ?? 1, rule: "read.wrong_encoding", severity: .error,
                               message: .wrongEncoding(given: forced.rawValue, detected: detected.rawValue), expected: detected.rawValue))
            return nil
        }
        let scoreText = best.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
        record(LedgerEntry(table: "", file: input.display, line: candidates.first?.line ?? 1, rule: "read.unknown_table", severity: .error,
                           message: candidates.isEmpty ? .emptyFile : .unknownTable(scores: scoreText)))
        return nil
    }
}
