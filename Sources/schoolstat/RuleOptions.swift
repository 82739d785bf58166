// `--rules`, shared by the subcommands, and where the rules are found when it is not given.
import ArgumentParser
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatHistory

/// The rules a run is checked with: shared by validate, check and serve.
struct RuleOptions: ParsableArguments {
    @Option(name: .long, help: "规则目录 (rules directory); default ./Rules, or the installed rules beside the program.")
    var rules: String = RulesLocation.defaultDirectory

    @Option(name: .long, help: "统计基准日 (reference date for ages), e.g. 2024-09-30; default from Rules/parameters.yaml.")
    var asOf: String?

    @Option(name: .long, help: "地区参数 (regional profile in Rules/profiles): national, yubei, shapingba, wansheng …")
    var profile: String?
}

/// Where the rules are when `--rules` is not given: `Rules` in the working directory when there is
/// one, else those installed beside the binary (`PREFIX/share/schoolstat/Rules` for
/// `PREFIX/bin/schoolstat`), else `Rules`.
enum RulesLocation {
    static var defaultDirectory: String {
        if FileManager.default.fileExists(atPath: "Rules/schemas") { return "Rules" }
        if let executable = Bundle.main.executablePath {
            let installed = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/schoolstat/Rules").path
            if FileManager.default.fileExists(atPath: installed + "/schemas") { return installed }
        }
        return "Rules"
    }
}
