// Bytes (reading): legacy Excel 97-2003 workbooks (.xls) through FreeXL — BIFF8, and the BIFF5
// of Excel 5.0/95 whose text FreeXL converts from the workbook's code page (CP936 in older
// Chinese files) to UTF-8. The sheet's rows are handed over as the .xlsx reader hands them:
// Excel's row numbers, cells as Excel shows them, trailing empty cells dropped, empty rows not
// sent; a value merged down over several rows fills each of them and is named, as for .xlsx
// (the merged ranges, like formula results, are read from the sheet's records beside FreeXL,
// which does not expose them). FreeXL holds the whole workbook in memory, so the file's size is checked before it is
// opened; a damaged, encrypted or disguised file is an error naming the sheet and cell where
// known, never a crash or a silently short read.
import CFreeXL
import Foundation
import SchoolStatModel

public enum XLSReader {
    /// Excel 97-2003's own bounds (BIFF8; BIFF5 allows fewer rows).
    public static let maximumRow = 65_536
    public static let maximumColumns = 256
    /// The largest .xls file read, whatever `ReadLimits.inflatedBytes` allows: FreeXL holds the
    /// workbook in memory, and Excel 97-2003 files of real rosters stay far below this.
    public static let maximumFileBytes = 256 << 20

    /// Every sheet in the workbook's order, hidden ones and chart sheets included, with whether
    /// each is hidden and is a worksheet (read from the workbook's sheet records, which FreeXL
    /// does not expose; when they cannot be read every sheet is a visible worksheet).
    public static func sheets(path: String) throws(ReadError) -> [WorkbookSheet] {
        try withWorkbook(path: path, limits: ReadLimits()) { (book) throws(ReadError) in book.sheets }
    }

    /// Streams one sheet's rows to `sink` (Excel row number, cells left to right with gaps
    /// filled and trailing empty cells dropped; empty rows are not sent) until the end or
    /// `stop` returns true. `sheet` names the sheet; nil reads the first sheet not named
    /// 问题清单 (the problem list schoolstat's annotated copy puts first). Text is UTF-8,
    /// numbers as Excel shows them (15 significant digits), date cells `YYYY-MM-DD` (with
    /// ` HH:MM:SS` when the cell holds a time of day too). Throws when the workbook cannot be
    /// opened, is damaged, or passes a limit; rows handed over before that stay handed over.
    /// A value merged down over several rows (BIFF8) fills each row of its range, and the range
    /// goes to `notes`, as for .xlsx.
    public static func read(path: String, sheet: String?, limits: ReadLimits,
                            sink: (_ row: Int, _ cells: [String]) -> Void,
                            notes: (CellNote) -> Void = { _ in }, stop: () -> Bool) throws(ReadError) {
        try withWorkbook(path: path, limits: limits) { (book) throws(ReadError) in
            let index: Int
            if let sheet {
                guard let i = book.names.firstIndex(of: sheet) else {
                    let listed = book.names.prefix(20).map { "“\($0)”" }.joined(separator: "、")
                    throw .notAWorkbook(path: path, reason: "工作簿中没有名为“\(sheet)”的工作表（有：\(listed)） (no sheet named \(sheet))")
                }
                index = i
            } else {
                let worksheets = book.sheets.filter { $0.kind == .worksheet }
                guard let i = (worksheets.first(where: { $0.name != Spreadsheet.problemListSheet }) ?? worksheets.first ?? book.sheets.first)?.index else {
                    throw .notAWorkbook(path: path, reason: "工作簿中没有工作表 (no worksheet)")
                }
                index = i
            }
            try book.stream(sheet: index, path: path, fieldBytes: limits.fieldBytes, sink: sink, notes: notes, stop: stop)
        }
    }

    /// Opens the workbook after checking its size and first bytes, hands it to `body`, and
    /// always closes it.
    private static func withWorkbook<T>(path: String, limits: ReadLimits,
                                        _ body: (OpenWorkbook) throws(ReadError) -> T) throws(ReadError) -> T {
        // The size first: FreeXL reads the whole file into memory.
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            guard (attributes[.type] as? FileAttributeType) == .typeRegular else {
                throw ReadError.cannotOpen(path: path, reason: "不是普通文件 (not a regular file)")
            }
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch let error as ReadError {
            throw error
        } catch {
            throw .cannotOpen(path: path, reason: "文件不存在或无法读取 (no such file, or not readable)")
        }
        let ceiling = min(limits.inflatedBytes, maximumFileBytes)
        guard size <= ceiling else {
            throw .damaged(path: path, place: "整个文件",
                           reason: "文件有 \(size) 字节，超过旧版 .xls 工作簿的读取上限 \(ceiling) 字节 (file of \(size) bytes, past the limit of \(ceiling) bytes for an .xls workbook)")
        }
        // The first bytes: an OLE compound file, or something else given the .xls name.
        let head: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            head = try handle.read(upToCount: 8) ?? Data()
        } catch {
            throw .cannotOpen(path: path, reason: "文件无法读取 (not readable)")
        }
        guard head.elementsEqual([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) else {
            if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
                throw .notAWorkbook(path: path, reason: "文件其实是 .xlsx 工作簿（zip 压缩包），扩展名却是 .xls；请把扩展名改为 .xlsx (an .xlsx workbook named .xls)")
            }
            throw .notAWorkbook(path: path, reason: head.isEmpty
                ? "文件是空的 (the file is empty)"
                : "文件内容不是 Excel 97-2003 工作簿（OLE 复合文档），可能是改了扩展名的其他文件或已损坏 (its content is not an Excel 97-2003 compound file)")
        }

        // The compound file's structure and the sheet bounds before FreeXL sees them: FreeXL sizes
        // its cells from the bounds, and a failed size leaves it freeing memory it does not own.
        guard let stream = WorkbookStream(path: path) else {
            throw .damaged(path: path, place: "工作簿",
                           reason: "复合文档的结构已损坏或被截断，找不到完整的工作簿数据流 (the compound file is damaged or cut short: no whole workbook stream)")
        }
        if let reason = XLSRecords.badDimensions(stream, maximumRows: maximumRow, maximumColumns: maximumColumns) {
            throw .damaged(path: path, place: "工作簿", reason: reason)
        }
        // FreeXL reads a plain copy of the checked stream, never the original's own layout: it
        // reads a damaged compound file its own way, and a file it reads differently from this
        // check could still reach the failure above.
        let copy = NSTemporaryDirectory() + "/schoolstat-xls-" + UniqueName.make() + ".xls"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        guard stream.writeCompoundFile(to: copy) else {
            throw .ioFailure(path: path, reason: "无法在临时目录写入工作簿的副本 (cannot write a copy of the workbook to the temporary directory)")
        }
        var handle: UnsafeRawPointer?
        let status = freexl_open(copy, &handle)
        defer { if let handle { freexl_close(handle) } }
        // An encrypted workbook (FILEPASS) may open with its cells garbled or fail to open:
        // refused either way, saying why.
        var encrypted = false
        if let handle {
            var password: UInt32 = 0
            encrypted = freexl_get_info(handle, UInt16(FREEXL_BIFF_PASSWORD), &password) == FREEXL_OK && password == UInt32(FREEXL_BIFF_OBFUSCATED)
        }
        if !encrypted && (status != FREEXL_OK || handle == nil) {
            encrypted = XLSRecords.isEncrypted(stream)
        }
        if encrypted {
            throw .notAWorkbook(path: path, reason: "工作簿设置了打开密码（已加密），无法读取；请在 Excel 中打开它、取消密码后另存 (the workbook is encrypted with a password)")
        }
        guard status == FREEXL_OK, let handle else { throw openFailure(status, path: path) }
        let book = try OpenWorkbook(handle: handle, path: path, stream: stream)
        return try body(book)
    }

    /// A FreeXL error from opening as a ReadError.
    private static func openFailure(_ status: Int32, path: String) -> ReadError {
        switch status {
        case FREEXL_FILE_NOT_FOUND:
            return .cannotOpen(path: path, reason: "文件不存在或无法读取 (no such file, or not readable)")
        case FREEXL_BIFF_WORKBOOK_NOT_FOUND:
            return .notAWorkbook(path: path, reason: "这个 OLE 复合文档里没有 Excel 工作簿，可能是 Word 文档等其他文件 (an OLE compound file without a workbook stream)")
        case FREEXL_UNSUPPORTED_CHARSET, FREEXL_INVALID_CHARACTER:
            return .damaged(path: path, place: "工作簿",
                            reason: "文字的编码（代码页）无法转换为 UTF-8（FreeXL 错误 \(status)） (text in a code page that cannot be converted, FreeXL error \(status))")
        case FREEXL_INSUFFICIENT_MEMORY:
            return .damaged(path: path, place: "工作簿", reason: "内存不足，无法载入工作簿 (out of memory loading the workbook)")
        case FREEXL_CRAFTED_FILE:
            return .damaged(path: path, place: "工作簿", reason: "文件结构严重损坏，疑似被刻意构造 (a severely damaged, possibly crafted, file)")
        default:
            return .damaged(path: path, place: "工作簿", reason: "文件结构已损坏或被截断（\(describe(status))） (damaged or cut short: \(describe(status)))")
        }
    }

    /// FreeXL's error codes in words.
    static func describe(_ status: Int32) -> String {
        let what: String
        switch status {
        case FREEXL_INVALID_CFBF_HEADER: what = "invalid compound file header"
        case FREEXL_CFBF_READ_ERROR: what = "compound file read error"
        case FREEXL_CFBF_SEEK_ERROR: what = "compound file seek error"
        case FREEXL_CFBF_INVALID_SIGNATURE: what = "invalid compound file signature"
        case FREEXL_CFBF_INVALID_SECTOR_SIZE: what = "invalid sector size"
        case FREEXL_CFBF_EMPTY_FAT_CHAIN: what = "empty FAT chain"
        case FREEXL_CFBF_ILLEGAL_FAT_ENTRY: what = "illegal FAT entry"
        case FREEXL_BIFF_INVALID_BOF: what = "invalid BIFF BOF record"
        case FREEXL_BIFF_INVALID_SST: what = "invalid shared string table"
        case FREEXL_BIFF_ILLEGAL_SST_INDEX: what = "shared string index out of range"
        case FREEXL_BIFF_ILLEGAL_SHEET_INDEX: what = "sheet index out of range"
        case FREEXL_ILLEGAL_CELL_ROW_COL: what = "cell outside the sheet"
        case FREEXL_ILLEGAL_RK_VALUE: what = "invalid RK number"
        case FREEXL_INVALID_MINI_STREAM: what = "invalid mini stream"
        case FREEXL_CFBF_ILLEGAL_MINI_FAT_ENTRY: what = "illegal mini FAT entry"
        default: what = "error"
        }
        return "FreeXL \(what), \(status)"
    }
}

/// An open FreeXL handle and its sheet names; closed by `withWorkbook`.
private struct OpenWorkbook {
    let handle: UnsafeRawPointer
    let names: [String]
    let sheets: [WorkbookSheet]
    /// The workbook stream and its sheet records (nil when they cannot be read), beside FreeXL.
    let workbookStream: WorkbookStream
    let records: [XLSRecords.Sheet]?

    init(handle: UnsafeRawPointer, path: String, stream: WorkbookStream) throws(ReadError) {
        self.handle = handle
        var count: UInt32 = 0
        guard freexl_get_info(handle, UInt16(FREEXL_BIFF_SHEET_COUNT), &count) == FREEXL_OK else {
            throw .damaged(path: path, place: "工作簿", reason: "无法读出工作表的数目 (the sheet count cannot be read)")
        }
        guard count <= 10_000 else {
            throw .damaged(path: path, place: "工作簿", reason: "工作表超过 10000 个 (more than 10,000 sheets)")
        }
        var names: [String] = []
        for i in 0..<Int(count) {
            var name: UnsafePointer<CChar>?
            let status = freexl_get_worksheet_name(handle, UInt16(i), &name)
            guard status == FREEXL_OK, let name else {
                throw .damaged(path: path, place: "第 \(i + 1) 个工作表",
                               reason: "无法读出工作表的名称（\(XLSReader.describe(status))） (the sheet's name cannot be read)")
            }
            names.append(String(cString: name))
        }
        self.names = names
        let records = XLSRecords.sheets(stream).flatMap { $0.count == names.count ? $0 : nil }
        self.workbookStream = stream
        self.records = records
        sheets = names.enumerated().map { i, name in
            WorkbookSheet(name: name, visibility: records?[i].visibility ?? .visible, kind: records?[i].kind ?? .worksheet, index: i)
        }
    }

    func stream(sheet index: Int, path: String, fieldBytes: Int,
                sink: (Int, [String]) -> Void, notes: (CellNote) -> Void, stop: () -> Bool) throws(ReadError) {
        let name = names[index]
        let sheetPlace = "工作表“\(name)”"
        var status = freexl_select_active_worksheet(handle, UInt16(index))
        guard status == FREEXL_OK else {
            throw .damaged(path: path, place: sheetPlace, reason: "无法打开这个工作表（\(XLSReader.describe(status))） (the sheet cannot be selected)")
        }
        var rows: UInt32 = 0
        var columns: UInt16 = 0
        status = freexl_worksheet_dimensions(handle, &rows, &columns)
        guard status == FREEXL_OK else {
            throw .damaged(path: path, place: sheetPlace, reason: "无法读出工作表的行列数（\(XLSReader.describe(status))） (the sheet's dimensions cannot be read)")
        }
        guard Int(rows) <= XLSReader.maximumRow, Int(columns) <= XLSReader.maximumColumns else {
            throw .damaged(path: path, place: sheetPlace,
                           reason: "工作表有 \(rows) 行、\(columns) 列，超过 Excel 97-2003 的上限 \(XLSReader.maximumRow) 行、\(XLSReader.maximumColumns) 列 (\(rows) rows and \(columns) columns, more than Excel 97-2003 allows)")
        }
        // Formula results, booleans and errors, which FreeXL leaves out or gives as 1 and 0; merged ranges.
        var overlay: [Int: String] = [:]
        var merges = MergeFiller([])
        if let records {
            let stream = workbookStream
            var version: UInt32 = 0
            var codePage: UInt32 = 0
            _ = freexl_get_info(handle, UInt16(FREEXL_BIFF_VERSION), &version)
            _ = freexl_get_info(handle, UInt16(FREEXL_BIFF_CODEPAGE), &codePage)
            do throws(XLSRecords.Failure) {
                let extras = try XLSRecords.extras(stream, sheetAt: records[index].offset, biff8: version == UInt32(FREEXL_BIFF_VER_8),
                                                   codePage: codePage, fieldBytes: fieldBytes)
                overlay = extras.cells
                merges = MergeFiller(extras.merges)
            } catch {
                switch error {
                case .tooLong(let row, let column):
                    throw .damaged(path: path, place: "\(sheetPlace)第 \(row + 1) 行单元格 \(Spreadsheet.columnLetter(column))\(row + 1)",
                                   reason: "单元格内容超过 \(fieldBytes) 字节 (a cell longer than \(fieldBytes) bytes)")
                }
            }
        }
        var cells: [String] = []
        cells.reserveCapacity(Int(columns))
        for row in 0..<rows {
            cells.removeAll(keepingCapacity: true)
            for column in 0..<columns {
                var value = FreeXL_CellValue()
                status = freexl_get_cell_value(handle, row, column, &value)
                let place = { "\(sheetPlace)第 \(Int(row) + 1) 行单元格 \(Spreadsheet.columnLetter(Int(column)))\(Int(row) + 1)" }
                guard status == FREEXL_OK else {
                    throw .damaged(path: path, place: place(), reason: "单元格无法读取（\(XLSReader.describe(status))） (the cell cannot be read)")
                }
                if !overlay.isEmpty, let shown = overlay[Int(row) * 256 + Int(column)] {
                    cells.append(shown)
                    continue
                }
                let text: String
                switch Int32(value.type) {
                case FREEXL_CELL_NULL:
                    text = ""
                case FREEXL_CELL_INT:
                    text = String(value.value.int_value)
                case FREEXL_CELL_DOUBLE:
                    let x = value.value.double_value
                    text = x.isFinite ? XLSXReader.displayedNumber(String(x)) : ""
                case FREEXL_CELL_TEXT, FREEXL_CELL_SST_TEXT, FREEXL_CELL_DATE, FREEXL_CELL_DATETIME, FREEXL_CELL_TIME:
                    guard let pointer = value.value.text_value else { text = ""; break }
                    let length = strlen(pointer)
                    guard length <= fieldBytes else {
                        throw .damaged(path: path, place: place(), reason: "单元格内容超过 \(fieldBytes) 字节 (a cell longer than \(fieldBytes) bytes)")
                    }
                    let raw = UnsafeRawBufferPointer(start: pointer, count: length)
                    var decoded = String(decoding: raw, as: UTF8.self)
                    // A date-formatted cell holding a whole day: the date alone, as Excel shows it.
                    if Int32(value.type) == FREEXL_CELL_DATETIME, decoded.hasSuffix(" 00:00:00") {
                        decoded.removeLast(9)
                    }
                    text = decoded
                default:
                    throw .damaged(path: path, place: place(), reason: "单元格的类型 \(value.type) 无法识别 (unknown cell type \(value.type))")
                }
                cells.append(text)
            }
            if !merges.isEmpty { merges.fill(row: Int(row) + 1, cells: &cells, notes: notes) }
            // Trailing empty cells are not data.
            while let last = cells.last, last.isEmpty { cells.removeLast() }
            if !cells.isEmpty {
                sink(Int(row) + 1, cells)
                if stop() { return }
            }
        }
    }
}

