// libFuzzer target: the rule language. The first byte picks what the rest is: an expression
// compiled and evaluated against the teachers table, a schema pattern, or a whole rule pack file
// loaded with the rest of the rules.
@_spi(Fuzzing) import SchoolStatPipeline
import SchoolStatModel
import SchoolStatRules
import Foundation

private let source = ProcessInfo.processInfo.environment["SCHOOLSTAT_RULES"] ?? "Rules"
/// The rules as shipped, for expressions; loaded from the source, never from the scratch copy
/// the pack-file inputs are written into.
private let ruleSet = try! LoadedRules.load(directory: source).ruleSet
private let rules: String = {
    let copy = NSTemporaryDirectory() + "schoolstat-fuzz-rules-\(getpid())"
    try? FileManager.default.removeItem(atPath: copy)
    try! FileManager.default.copyItem(atPath: source, toPath: copy)
    return copy
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FuzzEntryPoints.ruleLanguage(Array(UnsafeBufferPointer(start: data, count: size)), ruleSet: ruleSet, rules: rules)
    return 0
}

// SwiftPM links an executable's entry point as FuzzRules_main; it hands over to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("FuzzRules_main")
public func fuzzRulesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzRules(data, size) }
}
