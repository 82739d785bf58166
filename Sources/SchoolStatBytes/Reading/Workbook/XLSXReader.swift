// Bytes (reading): the first worksheet of an Excel workbook (.xlsx), streamed row by row: each part is
// inflated through ZIPFoundation in chunks into libxml2's push parser, so memory stays flat
// whatever the sheet's size. A clerk's workbook goes through the same checks as a CSV export;
// row numbers are Excel's. Every bound a hostile workbook could push on — what is inflated in
// all and against the compressed size, one cell, the rows and columns — is checked as it goes,
// and a damaged part is an error naming the sheet, row and cell, never a silently short read.
import CLibXML2
import Foundation
import ZIPFoundation
import SchoolStatModel

public enum XLSXReader {
    /// Excel's own bounds.
    public static let maximumRow = 1_048_576
    public static let maximumColumns = 16_384

    /// Streams the first worksheet's rows to `sink` (Excel row number, cells left to right with
    /// gaps filled and trailing empty cells dropped) until the end or `stop` returns true. Throws
    /// when the workbook cannot be opened, is damaged, or passes a limit; rows handed over before
    /// that stay handed over.
    public static func streamFirstSheet(path: String, limits: ReadLimits,
                                 sink: (_ row: Int, _ cells: [String]) -> Void, stop: () -> Bool) throws(ReadError) {
        try streamSheet(path: path, sheet: nil, limits: limits, sink: sink, stop: stop)
    }

    /// Every sheet the workbook lists, in its order: name, visibility and kind.
    public static func sheets(path: String, limits: ReadLimits) throws(ReadError) -> [WorkbookSheet] {
        var found: [WorkbookSheet] = []
        try stream(path: path, sheet: nil, limits: limits, listing: { found = $0; return false }, sink: { _, _ in }, notes: { _ in }, stop: { true })
        return found
    }

    /// Streams the worksheet named `sheet` (nil: the first, passing over the problem list of an
    /// annotated workbook) as `streamFirstSheet` does.
    /// What the sheet holds that its values alone do not say — a formula without a stored result,
    /// a value merged down over several rows — goes to `notes` as it is met.
    public static func streamSheet(path: String, sheet: String?, limits: ReadLimits,
                                   sink: (_ row: Int, _ cells: [String]) -> Void, notes: (CellNote) -> Void = { _ in },
                                   stop: () -> Bool) throws(ReadError) {
        try stream(path: path, sheet: sheet, limits: limits, listing: { _ in true }, sink: sink, notes: notes, stop: stop)
    }

    /// At most this many merged ranges of one sheet are filled (a hand-made form has a few dozen).
    public static let maximumMergedRanges = 100_000
    /// At most this many formulas without a stored result are named one by one; the rest are counted.
    public static let namedFormulasWithoutValue = 200

    private static func stream(path: String, sheet wanted: String?, limits: ReadLimits, listing: ([WorkbookSheet]) -> Bool,
                               sink: (_ row: Int, _ cells: [String]) -> Void, notes: (CellNote) -> Void = { _ in },
                               stop: () -> Bool) throws(ReadError) {
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw .notAWorkbook(path: path, reason: "文件内容不是 zip 压缩包，可能是改了扩展名的其他文件或已损坏 (its content is not a zip archive)")
        }
        var budget = limits.inflatedBytes
        // Inflates one part in chunks into `body`; `false` from body stops early.
        func inflate(_ name: String, maximum: Int, _ body: (UnsafeRawBufferPointer) throws(ReadError) -> Bool) throws(ReadError) -> Bool {
            let normalised = name.hasPrefix("/") ? String(name.dropFirst()) : name
            guard let entry = archive[normalised] else { return false }
            var produced = 0
            var failure: ReadError?
            struct Stop: Error {}
            do {
                _ = try archive.extract(entry, bufferSize: 1 << 16) { (chunk: Data) throws in
                    produced += chunk.count
                    budget -= chunk.count
                    let compressed = max(Int(clamping: entry.compressedSize), 1)
                    if produced > maximum || budget < 0 || (produced > limits.ratioFloor && produced / compressed > limits.ratio) {
                        failure = .damaged(path: path, place: normalised,
                                           reason: "解压后超过上限（已解压 \(produced) 字节，压缩大小 \(compressed) 字节；上限：全部 \(limits.inflatedBytes) 字节、压缩比 \(limits.ratio)），疑似“压缩炸弹” (inflates past the limits: a zip bomb?)")
                        throw Stop()
                    }
                    var keepGoing = true
                    chunk.withUnsafeBytes { raw in
                        do throws(ReadError) { keepGoing = try body(raw) } catch { failure = error }
                    }
                    if failure != nil || !keepGoing { throw Stop() }
                }
            } catch is Stop {
                if let failure { throw failure }
                return true
            } catch {
                throw .damaged(path: path, place: normalised, reason: "无法解压（\(error)） (cannot inflate)")
            }
            return true
        }
        // Parses one part through `handler`, streaming.
        func parse(_ name: String, maximum: Int, handler: any XMLEventHandler, stopEarly: () -> Bool = { false }) throws(ReadError) -> Bool {
            let parser = XMLPushParser(handler: handler, name: name)
            var stoppedEarly = false
            let found = try inflate(name, maximum: maximum) { (raw) throws(ReadError) -> Bool in
                do throws(XMLFailure) { try parser.feed(raw) } catch {
                    throw .damaged(path: path, place: (handler as? SheetHandler)?.place(name) ?? name, reason: error.describe)
                }
                if stopEarly() { stoppedEarly = true; return false }
                return true
            }
            if found && !stoppedEarly {
                do throws(XMLFailure) { try parser.finish() } catch {
                    throw .damaged(path: path, place: (handler as? SheetHandler)?.place(name) ?? name, reason: error.describe)
                }
            }
            return found
        }

        let book = WorkbookHandler()
        guard try parse("xl/workbook.xml", maximum: ReadLimits.smallPartBytes, handler: book) else {
            throw .notAWorkbook(path: path, reason: "工作簿中没有 xl/workbook.xml (not an Excel workbook)")
        }
        let relations = RelationsHandler()
        let hasRelations = try parse("xl/_rels/workbook.xml.rels", maximum: ReadLimits.smallPartBytes, handler: relations)
        let listed = book.sheets.enumerated().map { i, sheet -> WorkbookSheet in
            let type = relations.types[sheet.rid] ?? ""
            let kind: WorkbookSheet.Kind = type.isEmpty || type.hasSuffix("/worksheet") ? .worksheet : (type.hasSuffix("/chartsheet") ? .chart : .other)
            let visibility: WorkbookSheet.Visibility = sheet.state == "hidden" ? .hidden : (sheet.state == "veryHidden" ? .veryHidden : .visible)
            return WorkbookSheet(name: sheet.name, visibility: visibility, kind: kind, index: i)
        }
        guard listing(listed) else { return }
        // The sheet asked for; or the first worksheet, passing over the problem list that
        // schoolstat's annotated copy of a workbook puts first, so that a clerk may correct that
        // copy and send it back.
        let chosen: (name: String, rid: String, state: String)?
        if let wanted {
            chosen = book.sheets.first { $0.name == wanted }
            guard chosen != nil else { throw .notAWorkbook(path: path, reason: "工作簿中没有名为“\(wanted)”的工作表 (no worksheet named \(wanted))") }
        } else {
            chosen = book.sheets.enumerated().first { listed[$0.offset].kind == .worksheet && $0.element.name != Spreadsheet.problemListSheet }?.element
                ?? book.sheets.first
        }
        guard let first = chosen else { throw .notAWorkbook(path: path, reason: "工作簿中没有工作表 (no worksheet)") }
        var target = "xl/worksheets/sheet1.xml"
        if hasRelations, let t = relations.targets[first.rid] {
            target = t.hasPrefix("/") ? String(t.dropFirst()) : "xl/" + t
        }
        let shared = SharedStringsHandler(fieldBytes: limits.fieldBytes)
        _ = try parse("xl/sharedStrings.xml", maximum: limits.inflatedBytes, handler: shared)
        // Merged ranges are listed after the rows (<mergeCells> follows <sheetData>): a first, cheap
        // pass over the part finds them, so that the rows can be filled as they stream by. It looks
        // for the word alone, and parses the part only when it is there; what it inflates does not
        // count against the budget a second time. A part that is damaged or passes a limit is
        // left to the pass over its rows, which reads the rows before the place and names it.
        // A run reads a sheet several times (its header, its keys, its rows): the ranges are looked
        // for once per file as it is on disk.
        var st = stat()
        let cacheKey = stat(path, &st) == 0 ? "\(path)\u{0}\(target)\u{0}\(st.st_size)\u{0}\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)\u{0}\(st.st_ino)" : nil
        var merges: [MergedRange] = []
        if let cacheKey, let known = MergeCache.shared.ranges(cacheKey) {
            merges = known
        } else {
            merges = findMerges()
            if let cacheKey { MergeCache.shared.store(cacheKey, merges) }
        }
        func findMerges() -> [MergedRange] {
            var merges: [MergedRange] = []
            let saved = budget
            var mentions = false
            var tail: [UInt8] = []
            let word = Array("mergeCell".utf8)
            func contains(_ bytes: UnsafeRawBufferPointer) -> Bool {
                guard let base = bytes.baseAddress, bytes.count >= word.count else { return false }
                var at = 0
                let last = bytes.count - word.count
                while at <= last, let hit = memchr(base + at, 0x6D, last - at + 1) {
                    let i = base.distance(to: UnsafeRawPointer(hit))
                    if (1..<word.count).allSatisfy({ bytes[i + $0] == word[$0] }) { return true }
                    at = i + 1
                }
                return false
            }
            _ = try? inflate(target, maximum: limits.inflatedBytes) { raw in
                // The word across the end of the last chunk and the start of this one, then within this one.
                var seam = tail
                seam.append(contentsOf: raw.prefix(word.count - 1))
                if seam.withUnsafeBytes(contains) || contains(raw) { mentions = true; return false }
                tail = raw.count >= word.count - 1 ? Array(raw.suffix(word.count - 1)) : Array((tail + Array(raw)).suffix(word.count - 1))
                return true
            }
            if mentions {
                let finder = MergeHandler(limit: maximumMergedRanges)
                _ = try? parse(target, maximum: limits.inflatedBytes, handler: finder, stopEarly: { finder.isFull })
                merges = finder.ranges.filter { $0.bottom > $0.top }.sorted { ($0.top, $0.left) < ($1.top, $1.left) }
            }
            budget = saved
            return merges
        }
        var outcome: Result<Bool, ReadError> = .success(true)
        withoutActuallyEscaping(sink) { sink in
            withoutActuallyEscaping(notes) { notes in
                let sheet = SheetHandler(sheetName: first.name, shared: shared.strings, fieldBytes: limits.fieldBytes, merges: merges, sink: sink, notes: notes)
                do throws(ReadError) { outcome = .success(try parse(target, maximum: limits.inflatedBytes, handler: sheet, stopEarly: stop)) } catch {
                    outcome = .failure(error)
                }
                if case .success(true) = outcome { sheet.finish() }
            }
        }
        guard try outcome.get() else {
            throw .notAWorkbook(path: path, reason: "工作簿中没有 \(target) (worksheet missing)")
        }
    }

    /// Column letters of a cell reference to a 0-based index: "C7" → 2; nil past Excel's last column (XFD).
    public static func columnIndex(_ reference: [UInt8]) -> Int? {
        var n = 0
        var letters = 0
        for u in reference {
            guard u >= 65 && u <= 90 else { break }
            letters += 1
            guard letters <= 3 else { return nil }
            n = n * 26 + Int(u - 64)
        }
        guard letters > 0, n <= maximumColumns else { return nil }
        return n - 1
    }

    /// A stored number as Excel shows it: at most 15 significant digits, in plain decimal
    /// notation (`65.98999999999999` → `65.99`, `0.30000000000000004` → `0.3`). Integers and
    /// anything that is not a plain finite number are left as stored.
    public static func displayedNumber(_ stored: String) -> String {
        guard stored.utf8.contains(where: { $0 == 0x2E || $0 == 0x45 || $0 == 0x65 }), let x = Double(stored), x.isFinite else { return stored }
        if x == 0 { return "0" }
        // d.dddddddddddddde±XX: the 15 significant digits and the exponent.
        let scientific = String(format: "%.14e", abs(x))
        let parts = scientific.split(separator: "e")
        guard parts.count == 2, let exponent = Int(parts[1]), abs(exponent) <= 30 else { return stored }
        var digits = Array(parts[0].replacingOccurrences(of: ".", with: ""))
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        var text: String
        let point = exponent + 1 // digits before the decimal point
        if point <= 0 {
            text = "0." + String(repeating: "0", count: -point) + String(digits)
        } else if point >= digits.count {
            text = String(digits) + String(repeating: "0", count: point - digits.count)
        } else {
            text = String(digits[..<point]) + "." + String(digits[point...])
        }
        return x < 0 ? "-" + text : text
    }
}

private extension XMLFailure {
    var describe: String { "XML 第 \(line) 行第 \(column) 列：\(message) (XML line \(line), column \(column): \(message))" }
}

/// The merged ranges found in each sheet part of a file as it is on disk (path, part, size,
/// modification time), so that the passes of one run over a sheet look for them once.
private final class MergeCache: @unchecked Sendable {
    static let shared = MergeCache()
    private let lock = NSLock()
    private var known: [String: [MergedRange]] = [:]
    func ranges(_ key: String) -> [MergedRange]? { lock.withLock { known[key] } }
    func store(_ key: String, _ ranges: [MergedRange]) {
        lock.withLock {
            if known.count >= 256 { known.removeAll() }
            known[key] = ranges
        }
    }
}

/// The merged ranges a worksheet lists (`<mergeCell ref="D3:D9"/>`), up to a limit.
private final class MergeHandler: XMLEventHandler {
    var ranges: [MergedRange] = []
    let limit: Int
    var isFull: Bool { ranges.count >= limit }
    init(limit: Int) { self.limit = limit }
    func start(_ name: UnsafePointer<xmlChar>, _ attributes: XMLAttributes) -> String? {
        if XMLPushParser.equals(name, "mergeCell"), ranges.count < limit, let ref = attributes.value("ref"), let range = MergedRange(ref) {
            ranges.append(range)
        }
        return nil
    }
    func end(_ name: UnsafePointer<xmlChar>) -> String? { nil }
    func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? { nil }
}

private final class WorkbookHandler: XMLEventHandler {
    var sheets: [(name: String, rid: String, state: String)] = []
    func start(_ name: UnsafePointer<xmlChar>, _ attributes: XMLAttributes) -> String? {
        if XMLPushParser.equals(name, "sheet"), sheets.count < 10_000 {
            let text = { (b: [UInt8]?) in b.map { String(decoding: $0.prefix(1000), as: UTF8.self) } ?? "" }
            sheets.append((text(attributes.value("name")), text(attributes.value("id")), text(attributes.value("state"))))
        }
        return nil
    }
    func end(_ name: UnsafePointer<xmlChar>) -> String? { nil }
    func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? { nil }
}

private final class RelationsHandler: XMLEventHandler {
    var targets: [String: String] = [:]
    var types: [String: String] = [:]
    func start(_ name: UnsafePointer<xmlChar>, _ attributes: XMLAttributes) -> String? {
        if XMLPushParser.equals(name, "Relationship"), let id = attributes.value("Id"), let target = attributes.value("Target"), targets.count < 10_000 {
            targets[String(decoding: id, as: UTF8.self)] = String(decoding: target, as: UTF8.self)
            if let type = attributes.value("Type") { types[String(decoding: id, as: UTF8.self)] = String(decoding: type.prefix(1000), as: UTF8.self) }
        }
        return nil
    }
    func end(_ name: UnsafePointer<xmlChar>) -> String? { nil }
    func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? { nil }
}

private final class SharedStringsHandler: XMLEventHandler {
    var strings: [String] = []
    private var current: [UInt8] = []
    private var inText = false
    private var inPhonetic = false
    private let fieldBytes: Int

    init(fieldBytes: Int) { self.fieldBytes = fieldBytes }

    func start(_ name: UnsafePointer<xmlChar>, _ attributes: XMLAttributes) -> String? {
        if XMLPushParser.equals(name, "si") { current.removeAll(keepingCapacity: true) }
        else if XMLPushParser.equals(name, "t") { inText = true }
        else if XMLPushParser.equals(name, "rPh") { inPhonetic = true } // phonetic guides are not part of the value
        return nil
    }
    func end(_ name: UnsafePointer<xmlChar>) -> String? {
        if XMLPushParser.equals(name, "t") { inText = false }
        else if XMLPushParser.equals(name, "rPh") { inPhonetic = false }
        else if XMLPushParser.equals(name, "si") {
            guard strings.count < 16_000_000 else { return "共享字符串超过 1600 万条 (more than 16 million shared strings)" }
            strings.append(String(decoding: current, as: UTF8.self))
        }
        return nil
    }
    func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard inText && !inPhonetic else { return nil }
        guard current.count + bytes.count <= fieldBytes else {
            return "第 \(strings.count + 1) 条共享字符串超过 \(fieldBytes) 字节 (shared string \(strings.count) longer than \(fieldBytes) bytes)"
        }
        current.append(contentsOf: bytes)
        return nil
    }
}

/// The worksheet's rows, handed over one at a time.
private final class SheetHandler: XMLEventHandler {
    private let sheetName: String
    private let shared: [String]
    private let fieldBytes: Int
    private let sink: (Int, [String]) -> Void
    private let notes: (CellNote) -> Void
    /// Merged ranges over several rows, filled down row by row.
    private var merges: MergeFiller
    /// The cell's formula (`<f>`), shortened, and whether the cell has one and a stored result.
    private var formula: [UInt8] = []
    private var inFormula = false
    private var hasFormula = false
    private var hasValue = false
    private var formulasWithoutValue = 0
    private var lastFormulaRow = 0
    private var rowNumber = 0
    private var cells: [String] = []
    private var cellIndex = 0
    private var cellReference = ""
    private var cellType: [UInt8] = []
    private var text: [UInt8] = []
    private var collecting = false
    private var inPhonetic = false
    private var inRow = false

    init(sheetName: String, shared: [String], fieldBytes: Int, merges: [MergedRange],
         sink: @escaping (Int, [String]) -> Void, notes: @escaping (CellNote) -> Void) {
        self.sheetName = sheetName
        self.shared = shared
        self.fieldBytes = fieldBytes
        self.merges = MergeFiller(merges)
        self.sink = sink
        self.notes = notes
    }

    /// After the last row: formulas without a result past those named are counted.
    func finish() {
        let more = formulasWithoutValue - XLSXReader.namedFormulasWithoutValue
        if more > 0 { notes(.moreFormulasWithoutValue(count: more, lastRow: lastFormulaRow)) }
    }

    /// Where the parse is, for a message: the sheet, the row and the cell.
    func place(_ part: String) -> String {
        var s = "工作表“\(sheetName)”（\(part)）"
        if rowNumber > 0 { s += "第 \(rowNumber) 行" }
        if !cellReference.isEmpty { s += "单元格 \(cellReference)" }
        return s
    }

    func start(_ name: UnsafePointer<xmlChar>, _ attributes: XMLAttributes) -> String? {
        if XMLPushParser.equals(name, "row") {
            let next: Int
            if let r = attributes.value("r") {
                guard let n = Int(String(decoding: r, as: UTF8.self)), n >= 1, n <= XLSXReader.maximumRow else {
                    return "行号 r=\"\(String(decoding: r.prefix(40), as: UTF8.self))\" 无效（应为 1 到 \(XLSXReader.maximumRow)） (invalid row number)"
                }
                guard n > rowNumber else { return "行号 \(n) 不大于上一行 \(rowNumber)，行的顺序已损坏 (row numbers out of order)" }
                next = n
            } else {
                guard rowNumber < XLSXReader.maximumRow else { return "行数超过 \(XLSXReader.maximumRow) (more rows than Excel allows)" }
                next = rowNumber + 1
            }
            rowNumber = next
            cells.removeAll(keepingCapacity: true)
            cellReference = ""
            inRow = true
        } else if XMLPushParser.equals(name, "c") {
            guard inRow else { return "单元格不在行内 (a cell outside a row)" }
            if let r = attributes.value("r") {
                cellReference = String(decoding: r.prefix(40), as: UTF8.self)
                guard let index = XLSXReader.columnIndex(r) else {
                    return "单元格引用 \(cellReference) 无效（列应在 A 到 XFD 之间） (invalid cell reference)"
                }
                cellIndex = index
            } else {
                cellIndex = cells.count
                guard cellIndex < XLSXReader.maximumColumns else { return "一行超过 \(XLSXReader.maximumColumns) 列 (more columns than Excel allows)" }
                cellReference = Spreadsheet.columnLetter(cellIndex) + String(rowNumber)
            }
            cellType = attributes.value("t") ?? []
            text.removeAll(keepingCapacity: true)
            hasFormula = false
            hasValue = false
        } else if XMLPushParser.equals(name, "v") || XMLPushParser.equals(name, "t") {
            collecting = true
            hasValue = true
        } else if XMLPushParser.equals(name, "f") {
            hasFormula = true
            inFormula = true
            formula.removeAll(keepingCapacity: true)
        } else if XMLPushParser.equals(name, "rPh") {
            inPhonetic = true
        }
        return nil
    }

    func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if inFormula {
            // Only to name it in a message: the first bytes are enough.
            if formula.count < 400 { formula.append(contentsOf: bytes.prefix(400 - formula.count)) }
            return nil
        }
        guard collecting && !inPhonetic else { return nil }
        guard text.count + bytes.count <= fieldBytes else {
            return "单元格内容超过 \(fieldBytes) 字节 (a cell longer than \(fieldBytes) bytes)"
        }
        text.append(contentsOf: bytes)
        return nil
    }

    func end(_ name: UnsafePointer<xmlChar>) -> String? {
        if XMLPushParser.equals(name, "v") || XMLPushParser.equals(name, "t") {
            collecting = false
        } else if XMLPushParser.equals(name, "f") {
            inFormula = false
        } else if XMLPushParser.equals(name, "rPh") {
            inPhonetic = false
        } else if XMLPushParser.equals(name, "c") {
            if hasFormula && !hasValue {
                // Saved by a program that does not compute formulas: the cell reads as empty, and says why.
                formulasWithoutValue += 1
                lastFormulaRow = rowNumber
                if formulasWithoutValue <= XLSXReader.namedFormulasWithoutValue {
                    var shown = String(decoding: formula.prefix(120), as: UTF8.self)
                    if shown.unicodeScalars.last == "\u{FFFD}" { shown.unicodeScalars.removeLast() }
                    if formula.count > 120 { shown += "…" }
                    notes(.formulaWithoutValue(row: rowNumber, column: cellIndex, formula: shown))
                }
            }
            var value = String(decoding: text, as: UTF8.self)
            switch cellType {
            case Array("s".utf8):
                guard let i = Int(value), i >= 0, i < shared.count else {
                    return "共享字符串编号 \(value.prefix(40)) 无效（共有 \(shared.count) 条） (shared string index out of range)"
                }
                value = shared[i]
            case Array("b".utf8): value = value == "1" ? "TRUE" : "FALSE"
            case [], Array("n".utf8): value = XLSXReader.displayedNumber(value)
            default: break
            }
            if cellIndex >= cells.count {
                cells.append(contentsOf: repeatElement("", count: cellIndex - cells.count))
                cells.append(value)
            } else {
                cells[cellIndex] = value
            }
            cellReference = ""
        } else if XMLPushParser.equals(name, "row") {
            if !merges.isEmpty { merges.fill(row: rowNumber, cells: &cells, notes: notes) }
            // Trailing empty cells are not data.
            while let last = cells.last, last.isEmpty { cells.removeLast() }
            if !cells.isEmpty { sink(rowNumber, cells) }
            inRow = false
        }
        return nil
    }
}
