// The console: every line this program prints on stdout and every message on stderr goes
// through the one ID-number scrub, whatever it names (a file, a column, a value). Within this
// module `print` and `FileHandle.standardError` are these; `printJSON` and the summary on
// `--format json` write documents whose fields are scrubbed one by one (a digest must stay whole).
import Foundation
import SchoolStatBytes

/// `Swift.print`, with ID numbers masked.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(IDNumber.scrub(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}

/// The standard streams as this module writes them: stderr scrubbed; stdout as given (the
/// address with its access token, and JSON documents already scrubbed field by field).
enum FileHandle {
    static let standardError = ScrubbingHandle(Foundation.FileHandle.standardError, scrubs: true)
    static let standardOutput = ScrubbingHandle(Foundation.FileHandle.standardOutput, scrubs: false)
}

struct ScrubbingHandle: Sendable {
    let handle: Foundation.FileHandle
    let scrubs: Bool
    init(_ handle: Foundation.FileHandle, scrubs: Bool) { self.handle = handle; self.scrubs = scrubs }

    func write(_ data: Data) {
        guard scrubs else { handle.write(data); return }
        handle.write(Data(IDNumber.scrub(String(decoding: data, as: UTF8.self)).utf8))
    }
}
