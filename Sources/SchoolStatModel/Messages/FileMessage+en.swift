// Model (messages): the English catalogue of file, header and row messages.

extension FileMessage {
    public var en: String {
        switch self {
        case let .blankLine(line):
            return "Line \(line) is blank and was skipped."
        case let .repeatedHeader(line):
            return "Line \(line) repeats the header row (files pasted together?) and was skipped."
        case let .titleRow(line):
            return "Line \(line) comes before the header and is neither header nor data (a title?); skipped."
        case let .columnNumbersRow(line):
            return "Line \(line) numbers the columns (a report form's column-number row), it is not data; skipped."
        case let .formulaWithoutValue(line, _, reference, formula):
            let what = formula.isEmpty ? "formula" : "formula \(formula)"
            return "The \(what) in cell \(reference) (line \(line)) has no stored result (the program that saved the file does not compute formulas), so the cell reads as empty. Open the file in Excel or WPS, save it once, and check it again."
        case let .moreFormulasWithoutValue(count, lastLine):
            return "\(count) more formulas have no stored result (the last on line \(lastLine)); those cells read as empty. Open the file in Excel or WPS, save it once, and check it again."
        case let .mergedCells(range, value):
            return "\(range) are merged cells; \"\(value)\" was filled into each of their rows. Unmerge them and fill every row before submitting."
        case let .tooFewFields(line, count, got, expected):
            let why = count > 1 ? " A value probably opens a quote that is never closed, swallowing the following lines; check the quotes." : " The row may be cut by a line break or miss a separator."
            return "Line \(line) has \(got) fields but the header has \(expected)." + why
        case let .tooManyFields(line, _, got, expected, _):
            return "Line \(line) has \(got) fields, \(got - expected) more than the header. A value may contain an unquoted comma."
        case let .trailingEmptyFields(line, _, got, expected):
            return "Line \(line) ends with \(got - expected) empty extra fields; ignored."
        case let .invalidEncoding(c, encoding, shown):
            return "\(c.titleEn) contains bytes that are not valid \(encoding): \"\(shown)\". Re-save the file as CSV UTF-8."
        case let .formulaLike(c, first):
            return "\(c.titleEn) starts with \"\(first)\", which a spreadsheet runs as a formula; outputs prefix it with ' to keep it text."
        case let .duplicateKey(_, columnsEn, key, firstLine, firstFile):
            let first = firstFile.map { "\($0) line \(firstLine)" } ?? "line \(firstLine)"
            return "Duplicate \(columnsEn) \"\(key)\": same as \(first). Remove the duplicate row or correct the key."
        case let .unknownHeader(t, letter, text):
            return "Header \"\(text)\" in column \(letter) is not part of \(t.titleEn); the column is ignored. Rename it or add an alias in the schema."
        case let .duplicateHeader(c, firstLetter, _, repeatedLetter, _):
            return "\(c.titleEn) appears twice, in columns \(firstLetter) and \(repeatedLetter); column \(firstLetter) is used. Remove the duplicate."
        case let .missingRequiredColumn(c, _):
            return "The file has no \(c.titleEn) column, which is required; every row fails. Add the column (header: \(c.titleEn) or \(c.titleZh))."
        case let .wrongEncoding(given, detected):
            return "The bytes at the start are not valid \(given), the encoding given with --encoding; they look like \(detected). Leave --encoding out or pass --encoding \(detected)."
        case let .waiverExpired(rule, key, expires, _):
            return "The waiver of \(rule) (\(key)) expired on \(expires) and no longer applies. Renew or remove it."
        case let .waiverUnused(rule, key):
            return "The waiver of \(rule) (\(key)) matched no finding; the problem may be solved. Consider removing it."
        case let .notRegularFile(path, kind):
            let what: String
            switch kind {
            case .pipe: what = "a named pipe"
            case .socket: what = "a socket"
            case .device: what = "a device"
            case .other: what = "a special file"
            }
            return "\(path) is \(what), not a regular file; not read. Save the export as a regular file and check that."
        case let .unreadableDirectory(path, reason):
            return "Cannot open the directory \(path) (\(reason)); the files in it were not read. Check its permissions."
        case let .brokenLink(path):
            return "\(path) is a symbolic link to nothing; not read."
        case .oldExcelWorkbook:
            return "Excel 97-2003 workbooks (.xls) are not read; skipped. Save the sheet as .xlsx or CSV and check that file."
        case .emptyFile:
            return "The file is empty."
        case let .unknownTable(scores):
            return "Cannot tell which table this is from its header (matched columns: \(scores)). Check the header or name the table with --table."
        case let .sheetSkipped(sheet, why, hidden):
            let what = (hidden ? "The hidden sheet " : "The sheet ") + "\"\(sheet)\""
            switch why {
            case .notATable(let scores):
                return "\(what) is not a table (its header matches no table; matched columns: \(scores)); not read. Notes and lists of choices can be left as they are; if it holds data, check its header."
            case .empty: return "\(what) is empty; not read."
            case .chart: return "\(what) is a chart, not a table; not read."
            case .notAWorksheet: return "\(what) is not a worksheet (a dialog or macro sheet); not read."
            case .notChosen: return "\(what) was not chosen with --sheet; not read."
            }
        case let .hiddenSheet(sheet, table):
            return "The sheet \"\(sheet)\" is hidden and was read as the \(table) table. Delete it if it should not be submitted; otherwise unhide it so that it can be checked."
        case let .noTableSheet(sheets):
            return "None of the workbook's sheets (\(sheets.joined(separator: ", "))) can be told from its header. Check the headers or name the table with --table."
        case let .yearNotCovered(t, year, years):
            return "\(t.name) has no row for \(year), the reporting year, only \(years.joined(separator: ", ")); the rules judged on that year's row have nothing to judge. Add the \(year) row, or pass --as-of with a date in the year to evaluate."
        }
    }
}
