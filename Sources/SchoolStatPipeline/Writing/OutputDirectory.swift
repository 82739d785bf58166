// Writing: a run's outputs appear all at once or not at all, and only ever replace
// a directory schoolstat wrote itself.
import CSupport
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// Why an output path was refused: nothing was written or removed.
public struct OutputRefusal: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reasonZh: String
    public var reasonEn: String
    public var description: String {
        "不能把输出写到 \(path)：\(reasonZh)\n(refusing to write outputs to \(path): \(reasonEn))"
    }
}

/// What kind of output a directory holds; recorded in its marker.
public enum OutputKind: String, Sendable {
    /// A `validate` run: clean/, rejected/, the ledger, summary.json.
    case validate
    /// A `score` evaluation.
    case evaluation
    /// `feedback`: one workbook per school, the index of them.
    case feedback

    /// What such a directory is, for messages.
    var described: (zh: String, en: String) {
        switch self {
        case .validate: return ("schoolstat validate 的输出目录", "validate run")
        case .evaluation: return ("schoolstat score 的评估目录", "score evaluation")
        case .feedback: return ("schoolstat feedback 的各校反馈目录", "set of school feedback workbooks")
        }
    }
}

/// The marker file every output directory carries: only a directory holding one is ever replaced,
/// and input discovery skips directories holding one.
public enum OutputMarker {
    public static let fileName = ".schoolstat-run"
    public static let formatVersion = 1
    private static let signature = "schoolstat-run"

    public static func text(kind: OutputKind, runID: String) -> String {
        let id = runID.unicodeScalars.filter { $0.value >= 0x20 && $0 != "\"" && $0 != "\\" }.map(String.init).joined()
        return "{\"format\":\"\(signature)\",\"version\":\(formatVersion),\"kind\":\"\(kind.rawValue)\",\"run_id\":\"\(id)\"}\n"
    }

    /// The kind of output `directory` holds, or nil when it holds no marker schoolstat wrote
    /// (nor is an output of a version before markers, see `legacyKind`).
    public static func kind(of directory: String) -> OutputKind? {
        markedKind(of: directory) ?? legacyKind(of: directory)
    }

    /// An output written before directories carried the marker, recognised by holding nothing
    /// but what schoolstat writes: a run's ledger, summary (with its run id and exit code),
    /// clean/ and rejected/ of CSV files, evaluations and evaluation/; or an evaluation's four
    /// files. So that a nightly job keeps working after an upgrade, and its outputs are not
    /// read back as inputs.
    public static func legacyKind(of directory: String) -> OutputKind? {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory), !entries.isEmpty else { return nil }
        func isFile(_ path: String, maxBytes: Int = .max) -> Bool {
            var st = stat()
            return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && Int(st.st_size) <= maxBytes
        }
        let evaluationFiles: Set<String> = ["school_indicators.csv", "county_indicators.csv", "evaluation.md", "evaluation.html"]
        if Set(entries).isSubset(of: evaluationFiles) {
            return entries.contains("county_indicators.csv") && entries.allSatisfy({ isFile(directory + "/" + $0) }) ? .evaluation : nil
        }
        let runEntries: Set<String> = ["clean", "rejected", "ledger.csv", "ledger.jsonl", "summary.json", "evaluations.csv", "evaluation"]
        guard Set(entries).isSubset(of: runEntries), entries.contains("summary.json"), entries.contains("clean"),
              isFile(directory + "/summary.json", maxBytes: RunSummary.maximumBytes),
              (try? RunSummary.read(directory: directory)) != nil else { return nil }
        for sub in ["clean", "rejected"] where entries.contains(sub) {
            guard let files = try? fm.contentsOfDirectory(atPath: directory + "/" + sub),
                  files.allSatisfy({ $0.hasSuffix(".csv") && isFile(directory + "/" + sub + "/" + $0) }) else { return nil }
        }
        for file in ["ledger.csv", "ledger.jsonl", "evaluations.csv"] where entries.contains(file) {
            guard isFile(directory + "/" + file) else { return nil }
        }
        if entries.contains("evaluation") && kind(of: directory + "/evaluation") != .evaluation { return nil }
        return .validate
    }

    /// Whether the file at `path` is a regular file holding the start of a marker schoolstat
    /// wrote (empty included): what a run killed while writing its marker leaves.
    static func isBeginning(of path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size < 4096,
              let data = FileManager.default.contents(atPath: path) else { return false }
        let head = Array("{\"format\":\"\(signature)\",\"version\":".utf8)
        let bytes = Array(data)
        return bytes.count <= head.count ? head.starts(with: bytes) : bytes.starts(with: head)
    }

    private static func markedKind(of directory: String) -> OutputKind? {
        let path = directory + "/" + fileName
        var st = stat()
        // A regular file, small: anything else is not ours, and is not read.
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size < 4096,
              let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["format"] as? String == signature,
              let kind = (object["kind"] as? String).flatMap(OutputKind.init(rawValue:)) else { return nil }
        return kind
    }
}

/// Stages a run's files in a hidden sibling directory and swaps it into place
/// when the run completes.
///
/// A crash or kill before `commit()` leaves the previous outputs untouched;
/// the stale staging directory is removed by the next run. The swap uses
/// Linux's `renameat2(RENAME_EXCHANGE)`, so there is no moment at which the
/// output directory is missing.
///
/// The path is vetted first (`vet`): an existing directory is replaced only when it is empty or
/// carries the marker of an output of the same kind, and never when it is `/`, the home directory,
/// a mount point, or an input of the run or a directory holding one.
public final class OutputDirectory {
    public let finalPath: String
    public let stagingPath: String
    private let kind: OutputKind
    private let protected: [String]
    private var committed = false

    public init(path: String, kind: OutputKind, runID: String, protecting inputs: [String]) throws(OutputError) {
        do { finalPath = try Self.vet(path: path, kind: kind, protecting: inputs) } catch { throw .refused(error) }
        self.kind = kind
        protected = inputs
        let url = URL(fileURLWithPath: finalPath)
        let parent = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw .failed(WriteError(path: parent, reason: "\(error.localizedDescription)"))
        }
        // Remove staging directories left by runs that were killed: only those provably ours.
        let prefix = ".\(name).partial-"
        for entry in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(prefix) {
            let pidText = entry.dropFirst(prefix.count).prefix { $0.isNumber }
            guard let pid = Int32(pidText), pid > 0 else { continue }
            if pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM) { continue } // another live run
            Self.removeStaleStaging(parent + "/" + entry)
        }
        stagingPath = parent + "/" + prefix + "\(getpid())"
        Self.removeStaleStaging(stagingPath)
        guard mkdir(stagingPath, 0o755) == 0 else {
            throw .failed(WriteError(path: stagingPath, reason: String(cString: strerror(errno))))
        }
        // The marker goes in first, written in place (no temporary file beside it), so that a
        // staging directory is recognisably ours from its first instant: by its name and the
        // process id in it, empty, then holding the marker as it is being written.
        let markerPath = stagingPath + "/" + OutputMarker.fileName
        guard Self.writeMarker(OutputMarker.text(kind: kind, runID: runID), to: markerPath) else {
            let reason = String(cString: strerror(errno))
            _ = unlink(markerPath)
            _ = rmdir(stagingPath)
            throw .failed(WriteError(path: markerPath, reason: reason))
        }
    }

    /// Writes the marker into a file that must not exist yet.
    private static func writeMarker(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            written += n
        }
        return true
    }

    /// Removes a staging directory a killed run left behind, when it is provably schoolstat's:
    /// it carries a complete marker, or it is what a run killed in its first instant leaves —
    /// empty, or holding nothing but the marker being written (or, from earlier builds, the
    /// temporary file the marker was written through), each a beginning of schoolstat's marker.
    /// Anything else there is left alone.
    static func removeStaleStaging(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
        if OutputMarker.kind(of: path) != nil {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for entry in entries {
            guard entry == OutputMarker.fileName || entry.hasPrefix(".dat.nosync"), OutputMarker.isBeginning(of: path + "/" + entry) else { return }
        }
        for entry in entries { _ = unlink(path + "/" + entry) }
        _ = rmdir(path)
    }

    /// Decides whether outputs of `kind` may be put at `path`; returns the absolute path they will take.
    public static func vet(path: String, kind: OutputKind, protecting inputs: [String]) throws(OutputRefusal) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        func refuse(_ zh: String, _ en: String) -> OutputRefusal { OutputRefusal(path: path, reasonZh: zh, reasonEn: en) }
        let advice = "请用 --out 指定一个新的目录名（例如 out），或 schoolstat 以前写出的输出目录。"
        let adviceEn = "pass --out a new directory name (such as out) or an output directory schoolstat wrote before."
        var st = stat()
        guard lstat(absolute, &st) == 0 else {
            if errno == ENOENT { return absolute }
            throw refuse("无法查看该路径（\(String(cString: strerror(errno)))）。" + advice, "cannot inspect the path (\(String(cString: strerror(errno)))); " + adviceEn)
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: break
        case S_IFLNK: throw refuse("这是一个符号链接，schoolstat 不会替换它或它指向的内容。" + advice, "it is a symbolic link; schoolstat replaces neither it nor what it points to; " + adviceEn)
        case S_IFREG: throw refuse("这是一个已有的文件，不是目录；它不会被删除。" + advice, "it is an existing file, not a directory, and will not be deleted; " + adviceEn)
        default: throw refuse("这不是普通目录（设备、管道或套接字）。" + advice, "it is not a plain directory (a device, pipe or socket); " + adviceEn)
        }
        let real = realPath(absolute) ?? absolute
        if real == "/" { throw refuse("这是根目录。" + advice, "it is the root directory; " + adviceEn) }
        if homeDirectories().contains(real) { throw refuse("这是用户的主目录。" + advice, "it is the home directory; " + adviceEn) }
        var parentStat = stat()
        if stat(real + "/..", &parentStat) == 0, parentStat.st_dev != st.st_dev || parentStat.st_ino == st.st_ino {
            throw refuse("这是一个挂载点。" + advice, "it is a mount point; " + adviceEn)
        }
        for input in inputs {
            guard let inputReal = realPath(input) else { continue }
            if inputReal == real {
                throw refuse("它就是本次运行的输入 \(input)。" + advice, "it is the run's input \(input); " + adviceEn)
            }
            if inputReal.hasPrefix(real == "/" ? "/" : real + "/") {
                throw refuse("本次运行的输入 \(input) 在这个目录里面，替换它会删除输入。" + advice,
                             "the run's input \(input) is inside it, and replacing it would delete that input; " + adviceEn)
            }
        }
        if let existing = OutputMarker.kind(of: real) {
            guard existing == kind else {
                let what = existing.described.zh
                throw refuse("这是\(what)，不能用别的输出替换它。" + (kind == .evaluation ? "评估结果请写到该目录下的 evaluation/，或省略 --out。" : advice),
                             "it holds a \(existing.described.en), which other outputs do not replace; "
                                + (kind == .evaluation ? "write the evaluation into its evaluation/ or leave --out out." : adviceEn))
            }
            return absolute
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: real)) ?? ["?"]
        if !entries.isEmpty {
            throw refuse("这是一个已有的非空目录，不是 schoolstat 写出的（其中没有 \(OutputMarker.fileName) 标记文件）；替换它会删除其中的 \(entries.count) 项内容。" + advice,
                         "it is an existing directory that schoolstat did not write (it has no \(OutputMarker.fileName) marker), and replacing it would delete its \(entries.count) entries; " + adviceEn)
        }
        return absolute
    }

    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func homeDirectories() -> Set<String> {
        var homes: Set<String> = []
        if let home = ProcessInfo.processInfo.environment["HOME"], let real = realPath(home) { homes.insert(real) }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir, let real = realPath(String(cString: dir)) { homes.insert(real) }
        return homes
    }

    public func path(_ relative: String) -> String { stagingPath + "/" + relative }

    public func makeSubdirectory(_ name: String) throws(WriteError) {
        do {
            try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: path(name), reason: "\(error.localizedDescription)")
        }
    }

    /// Puts the staged outputs in place of the previous ones, after vetting the final path again
    /// (something else may have appeared there while the run was working).
    public func commit() throws(OutputError) {
        do { _ = try Self.vet(path: finalPath, kind: kind, protecting: protected) } catch { throw .refused(error) }
        let fm = FileManager.default
        func failure(_ path: String) -> OutputError { .failed(WriteError(path: path, reason: String(cString: strerror(errno)))) }
        if !fm.fileExists(atPath: finalPath) {
            guard rename(stagingPath, finalPath) == 0 else { throw failure(finalPath) }
        } else if schoolstat_exchange_paths(stagingPath, finalPath) == 0 {
            removeReplaced(stagingPath) // now holds the previous run
        } else {
            // Filesystems without RENAME_EXCHANGE: two renames, the old copy kept until the new one is in place.
            let previous = stagingPath + ".previous"
            guard rename(finalPath, previous) == 0 else { throw failure(finalPath) }
            guard rename(stagingPath, finalPath) == 0 else {
                let error = failure(finalPath)
                _ = rename(previous, finalPath)
                throw error
            }
            removeReplaced(previous)
        }
        committed = true
    }

    /// Removes the previous outputs, moved aside by the swap: only when they carry the marker (an
    /// empty directory that was replaced is removed too; anything else stays where it was moved).
    private func removeReplaced(_ path: String) {
        let fm = FileManager.default
        if OutputMarker.kind(of: path) != nil {
            try? fm.removeItem(atPath: path)
        } else {
            _ = rmdir(path)
        }
    }

    /// Removes the staging directory of a run that will not commit.
    public func abandon() {
        if !committed { try? FileManager.default.removeItem(atPath: stagingPath) }
    }
}

/// An output directory that could not be used: refused (exit 2, nothing touched) or failed (exit 4).
public enum OutputError: Error, Sendable, CustomStringConvertible {
    case refused(OutputRefusal)
    case failed(WriteError)

    public var description: String {
        switch self {
        case .refused(let r): return r.description
        case .failed(let w): return w.description
        }
    }
}
