// Bytes (writing): a workbook written through libxlsxwriter (Debian's libxlsxwriter-dev), for the
// clerk's annotated copy of their own file. A safe API over the C library: sheets, text cells,
// fills, comments, internal links, a frozen and filtered header row. Text longer than a cell or a
// comment may hold is cut with a mark rather than refused, so one odd value never stops the book.
import CLibXLSXWriter
import Foundation
import SchoolStatModel
import ZIPFoundation

public final class XLSXWriter {
    /// Excel's limits: characters in a cell, in a comment; rows and columns of a sheet; links.
    public static let cellCharacters = 32_767
    public static let commentCharacters = 32_767
    public static let maximumRows = 1_048_576
    public static let maximumColumns = 16_384
    public static let maximumLinks = 65_530

    /// A cell style; made by `style(_:)` and valid for its workbook only.
    public struct Style: Hashable, Sendable {
        public var fill: UInt32?
        public var bold = false
        public var link = false
        public var wrap = false
        public init(fill: UInt32? = nil, bold: Bool = false, link: Bool = false, wrap: Bool = false) {
            self.fill = fill; self.bold = bold; self.link = link; self.wrap = wrap
        }
    }

    public final class Sheet {
        fileprivate let pointer: UnsafeMutablePointer<lxw_worksheet>
        fileprivate unowned let book: XLSXWriter
        public let name: String
        private var links = 0

        fileprivate init(pointer: UnsafeMutablePointer<lxw_worksheet>, book: XLSXWriter, name: String) {
            self.pointer = pointer; self.book = book; self.name = name
        }

        private static func fits(_ row: Int, _ column: Int) -> Bool {
            row >= 0 && row < XLSXWriter.maximumRows && column >= 0 && column < XLSXWriter.maximumColumns
        }

        /// Text in the cell at 0-based `row` and `column`, as written (never read as a number or formula).
        public func write(row: Int, column: Int, _ text: String, style: Style? = nil) {
            guard Self.fits(row, column) else { return }
            let format = style.map { book.format($0) } ?? nil
            worksheet_write_string(pointer, lxw_row_t(row), lxw_col_t(column), XLSXWriter.cut(text, XLSXWriter.cellCharacters), format)
        }

        /// A link to a cell of this workbook (`'Sheet'!D17`), shown as `text`. Past Excel's limit
        /// of links in one sheet, the text alone.
        public func writeLink(row: Int, column: Int, to sheet: String, cell: String, text: String) {
            guard Self.fits(row, column) else { return }
            guard links < XLSXWriter.maximumLinks else { write(row: row, column: column, text); return }
            links += 1
            let target = "internal:'\(sheet.replacingOccurrences(of: "'", with: "''"))'!\(cell)"
            worksheet_write_url_opt(pointer, lxw_row_t(row), lxw_col_t(column), target, book.format(Style(link: true)),
                                    XLSXWriter.cut(text, XLSXWriter.cellCharacters), nil)
        }

        /// A cell comment (the note Excel shows on hover), sized for a few lines of Chinese.
        public func comment(row: Int, column: Int, _ text: String) {
            guard Self.fits(row, column) else { return }
            var options = lxw_comment_options()
            options.width = 360
            options.height = 140
            "schoolstat".withCString { author in
                options.author = UnsafeMutablePointer(mutating: author)
                _ = worksheet_write_comment_opt(pointer, lxw_row_t(row), lxw_col_t(column),
                                                XLSXWriter.cut(text, XLSXWriter.commentCharacters), &options)
            }
        }

        /// Keeps the first `rows` rows in view when scrolling.
        public func freeze(rows: Int) {
            guard rows > 0, rows < XLSXWriter.maximumRows else { return }
            worksheet_freeze_panes(pointer, lxw_row_t(rows), 0)
        }

        /// A filter on the header `row` over `columns` columns down to `lastRow`.
        public func filter(headerRow: Int, columns: Int, lastRow: Int) {
            guard columns > 0, Self.fits(headerRow, columns - 1) else { return }
            worksheet_autofilter(pointer, lxw_row_t(headerRow), 0, lxw_row_t(min(max(lastRow, headerRow), XLSXWriter.maximumRows - 1)),
                                 lxw_col_t(min(columns, XLSXWriter.maximumColumns) - 1))
        }

        /// The width of 0-based `column`, in characters.
        public func setWidth(column: Int, _ width: Double, style: Style? = nil) {
            guard column >= 0, column < XLSXWriter.maximumColumns else { return }
            let format = style.map { book.format($0) } ?? nil
            worksheet_set_column(pointer, lxw_col_t(column), lxw_col_t(column), width, format)
        }
    }

    private let workbook: UnsafeMutablePointer<lxw_workbook>
    private var formats: [Style: UnsafeMutablePointer<lxw_format>] = [:]
    private var sheetNames: Set<String> = []
    private var closed = false
    public let path: String
    /// libxlsxwriter's own temporary files go here (it must exist).
    private let temporaryDirectory: String

    /// A new workbook at `path`, written when `close` is called. libxlsxwriter keeps its temporary
    /// files in `temporaryDirectory`. With `constantMemory`, each sheet is written row by row in
    /// order and each row leaves memory once the next begins, whatever the sheet's size; text is
    /// then stored in its cell rather than in a shared table.
    public init(path: String, temporaryDirectory: String, constantMemory: Bool = false) throws(WriteError) {
        self.path = path
        self.temporaryDirectory = temporaryDirectory
        var options = lxw_workbook_options()
        options.constant_memory = constantMemory ? 1 : 0
        let made: UnsafeMutablePointer<lxw_workbook>? = temporaryDirectory.withCString { dir in
            options.tmpdir = UnsafeMutablePointer(mutating: dir)
            return workbook_new_opt(path, &options)
        }
        guard let made else { throw WriteError(path: path, reason: "无法创建工作簿 (cannot create the workbook)") }
        workbook = made
    }

    deinit {
        if !closed { workbook_close(workbook); unlink(path) }
    }

    /// A sheet named `wanted`, made valid for Excel: at most 31 characters, none of `[]:*?/\`,
    /// not starting or ending with an apostrophe, and unique in the workbook (case-insensitively).
    public func addSheet(_ wanted: String) -> Sheet {
        var base = String(wanted.map { "[]:*?/\\".contains($0) ? "_" : $0 })
        while base.hasPrefix("'") { base.removeFirst() }
        while base.hasSuffix("'") { base.removeLast() }
        if base.isEmpty { base = "Sheet" }
        var name = String(base.prefix(31))
        var n = 2
        while sheetNames.contains(name.lowercased()) {
            let suffix = "(\(n))"
            name = String(base.prefix(31 - suffix.count)) + suffix
            n += 1
        }
        sheetNames.insert(name.lowercased())
        let sheet = name.withCString { workbook_add_worksheet(workbook, $0) }!
        return Sheet(pointer: sheet, book: self, name: name)
    }

    fileprivate func format(_ style: Style) -> UnsafeMutablePointer<lxw_format>? {
        if let f = formats[style] { return f }
        guard let f = workbook_add_format(workbook) else { return nil }
        if let fill = style.fill {
            format_set_pattern(f, UInt8(LXW_PATTERN_SOLID.rawValue))
            format_set_bg_color(f, fill)
        }
        if style.bold { format_set_bold(f) }
        if style.link {
            format_set_font_color(f, 0x0563C1)
            format_set_underline(f, UInt8(LXW_UNDERLINE_SINGLE.rawValue))
        }
        if style.wrap {
            format_set_text_wrap(f)
            format_set_align(f, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue))
        }
        formats[style] = f
        return f
    }

    /// Marks the workbook as schoolstat's own (author `schoolstat`, the `mark` as its comments), so
    /// that a later run may recognise it with `isMarked` and replace it, and nothing else.
    public func mark(title: String, _ mark: String) {
        var properties = lxw_doc_properties()
        title.withCString { t in "schoolstat".withCString { a in mark.withCString { c in
            properties.title = UnsafeMutablePointer(mutating: t)
            properties.author = UnsafeMutablePointer(mutating: a)
            properties.comments = UnsafeMutablePointer(mutating: c)
            _ = workbook_set_properties(workbook, &properties)
        } } }
    }

    /// Whether the file at `path` is a workbook `mark`ed by schoolstat with `mark`.
    public static func isMarked(path: String, _ mark: String) -> Bool {
        guard let archive = try? Archive(url: URL(fileURLWithPath: path), accessMode: .read),
              let entry = archive["docProps/core.xml"], entry.uncompressedSize < 1 << 16 else { return false }
        var data = Data()
        guard (try? archive.extract(entry, consumer: { data.append($0) })) != nil else { return false }
        let text = String(decoding: data, as: UTF8.self)
        return text.contains("<dc:creator>schoolstat</dc:creator>") && text.contains("<dc:description>\(mark)</dc:description>")
    }

    /// Writes the workbook to `path`.
    public func close() throws(WriteError) {
        guard !closed else { return }
        closed = true
        let status = workbook_close(workbook)
        guard status == LXW_NO_ERROR else {
            unlink(path)
            throw WriteError(path: path, reason: "写入工作簿失败 (could not write the workbook): \(String(cString: lxw_strerror(status)))")
        }
    }

    /// `text` cut to `limit` characters (UTF-16 units, as Excel counts) with a closing mark.
    static func cut(_ text: String, _ limit: Int) -> String {
        guard text.utf16.count > limit else { return text }
        var out = ""
        var units = 0
        for c in text {
            let n = String(c).utf16.count
            if units + n > limit - 1 { break }
            out.append(c)
            units += n
        }
        return out + "…"
    }
}
