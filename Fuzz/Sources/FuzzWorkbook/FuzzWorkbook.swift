// libFuzzer target: arbitrary bytes as an .xlsx workbook through the streaming workbook reader,
// with limits small enough that every input finishes quickly.
@_spi(Fuzzing) import SchoolStatPipeline
import SchoolStatModel
import SchoolStatRules
import Foundation

private let scratch = NSTemporaryDirectory() + "schoolstat-fuzz-\(getpid()).xlsx"
private let limits: ReadLimits = {
    var l = ReadLimits()
    l.inflatedBytes = 64 << 20
    l.ratioFloor = 1 << 20
    return l
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkbook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FuzzEntryPoints.readWorkbook(Array(UnsafeBufferPointer(start: data, count: size)), scratch: scratch, limits: limits)
    return 0
}

// SwiftPM links an executable's entry point as FuzzWorkbook_main; it hands over to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("FuzzWorkbook_main")
public func fuzzWorkbookMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzWorkbook(data, size) }
}
