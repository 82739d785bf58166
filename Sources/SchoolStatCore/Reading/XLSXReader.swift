// Reading: the first worksheet of an Excel workbook (.xlsx), as rows of text,
// through ZIPFoundation and Foundation's XML parser. A clerk's workbook goes
// through the same checks as a CSV export; row numbers are Excel's.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import ZIPFoundation

enum XLSXReader {
    struct Sheet {
        var name: String
        /// (Excel row number, cells left to right; gaps filled with "").
        var rows: [(Int, [String])]
    }

    static func readFirstSheet(path: String) throws(ReadError) -> Sheet {
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw .cannotOpen(path: path, reason: "不是有效的 xlsx 文件（无法按 zip 打开）(not a valid .xlsx workbook)")
        }
        func entry(_ name: String) throws(ReadError) -> Data? {
            let normalised = name.hasPrefix("/") ? String(name.dropFirst()) : name
            guard let e = archive[normalised] else { return nil }
            var data = Data()
            do { _ = try archive.extract(e) { data.append($0) } } catch {
                throw .ioFailure(path: path, reason: "无法解压 \(normalised) (cannot extract)")
            }
            return data
        }
        guard let workbook = try entry("xl/workbook.xml") else {
            throw .cannotOpen(path: path, reason: "工作簿中没有 xl/workbook.xml (not an Excel workbook)")
        }
        let book = WorkbookParser(data: workbook)
        guard let first = book.sheets.first else { throw .cannotOpen(path: path, reason: "工作簿中没有工作表 (no worksheet)") }
        var target = "xl/worksheets/sheet1.xml"
        if let rels = try entry("xl/_rels/workbook.xml.rels"), let t = RelationsParser(data: rels).targets[first.rid] {
            target = t.hasPrefix("/") ? String(t.dropFirst()) : "xl/" + t
        }
        let shared = try entry("xl/sharedStrings.xml").map { SharedStringsParser(data: $0).strings } ?? []
        guard let sheetData = try entry(target) else { throw .cannotOpen(path: path, reason: "工作簿中没有 \(target) (worksheet missing)") }
        let sheet = SheetParser(data: sheetData, shared: shared)
        return Sheet(name: first.name, rows: sheet.rows)
    }

    /// Runs Foundation's streaming XML parser over one part of the workbook.
    static func parse(_ data: Data, with delegate: any XMLParserDelegate) {
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        _ = parser.parse() // a damaged part leaves what was read; the caller checks for what it needs
    }

    /// Column letters of a cell reference to a 0-based index: "C7" → 2.
    static func columnIndex(_ reference: String) -> Int? {
        var n = 0
        var sawLetter = false
        for u in reference.utf8 {
            guard u >= 65 && u <= 90 else { break }
            n = n * 26 + Int(u - 64)
            sawLetter = true
        }
        return sawLetter ? n - 1 : nil
    }
}

private final class WorkbookParser: NSObject, XMLParserDelegate {
    var sheets: [(name: String, rid: String)] = []
    init(data: Data) {
        super.init()
        XLSXReader.parse(data, with: self)
    }
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        guard name == "sheet" || name.hasSuffix(":sheet") else { return }
        let rid = attributes["r:id"] ?? attributes.first { $0.key.hasSuffix(":id") }?.value ?? ""
        sheets.append((attributes["name"] ?? "", rid))
    }
}

private final class RelationsParser: NSObject, XMLParserDelegate {
    var targets: [String: String] = [:]
    init(data: Data) {
        super.init()
        XLSXReader.parse(data, with: self)
    }
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if name == "Relationship", let id = attributes["Id"], let target = attributes["Target"] { targets[id] = target }
    }
}

private final class SharedStringsParser: NSObject, XMLParserDelegate {
    var strings: [String] = []
    private var current = ""
    private var inText = false
    private var inPhonetic = false
    init(data: Data) {
        super.init()
        XLSXReader.parse(data, with: self)
    }
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch name {
        case "si": current = ""
        case "t": inText = true
        case "rPh": inPhonetic = true   // phonetic guides are not part of the value
        default: break
        }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText && !inPhonetic { current += string }
    }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "t": inText = false
        case "rPh": inPhonetic = false
        case "si": strings.append(current)
        default: break
        }
    }
}

private final class SheetParser: NSObject, XMLParserDelegate {
    var rows: [(Int, [String])] = []
    private let shared: [String]
    private var rowNumber = 0
    private var cells: [String] = []
    private var cellIndex = 0
    private var cellType = ""
    private var text = ""
    private var collecting = false

    init(data: Data, shared: [String]) {
        self.shared = shared
        super.init()
        XLSXReader.parse(data, with: self)
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch name {
        case "row":
            rowNumber = attributes["r"].flatMap(Int.init) ?? rowNumber + 1
            cells = []
        case "c":
            cellIndex = attributes["r"].flatMap(XLSXReader.columnIndex) ?? cells.count
            cellType = attributes["t"] ?? "n"
            text = ""
        case "v", "t":
            collecting = true
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if collecting { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "v", "t":
            collecting = false
        case "c":
            var value = text
            switch cellType {
            case "s": value = Int(text).flatMap { $0 < shared.count ? shared[$0] : nil } ?? ""
            case "b": value = text == "1" ? "TRUE" : "FALSE"
            default: break
            }
            while cells.count < cellIndex { cells.append("") }
            if cells.count == cellIndex { cells.append(value) } else if cellIndex < cells.count { cells[cellIndex] = value }
        case "row":
            // Trailing empty cells are not data.
            while let last = cells.last, last.isEmpty { cells.removeLast() }
            if !cells.isEmpty { rows.append((rowNumber, cells)) }
        default: break
        }
    }
}
