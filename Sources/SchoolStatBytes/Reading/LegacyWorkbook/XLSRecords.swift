// Bytes (reading): what FreeXL reads in a legacy workbook but does not tell, or does not read —
// whether a sheet is hidden or a chart (BOUNDSHEET), the cached value of a formula cell
// (FORMULA, STRING) and a boolean or error cell as Excel shows it (BOOLERR) — from the workbook
// stream of the compound file, read a sector at a time. Every offset is checked; anything
// unexpected gives nil or stops the scan, and whether the file can be read at all stays
// FreeXL's to say.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SchoolStatModel

/// The Workbook (BIFF8) or Book (BIFF5) stream of an OLE compound file.
/// The file is closed when the stream is released (FileHandle closes what it opened).
final class WorkbookStream {
    private let handle: FileHandle
    private let fileSize: UInt64
    private let sectorSize: Int
    /// The stream's sectors in order, or the whole stream when it lives in the mini stream.
    private var sectors: [UInt32] = []
    private var small: [UInt8]?
    let size: Int
    private var cachedSector = -1
    private var cache: [UInt8] = []

    init?(path: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        self.handle = handle
        guard let end = try? handle.seekToEnd(), end >= 512 else { return nil }
        fileSize = end
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard offset < end, count >= 0, (try? handle.seek(toOffset: offset)) != nil,
                  let data = try? handle.read(upToCount: count), data.count == count else { return nil }
            return [UInt8](data)
        }
        guard let header = read(0, 512), header.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
              let shift = le16(header, 0x1E), shift == 9 || shift == 12 else { return nil }
        let sectorSize = 1 << Int(shift)
        self.sectorSize = sectorSize
        let sectorCount = Int(end / UInt64(sectorSize))
        func sector(_ n: UInt32) -> [UInt8]? {
            guard Int(n) + 1 < sectorCount + 1 else { return nil }
            return read(UInt64(n + 1) * UInt64(sectorSize), sectorSize)
        }
        // The FAT: its sectors are listed 109 in the header, then along the DIFAT chain.
        let perSector = sectorSize / 4
        guard let fatCount = le32(header, 0x2C), Int(fatCount) <= sectorCount else { return nil }
        var fatSectors: [UInt32] = []
        for i in 0..<109 where fatSectors.count < Int(fatCount) { fatSectors.append(le32(header, 0x4C + 4 * i) ?? 0) }
        var difat = le32(header, 0x44) ?? 0xFFFF_FFFE
        var hops = 0
        while fatSectors.count < Int(fatCount) {
            guard difat < 0xFFFF_FFFA, hops <= sectorCount, let block = sector(difat) else { return nil }
            for i in 0..<(perSector - 1) where fatSectors.count < Int(fatCount) { fatSectors.append(le32(block, 4 * i) ?? 0) }
            difat = le32(block, sectorSize - 4) ?? 0xFFFF_FFFE
            hops += 1
        }
        var fat: [UInt32] = []
        fat.reserveCapacity(fatSectors.count * perSector)
        for s in fatSectors {
            guard let block = sector(s) else { return nil }
            for i in 0..<perSector { fat.append(le32(block, 4 * i) ?? 0xFFFF_FFFF) }
        }
        // A chain of sectors in order; nil if it loops or leaves the table.
        func chain(_ start: UInt32, _ table: [UInt32], limit: Int) -> [UInt32]? {
            var out: [UInt32] = []
            var s = start
            while s < 0xFFFF_FFFA {
                guard Int(s) < table.count, out.count < limit else { return nil }
                out.append(s)
                s = table[Int(s)]
            }
            return out
        }
        func stream(_ start: UInt32, count: Int) -> [UInt8]? {
            guard let list = chain(start, fat, limit: sectorCount) else { return nil }
            var out: [UInt8] = []
            for s in list where out.count < count {
                guard let block = sector(s) else { return nil }
                out.append(contentsOf: block)
            }
            return Array(out.prefix(count))
        }
        // The directory: the root entry (holding the mini stream) and the workbook stream.
        guard let firstDirectory = le32(header, 0x30), let directory = stream(firstDirectory, count: 4 << 20) else { return nil }
        var root: (start: UInt32, size: Int)?
        var book: (start: UInt32, size: Int)?
        for at in stride(from: 0, to: directory.count - 127, by: 128) {
            let length = Int(le16(directory, at + 0x40) ?? 0)
            guard length >= 2, length <= 64, length % 2 == 0, let start = le32(directory, at + 0x74), let size = le32(directory, at + 0x78) else { continue }
            let units = stride(from: at, to: at + length - 2, by: 2).map { UInt16(directory[$0]) | UInt16(directory[$0 + 1]) << 8 }
            let name = String(decoding: units, as: UTF16.self)
            switch directory[at + 0x42] {
            case 5 where root == nil: root = (start, Int(size))
            case 2 where book == nil && (name == "Workbook" || name == "Book"): book = (start, Int(size))
            default: break
            }
        }
        guard let book, book.size > 0, UInt64(book.size) <= end else { return nil }
        size = book.size
        if book.size < Int(le32(header, 0x38) ?? 4096) {
            // A small stream: 64-byte sectors of the mini stream, listed in the mini FAT.
            guard let root, let miniStart = le32(header, 0x3C), let miniFATBytes = stream(miniStart, count: 4 << 20),
                  let mini = stream(root.start, count: min(root.size, 16 << 20)) else { return nil }
            let miniFAT = stride(from: 0, to: miniFATBytes.count - 3, by: 4).map { le32(miniFATBytes, $0) ?? 0xFFFF_FFFF }
            guard let list = chain(book.start, miniFAT, limit: mini.count / 64 + 1) else { return nil }
            var data: [UInt8] = []
            for s in list {
                let at = Int(s) * 64
                guard at + 64 <= mini.count else { return nil }
                data.append(contentsOf: mini[at..<(at + 64)])
            }
            guard data.count >= book.size else { return nil }
            small = Array(data.prefix(book.size))
        } else {
            guard let list = chain(book.start, fat, limit: sectorCount), list.count * sectorSize >= book.size else { return nil }
            sectors = list
        }
    }

    /// One byte of the stream; nil past its end or when the file cannot be read.
    func byte(_ offset: Int) -> UInt8? {
        guard offset >= 0, offset < size else { return nil }
        if let small { return small[offset] }
        let index = offset / sectorSize
        if index != cachedSector {
            let at = UInt64(sectors[index] + 1) * UInt64(sectorSize)
            guard at < fileSize, (try? handle.seek(toOffset: at)) != nil,
                  let data = try? handle.read(upToCount: sectorSize), data.count == sectorSize else { return nil }
            cache = [UInt8](data)
            cachedSector = index
        }
        return cache[offset - index * sectorSize]
    }

    /// One sector's worth of the stream (the last one may be short); nil past the end.
    private func chunk(_ index: Int) -> [UInt8]? {
        let start = index * sectorSize
        guard start < size else { return nil }
        if let small { return Array(small[start..<min(start + sectorSize, size)]) }
        guard byte(start) != nil else { return nil }
        return Array(cache.prefix(min(sectorSize, size - start)))
    }

    /// Writes the stream, as a "Workbook" stream, into a new compound file at `path` laid out the
    /// plain way (512-byte sectors: the stream, the directory, the FAT, the DIFAT), so that
    /// FreeXL reads exactly the bytes checked here whatever the original's layout. The stream is
    /// padded with zeros (FreeXL's end of records) to whole sectors and past the mini-stream
    /// cutoff. False when it cannot be written.
    func writeCompoundFile(to path: String) -> Bool {
        let streamSectors = max((size + 511) / 512, 9)
        var fatSectors = 1, difatSectors = 0
        while true { // the FAT covers every sector, its own and the DIFAT's included
            let total = streamSectors + 1 + fatSectors + difatSectors
            let neededFAT = (total + 127) / 128
            let neededDIFAT = neededFAT > 109 ? (neededFAT - 109 + 126) / 127 : 0
            if neededFAT == fatSectors && neededDIFAT == difatSectors { break }
            fatSectors = neededFAT; difatSectors = neededDIFAT
        }
        let directorySector = streamSectors
        let firstFAT = directorySector + 1
        let firstDIFAT = firstFAT + fatSectors
        func le(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        let end: UInt32 = 0xFFFF_FFFE, free: UInt32 = 0xFFFF_FFFF

        var header: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 16)
        header += le16(0x3E) + le16(3) + le16(0xFFFE) + le16(9) + le16(6) + [UInt8](repeating: 0, count: 6)
        header += le(0) + le(UInt32(fatSectors)) + le(UInt32(directorySector)) + le(0) + le(4096)
        header += le(end) + le(0) + le(difatSectors > 0 ? UInt32(firstDIFAT) : end) + le(UInt32(difatSectors))
        for i in 0..<109 { header += le(i < fatSectors ? UInt32(firstFAT + i) : free) }

        // Root Entry (no mini stream), then Workbook, then two empty entries.
        func entry(_ name: String, type: UInt8, child: UInt32, start: UInt32, size: UInt32) -> [UInt8] {
            var e = [UInt8](repeating: 0, count: 128)
            let units = Array(name.utf16) + [0]
            for (i, u) in units.enumerated() { e[2 * i] = UInt8(u & 0xFF); e[2 * i + 1] = UInt8(u >> 8) }
            e[0x40] = UInt8(units.count * 2); e[0x42] = type; e[0x43] = 1
            e.replaceSubrange(0x44..<0x48, with: le(free)); e.replaceSubrange(0x48..<0x4C, with: le(free))
            e.replaceSubrange(0x4C..<0x50, with: le(child))
            e.replaceSubrange(0x74..<0x78, with: le(start)); e.replaceSubrange(0x78..<0x7C, with: le(size))
            return e
        }
        var emptyEntry = [UInt8](repeating: 0, count: 128)
        emptyEntry.replaceSubrange(0x44..<0x50, with: le(free) + le(free) + le(free))
        let directory = entry("Root Entry", type: 5, child: 1, start: end, size: 0)
            + entry("Workbook", type: 2, child: free, start: 0, size: UInt32(streamSectors * 512)) + emptyEntry + emptyEntry

        var fat: [UInt32] = []
        fat.reserveCapacity(fatSectors * 128)
        for i in 0..<streamSectors { fat.append(i + 1 < streamSectors ? UInt32(i + 1) : end) }
        fat.append(end) // the directory
        fat += [UInt32](repeating: 0xFFFF_FFFD, count: fatSectors)
        fat += [UInt32](repeating: 0xFFFF_FFFC, count: difatSectors)
        fat += [UInt32](repeating: free, count: fatSectors * 128 - fat.count)
        var difat: [UInt8] = []
        for d in 0..<difatSectors {
            for i in 0..<127 {
                let n = 109 + d * 127 + i
                difat += le(n < fatSectors ? UInt32(firstFAT + n) : free)
            }
            difat += le(d + 1 < difatSectors ? UInt32(firstDIFAT + d + 1) : end)
        }

        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let out = FileHandle(forWritingAtPath: path) else { return false }
        defer { try? out.close() }
        do {
            try out.write(contentsOf: header)
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 20)
            for i in 0..<streamSectors {
                var block = chunk(i * 512 / sectorSize) ?? []
                if sectorSize > 512 { // a 4096-byte sector holds eight of ours
                    let from = (i * 512) % sectorSize
                    block = from < block.count ? Array(block[from..<min(from + 512, block.count)]) : []
                }
                if block.count < 512 { block += [UInt8](repeating: 0, count: 512 - block.count) }
                buffer += block
                if buffer.count >= 1 << 20 { try out.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
            }
            try out.write(contentsOf: buffer)
            try out.write(contentsOf: directory)
            try out.write(contentsOf: fat.flatMap(le))
            try out.write(contentsOf: difat)
        } catch {
            return false
        }
        return true
    }

    func u16(_ offset: Int) -> UInt16? {
        guard let a = byte(offset), let b = byte(offset + 1) else { return nil }
        return UInt16(a) | UInt16(b) << 8
    }

    func u32(_ offset: Int) -> UInt32? {
        guard let a = u16(offset), let b = u16(offset + 2) else { return nil }
        return UInt32(a) | UInt32(b) << 16
    }

    func bytes(_ offset: Int, _ count: Int) -> [UInt8]? {
        guard count >= 0, offset >= 0, offset + count <= size else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let b = byte(offset + i) else { return nil }
            out.append(b)
        }
        return out
    }
}

/// The sheet records and the cells FreeXL leaves out or misreads.
enum XLSRecords {
    struct Sheet: Equatable {
        var offset: Int
        var visibility: WorkbookSheet.Visibility
        var kind: WorkbookSheet.Kind
    }

    /// The BOUNDSHEET records of the workbook globals, in order; nil when they cannot be read.
    static func sheets(_ stream: WorkbookStream) -> [Sheet]? {
        guard stream.u16(0) == 0x0809 else { return nil } // a BIFF5/BIFF8 BOF
        var sheets: [Sheet] = []
        var at = 0
        // The sheet records come together, after the fonts, formats and styles.
        while at < min(stream.size, 16 << 20), let kind = stream.u16(at), let length = stream.u16(at + 2) {
            let body = at + 4
            if kind == 0x0085 {
                guard length >= 6, let offset = stream.u32(body), let state = stream.byte(body + 4), let type = stream.byte(body + 5) else { return nil }
                let visibility: WorkbookSheet.Visibility = state & 3 == 0 ? .visible : state & 3 == 1 ? .hidden : .veryHidden
                let kind: WorkbookSheet.Kind = type == 0 ? .worksheet : type == 2 ? .chart : .other
                sheets.append(Sheet(offset: Int(offset), visibility: visibility, kind: kind))
            } else if kind == 0x000A || !sheets.isEmpty {
                return sheets
            }
            at = body + Int(length)
        }
        return nil
    }

    /// Whether the workbook globals hold a FILEPASS record: the workbook is encrypted (record
    /// headers stay plain, so the globals can be walked).
    static func isEncrypted(_ stream: WorkbookStream) -> Bool {
        var at = 0
        while at < min(stream.size, 16 << 20), let kind = stream.u16(at), let length = stream.u16(at + 2) {
            if kind == 0x002F { return true }
            if kind == 0x000A { return false }
            at += 4 + Int(length)
        }
        return false
    }

    /// What is wrong with the first DIMENSIONS record, anywhere in the stream, that declares
    /// more rows or columns than Excel 97-2003 allows or is too short to declare them (FreeXL
    /// then reads what the record before it left in its buffer). FreeXL sizes a sheet's cells
    /// from this record and, when that fails, frees the cells of the size it was given rather
    /// than the size it has: such a file must not reach it. Records are walked as FreeXL walks
    /// them, from the start of the stream.
    static func badDimensions(_ stream: WorkbookStream, maximumRows: Int, maximumColumns: Int) -> String? {
        let biff8 = stream.u16(4) == 0x0600
        var at = 0
        while let kind = stream.u16(at), let length = stream.u16(at + 2) {
            if kind == 0 && length == 0 { return nil } // FreeXL's end of the stream
            let body = at + 4
            if kind == 0x0200 {
                guard length >= (biff8 ? 14 : 10) else {
                    return "工作表尺寸记录（DIMENSIONS）只有 \(length) 字节，已损坏 (a DIMENSIONS record of \(length) bytes)"
                }
                let rows: Int?, columns: Int?
                if biff8 {
                    rows = stream.u32(body + 4).map { Int($0) }
                    columns = stream.u16(body + 10).map { Int($0) }
                } else {
                    rows = stream.u16(body + 2).map { Int($0) }
                    columns = stream.u16(body + 6).map { Int($0) }
                }
                if let rows, let columns, rows > maximumRows || columns > maximumColumns {
                    return "工作表声明有 \(rows) 行、\(columns) 列，超过 Excel 97-2003 的上限 \(maximumRows) 行、\(maximumColumns) 列 (a sheet declares \(rows) rows and \(columns) columns, more than Excel 97-2003 allows)"
                }
            }
            at = body + Int(length)
        }
        return nil
    }

    /// Excel's text for its error codes.
    static func errorText(_ code: UInt8) -> String {
        switch code {
        case 0x00: return "#NULL!"
        case 0x07: return "#DIV/0!"
        case 0x0F: return "#VALUE!"
        case 0x17: return "#REF!"
        case 0x1D: return "#NAME?"
        case 0x24: return "#NUM!"
        case 0x2A: return "#N/A"
        default: return "#N/A"
        }
    }

    enum Failure: Error { case tooLong(row: Int, column: Int) }

    /// What a sheet's records hold that FreeXL does not give: the cells it does not give as Excel
    /// shows them, and the merged ranges.
    struct SheetExtras {
        /// A formula's cached value (a number as stored, to be shown like any number; text;
        /// TRUE/FALSE; an error) and a boolean or error constant, keyed by row × 256 + column (0-based).
        var cells: [Int: String] = [:]
        /// The merged ranges (MERGEDCELLS, BIFF8), rows 1-based as Excel numbers them, at most
        /// `XLSXReader.maximumMergedRanges`.
        var merges: [MergedRange] = []
    }

    /// The extras of the sheet starting at `offset`. A text longer than `fieldBytes` throws with its cell.
    static func extras(_ stream: WorkbookStream, sheetAt offset: Int, biff8: Bool, codePage: UInt32,
                       fieldBytes: Int) throws(Failure) -> SheetExtras {
        var merges: [MergedRange] = []
        let cells = try cells(stream, sheetAt: offset, biff8: biff8, codePage: codePage, fieldBytes: fieldBytes) { body, length in
            // MERGEDCELLS: a count, then for each range its first and last row and column (0-based).
            guard let count = stream.u16(body) else { return }
            for i in 0..<min(Int(count), max(Int(length) - 2, 0) / 8) where merges.count < XLSXReader.maximumMergedRanges {
                let at = body + 2 + 8 * i
                guard let r1 = stream.u16(at), let r2 = stream.u16(at + 2), let c1 = stream.u16(at + 4), let c2 = stream.u16(at + 6),
                      r1 <= r2, c1 <= c2, Int(c2) < XLSReader.maximumColumns else { continue }
                merges.append(MergedRange(top: Int(r1) + 1, left: Int(c1), bottom: Int(r2) + 1, right: Int(c2)))
            }
        }
        return SheetExtras(cells: cells, merges: merges)
    }

    /// The cells of the sheet starting at `offset` that FreeXL does not give as Excel shows
    /// them: a formula's cached value (a number as stored, to be shown like any number; text;
    /// TRUE/FALSE; an error) and a boolean or error constant. Keyed by row × 256 + column (0-based).
    /// Each MERGEDCELLS record's body goes to `merged`. A text longer than `fieldBytes` throws with its cell.
    private static func cells(_ stream: WorkbookStream, sheetAt offset: Int, biff8: Bool, codePage: UInt32,
                              fieldBytes: Int, merged: (_ body: Int, _ length: UInt16) -> Void) throws(Failure) -> [Int: String] {
        var out: [Int: String] = [:]
        guard stream.u16(offset) == 0x0809 else { return out }
        var depth = 0
        var at = offset
        var pendingString: Int? // the formula cell whose text result the next STRING record holds
        while let kind = stream.u16(at), let length = stream.u16(at + 2) {
            let body = at + 4
            let next = body + Int(length)
            switch kind {
            case 0x0809:
                depth += 1
            case 0x000A:
                depth -= 1
                if depth <= 0 { return out }
            case 0x0006 where depth == 1 && length >= 14:
                // FORMULA: row, column, XF, then the cached result.
                guard let row = stream.u16(body), let column = stream.u16(body + 2), let result = stream.bytes(body + 6, 8) else { return out }
                let key = Int(row) * 256 + Int(column)
                pendingString = nil
                if result[6] == 0xFF && result[7] == 0xFF {
                    switch result[0] {
                    case 0: pendingString = key
                    case 1: out[key] = result[2] != 0 ? "TRUE" : "FALSE"
                    case 2: out[key] = errorText(result[2])
                    default: out[key] = ""
                    }
                } else {
                    let bits = result.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                    let x = Double(bitPattern: bits)
                    out[key] = x.isFinite ? XLSXReader.displayedNumber(String(x)) : "#NUM!"
                }
            case 0x0207 where depth == 1:
                // STRING: the text result of the formula just before.
                guard let key = pendingString else { break }
                pendingString = nil
                guard let text = string(stream, at: body, length: Int(length), biff8: biff8, codePage: codePage, fieldBytes: fieldBytes) else {
                    throw .tooLong(row: key / 256, column: key % 256)
                }
                out[key] = text
            case 0x0205 where depth == 1 && length >= 8:
                // BOOLERR: a boolean or an error constant.
                guard let row = stream.u16(body), let column = stream.u16(body + 2),
                      let value = stream.byte(body + 6), let isError = stream.byte(body + 7) else { return out }
                out[Int(row) * 256 + Int(column)] = isError != 0 ? errorText(value) : value != 0 ? "TRUE" : "FALSE"
            case 0x00E5 where depth == 1 && biff8:
                merged(body, length)
            default:
                break
            }
            guard next > at, next <= stream.size else { return out }
            at = next
        }
        return out
    }

    /// A STRING record's text (BIFF8: UTF-16 or compressed, continued over CONTINUE records;
    /// BIFF5: the code page's bytes); nil when longer than `fieldBytes` once in UTF-8.
    private static func string(_ stream: WorkbookStream, at body: Int, length: Int, biff8: Bool, codePage: UInt32, fieldBytes: Int) -> String? {
        guard let count = stream.u16(body) else { return "" }
        if !biff8 {
            guard let raw = stream.bytes(body + 2, min(Int(count), max(length - 2, 0))) else { return "" }
            let text = decode(raw, codePage: codePage)
            return text.utf8.count <= fieldBytes ? text : nil
        }
        var units: [UInt16] = []
        var at = body + 2
        var end = body + length
        var remaining = Int(count)
        while remaining > 0 {
            guard at < end, let flags = stream.byte(at) else { break }
            at += 1
            let wide = flags & 1 != 0
            while remaining > 0 && at + (wide ? 1 : 0) < end {
                if wide {
                    guard let u = stream.u16(at) else { return "" }
                    units.append(u); at += 2
                } else {
                    guard let b = stream.byte(at) else { return "" }
                    units.append(UInt16(b)); at += 1
                }
                remaining -= 1
            }
            // The rest in a CONTINUE record, which starts with its own flags byte.
            guard remaining > 0, stream.u16(end) == 0x003C, let next = stream.u16(end + 2) else { break }
            at = end + 4
            end = at + Int(next)
            if units.count * 3 > fieldBytes { return nil }
        }
        let text = String(decoding: units, as: UTF16.self)
        return text.utf8.count <= fieldBytes ? text : nil
    }

    /// BIFF5 text in the workbook's code page, through iconv (CP936 for GBK).
    static func decode(_ raw: [UInt8], codePage: UInt32) -> String {
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        let name: String
        switch codePage {
        case 0x016F: name = "ASCII"
        case 0x2710, 0x8000: name = "MACINTOSH"
        case 0x8001, 0x04E4: name = "CP1252"
        default: name = "CP\(codePage)"
        }
        let cd = iconv_open("UTF-8", name)
        guard cd != iconv_t(bitPattern: -1) else { return String(decoding: raw, as: UTF8.self) }
        defer { iconv_close(cd) }
        var input = raw.map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: raw.count * 4 + 16)
        var produced = 0
        input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress
                var outLeft = outBuf.count
                while inLeft > 0 {
                    if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) != -1 { break }
                    // A byte the code page does not have: U+FFFD, and on.
                    guard outLeft >= 3 else { break }
                    for b: UInt8 in [0xEF, 0xBF, 0xBD] { outPtr?.pointee = CChar(bitPattern: b); outPtr = outPtr?.advanced(by: 1) }
                    outLeft -= 3
                    inPtr = inPtr?.advanced(by: 1); inLeft -= 1
                }
                produced = outBuf.count - outLeft
            }
        }
        return String(decoding: output.prefix(produced).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

private func le16(_ b: [UInt8], _ at: Int) -> UInt16? {
    guard at >= 0, at + 2 <= b.count else { return nil }
    return UInt16(b[at]) | UInt16(b[at + 1]) << 8
}

private func le32(_ b: [UInt8], _ at: Int) -> UInt32? {
    guard at >= 0, at + 4 <= b.count else { return nil }
    return UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}
