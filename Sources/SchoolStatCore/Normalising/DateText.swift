// Normalising: dates in the forms exports use — 2024-12-01, 2024/12/1,
// 2024.12.1, 2024年12月1日, 20241201 and Excel serial numbers.

enum DateText {
    /// Excel's day 0 in the 1900 date system is 1899-12-30 once its fictitious
    /// 1900-02-29 (serial 60) is accounted for; serials from 61 on count from there.
    static let excelEpochDays = Day(year: 1899, month: 12, day: 30)!.daysSinceEpoch

    static func parse(_ s: String) -> Day? {
        // The canonical form, and the commonest: YYYY-MM-DD.
        if s.utf8.count == 10 {
            var b = s.utf8.makeIterator()
            var digits: [Int] = []
            var ok = true
            var position = 0
            while let c = b.next() {
                if position == 4 || position == 7 {
                    if c != 0x2D { ok = false; break }
                } else if c >= 0x30 && c <= 0x39 {
                    digits.append(Int(c - 0x30))
                } else { ok = false; break }
                position += 1
            }
            if ok && digits.count == 8 {
                return Day(year: digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3],
                           month: digits[4] * 10 + digits[5], day: digits[6] * 10 + digits[7])
            }
        }
        let text = s.trimmingSpaces()
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            if bytes.count == 8 {
                return Day(year: int(bytes[0..<4]), month: int(bytes[4..<6]), day: int(bytes[6..<8]))
            }
            if bytes.count <= 5 { return excelSerial(int(bytes[...])) }
            return nil
        }
        // Excel serial with a time fraction: 45627.5
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        if pieces.count == 2, (1...5).contains(pieces[0].count), pieces[0].count != 4, !pieces[1].isEmpty,
           pieces.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }) {
            return excelSerial(Int(pieces[0])!)
        }
        // Separated forms: numbers split by - / . 年 月 日, optional time after a space or T.
        var datePart = Substring(text)
        if let cut = datePart.firstIndex(where: { $0 == " " || $0 == "T" }) { datePart = datePart[..<cut] }
        var numbers: [Int] = []
        var current = ""
        var separators: [Character] = []
        for ch in datePart {
            if ch.isASCII && ch.isNumber {
                current.append(ch)
            } else {
                guard !current.isEmpty else { return nil }
                numbers.append(Int(current)!)
                current = ""
                separators.append(ch)
            }
        }
        if !current.isEmpty { numbers.append(Int(current)!) }
        guard numbers.count == 3 else { return nil }
        let allowed: Set<Character> = ["-", "/", ".", "年", "月", "日", "号"]
        guard separators.allSatisfy({ allowed.contains($0) }) else { return nil }
        if separators.contains("年") && !(separators.first == "年" && separators.dropFirst().first == "月") { return nil }
        guard numbers[0] >= 1000 else { return nil }
        return Day(year: numbers[0], month: numbers[1], day: numbers[2])
    }

    static func excelSerial(_ serial: Int) -> Day? {
        // Accept 1900-03-01 … 2099-12-31; earlier serials hit Excel's leap-year bug.
        guard serial >= 61, serial <= 73415 else { return nil }
        return Day(daysSinceEpoch: excelEpochDays + serial)
    }

    private static func int(_ digits: ArraySlice<UInt8>) -> Int {
        digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
