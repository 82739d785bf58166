// Generating: deterministic synthetic exports for benchmarks and large tests.
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// SplitMix64: small, fast and the same on every machine for a given seed.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Writes a realistic teacher roster of `rows` rows (and a matching schools
/// file) in the project's schema, with about 10 % of rows carrying the kinds
/// of mistakes the schema checks: bad codes, bad dates, enum aliases and
/// unknown values, bad ID check digits, 万元 amounts, full-width digits.
public struct RosterGenerator {
    public var rows: Int
    public var seed: UInt64
    public var schools: Int

    public init(rows: Int, seed: UInt64 = 1, schools: Int? = nil) {
        self.rows = rows
        self.seed = seed
        self.schools = schools ?? max(1, rows / 60)
    }

    public static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁")
    public static let given = Array("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国庆春梅晓燕")
    public static let degrees = ["本科", "大学本科", "专科", "大专", "研究生", "硕士", "本科", "本科"]
    public static let certificates = ["是", "是", "是", "Y", "√", "有", "1", "否"]
    public static let subjects = ["语文", "数学", "英语", "体育", "音乐", "美术", "科学", "道德与法治", "物理", "化学"]
    public static let backbone = ["无", "无", "无", "", "区级", "市级", "县级"]
    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

    public func schoolCode(_ i: Int) -> String {
        let n = String(10001 + i)
        return "31" + String(repeating: "0", count: 8 - n.count) + n
    }

    /// A valid ID number; the region varies with `serial` so that generated numbers rarely repeat.
    public static func idNumber(birth: String, serial: Int, male: Bool) -> String {
        let region = "5001" + String(10 + serial / 500 % 90)
        let sequence = String(serial % 500 * 2 + (male ? 1 : 0))
        let body = region + birth + String(repeating: "0", count: 3 - sequence.count) + sequence
        var sum = 0
        for (c, w) in zip(body.utf8, weights) { sum += Int(c - 48) * w }
        return body + String(Array("10X98765432")[sum % 11])
    }

    /// Writes the roster as UTF-8 CSV.
    public func writeTeachers(to path: String) {
        guard let file = try? BufferedFile(path: path) else { return }
        let csv = CSVWriter(file: file)
        csv.writeRow(["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "任教学段", "最高学历", "教师资格证",
                      "任教学科", "骨干教师级别", "近五年培训学时", "年工资收入（万元）"], defuse: false)
        var rng = SeededGenerator(seed: seed)
        for i in 0..<rows {
            let male = Int.random(in: 0..<100, using: &rng) < 35
            let year = Int.random(in: 1965...2000, using: &rng), month = Int.random(in: 1...12, using: &rng), day = Int.random(in: 1...28, using: &rng)
            let birth = String(year) + (month < 10 ? "0" : "") + String(month) + (day < 10 ? "0" : "") + String(day)
            var id = Self.idNumber(birth: birth, serial: i, male: male)
            var teacherID = "T" + String(500_000_000 + i)
            var birthText = [String(year) + "-" + (month < 10 ? "0" : "") + String(month) + "-" + (day < 10 ? "0" : "") + String(day),
                             "\(year)/\(month)/\(day)", "\(year)年\(month)月\(day)日", birth][Int.random(in: 0..<4, using: &rng)]
            var degree = Self.degrees[Int.random(in: 0..<Self.degrees.count, using: &rng)]
            var school = schoolCode(Int.random(in: 0..<schools, using: &rng))
            var wage = String(Double(Int.random(in: 118_000...178_000, using: &rng)) / 10_000)
            var sex = male ? "男" : "女"
            // About one row in ten carries a mistake.
            switch Int.random(in: 0..<100, using: &rng) {
            case 0: id = String(id.dropLast()) + (id.hasSuffix("0") ? "1" : "0")        // bad check digit
            case 1: birthText = "\(year)-02-30"                                          // no such date
            case 2: degree = "函授"                                                      // unknown value
            case 3: school = String(school.dropLast())                                   // 9-digit code
            case 4: teacherID = "Ｔ" + String(500_000_000 + i).map { String(UnicodeScalar($0.unicodeScalars.first!.value + 0xFEE0)!) }.joined() // full-width: fine
            case 5: wage = String(Int(Double(wage)! * 10_000)) + "元"                     // yuan in a 万元 column: fine
            case 6: sex = male ? "女" : "男"                                             // disagrees with the ID
            case 7: id = "5.00110E+17"                                                   // Excel scientific notation
            case 8: wage = "约15万"                                                      // not a number
            case 9: degree = "大學本科"                                                  // traditional alias: fine
            default: break
            }
            csv.writeRow([teacherID, String(Self.surnames[i % Self.surnames.count]) + String(Self.given[(i / 7) % Self.given.count]),
                          id, school, sex, birthText, Int.random(in: 0..<2, using: &rng) == 0 ? "小学" : "初中", degree,
                          Self.certificates[Int.random(in: 0..<Self.certificates.count, using: &rng)],
                          Self.subjects[Int.random(in: 0..<Self.subjects.count, using: &rng)],
                          Self.backbone[Int.random(in: 0..<Self.backbone.count, using: &rng)],
                          String(Int.random(in: 280...420, using: &rng)), wage], defuse: false)
        }
        try? file.close()
    }

    /// Writes the matching schools file as UTF-8 CSV.
    public func writeSchools(to path: String) {
        guard let file = try? BufferedFile(path: path) else { return }
        let csv = CSVWriter(file: file)
        csv.writeRow(["学校标识码", "学校名称", "行政区划代码", "学校类型", "城乡分类", "在校生数", "小学在校生数", "初中在校生数", "专任教师数"], defuse: false)
        var rng = SeededGenerator(seed: seed &+ 1)
        for i in 0..<schools {
            let primary = Int.random(in: 200...1500, using: &rng), junior = Int.random(in: 0...800, using: &rng)
            csv.writeRow([schoolCode(i), "第\(i + 1)学校", "500110", junior == 0 ? "小学" : "九年一贯制学校", ["城区", "镇区", "乡村"][i % 3],
                          String(primary + junior), String(primary), String(junior), String((primary + junior) / 14)], defuse: false)
        }
        try? file.close()
    }
}
