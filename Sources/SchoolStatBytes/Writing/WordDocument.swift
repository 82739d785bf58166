// Bytes: a Word document (.docx, WordprocessingML) from a small typed model — headings,
// paragraphs of runs (bold, highlighted), simple tables — packed with ZIPFoundation. Every text
// goes through one escaping function; the parts are the minimum Word, WPS and LibreOffice need:
// [Content_Types].xml, the package and document relationships, styles with headings, core and
// app properties. The output is byte-for-byte the same for the same model.
import Foundation
import SchoolStatModel
import ZIPFoundation

public struct WordDocument: Sendable {
    /// A stretch of text with one formatting.
    public struct Run: Sendable, Equatable {
        public var text: String
        public var bold: Bool
        /// Marked in yellow: what the reader still has to fill in or check.
        public var highlighted: Bool
        public init(_ text: String, bold: Bool = false, highlighted: Bool = false) {
            self.text = text; self.bold = bold; self.highlighted = highlighted
        }
    }

    public enum Block: Sendable {
        /// The document title (style Title).
        case title([Run])
        /// A heading of level 1–3 (styles Heading1–Heading3, which outlines and navigation panes list).
        case heading(level: Int, [Run])
        /// A body paragraph, first line indented by two characters as Chinese reports are set.
        case paragraph([Run])
        /// A table: a bold header row, then rows of plain cells.
        case table(header: [String], rows: [[String]])
    }

    public var title: String
    public var blocks: [Block] = []

    public init(title: String) { self.title = title }

    public mutating func add(_ block: Block) { blocks.append(block) }

    /// The package's bytes.
    public func data() throws(WriteError) -> [UInt8] {
        let parts: [(String, String)] = [
            ("[Content_Types].xml", Self.contentTypes),
            ("_rels/.rels", Self.packageRelationships),
            ("docProps/core.xml", core),
            ("docProps/app.xml", Self.app),
            ("word/_rels/document.xml.rels", Self.documentRelationships),
            ("word/styles.xml", Self.styles),
            ("word/settings.xml", Self.settings),
            ("word/document.xml", document),
        ]
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            // A fixed date: the same document gives the same bytes.
            let date = Date(timeIntervalSince1970: 1_577_836_800)
            for (name, text) in parts {
                let bytes = Data(text.utf8)
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count), modificationDate: date,
                                     compressionMethod: .deflate) { position, size in
                    bytes.subdata(in: Int(position)..<Int(position) + size)
                }
            }
            guard let data = archive.data else { throw WriteError(path: title, reason: "empty archive") }
            return [UInt8](data)
        } catch let error as WriteError {
            throw error
        } catch {
            throw WriteError(path: title, reason: "\(error)")
        }
    }

    /// Writes the package to `path` (created or replaced, synced on close).
    public func write(to path: String) throws(WriteError) {
        let bytes = try data()
        let file = try BufferedFile(path: path)
        file.write(bytes)
        try file.close()
    }

    // MARK: - Text

    /// Text as XML character data: markup characters escaped, characters XML 1.0 forbids dropped,
    /// tabs and line breaks made spaces (a run is one line).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                let v = scalar.value
                if v < 0x20 || (v >= 0xFFFE && v <= 0xFFFF) || (v >= 0xD800 && v <= 0xDFFF) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func runs(_ runs: [Run]) -> String {
        runs.map { r in
            var properties = ""
            if r.bold { properties += "<w:b/><w:bCs/>" }
            if r.highlighted { properties += "<w:highlight w:val=\"yellow\"/>" }
            let rPr = properties.isEmpty ? "" : "<w:rPr>\(properties)</w:rPr>"
            return "<w:r>\(rPr)<w:t xml:space=\"preserve\">\(escape(r.text))</w:t></w:r>"
        }.joined()
    }

    private static func paragraph(style: String?, _ content: [Run]) -> String {
        let pPr = style.map { "<w:pPr><w:pStyle w:val=\"\($0)\"/></w:pPr>" } ?? ""
        return "<w:p>\(pPr)\(runs(content))</w:p>"
    }

    private static func table(header: [String], rows: [[String]]) -> String {
        let columns = max(header.count, rows.map(\.count).max() ?? 0, 1)
        let width = 9000 / columns
        var x = "<w:tbl><w:tblPr><w:tblStyle w:val=\"ReportTable\"/><w:tblW w:w=\"5000\" w:type=\"pct\"/><w:tblLook w:val=\"04A0\" w:firstRow=\"1\" w:lastRow=\"0\" w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/></w:tblPr><w:tblGrid>"
        x += String(repeating: "<w:gridCol w:w=\"\(width)\"/>", count: columns)
        x += "</w:tblGrid>"
        func row(_ cells: [String], bold: Bool) -> String {
            var r = bold ? "<w:tr><w:trPr><w:tblHeader/></w:trPr>" : "<w:tr>"
            for i in 0..<columns {
                let text = i < cells.count ? cells[i] : ""
                r += "<w:tc><w:tcPr><w:tcW w:w=\"\(width)\" w:type=\"dxa\"/></w:tcPr>\(paragraph(style: "TableText", [Run(text, bold: bold)]))</w:tc>"
            }
            return r + "</w:tr>"
        }
        if !header.isEmpty { x += row(header, bold: true) }
        for r in rows { x += row(r, bold: false) }
        return x + "</w:tbl><w:p><w:pPr><w:pStyle w:val=\"TableText\"/></w:pPr></w:p>"
    }

    var document: String {
        var body = ""
        for block in blocks {
            switch block {
            case .title(let r): body += Self.paragraph(style: "Title", r)
            case .heading(let level, let r): body += Self.paragraph(style: "Heading\(min(max(level, 1), 3))", r)
            case .paragraph(let r): body += Self.paragraph(style: nil, r)
            case .table(let header, let rows): body += Self.table(header: header, rows: rows)
            }
        }
        // A4, margins of 2.54 cm (top and bottom) and 3.17 cm (left and right), as Word sets them.
        return """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>\(body)<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1800" w:bottom="1440" w:left="1800" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>
        """
    }

    var core: String {
        """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>\(Self.escape(title))</dc:title><dc:creator>schoolstat</dc:creator></cp:coreProperties>
        """
    }

    static let contentTypes = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>
    """

    static let packageRelationships = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>
    """

    static let documentRelationships = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/></Relationships>
    """

    static let app = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>schoolstat</Application></Properties>
    """

    static let settings = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat></w:settings>
    """

    /// Body in 仿宋 at 三号-like 14 pt is the official-document habit; a draft uses 宋体 12 pt for
    /// space, headings in 黑体, with Latin fallbacks LibreOffice and WPS find on any system. Child
    /// elements are in the order the WordprocessingML schema gives them (Word refuses others).
    static let styles = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="宋体" w:cs="Times New Roman"/><w:sz w:val="24"/><w:szCs w:val="24"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="360" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>\
    <w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/><w:pPr><w:ind w:firstLineChars="200" w:firstLine="480"/><w:jc w:val="both"/></w:pPr></w:style>\
    <w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:spacing w:before="240" w:after="360"/><w:ind w:firstLineChars="0" w:firstLine="0"/><w:jc w:val="center"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:rFonts w:eastAsia="黑体"/><w:b/><w:sz w:val="36"/><w:szCs w:val="36"/></w:rPr></w:style>\
    <w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="240" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:rFonts w:eastAsia="黑体"/><w:b/><w:sz w:val="30"/><w:szCs w:val="30"/></w:rPr></w:style>\
    <w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="200" w:after="100"/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:rFonts w:eastAsia="楷体"/><w:b/><w:sz w:val="28"/><w:szCs w:val="28"/></w:rPr></w:style>\
    <w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="heading 3"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="120" w:after="60"/><w:outlineLvl w:val="2"/></w:pPr><w:rPr><w:b/><w:sz w:val="24"/><w:szCs w:val="24"/></w:rPr></w:style>\
    <w:style w:type="paragraph" w:customStyle="1" w:styleId="TableText"><w:name w:val="Table Text"/><w:basedOn w:val="Normal"/><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/><w:ind w:firstLineChars="0" w:firstLine="0"/><w:jc w:val="left"/></w:pPr><w:rPr><w:sz w:val="21"/><w:szCs w:val="21"/></w:rPr></w:style>\
    <w:style w:type="table" w:styleId="ReportTable"><w:name w:val="Report Table"/><w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:left w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:bottom w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:right w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:insideH w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:insideV w:val="single" w:sz="4" w:space="0" w:color="000000"/></w:tblBorders><w:tblCellMar><w:left w:w="80" w:type="dxa"/><w:right w:w="80" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style></w:styles>
    """
}
