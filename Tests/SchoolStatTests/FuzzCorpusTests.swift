import Foundation
import Testing
@_spi(Fuzzing) import SchoolStatPipeline
@_spi(Fuzzing) import SchoolStatCheck
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

/// The fuzz targets' seed corpora, replayed through the same entry points: every input that
/// once crashed or hung a reader stays here, so that CI catches a regression without libFuzzer.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static func corpus(_ name: String) -> [String] {
        let dir = TestSupport.packageRoot + "/Fuzz/corpus/" + name
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { dir + "/" + $0 }
    }

    static func bytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

    @Test("every CSV seed is read or refused with a read error, in bounded time")
    func csv() {
        let files = Self.corpus("csv")
        #expect(files.count >= 10)
        let scratch = TestSupport.temporaryDirectory() + "/input.csv"
        var read = 0
        for file in files where FuzzEntryPoints.readText(Self.bytes(file), scratch: scratch) >= 0 { read += 1 }
        #expect(read > 0)
    }

    @Test("every workbook seed is read or refused with a read error, in bounded time")
    func workbooks() {
        let files = Self.corpus("xlsx")
        #expect(files.count >= 5)
        let scratch = TestSupport.temporaryDirectory() + "/input.xlsx"
        var limits = ReadLimits()
        limits.inflatedBytes = 64 << 20
        limits.ratioFloor = 1 << 20
        var outcomes: [String: Int] = [:]
        for file in files { outcomes[(file as NSString).lastPathComponent] = FuzzEntryPoints.readWorkbook(Self.bytes(file), scratch: scratch, limits: limits) }
        #expect(outcomes["teachers.xlsx"] == 5)
        // Seeds named hostile-* are refused, never read as if whole.
        for (name, records) in outcomes where name.hasPrefix("hostile-") { #expect(records == -1, "\(name)") }
    }

    @Test("every rule-language seed compiles or is refused with a message")
    func rules() throws {
        let dir = TestSupport.temporaryDirectory() + "/Rules"
        try FileManager.default.copyItem(atPath: TestSupport.rules, toPath: dir)
        let ruleSet = try LoadedRules.load(directory: dir).ruleSet
        var compiled = 0
        for file in Self.corpus("rules") where FuzzEntryPoints.ruleLanguage(Self.bytes(file), ruleSet: ruleSet, rules: dir) { compiled += 1 }
        #expect(compiled >= 6)
    }

    @Test("every seed of every reader goes through the whole clerk's check, annotated workbook included, without a crash")
    func check() {
        let files = Self.corpus("check") + Self.corpus("csv") + Self.corpus("xlsx") + Self.corpus("xls")
        #expect(files.count >= 20)
        let directory = TestSupport.temporaryDirectory()
        var limits = CheckLimits()
        limits.rows = 20_000
        limits.problemsShown = 200
        var readLimits = ReadLimits()
        readLimits.inflatedBytes = 64 << 20
        readLimits.ratioFloor = 1 << 20
        var outcomes: [String: Int32] = [:]
        for file in files {
            outcomes[(file as NSString).lastPathComponent] = CheckFuzzEntryPoint.check(Self.bytes(file), directory: directory, rules: TestSupport.rules,
                                                                                       limits: limits, readLimits: readLimits)
        }
        #expect(outcomes["copied-down.csv"] == 1)
        #expect(outcomes["roster-gbk-multiline.csv"] == 1)
        for (name, status) in outcomes where name.hasPrefix("hostile-") { #expect(status == 3 || status == -1, "\(name)") }
        // Each check cleans up after itself: nothing but what the entry point writes is left.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true)
    }

    @Test("every legacy workbook seed is read, every sheet, or refused with a read error, in bounded time")
    func legacyWorkbooks() {
        let files = Self.corpus("xls")
        #expect(files.count >= 8)
        let scratch = TestSupport.temporaryDirectory() + "/input.xls"
        var outcomes: [String: Int] = [:]
        for file in files { outcomes[(file as NSString).lastPathComponent] = FuzzEntryPoints.readLegacyWorkbook(Self.bytes(file), scratch: scratch) }
        #expect((outcomes["roster.xls"] ?? 0) > 0)
        #expect((outcomes["biff5_gbk.xls"] ?? 0) > 0)
        for (name, records) in outcomes where name.hasPrefix("hostile-") { #expect(records == -1, "\(name)") }
    }
}
