// Bytes (writing): buffered CSV output, RFC 4180 quoting, and the guard against
// spreadsheet formula injection.
import CSupport
import SchoolStatModel

/// Writes CSV rows with minimal quoting.
public struct CSVWriter {
    public init(file: BufferedFile) {
        self.file = file
    }

    public let file: BufferedFile

    /// Whether a value would start a live formula in a spreadsheet: it starts with = + - @ TAB or CR. Plain
    /// numbers such as `-5` or `+3.2` are left alone: Excel reads them as numbers.
    public static func isFormulaLike(_ s: String) -> Bool {
        s.withBytes(isFormulaLike)
    }

    @inlinable @inline(__always)
    public static func isFormulaLike(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        switch utf8.first {
        case 0x3D, 0x40, 0x09, 0x0D: return true
        case 0x2B, 0x2D: return NumberText.parsePlainDecimal(String(decoding: utf8, as: UTF8.self)) == nil
        default: return false
        }
    }

    public func writeRow(_ fields: [String], defuse: Bool = true) {
        var line = CSVLines()
        for field in fields { line.field(field, defuse: defuse) }
        line.endRow()
        file.write(line)
    }
}

/// CSV rows built in memory (a batch of them), with the quoting and the
/// formula guard of `CSVWriter`; written out later in one piece.
public struct CSVLines {
    @usableFromInline var buffer: ByteBuffer
    @usableFromInline var rowStarted = false

    @inlinable
    public init() { buffer = ByteBuffer() }

    @inlinable
    public init(capacity: Int) { buffer = ByteBuffer(capacity: capacity) }

    public var isEmpty: Bool { buffer.isEmpty }

    /// The rows' bytes, for a caller that takes them in one piece.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R { try buffer.withBytes(body) }

    /// The rows' bytes as an array (a copy).
    public var bytes: [UInt8] { buffer.array }

    /// Empties the rows, keeping the storage for the next ones.
    @inlinable
    public mutating func removeAll() {
        buffer.removeAll()
        rowStarted = false
    }

    @inlinable
    mutating func separate() {
        if rowStarted { buffer.append(0x2C) }
        rowStarted = true
    }

    /// A text field: quoted when it must be, prefixed with ' when a spreadsheet would run it.
    @inlinable
    public mutating func field(_ s: String, defuse: Bool = true) {
        separate()
        s.withBytes { appendField($0, defuse: defuse) }
    }

    /// A text field from its UTF-8 bytes, quoted and guarded as `field(_:)` does a `String`.
    @inlinable
    public mutating func field(utf8: UnsafeBufferPointer<UInt8>) {
        separate()
        appendField(utf8, defuse: true)
    }

    /// A text field known to need neither quotes nor the formula guard (ASCII letters, digits, `_`).
    @inlinable
    public mutating func plainField(_ s: String) {
        separate()
        s.withBytes { buffer.appendBytes($0) }
    }

    @inlinable
    mutating func appendField(_ utf8: UnsafeBufferPointer<UInt8>, defuse: Bool) {
        Self.appendText(utf8, defuse: defuse, to: &buffer)
    }

    /// A text field's bytes: quoted when they must be, prefixed with ' when a spreadsheet would run them.
    @inlinable
    public static func appendText(_ utf8: UnsafeBufferPointer<UInt8>, defuse: Bool, to out: inout some ByteAppending) {
        guard let first = utf8.first else { return }
        let guarded = defuse && CSVWriter.isFormulaLike(utf8)
        let needsQuotes = first == 0x20 || utf8[utf8.count - 1] == 0x20 || schoolstat_csv_needs_quotes(utf8.baseAddress, utf8.count) != 0
        if !needsQuotes {
            if guarded { out.append(0x27) }
            out.appendBytes(utf8)
            return
        }
        out.append(0x22)
        if guarded { out.append(0x27) }
        // The runs up to and including each double quote, each quote then doubled.
        var run = 0
        while run < utf8.count {
            let quote = run + schoolstat_next_quote(utf8.baseAddress! + run, utf8.count - run)
            if quote == utf8.count {
                out.appendBytes(UnsafeBufferPointer(rebasing: utf8[run...]))
                break
            }
            out.appendBytes(UnsafeBufferPointer(rebasing: utf8[run...quote]))
            out.append(0x22)
            run = quote + 1
        }
        out.append(0x22)
    }

    /// A value in its canonical form. Numbers, dates and booleans need neither quotes
    /// nor the formula guard (`-5` is a number to a spreadsheet), so they are written directly.
    @inlinable
    public mutating func field(_ value: Value) {
        separate()
        Self.appendValue(value, to: &buffer)
    }

    @inlinable
    public static func appendValue(_ value: Value, to out: inout some ByteAppending) {
        switch value {
        case .missing: break
        case .integer(let i): appendInteger(i, to: &out)
        case .decimal(let d): appendDecimal(d, to: &out)
        case .date(let d): appendDate(d, to: &out)
        case .boolean(let b):
            let word: StaticString = b ? "true" : "false"
            out.appendBytes(UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
        case .text(let s): s.withBytes { appendText($0, defuse: true, to: &out) }
        case .real: value.description.withBytes { appendText($0, defuse: true, to: &out) }
        }
    }

    /// At most how many bytes `appendValue` writes for the value at `value` (read in place, not copied).
    @inlinable @inline(__always)
    public static func bound(of value: UnsafePointer<Value>) -> Int {
        switch value.pointee {
        case .missing: return 0
        case .integer: return 21
        case .decimal(let d): return d.exponent >= -19 ? 48 : 2 * d.description.utf8.count + 3
        case .date(let d): return (0...9999).contains(d.year) ? 10 : 2 * d.description.utf8.count + 3
        case .boolean: return 5
        case .text(let s): return 2 * s.utf8.count + 3
        case .real: return 2 * value.pointee.description.utf8.count + 3
        }
    }

    /// At most how many bytes `appendValue` writes for `value`.
    @inlinable
    public static func bound(of value: Value) -> Int {
        withUnsafePointer(to: value) { bound(of: $0) }
    }

    /// One row written into room reserved for it at once (`bound` bytes at most, the newline
    /// aside): no capacity test per byte. `bound` must hold what `body` writes (see `bound(of:)`).
    @inlinable
    public mutating func writeRow(bound: Int, _ body: (inout CSVRowWriter) -> Void) {
        precondition(!rowStarted)
        buffer.withReserved(bound + 1) { out in
            var row = CSVRowWriter(out: out)
            body(&row)
            row.out.append(0x0A)
            out = row.out
        }
    }

    /// A field already in its written form (from `encoded(_:)`): the same text on every row.
    @inlinable
    public mutating func field(encoded: [UInt8]) {
        separate()
        encoded.withUnsafeBufferPointer { buffer.appendBytes($0) }
    }

    /// A text field as `field(_:)` writes it, for `field(encoded:)`.
    @inlinable
    public static func encoded(_ s: String) -> [UInt8] {
        var lines = CSVLines()
        lines.field(s)
        return lines.bytes
    }

    @inlinable
    public mutating func field(_ integer: Int) {
        separate()
        Self.appendInteger(Int64(integer), to: &buffer)
    }

    @inlinable
    public mutating func endRow() {
        buffer.append(0x0A)
        rowStarted = false
    }

    @inlinable
    public static func appendInteger(_ value: Int64, to bytes: inout some ByteAppending) {
        if value < 0 { bytes.append(0x2D) }
        appendDigits(value.magnitude, minimumWidth: 1, to: &bytes)
    }

    /// Digits of `value`, left-padded with zeros to `minimumWidth`.
    @inlinable
    public static func appendDigits(_ value: UInt64, minimumWidth: Int, to bytes: inout some ByteAppending) {
        // At most 20 digits, plus padding; built right to left in a small buffer, appended at once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(20, minimumWidth)) { digits in
            // Two digits a division, from a table of "00" to "99".
            let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
            let table = pairs.utf8Start
            var i = digits.count
            var v = value
            while v >= 100 {
                let q = v / 100
                let r = Int(truncatingIfNeeded: v &- q &* 100) &* 2
                i -= 2
                digits[i] = table[r]
                digits[i + 1] = table[r + 1]
                v = q
            }
            if v >= 10 {
                let r = Int(truncatingIfNeeded: v) &* 2
                i -= 2
                digits[i] = table[r]
                digits[i + 1] = table[r + 1]
            } else {
                i -= 1
                digits[i] = UInt8(truncatingIfNeeded: v) &+ 0x30
            }
            while digits.count - i < minimumWidth {
                i -= 1
                digits[i] = 0x30
            }
            bytes.appendBytes(UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    /// An ID number masked as `IDNumber.mask` masks it, without a `String` when it is ASCII
    /// (every ID number that passed its checks); quoted and guarded as any other field.
    @inlinable
    public mutating func maskedIDNumber(_ id: String, plain: Bool = false) {
        separate()
        Self.appendMaskedIDNumber(id, plain: plain, to: &buffer)
    }

    @inlinable
    public static func appendMaskedIDNumber(_ id: String, plain: Bool, to out: inout some ByteAppending) {
        let done = id.withBytes { b -> Bool in
            guard b.allSatisfy({ $0 < 0x80 }) else { return false }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: b.count) { masked in
                // The ends `IDNumber.keeps` keeps, when it keeps any.
                let n = b.count
                masked.initialize(repeating: 0x2A)
                if IDNumber.keeps(0, of: n) {
                    for i in 0..<IDNumber.keptHead { masked[i] = b[i] }
                    for i in (n - IDNumber.keptTail)..<n { masked[i] = b[i] }
                }
                if plain { out.appendBytes(UnsafeBufferPointer(masked)) } else { appendText(UnsafeBufferPointer(masked), defuse: true, to: &out) }
            }
            return true
        }
        if !done { IDNumber.mask(id).withBytes { appendText($0, defuse: true, to: &out) } }
    }

    /// A name for the clean output, family name kept: `张三丰` → `张**` (as `PersonName.mask`).
    @inlinable
    public mutating func maskedName(_ name: String) {
        separate()
        Self.appendMaskedName(name, to: &buffer)
    }

    @inlinable
    public static func appendMaskedName(_ name: String, to out: inout some ByteAppending) {
        // Chinese characters only (three bytes each, one character each): mask by bytes.
        let done = name.withBytes { b -> Bool in
            guard b.count >= 3, b.count % 3 == 0, b.allSatisfy({ $0 >= 0x80 && ($0 < 0xC0 || ($0 >= 0xE4 && $0 <= 0xE9)) }),
                  stride(from: 0, to: b.count, by: 3).allSatisfy({ b[$0] >= 0xE4 }) else { return false }
            out.appendBytes(UnsafeBufferPointer(rebasing: b[0..<3]))
            for _ in 0..<max(1, b.count / 3 - 1) { out.append(0x2A) }
            return true
        }
        if !done { PersonName.mask(name).withBytes { appendText($0, defuse: true, to: &out) } }
    }

    /// Plain decimal notation, the same text as `FixedDecimal.description`.
    @inlinable
    public static func appendDecimal(_ d: FixedDecimal, to bytes: inout some ByteAppending) {
        if d.exponent >= 0 {
            appendInteger(d.mantissa, to: &bytes)
            return
        }
        let places = -d.exponent
        guard places <= 19 else {
            bytes.appendUTF8(d.description)
            return
        }
        if d.mantissa < 0 { bytes.append(0x2D) }
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let magnitude = d.mantissa.magnitude
        appendDigits(magnitude / scale, minimumWidth: 1, to: &bytes)
        bytes.append(0x2E)
        appendDigits(magnitude % scale, minimumWidth: places, to: &bytes)
    }

    /// ISO 8601, the same text as `Day.description`.
    @inlinable
    public static func appendDate(_ d: Day, to bytes: inout some ByteAppending) {
        guard (0...9999).contains(d.year) else {
            bytes.appendUTF8(d.description)
            return
        }
        // Every part has a fixed width: ten bytes, built in place.
        let (y, m, day) = (UInt8(truncatingIfNeeded: d.year / 100), UInt8(truncatingIfNeeded: d.month), UInt8(truncatingIfNeeded: d.day))
        let c = UInt8(truncatingIfNeeded: d.year % 100)
        let text: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0x30 + y / 10, 0x30 + y % 10, 0x30 + c / 10, 0x30 + c % 10, 0x2D, 0x30 + m / 10, 0x30 + m % 10, 0x2D, 0x30 + day / 10, 0x30 + day % 10)
        withUnsafeBytes(of: text) { bytes.appendBytes($0.assumingMemoryBound(to: UInt8.self)) }
    }
}

/// A row being written into room `CSVLines.writeRow` reserved: the same fields as `CSVLines`
/// writes, through a pointer.
public struct CSVRowWriter {
    @usableFromInline var out: ReservedBytes
    @usableFromInline var started = false

    @inlinable init(out: ReservedBytes) { self.out = out }

    @inlinable @inline(__always)
    mutating func separate() {
        if started { out.append(0x2C) }
        started = true
    }

    @inlinable public mutating func field(_ value: Value) { separate(); CSVLines.appendValue(value, to: &out) }
    @inlinable public mutating func plainField(_ s: String) { separate(); s.withBytes { out.appendBytes($0) } }
    @inlinable public mutating func maskedIDNumber(_ id: String, plain: Bool) { separate(); CSVLines.appendMaskedIDNumber(id, plain: plain, to: &out) }
    @inlinable public mutating func maskedName(_ name: String) { separate(); CSVLines.appendMaskedName(name, to: &out) }
    @inlinable public mutating func field(encoded: UnsafeBufferPointer<UInt8>) { separate(); out.appendBytes(encoded) }
    @inlinable public mutating func field(_ integer: Int) { separate(); CSVLines.appendInteger(Int64(integer), to: &out) }
}
