// Check: every finding of a check kept on disk, not in memory, in the check's private directory:
// a million findings cost a file, and only what is shown or written is read back, one at a time.
import Foundation
import SchoolStatModel

/// Ledger entries appended to a file and read back by their offset.
final class ProblemSpill {
    let path: String
    private let handle: FileHandle
    private var buffer = Data()
    private(set) var size: UInt64 = 0
    private(set) var count = 0

    init(path: String) throws(WriteError) {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forUpdatingAtPath: path) else {
            throw WriteError(path: path, reason: "无法创建临时文件 (cannot create a temporary file)")
        }
        self.path = path
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// Appends `entry`; returns its offset.
    @discardableResult
    func append(_ entry: LedgerEntry) throws(WriteError) -> UInt64 {
        let offset = size
        var record = Data()
        Self.put(Int64(entry.line), into: &record)
        Self.put(Int64(entry.lastLine), into: &record)
        record.append(entry.severity == .error ? 1 : 0)
        for text in [entry.table, entry.sourceFile, entry.recordKey, entry.column, entry.rawValue, entry.normalisedValue,
                     entry.ruleID, entry.messageZh, entry.messageEn, entry.expected, entry.note, entry.sheet] {
            let bytes = Data(text.utf8)
            Self.put(Int64(bytes.count), into: &record)
            record.append(bytes)
        }
        Self.put(Int64(record.count), into: &buffer)
        buffer.append(record)
        size += UInt64(8 + record.count)
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
        return offset
    }

    func flush() throws(WriteError) {
        guard !buffer.isEmpty else { return }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: buffer)
        } catch {
            throw WriteError(path: path, reason: "\(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The entry at `offset` (after `flush`).
    func entry(at offset: UInt64) -> LedgerEntry? {
        guard (try? handle.seek(toOffset: offset)) != nil, let head = try? handle.read(upToCount: 8), head.count == 8 else { return nil }
        let length = Int(Self.get(head, 0))
        guard length > 0, length < 1 << 30, let record = try? handle.read(upToCount: length), record.count == length else { return nil }
        return Self.decode(record)
    }

    /// Every entry in the order written, with its offset.
    func forEach(_ body: (UInt64, LedgerEntry) -> Void) {
        guard (try? handle.seek(toOffset: 0)) != nil else { return }
        var offset: UInt64 = 0
        var pending = Data()
        while true {
            guard let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
            pending.append(chunk)
            var at = pending.startIndex
            while pending.endIndex - at >= 8 {
                let length = Int(Self.get(pending, at - pending.startIndex))
                guard pending.endIndex - at - 8 >= length else { break }
                let record = pending.subdata(in: (at + 8)..<(at + 8 + length))
                if let entry = Self.decode(record) { body(offset, entry) }
                offset += UInt64(8 + length)
                at += 8 + length
            }
            pending = pending.subdata(in: at..<pending.endIndex)
        }
    }

    private static func put(_ value: Int64, into data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func get(_ data: Data, _ at: Int) -> Int64 {
        var value: Int64 = 0
        for i in (0..<8).reversed() { value = value << 8 | Int64(data[data.startIndex + at + i]) }
        return value
    }

    private static func decode(_ record: Data) -> LedgerEntry? {
        guard record.count >= 17 else { return nil }
        let line = Int(get(record, 0)), lastLine = Int(get(record, 8))
        let severity: Severity = record[record.startIndex + 16] == 1 ? .error : .warning
        var at = 17
        var texts: [String] = []
        for _ in 0..<12 {
            guard record.count - at >= 8 else { return nil }
            let n = Int(get(record, at))
            at += 8
            guard n >= 0, record.count - at >= n else { return nil }
            texts.append(String(decoding: record[(record.startIndex + at)..<(record.startIndex + at + n)], as: UTF8.self))
            at += n
        }
        var entry = LedgerEntry(table: texts[0], sourceFile: texts[1], line: line, recordKey: texts[2], column: texts[3], rawValue: texts[4],
                                normalisedValue: texts[5], ruleID: texts[6], severity: severity, messageZh: texts[7], messageEn: texts[8],
                                expected: texts[9], note: texts[10])
        entry.lastLine = lastLine
        entry.sheet = texts[11]
        return entry
    }
}
