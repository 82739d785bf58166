// `schoolstat generate`: synthetic rosters for benchmarks and tests.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
import SchoolStatHistory

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "生成用于基准测试的模拟教师名册和学校表 (write a synthetic roster and schools file for benchmarks).")

    @Option(name: .long, help: "教师行数 (teacher rows).")
    var rows: Int = 10_000

    @Option(name: .long, help: "随机种子 (seed); the same seed gives the same files.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "学校数 (schools); default one per 60 teachers.")
    var schools: Int?

    @Option(name: .long, help: "输出目录 (directory to write teachers.csv and schools.csv into).")
    var out: String

    func validate() throws {
        if rows < 0 { throw ValidationError("--rows 不能为负数。") }
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let generator = RosterGenerator(rows: rows, seed: seed, schools: schools)
        generator.writeTeachers(to: out + "/teachers.csv")
        generator.writeSchools(to: out + "/schools.csv")
    }
}
