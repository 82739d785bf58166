// libFuzzer target: arbitrary bytes as a legacy .xls workbook (Excel 97-2003, Excel 5.0/95) through the FreeXL reader,
// every sheet it lists, with limits small enough that every input finishes quickly.
@_spi(Fuzzing) import SchoolStatPipeline
import SchoolStatModel
import SchoolStatRules
import Foundation

private let scratch = NSTemporaryDirectory() + "schoolstat-fuzz-\(getpid()).xls"
private let limits: ReadLimits = {
    var l = ReadLimits()
    l.inflatedBytes = 64 << 20
    l.ratioFloor = 1 << 20
    return l
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLegacyWorkbook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FuzzEntryPoints.readLegacyWorkbook(Array(UnsafeBufferPointer(start: data, count: size)), scratch: scratch, limits: limits)
    return 0
}

// SwiftPM links an executable's entry point as FuzzLegacyWorkbook_main; it hands over to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("FuzzLegacyWorkbook_main")
public func fuzzLegacyWorkbookMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzLegacyWorkbook(data, size) }
}
