// libFuzzer target: arbitrary bytes through the delimited-text reader (detection, transcoding, libcsv).
@_spi(Fuzzing) import SchoolStatPipeline
import SchoolStatModel
import SchoolStatRules
import Foundation

private let scratch = NSTemporaryDirectory() + "schoolstat-fuzz-csv-\(getpid()).csv"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FuzzEntryPoints.readText(Array(UnsafeBufferPointer(start: data, count: size)), scratch: scratch)
    return 0
}

// SwiftPM links an executable's entry point as FuzzCSV_main; it hands over to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("FuzzCSV_main")
public func fuzzCSVMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzCSV(data, size) }
}
