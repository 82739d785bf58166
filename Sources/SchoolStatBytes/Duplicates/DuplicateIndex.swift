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
    private var runs: [String] = []

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
        Self.write(buffer, to: path, append: false)
        runs.append(path)
        buffer.removeAll(keepingCapacity: true)
    }

    private static func write(_ entries: [DuplicateEntry], to path: String, append: Bool) {
        let fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        entries.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
    }

    /// Merges what was added into one file per input file, each sorted by record: input file → path.
    public func finish() -> [Int32: String] {
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
            if let current, !pending.isEmpty { Self.write(pending, to: outputs[current]!, append: true) }
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
            for run in runs { unlink(run) }
        }
        flush()
        buffer = []
        runs = []
        return outputs
    }

    private struct RunReader {
        private let fd: Int32
        private var chunk: [DuplicateEntry] = []
        private var index = 0
        private(set) var head: DuplicateEntry?

        init(path: String) {
            fd = open(path, O_RDONLY)
            refill()
        }

        mutating func advance() {
            index += 1
            if index < chunk.count { head = chunk[index] } else { refill() }
        }

        private mutating func refill() {
            chunk = [DuplicateEntry](repeating: DuplicateEntry(file: 0, record: 0, firstFile: 0, firstLine: 0), count: 4096)
            let n = fd < 0 ? 0 : chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            chunk.removeSubrange((max(0, n) / MemoryLayout<DuplicateEntry>.stride)...)
            index = 0
            head = chunk.first
            if head == nil && fd >= 0 { close(fd) }
        }
    }
}

/// Each unique constraint's repeats in the run, as `DuplicateSorter.finish` left them.
public typealias DuplicateFiles = [[Int32: String]]
