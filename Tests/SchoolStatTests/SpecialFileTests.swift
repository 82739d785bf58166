import Foundation
import Testing
import SchoolStatModel
import SchoolStatPipeline

/// A finished run of the sample county, in a directory of its own, without a history.
private func sampleRun() throws -> (dir: String, out: String) {
    let dir = TestSupport.temporaryDirectory()
    try FileManager.default.copyItem(atPath: TestSupport.samples, toPath: dir + "/in")
    let r = try TestSupport.runBinary(["validate", dir + "/in", "--rules", TestSupport.rules, "--out", dir + "/out", "--quiet", "--no-history"])
    #expect(r.status == 1, "\(r.stderr)")
    return (dir, dir + "/out")
}

/// Replaces every `clean/*.csv` of `run` by a named pipe of the same name; returns their paths.
@discardableResult
private func pipesForCleanTables(_ run: String) throws -> [String] {
    let names = try FileManager.default.contentsOfDirectory(atPath: run + "/clean").filter { $0.hasSuffix(".csv") }
    #expect(!names.isEmpty)
    return try names.map { name in
        let path = run + "/clean/" + name
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o644) == 0)
        return path
    }
}

@Suite("Files a run reads back that are named pipes: refused at once, never waited on", .serialized)
struct SpecialFileTests {
    @Test("validate --previous on a run whose clean tables are named pipes exits 3 within seconds, naming the pipe; no outputs are written")
    func previousRun() throws {
        let (dir, previous) = try sampleRun()
        try pipesForCleanTables(previous)
        let started = Date()
        let r = try TestSupport.runBinary(["validate", dir + "/in", "--rules", TestSupport.rules, "--out", dir + "/out2", "--quiet", "--no-history",
                                           "--previous", previous], timeout: 30)
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains(previous + "/clean/") && r.stderr.contains("命名管道"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(!FileManager.default.fileExists(atPath: dir + "/out2"))
    }

    @Test("score on a run whose clean tables, or summary.json, are named pipes exits 3 within seconds", arguments: ["clean", "summary"])
    func scoreRun(_ what: String) throws {
        let (_, run) = try sampleRun()
        if what == "clean" {
            try pipesForCleanTables(run)
        } else {
            try FileManager.default.removeItem(atPath: run + "/summary.json")
            #expect(mkfifo(run + "/summary.json", 0o644) == 0)
        }
        let started = Date()
        let r = try TestSupport.runBinary(["score", run, "--rules", TestSupport.rules, "--no-history"], timeout: 30)
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains("命名管道"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(!FileManager.default.fileExists(atPath: run + "/evaluation/county_indicators.csv"))
    }

    @Test("score --previous naming a run whose clean tables are named pipes exits 3")
    func scorePrevious() throws {
        let (dir, run) = try sampleRun()
        let (_, previous) = try sampleRun()
        try pipesForCleanTables(previous)
        let r = try TestSupport.runBinary(["score", run, "--rules", TestSupport.rules, "--no-history", "--previous", previous, "--out", dir + "/eval"], timeout: 30)
        #expect(r.status == 3, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/eval"))
    }

    @Test("a waivers file that is a named pipe is refused with exit 2")
    func waivers() throws {
        let (dir, _) = try sampleRun()
        #expect(mkfifo(dir + "/waivers.yaml", 0o644) == 0)
        let r = try TestSupport.runBinary(["validate", dir + "/in", "--rules", TestSupport.rules, "--out", dir + "/out2", "--quiet", "--no-history",
                                           "--waivers", dir + "/waivers.yaml"], timeout: 30)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("waivers.yaml"))
    }
}
