// Normalising: turns one raw cell into a typed, canonical value for its
// column, or explains what was expected.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// Why a cell could not be accepted, in words a school clerk can act on.
public struct CellProblem: Error {
    /// The constraint that failed: `required`, `type`, `range`, `enum`, `length`, `digits`, `pattern`, `unit`, `encoding`.
    public var constraint: String
    public var zh: String
    public var en: String
    public var expected: String
    public var severity: Severity = .error
}

/// Normalises the cells of one column, knowing its schema and the unit its header declared.
/// A class: it is shared per column for a whole file, never copied per cell.
public final class CellNormaliser {
    public let column: ColumnSpec
    public let vocabulary: Vocabulary
    public let converter: ChineseConverter
    /// Power of ten from a unit in the header, e.g. 4 for `（万元）`.
    public let headerScale: Int
    public let headerUnit: String?
    /// First bytes of the column's missing-value words (match keys), for a quick "cannot be one".
    private let missingFirstBytes: [Bool]
    /// The missing-value words (match keys), and the spellings this column takes exactly as written.
    private let missingWords: ByteLookup<Bool>
    /// Only spellings that cleaning leaves as they are and that are no missing-value word: a
    /// cell found here needs no other test.
    private var exactEnum: ByteLookup<String>
    private var exactBoolean: ByteLookup<Bool>
    /// What an empty cell is, when the general way takes it (nil: it reports it, `required`).
    /// Worked out once: a column most rows leave empty takes no general way per row.
    private var emptyValue: Value?
    /// Longer text is no missing-value word, even with brackets or spaces around it (`（无）`).
    private let missingMaxBytes: Int
    private let pattern: Pattern?
    /// The lengths at which a code cell of digits only, or of digits and capitals other than E,
    /// matches the pattern, when every class of the pattern allows all of those bytes.
    private let patternDigitLengths: ClosedRange<Int>?
    private let patternCodeLengths: ClosedRange<Int>?
    /// An enumeration's accepted values, for messages: the keys, and their Chinese spellings.
    private let allowedKeys: String
    /// How messages name the column (the catalogue's subject).
    public let subject: CellSubject
    private let allowedZh: String

    public init(column: ColumnSpec, vocabulary: Vocabulary, converter: ChineseConverter, headerUnit: String?) {
        self.column = column
        self.vocabulary = vocabulary
        self.converter = converter
        self.headerUnit = headerUnit
        if let headerUnit, let unit = column.unit, let p = unit.scales[TextCleaner.matchKey(headerUnit)] {
            headerScale = p
        } else {
            headerScale = 0
        }
        var firsts = [Bool](repeating: false, count: 256)
        for token in column.missingTokens { if let b = token.utf8.first { firsts[Int(b)] = true } }
        missingFirstBytes = firsts
        missingWords = ByteLookup(column.missingTokens.map { ($0, true) })
        // Filled below, once the tests that choose their spellings can be called.
        exactEnum = ByteLookup([])
        exactBoolean = ByteLookup([])
        missingMaxBytes = 2 * (column.missingTokens.map(\.utf8.count).max() ?? 0) + 6
        pattern = column.pattern
        let digits = Array(UInt8(ascii: "0")...UInt8(ascii: "9"))
        patternDigitLengths = column.pattern?.lengths(whenMadeOf: digits)
        patternCodeLengths = column.pattern?.lengths(whenMadeOf: digits + (UInt8(ascii: "A")...UInt8(ascii: "Z")).filter { $0 != UInt8(ascii: "E") })
        subject = CellSubject(column)
        allowedKeys = column.enumValues.joined(separator: ", ")
        allowedZh = column.hintZh ?? column.enumValues.map { column.zhText($0) }.joined(separator: "、")
        // A spelling the byte test cannot vouch for (`√`: its lead byte starts characters cleaning
        // changes) is still taken when cleaning is seen, here, to leave it as it is.
        let taken: (String) -> Bool = { [self] spelling in
            spelling.withBytes(isCleanValue) || spelling.withBytes { b in
                guard let first = b.first, first != 0x27, first != 0x3D else { return false }
                return TextCleaner.clean(spelling, folding: .all) == spelling && !isMissing(spelling)
            }
        }
        if column.type == .enumeration { exactEnum = ByteLookup(column.enumExact.filter { taken($0.key) }.map { ($0.key, $0.value) }) }
        if column.type == .boolean { exactBoolean = ByteLookup(vocabulary.exactBooleans.filter { taken($0.key) }.map { ($0.key, $0.value) }) }
        if case .success(let value) = normalise("") { emptyValue = value }
    }

    /// The value shown in messages: ID numbers are masked.
    public func display(_ raw: String) -> String {
        column.personal == .idNumber ? IDNumber.mask(raw) : raw
    }

    public func normalise(_ raw: String) -> Result<Value, CellProblem> {
        let folding: WidthFolding = (column.type == .text) ? .alphanumerics : .all
        var cleaned = TextCleaner.clean(raw, folding: folding)
        if isMissing(cleaned) {
            if column.required {
                return .failure(problem("required", .required, expected: "非空 (a value)"))
            }
            return .success(.missing)
        }
        // Excel's ways of keeping leading zeros: a leading apostrophe or ="0123".
        if let first = cleaned.withBytes({ $0.first }), first == 0x27 || first == 0x3D {
            if first == 0x27 && column.type != .text { cleaned.removeFirst() }
            if cleaned.hasPrefix("=\""), cleaned.hasSuffix("\""), cleaned.count >= 3 {
                cleaned = String(cleaned.dropFirst(2).dropLast())
            }
        }
        switch column.type {
        case .text: return checkText(converter.toSimplified(cleaned), raw)
        case .code: return normaliseCode(cleaned, raw)
        case .integer, .decimal: return normaliseNumber(cleaned, raw)
        case .date: return normaliseDate(cleaned, raw)
        case .boolean: return normaliseBoolean(cleaned, raw)
        case .enumeration: return normaliseEnum(cleaned, raw)
        }
    }

    private func matchesPattern(_ value: String) -> Bool {
        pattern?.matches(value) ?? true
    }

    /// A problem in both languages, from the message catalogue (Model/Messages).
    private func problem(_ constraint: String, _ message: CellMessage, expected: String) -> CellProblem {
        CellProblem(constraint: constraint, zh: message.zh(subject), en: message.en(subject), expected: expected)
    }

    /// The common case straight from a field's bytes: a cell that cleaning leaves as it is,
    /// that is no missing-value word, and that is a valid date, number, code, exact enum
    /// spelling, boolean or simplified text for the column. Nil means "take the general way" (`normalise`),
    /// which gives the same value for these cells and explains every problem; no `String`
    /// is built here except for the value of a code or text. `FastPathTests` checks both agree.
    public func acceptedValue(_ b: UnsafeBufferPointer<UInt8>) -> Value? {
        if b.isEmpty { return emptyValue }
        // Each type tests what it needs. Codes, numbers and the exact spellings of enums and
        // booleans are made of bytes that cleaning leaves alone, so their own test says the cell
        // is clean; text and dates are tested for that first.
        switch column.type {
        case .code:
            return isCodeAsWritten(b) ? .text(String(decoding: b, as: UTF8.self)) : nil
        case .text:
            return isCleanValue(b) && isTextAsWritten(b) ? .text(String(decoding: b, as: UTF8.self)) : nil
        case .date:
            guard isCleanValue(b), let day = DateText.parse(b), column.earliest.map({ day >= $0 }) ?? true,
                  column.latest.map({ day <= $0 }) ?? true else { return nil }
            return .date(day)
        case .integer, .decimal:
            // A number taking the whole cell is printable ASCII, clean unless it ends in spaces
            // (which the number's reading skips); one starting with a sign could be a column's
            // missing-value word.
            guard case .success(let (parsed, restStart)) = NumberText.parseLeading(b), restStart == b.count,
                  b[b.count - 1] != 0x20, (b[0] >= 0x30 && b[0] <= 0x39) || isNoMissingWord(b) else { return nil }
            guard let number = parsed.scaled(byPowerOfTen: headerScale) else { return nil }
            if (column.minimum.map { number < $0 } ?? false) || (column.maximum.map { number > $0 } ?? false) { return nil }
            if column.type == .integer { return number.integerValue.map { .integer($0) } }
            return .decimal(number)
        case .enumeration:
            return exactEnum.value(for: b).map { .text($0) }
        case .boolean:
            return exactBoolean.value(for: b).map { .boolean($0) }
        }
    }

    /// A field's value: straight from its bytes when `acceptedValue` takes it, else the general
    /// way. Nil when the bytes are not valid UTF-8.
    @inline(__always)
    public func normalise(field b: UnsafeBufferPointer<UInt8>) -> Result<Value, CellProblem>? {
        if let value = acceptedValue(b) { return .success(value) }
        return normaliseInFull(field: b)
    }

    /// The general way alone, for a caller that has already tried `acceptedValue`. Nil when
    /// the bytes are not valid UTF-8.
    public func normaliseInFull(field b: UnsafeBufferPointer<UInt8>) -> Result<Value, CellProblem>? {
        guard UTF8Check.isValid(b) else { return nil }
        return normalise(String(decoding: b, as: UTF8.self))
    }

    /// Whether a code or text cell is accepted with its canonical text exactly the bytes as
    /// written (what `acceptedValue` would give, without building it): the key columns' fast way.
    public func isAcceptedAsWritten(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        switch column.type {
        case .code: return isCodeAsWritten(b)
        case .text: return isCleanValue(b) && isTextAsWritten(b)
        default: return false
        }
    }

    /// Text that cleaning leaves as it is and that is no missing-value word.
    private func isCleanValue(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = b.first, first != 0x27, first != 0x3D, TextCleaner.isAlreadyClean(b) else { return false }
        return isNoMissingWord(b)
    }

    private func isNoMissingWord(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        switch missingVerdict(b) {
        case .no: return true
        case .lookUp: return missingWords.value(for: b) == nil
        case .yes, .lookUpKey: return false
        }
    }

    /// A text cell, already clean: whether it is its canonical value and passes the column's checks.
    private func isTextAsWritten(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        // ASCII and Chinese characters U+4000–9FFF only (three bytes each, lead E4–E9): valid
        // UTF-8 with one character per ASCII byte or per three-byte sequence.
        var characters = 0, i = 0, ascii = true
        while i < b.count {
            let c = b[i]
            if c < 0x80 { characters += 1; i += 1; continue }
            guard c >= 0xE4 && c <= 0xE9, i + 2 < b.count, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80 else { return false }
            ascii = false
            characters += 1
            i += 3
        }
        if !ascii && converter.isAvailable && converter.needsConversion(b) { return false }
        if let length = column.length, !length.contains(characters) { return false }
        return matchesSimplePattern(b)
    }

    /// A code cell: whether it is its canonical value as written and passes the column's checks.
    /// Digits and capitals other than E (an exponent) leave nothing to clean, remove, fold or
    /// upper-case; only a cell starting with a letter can be a missing-value word (`NA`, `NULL`).
    private func isCodeAsWritten(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = b.first else { return false }
        var allDigits = true
        // Eight digits at a time (ID numbers and school codes are all digits), then byte by byte.
        var start = 0
        if let base = b.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101
            while start + 8 <= b.count {
                let v = UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self)
                // Each byte 0x30–0x39: high nibble 3, and adding 6 does not carry into it.
                guard v & (0xF0 &* ones) == 0x30 &* ones, (v &+ 0x06 &* ones) & (0xF0 &* ones) == 0x30 &* ones else { break }
                start += 8
            }
        }
        for c in UnsafeBufferPointer(rebasing: b[start...]) {
            if c >= 0x30 && c <= 0x39 { continue }
            guard c >= 0x41 && c <= 0x5A && c != 0x45 else { return false }
            allDigits = false
        }
        if column.digitsOnly && !allDigits { return false }
        if let length = column.length, !length.contains(b.count) { return false }
        // Its match key is itself lower-cased: no missing-value word starts with that first byte,
        // or the words are looked up.
        if first > 0x39 && missingFirstBytes[Int(first | 0x20)] && !isNoMissingWord(b) { return false }
        // Made only of bytes every class of the pattern allows: its length settles the match.
        if let lengths = allDigits ? patternDigitLengths : patternCodeLengths { return lengths.contains(b.count) }
        return matchesSimplePattern(b)
    }

    @inline(__always)
    private func matchesSimplePattern(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        // A pattern the bytes cannot settle leaves the cell to the full normalisation.
        guard let pattern else { return true }
        return pattern.quickMatch(b) ?? false
    }

    private enum MissingVerdict { case no, yes, lookUp, lookUpKey }

    private func isMissing(_ cleaned: String) -> Bool {
        switch cleaned.withBytes(missingVerdict) {
        case .no: return false
        case .yes: return true
        case .lookUp: return missingWords.contains(cleaned)
        case .lookUpKey: return missingWords.contains(TextCleaner.keyOfCleaned(cleaned))
        }
    }

    /// Whether cleaned text is a missing-value word, as far as its bytes tell without a lookup.
    private func missingVerdict(_ bytes: UnsafeBufferPointer<UInt8>) -> MissingVerdict {
        guard let first = bytes.first else { return .yes }
        if bytes.count > missingMaxBytes { return .no }
        if first >= 0x30 && first <= 0x39 { return .no } // numbers are never placeholders
        // A first character the match key keeps as it is (a lowercase ASCII letter, a Chinese
        // character) that starts no missing-value word: not one.
        let keyKeepsFirst = (first >= 0x61 && first <= 0x7A) || (first >= 0xE4 && first <= 0xE9)
        if keyKeepsFirst && !missingFirstBytes[Int(first)] { return .no }
        // ASCII whose key starts with a letter no missing-value word starts with: not one.
        if first >= 0x41 && first <= 0x5A && !missingFirstBytes[Int(first) + 0x20]
            && bytes.allSatisfy({ $0 < 0x80 && !TextCleaner.isDroppedASCII($0) }) { return .no }
        // Chinese characters only (U+4000–9FFF): the text is its own match key.
        if bytes.allSatisfy({ $0 >= 0x80 && ($0 < 0xC0 || ($0 >= 0xE4 && $0 <= 0xE9)) }) { return .lookUp }
        return .lookUpKey
    }

    /// Length and pattern, shared by text and code columns.
    private func checkText(_ value: String, _ raw: String, isASCII: Bool = false) -> Result<Value, CellProblem> {
        if let length = column.length, !length.contains(isASCII ? value.utf8.count : Self.characterCount(value)) {
            return .failure(problem("length", .length(expected: describe(length), found: value.count, shown: display(raw)),
                expected: "\(describe(length)) 字符"))
        }
        if !matchesPattern(value) {
            return .failure(problem("pattern", .pattern(shown: display(raw)), expected: column.pattern?.source ?? ""))
        }
        return .success(.text(value))
    }

    /// Characters as a person counts them; ASCII text is counted by its bytes.
    private static func characterCount(_ s: String) -> Int {
        s.withBytes { $0.allSatisfy { $0 < 0x80 } } ? s.utf8.count : s.count
    }

    private func describe(_ r: ClosedRange<Int>) -> String {
        r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)–\(r.upperBound)"
    }

    private func normaliseCode(_ cleaned: String, _ raw: String) -> Result<Value, CellProblem> {
        // One look at the bytes decides which of the steps below apply.
        var hasExponentLetter = false, hasSpace = false, hasLowerOrNonASCII = false, hasNonASCII = false, allDigits = true
        cleaned.withBytes { bytes in for b in bytes {
            if b == 0x45 || b == 0x65 { hasExponentLetter = true }
            if b == 0x20 { hasSpace = true }
            if b >= 0x61 { hasLowerOrNonASCII = hasLowerOrNonASCII || b <= 0x7A || b >= 0x80 }
            if b >= 0x80 { hasNonASCII = true }
            if b < 0x30 || b > 0x39 { allDigits = false }
        } }
        if hasExponentLetter, NumberText.looksLikeScientific(cleaned) {
            return .failure(problem("scientific", .scientific(shown: display(raw)),
                expected: column.length.map { "\(describe($0)) 位编码" } ?? "编码 (a code)"))
        }
        var value = hasSpace ? String(cleaned.filter { $0 != " " }) : cleaned
        if column.uppercase, hasLowerOrNonASCII { value = value.uppercased() }
        if column.digitsOnly, !allDigits, !(hasSpace && value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })) {
            return .failure(problem("digits", .digits(shown: display(raw)),
                expected: column.length.map { "\(describe($0)) 位数字" } ?? "数字 (digits)"))
        }
        return checkText(value, raw, isASCII: !hasLowerOrNonASCII || column.uppercase && !hasNonASCII)
    }

    private func unitNames() -> String {
        guard let unit = column.unit else { return "" }
        return unit.scales.keys.sorted().prefix(6).joined(separator: "、")
    }

    private func normaliseNumber(_ cleaned: String, _ raw: String) -> Result<Value, CellProblem> {
        let expectedZh = column.type == .integer ? "整数" : "数字"
        var notNumber: CellProblem { problem("type", .notNumber(integer: column.type == .integer, unit: column.unit?.canonical, shown: display(raw)),
            expected: expectedZh + (column.unit.map { "（\($0.canonical)）" } ?? "")) }
        var number: FixedDecimal
        var rest: String
        if column.acceptRatio, let colon = cleaned.firstIndex(of: ":") {
            guard let a = NumberText.parsePlainDecimal(String(cleaned[..<colon])),
                  let b = NumberText.parsePlainDecimal(String(cleaned[cleaned.index(after: colon)...])), a.mantissa != 0 else {
                return .failure(notNumber)
            }
            // 1:12.77 means 12.77 per one.
            if a == FixedDecimal(1) { number = b } else {
                let perOne = (b.doubleValue / a.doubleValue * 1_000_000).rounded()
                guard abs(perOne) < 9e18 else { return .failure(problem("type", .tooManyDigits(shown: display(raw)), expected: expectedZh)) }
                number = FixedDecimal(mantissa: Int64(perOne), exponent: -6)
            }
            rest = ""
        } else {
            switch NumberText.parseLeading(cleaned) {
            case .success(let (n, r)):
                number = n
                rest = r
            case .failure(.badGrouping):
                return .failure(problem("type", .misplacedGrouping(shown: display(raw)), expected: expectedZh))
            case .failure(.tooManyDigits):
                return .failure(problem("type", .tooManyDigits(shown: display(raw)), expected: expectedZh))
            case .failure(.notANumber):
                return .failure(notNumber)
            }
        }
        var power = headerScale
        if !rest.isEmpty {
            let key = TextCleaner.matchKey(rest)
            guard let unit = column.unit, let p = unit.scales[key] else {
                if column.unit == nil {
                    return .failure(notNumber)
                }
                return .failure(problem("unit", .unknownUnit(shown: display(raw), written: rest, unit: column.unit!.canonical, spellings: unitNames()),
                    expected: column.unit!.canonical))
            }
            power = p
        }
        // A number the unit makes too large to hold is reported, as one with too many digits is.
        guard let scaled = number.scaled(byPowerOfTen: power) else {
            return .failure(problem("type", .tooManyDigits(shown: display(raw)), expected: expectedZh))
        }
        number = scaled
        if column.type == .integer {
            guard let i = number.integerValue else {
                return .failure(problem("type", .notWhole(shown: display(raw), read: number.description), expected: "整数"))
            }
            return checkRange(.integer(i), number, raw)
        }
        return checkRange(.decimal(number), number, raw)
    }

    private func checkRange(_ value: Value, _ number: FixedDecimal, _ raw: String) -> Result<Value, CellProblem> {
        let low = column.minimum, high = column.maximum
        if (low.map { number < $0 } ?? false) || (high.map { number > $0 } ?? false) {
            let range = "\(low.map(\.description) ?? "…") ~ \(high.map(\.description) ?? "…")"
            let unit = column.unit?.canonical ?? ""
            let negative = number.mantissa < 0 && (low.map { $0.mantissa >= 0 } ?? false)
            // Say how the value was read when a unit in the header scaled it.
            return .failure(problem("range", .outOfRange(shown: display(raw), range: range, unit: unit, negative: negative,
                                                         headerUnit: headerScale != 0 ? (headerUnit ?? "") : nil, read: number.description),
                expected: range))
        }
        return .success(value)
    }

    private func normaliseDate(_ cleaned: String, _ raw: String) -> Result<Value, CellProblem> {
        guard let day = DateText.parse(cleaned) else {
            return .failure(problem("type", .notDate(shown: display(raw)), expected: "日期 YYYY-MM-DD"))
        }
        if (column.earliest.map { day < $0 } ?? false) || (column.latest.map { day > $0 } ?? false) {
            let range = "\(column.earliest.map(\.description) ?? "…") ~ \(column.latest.map(\.description) ?? "…")"
            return .failure(problem("range", .dateOutOfRange(day: day.description, shown: display(raw), range: range), expected: range))
        }
        return .success(.date(day))
    }

    private func normaliseBoolean(_ cleaned: String, _ raw: String) -> Result<Value, CellProblem> {
        if let exact = exactBoolean.value(for: cleaned) { return .success(.boolean(exact)) }
        let key = TextCleaner.keyOfCleaned(converter.toSimplified(cleaned))
        if vocabulary.trueWords.contains(key) { return .success(.boolean(true)) }
        if vocabulary.falseWords.contains(key) { return .success(.boolean(false)) }
        return .failure(problem("type", .notBoolean(shown: display(raw)), expected: "是/否"))
    }

    private func normaliseEnum(_ cleaned: String, _ raw: String) -> Result<Value, CellProblem> {
        if let canonical = exactEnum.value(for: cleaned) { return .success(.text(canonical)) }
        let key = TextCleaner.keyOfCleaned(converter.toSimplified(cleaned))
        if let canonical = column.enumAliases[key] { return .success(.text(canonical)) }
        return .failure(problem("enum", .notAccepted(shown: display(raw), acceptedZh: allowedZh, acceptedEn: column.hintEn ?? allowedKeys),
            expected: allowedKeys))
    }
}
