// Check: the entry point the FuzzCheck target (Fuzz/, `make fuzz`) and the corpus replay drive:
// arbitrary bytes as the clerk's one file through the whole check, annotated workbook included.
import Foundation
import SchoolStatModel

@_spi(Fuzzing) public enum CheckFuzzEntryPoint {
    /// Writes `bytes` into `directory` (as .xlsx when they start as a zip archive, .xls as an OLE
    /// compound file, .csv otherwise)
    /// and checks the file with the annotated workbook. Returns the check's status, or -1 when
    /// the check was refused with an error (never a crash).
    public static func check(_ bytes: [UInt8], directory: String, rules: String, limits: CheckLimits = CheckLimits(),
                             readLimits: ReadLimits = ReadLimits()) -> Int32 {
        let ext = bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) ? "xlsx" : (bytes.starts(with: [0xD0, 0xCF, 0x11, 0xE0]) ? "xls" : "csv")
        let path = directory + "/upload." + ext, annotated = directory + "/annotated.xlsx"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return -1 }
        defer { unlink(path); unlink(annotated) }
        var options = CheckOptions(files: [path], rulesDirectory: rules)
        options.limits = limits
        options.readLimits = readLimits
        options.threads = 1
        options.workDirectory = directory
        options.asOf = "2024-09-30"
        do {
            let report = try ClerkCheck.run(options, annotate: annotated)
            return report.status
        } catch {
            _ = error.description
            return -1
        }
    }
}
