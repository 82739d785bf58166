import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
@_exported import SchoolStatTestSupport

/// Helpers of this target's own, beside the shared ones (paths, scratch directories, the binary,
/// CSV reading) in SchoolStatTestSupport. Fixtures are real files under Fixtures/.
extension TestSupport {
    static func fixture(_ relative: String) -> String { packageRoot + "/Tests/SchoolStatTests/Fixtures/" + relative }

    /// Runs the pipeline in-process and returns the result and the output directory.
    static func validate(_ inputs: [String], table: String? = nil, rules: String = TestSupport.rules, runID: String = "test-run",
                         configure: (inout ValidationOptions) -> Void = { _ in }) throws -> RunResult {
        let out = temporaryDirectory() + "/out"
        var options = ValidationOptions(inputs: inputs, rulesDirectory: rules, outputDirectory: out)
        options.table = table
        options.runID = runID
        configure(&options)
        return try ValidationRun(options: options).run()
    }

    /// Copies Rules/ to a temporary directory, applies `edit` to one file and loads it: the
    /// errors, or none when it loads.
    static func loadRules(editing file: String, _ edit: (String) -> String) -> [RuleFileError] {
        let dir = temporaryDirectory() + "/Rules"
        try! FileManager.default.copyItem(atPath: rules, toPath: dir)
        let path = dir + "/" + file
        write(edit(text(path)), to: path)
        do {
            _ = try LoadedRules.load(directory: dir).ruleSet
            return []
        } catch {
            return error.errors
        }
    }

    static func ledger(_ result: RunResult) -> [[String: String]] {
        csvRecords(result.outputDirectory + "/ledger.csv")
    }
}
