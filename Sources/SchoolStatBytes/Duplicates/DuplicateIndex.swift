// Bytes (validating): the rows that repeat an earlier key, kept on disk sorted by file and record, so that
// a roster appended to itself (a million repeated keys) costs the main pass no more memory than a
// clean one: the finder's merge hands each repeat to a `DuplicateSorter`, which sorts them in runs
// of bounded size and merges the runs into one file per input file; each worker maps that file
// read-only (`DuplicateRows`) and looks rows up in it.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// One row that repeats a key of one unique constraint, and where the key first occurred.
public struct DuplicateEntry {
    public init(file: Int32, record: Int32, firstFile: Int32, firstLine: Int32) {
        self.file = file; self.record = record; self.firstFile = firstFile; self.firstLine = firstLine
    }

    public var file: Int32
    public var record: Int32
    public var firstFile: Int32
    public var firstLine: Int32

    public var order: UInt64 { UInt64(UInt32(bitPattern: file)) << 32 | UInt64(UInt32(bitPattern: record)) }
}

/// Sorts one constraint's repeats by (file, record) in bounded memory.
public final class DuplicateSorter {
    public static let defaultRunCapacity = 1 << 18
    private let directory: String
    private let name: String
    private let runCapacity: Int
    private var buffer: [DuplicateEntry] = []
    /// The runs written, each with how many entries it holds.
    private var runs: [(path: String, entries: Int)] = []
    /// The first file that could not be written or read back whole: the repeats it held would
    /// otherwise go unreported.
    private var failure: WriteError?

    public init(directory: String, name: String, runCapacity: Int = defaultRunCapacity) {
        self.directory = directory
        self.name = name
        self.runCapacity = runCapacity
    }

    public func add(_ entry: DuplicateEntry) {
        buffer.append(entry)
        if buffer.count >= runCapacity { spill() }
    }

    private func spill() {
        buffer.sort { $0.order < $1.order }
        let path = "\(directory)/\(name).dups\(runs.count)"
        write(buffer, to: path, append: false)
        runs.append((path, buffer.count))
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the entries, or notes the first failure (and writes nothing more).
    private func write(_ entries: [DuplicateEntry], to path: String, append: Bool) {
        guard failure == nil else { return }
        let fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o600)
        guard fd >= 0 else {
            failure = WriteError(path: path, reason: String(cString: strerror(errno)))
            return
        }
        var problem: Int32? = entries.withUnsafeBytes { BufferedFile.writeAll(fd, $0) } ? nil : errno
        if close(fd) != 0 && problem == nil { problem = errno }
        if let problem { failure = WriteError(path: path, reason: String(cString: strerror(problem))) }
    }

    /// Deletes whatever was written (the merge feeding it failed).
    public func discard() {
        for run in runs { unlink(run.path) }
        runs = []
        buffer = []
    }

    /// Merges what was added into one file per input file, each sorted by record: input file → path.
    /// A file that could not be written, or a run not read back whole, is an error, and the
    /// files made are deleted.
    public func finish() throws(WriteError) -> [Int32: String] {
        var outputs: [Int32: String] = [:]
        var pending: [DuplicateEntry] = []
        var current: Int32?
        func emit(_ e: DuplicateEntry) {
            if e.file != current {
                flush()
                current = e.file
                let path = "\(directory)/\(name).file\(e.file)"
                unlink(path)
                outputs[e.file] = path
            }
            pending.append(e)
            if pending.count >= 8192 { flush() }
        }
        func flush() {
            if let current, !pending.isEmpty { write(pending, to: outputs[current]!, append: true) }
            pending.removeAll(keepingCapacity: true)
        }
        if runs.isEmpty {
            buffer.sort { $0.order < $1.order }
            buffer.forEach(emit)
        } else {
            if !buffer.isEmpty { spill() }
            var readers = runs.map(RunReader.init)
            // Few runs (a million repeats make four): the smallest head by a linear look.
            while true {
                var best: Int?
                for i in readers.indices where readers[i].head != nil {
                    if best == nil || readers[i].head!.order < readers[best!].head!.order { best = i }
                }
                guard let b = best else { break }
                emit(readers[b].head!)
                readers[b].advance()
            }
            for run in runs { unlink(run.path) }
            if failure == nil, let short = readers.first(where: \.cutShort) { failure = Self.notReadBack(short.path) }
        }
        flush()
        buffer = []
        runs = []
        if let failure {
            for path in outputs.values { unlink(path) }
            throw failure
        }
        return outputs
    }

    /// A working file of the key search written whole and not read back whole: removed or cut
    /// short while the run went on.
    static func notReadBack(_ path: String) -> WriteError {
        WriteError(path: path, reason: "写入后没能完整读回，很可能在运行中被其他程序删改；重复的编号因此无法核对。请确认运行期间没有程序清理输出目录，磁盘正常，然后重新运行"
            + " (written, but not read back whole: most likely changed or removed by another program during the run, so repeated keys cannot be"
            + " checked; make sure nothing cleans the output directory while a run is going and the disk is sound, then run again)")
    }

    private struct RunReader {
        private let fd: Int32
        let path: String
        private let expected: Int
        private var readBack = 0
        private var chunk: [DuplicateEntry] = []
        private var index = 0
        private(set) var head: DuplicateEntry?
        /// The file ended, or could not be read, before all its entries were read back.
        var cutShort: Bool { head == nil && readBack != expected }

        init(_ run: (path: String, entries: Int)) {
            path = run.path
            expected = run.entries
            fd = open(run.path, O_RDONLY)
            refill()
        }

        mutating func advance() {
            index += 1
            if index < chunk.count { head = chunk[index] } else { refill() }
        }

        private mutating func refill() {
            index = 0
            guard fd >= 0 else {
                chunk = []
                head = nil
                return
            }
            if chunk.count != 4096 { chunk = [DuplicateEntry](repeating: DuplicateEntry(file: 0, record: 0, firstFile: 0, firstLine: 0), count: 4096) }
            let count = chunk.withUnsafeMutableBytes { RegularFile.readAll(fd, into: $0) } / MemoryLayout<DuplicateEntry>.stride
            readBack += count
            if count < chunk.count { chunk.removeSubrange(count...) }
            head = chunk.first
            if head == nil { close(fd) }
        }
    }
}

/// Each unique constraint's repeats in the run, as `DuplicateSorter.finish` left them.
public typealias DuplicateFiles = [[Int32: String]]
