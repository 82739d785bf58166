// Model (messages): the Chinese catalogue of file, header and row messages.

extension FileMessage {
    private static func lines(_ line: Int, _ count: Int) -> String {
        count > 1 ? "第 \(line)–\(line + count - 1) 行" : "第 \(line) 行"
    }

    public var zh: String {
        switch self {
        case let .blankLine(line):
            return "第 \(line) 行是空行，已跳过。"
        case let .repeatedHeader(line):
            return "第 \(line) 行重复了表头（可能是几个文件拼接而成），已跳过。"
        case let .titleRow(line):
            return "第 \(line) 行在表头之前，不是表头也不是数据（如标题行），已跳过。"
        case let .columnNumbersRow(line):
            return "第 \(line) 行是栏次（列的编号），不是数据，已跳过。"
        case let .formulaWithoutValue(line, letter, reference, formula):
            let what = formula.isEmpty ? "公式" : "公式 \(formula) "
            return "第 \(line) 行 \(letter) 列（\(reference)）的\(what)没有计算结果（保存它的程序没有计算公式）。请在 Excel 或 WPS 中打开并保存一次后再检查。"
        case let .moreFormulasWithoutValue(count, lastLine):
            return "另有 \(count) 个单元格的公式没有计算结果（最后一个在第 \(lastLine) 行），这些单元格按空值检查。请在 Excel 或 WPS 中打开并保存一次后再检查。"
        case let .mergedCells(range, value):
            return "\(range) 是合并单元格，已把“\(value)”填到每一行；提交前请取消合并并填满。"
        case let .tooFewFields(line, count, got, expected):
            // A short record spanning several lines is the mark of a quote opened and never closed.
            let why = count > 1 ? "很可能是某个值以引号 \" 开头却没有结束引号，后面的行被并进了这个值；请检查引号是否成对。" : "这一行可能被换行截断，或少了分隔符；请核对该行。"
            return "\(Self.lines(line, count))只有 \(got) 列，表头有 \(expected) 列。" + why
        case let .tooManyFields(line, count, got, expected, extra):
            let shown = extra.prefix(3).map { "“\($0)”" }.joined(separator: "、")
            return "\(Self.lines(line, count))有 \(got) 列，比表头多 \(got - expected) 列（多出：\(shown)）。可能是某个值里含有未加引号的逗号；请检查该行。"
        case let .trailingEmptyFields(line, count, got, expected):
            return "\(Self.lines(line, count))末尾有 \(got - expected) 个多余的空列，已忽略。"
        case let .invalidEncoding(c, encoding, shown):
            return "「\(c.label)」含有不能按 \(encoding) 解码的字节（显示为 �）：“\(shown)”。文件可能混用了编码或已损坏；请在 Excel 中另存为“CSV UTF-8”后重新导出。"
        case let .formulaLike(c, first):
            return "「\(c.label)」的值以“\(first)”开头，在 Excel 中会被当作公式。输出文件中已在前面加上单引号 ' 使其成为文字；请核对该值。"
        case let .duplicateKey(columnsZh, _, key, firstLine, firstFile):
            let first = firstFile.map { "\($0) 第 \(firstLine) 行" } ?? "第 \(firstLine) 行"
            return "\(columnsZh) 为“\(key)”的记录重复：与\(first)相同。每条记录只能出现一次；请删除重复行，或更正编号。"
        case let .unknownHeader(t, letter, text):
            return "第 \(letter) 列的表头“\(text)”不属于「\(t.titleZh)」，该列已忽略。如果它应当对应某个字段，请改用标准列名或在规则文件中添加别名。"
        case let .duplicateHeader(c, firstLetter, firstText, repeatedLetter, repeatedText):
            return "「\(c.label)」出现了两次：第 \(firstLetter) 列“\(firstText)”和第 \(repeatedLetter) 列“\(repeatedText)”。已使用第 \(firstLetter) 列，第 \(repeatedLetter) 列被忽略；请删除重复的列。"
        case let .missingRequiredColumn(c, headers):
            return "文件缺少必填列「\(c.label)」，所有数据行都无法通过。请添加该列（表头可写作：\(headers.joined(separator: "、"))）。"
        case let .wrongEncoding(given, detected):
            return "按 --encoding \(given) 读取时，文件开头的字节不是有效的 \(given) 编码；它们看起来是 \(detected)。请去掉 --encoding 让程序自动识别，或改为 --encoding \(detected)。"
        case let .waiverExpired(rule, key, expires, wasNeeded):
            return "对规则 \(rule)（\(key)）的豁免已于 \(expires) 到期，不再生效\(wasNeeded ? "，相关问题已按原级别报告" : "")。请续期或删除该豁免。"
        case let .waiverUnused(rule, key):
            return "对规则 \(rule)（\(key)）的豁免没有对应的问题，可能问题已解决；请考虑删除。"
        case let .notRegularFile(path, kind):
            let what: String
            switch kind {
            case .pipe: what = "命名管道"
            case .socket: what = "套接字"
            case .device: what = "设备文件"
            case .other: what = "特殊文件"
            }
            return "\(path) 是\(what)，不是普通文件，未读取。请把导出的数据保存为普通文件后再检查。"
        case let .unreadableDirectory(path, reason):
            return "无法打开目录 \(path)（\(reason)），其中的文件未读取。请检查目录的权限。"
        case let .brokenLink(path):
            return "\(path) 是一个指向不存在文件的符号链接，未读取。"
        case .oldExcelWorkbook:
            return "旧版 Excel 97-2003 工作簿（.xls）不能直接读取，已跳过。请在 Excel 中“另存为” .xlsx 或 CSV 后再检查。"
        case .emptyFile:
            return "文件是空的，没有表头也没有数据。"
        case let .unknownTable(scores):
            return "无法从表头识别这是哪张表（各表匹配到的列数：\(scores)）。请检查表头是否为标准列名，或用 --table 指定表名。"
        case let .sheetSkipped(sheet, why, hidden):
            let what = hidden ? "隐藏的工作表「\(sheet)」" : "工作表「\(sheet)」"
            switch why {
            case .notATable(let scores):
                return "\(what)不是数据表（表头与任何表都不匹配；各表匹配到的列数：\(scores)），未读取。填表说明、选项列表这样的表可以不管；如果它其实是数据，请检查它的表头。"
            case .empty: return "\(what)是空的，未读取。"
            case .chart: return "\(what)是图表，不是数据表，未读取。"
            case .notAWorksheet: return "\(what)不是普通工作表（对话框或宏表），未读取。"
            case .notChosen: return "\(what)没有用 --sheet 选中，未读取。"
            }
        case let .hiddenSheet(sheet, table):
            return "工作表「\(sheet)」是隐藏的，按“\(table)”表读取了。如果它不该提交，请删除它；否则请取消隐藏，方便核对。"
        case let .noTableSheet(sheets):
            return "工作簿的各个工作表（\(sheets.map { "「\($0)」" }.joined(separator: "、"))）都无法从表头识别是哪张表。请检查表头是否为标准列名，或用 --table 指定表名。"
        case let .yearNotCovered(t, year, years):
            return "「\(t.titleZh)」中没有 \(year) 年（统计基准日所在年份）的行，只有 \(years.joined(separator: "、")) 年，按年份评估的规则没有可评估的数据。请补上 \(year) 年的数据，或用 --as-of 指定要评估年份的统计基准日（如 --as-of \(years.last ?? String(year))-09-30）。"
        }
    }
}
