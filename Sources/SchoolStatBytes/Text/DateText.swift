// Bytes (normalising): dates in the forms exports use — 2024-12-01, 2024/12/1,
// 2024.12.1, 2024年12月1日, 20241201 and Excel serial numbers.
import SchoolStatModel

public enum DateText {
    /// Excel's day 0 in the 1900 date system is 1899-12-30 once its fictitious
    /// 1900-02-29 (serial 60) is accounted for; serials from 61 on count from there.
    public static let excelEpochDays = Day(year: 1899, month: 12, day: 30)!.daysSinceEpoch

    public static func parse(_ s: String) -> Day? {
        var s = s
        return s.withUTF8(parse)
    }

    /// The same on UTF-8 bytes (already cleaned: full-width digits folded).
    public static func parse(_ whole: UnsafeBufferPointer<UInt8>) -> Day? {
        // The usual form first, read in place: 1985-03-02 (or with / or .), as the general
        // reading below would read it.
        if whole.count == 10, isPlainSeparator(whole[4]), isPlainSeparator(whole[7]),
           isDigit(whole[0]), isDigit(whole[1]), isDigit(whole[2]), isDigit(whole[3]), isDigit(whole[5]), isDigit(whole[6]),
           isDigit(whole[8]), isDigit(whole[9]) {
            let year = int(whole, 0, 4)
            return year >= 1000 ? Day(year: year, month: int(whole, 5, 7), day: int(whole, 8, 10)) : nil
        }
        var start = 0, end = whole.count
        while start < end && whole[start] == 0x20 { start += 1 }
        while end > start && whole[end - 1] == 0x20 { end -= 1 }
        guard start < end else { return nil }
        let b = UnsafeBufferPointer(rebasing: whole[start..<end])
        let n = b.count
        if b.allSatisfy(isDigit) {
            if n == 8 { return Day(year: int(b, 0, 4), month: int(b, 4, 6), day: int(b, 6, 8)) }
            if n <= 5 { return excelSerial(int(b, 0, n)) }
            return nil
        }
        // Excel serial with a time fraction: 45627.5
        if let point = b.firstIndex(of: 0x2E), (1...5).contains(point), point != 4, point + 1 < n,
           b[..<point].allSatisfy(isDigit), b[(point + 1)...].allSatisfy(isDigit) {
            return excelSerial(int(b, 0, point))
        }
        // Separated forms: three numbers split by - / . 年 月 日 号, optional time after a space or T.
        var numbers = (0, 0, 0)
        var count = 0
        var current = 0
        var digits = 0
        var separators = 0
        var sawYearMark = false
        var yearMarkFirst = false
        var monthMarkSecond = false
        var i = 0
        func push() -> Bool {
            guard digits > 0, count < 3 else { return false }
            switch count {
            case 0: numbers.0 = current
            case 1: numbers.1 = current
            default: numbers.2 = current
            }
            count += 1
            current = 0
            digits = 0
            return true
        }
        while i < n {
            let c = b[i]
            if c == 0x20 || c == 0x54 { break } // a time follows
            if isDigit(c) {
                guard digits < 9 else { return nil }
                current = current * 10 + Int(c - 0x30)
                digits += 1
                i += 1
                continue
            }
            // A separator must follow a number.
            guard push() else { return nil }
            let mark: Separator
            if c == 0x2D || c == 0x2F || c == 0x2E {
                mark = .plain
                i += 1
            } else if let m = chineseMark(b, at: i) {
                mark = m
                i += 3
            } else {
                return nil
            }
            separators += 1
            switch mark {
            case .year:
                sawYearMark = true
                if separators == 1 { yearMarkFirst = true }
            case .month:
                if separators == 2 { monthMarkSecond = true }
            case .day, .plain:
                break
            }
        }
        if digits > 0 { guard push() else { return nil } }
        guard count == 3 else { return nil }
        if sawYearMark && !(yearMarkFirst && monthMarkSecond) { return nil }
        guard numbers.0 >= 1000 else { return nil }
        return Day(year: numbers.0, month: numbers.1, day: numbers.2)
    }

    private enum Separator { case plain, year, month, day }

    /// 年 E5 B9 B4, 月 E6 9C 88, 日 E6 97 A5, 号 E5 8F B7.
    private static func chineseMark(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Separator? {
        guard i + 3 <= b.count else { return nil }
        switch (b[i], b[i + 1], b[i + 2]) {
        case (0xE5, 0xB9, 0xB4): return .year
        case (0xE6, 0x9C, 0x88): return .month
        case (0xE6, 0x97, 0xA5), (0xE5, 0x8F, 0xB7): return .day
        default: return nil
        }
    }

    @inline(__always)
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    @inline(__always)
    private static func isPlainSeparator(_ c: UInt8) -> Bool { c == 0x2D || c == 0x2F || c == 0x2E }

    private static func int(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        var v = 0
        for i in from..<to { v = v * 10 + Int(b[i] - 0x30) }
        return v
    }

    public static func excelSerial(_ serial: Int) -> Day? {
        // Accept 1900-03-01 … 2099-12-31; earlier serials hit Excel's leap-year bug.
        guard serial >= 61, serial <= 73415 else { return nil }
        return Day(daysSinceEpoch: excelEpochDays + serial)
    }

}
