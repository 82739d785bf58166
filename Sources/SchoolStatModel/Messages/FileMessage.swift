// Model (messages): what can be wrong with a file, its header or a whole row, as the message
// catalogue names it. The words are in FileMessage+zh.swift and FileMessage+en.swift.

/// A table as messages name it.
public struct TableSubject: Sendable {
    public var name: String
    public var titleZh: String
    public var titleEn: String
    public init(_ table: TableSchema) { name = table.name; titleZh = table.titleZh; titleEn = table.titleEn }
}

/// A problem with a file, its header, or a row as a whole.
public enum FileMessage: Sendable {
    case blankLine(line: Int)
    case repeatedHeader(line: Int)
    case titleRow(line: Int)
    /// The row under the header that numbers the columns (栏次: 甲、乙、1、2、3 …).
    case columnNumbersRow(line: Int)
    /// A formula whose result the file does not hold, in the cell `reference` (column `letter`).
    case formulaWithoutValue(line: Int, letter: String, reference: String, formula: String)
    /// `count` further formulas without a result, the last on `lastLine`.
    case moreFormulasWithoutValue(count: Int, lastLine: Int)
    /// A value merged down over the cells `range`, filled into each row.
    case mergedCells(range: String, value: String)
    /// A record of `lineCount` physical lines from `line` with `got` fields where the header has `expected`.
    case tooFewFields(line: Int, lineCount: Int, got: Int, expected: Int)
    case tooManyFields(line: Int, lineCount: Int, got: Int, expected: Int, extra: [String])
    case trailingEmptyFields(line: Int, lineCount: Int, got: Int, expected: Int)
    case invalidEncoding(column: CellSubject, encoding: String, shown: String)
    case formulaLike(column: CellSubject, first: String)
    /// The key `key` of the columns named `columnsZh` / `columnsEn` first occurred at `firstLine`,
    /// in `firstFile` when that is another file.
    case duplicateKey(columnsZh: String, columnsEn: String, key: String, firstLine: Int, firstFile: String?)
    case unknownHeader(table: TableSubject, letter: String, text: String)
    case duplicateHeader(column: CellSubject, firstLetter: String, firstText: String, repeatedLetter: String, repeatedText: String)
    /// `headers`: spellings the column's header may take.
    case missingRequiredColumn(column: CellSubject, headers: [String])
    case wrongEncoding(given: String, detected: String)
    case yearNotCovered(table: TableSubject, year: Int, years: [String])
    /// A waiver past its expiry; `wasNeeded` when it would have matched a finding.
    case waiverExpired(rule: String, key: String, expires: String, wasNeeded: Bool)
    case waiverUnused(rule: String, key: String)
    /// `kind`: a named pipe, a socket, a device, another special file.
    case notRegularFile(path: String, kind: SpecialFile)
    case unreadableDirectory(path: String, reason: String)
    case brokenLink(path: String)
    case oldExcelWorkbook
    case emptyFile
    /// `scores`: `table=matched columns`, for each table.
    case unknownTable(scores: String)
    /// A sheet of a workbook not read, and why.
    case sheetSkipped(sheet: String, why: SheetSkip, hidden: Bool)
    /// A hidden sheet read as `table`.
    case hiddenSheet(sheet: String, table: String)
    /// A workbook none of whose sheets is a table; `sheets` lists them.
    case noTableSheet(sheets: [String])
}

/// Why a sheet of a workbook was not read.
public enum SheetSkip: Sendable, Equatable {
    /// Its header matches no table (notes, a list of choices); `scores` as for unknownTable.
    case notATable(scores: String)
    case empty
    case chart
    /// A dialog or macro sheet.
    case notAWorksheet
    /// Other sheets were chosen with --sheet.
    case notChosen
}

public enum SpecialFile: Sendable {
    case pipe, socket, device, other
}
