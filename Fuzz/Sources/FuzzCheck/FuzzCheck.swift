// libFuzzer target: arbitrary bytes as a clerk's file (.xlsx when they start as a zip archive,
// .csv otherwise) through the whole check — validation, places, rows shown, annotated workbook —
// with limits small enough that every input finishes quickly.
@_spi(Fuzzing) import SchoolStatCheck
import SchoolStatModel
import Foundation

private let directory: String = {
    let d = NSTemporaryDirectory() + "schoolstat-fuzz-check-\(getpid())"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}()
private let rules = ProcessInfo.processInfo.environment["SCHOOLSTAT_RULES"] ?? "Rules"
private let limits: CheckLimits = {
    var l = CheckLimits()
    l.rows = 20_000
    l.problemsShown = 200
    return l
}()
private let readLimits: ReadLimits = {
    var l = ReadLimits()
    l.inflatedBytes = 64 << 20
    l.ratioFloor = 1 << 20
    return l
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheck(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = CheckFuzzEntryPoint.check(Array(UnsafeBufferPointer(start: data, count: size)), directory: directory, rules: rules,
                                  limits: limits, readLimits: readLimits)
    return 0
}

// SwiftPM links an executable's entry point as FuzzCheck_main; it hands over to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("FuzzCheck_main")
public func fuzzCheckMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzCheck(data, size) }
}
