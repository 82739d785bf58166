// Bytes (reading): turns a file's bytes, in whatever encoding, into UTF-8 for libcsv.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// Streaming conversion to UTF-8 through glibc's iconv.
///
/// A byte sequence that is invalid in the source encoding is replaced by the
/// single byte 0xFF, which can never occur in UTF-8. The parser passes it
/// through untouched, so the field that holds it is later found by UTF-8
/// validation and reported with its row and column rather than lost here.
public struct Transcoder {
    public static let invalidMarker: UInt8 = 0xFF

    public let encoding: TextEncoding
    private var descriptor: iconv_t?
    private var carry: [UInt8] = []
    private var output: [UInt8] = []
    public private(set) var invalidSequences = 0

    public init(encoding: TextEncoding) throws(ReadError) {
        self.encoding = encoding
        switch encoding {
        case .utf8, .utf8BOM:
            descriptor = nil
        default:
            let cd = iconv_open("UTF-8", encoding.iconvName)
            if cd == iconv_t(bitPattern: -1) {
                throw ReadError.encodingUnavailable(encoding.rawValue)
            }
            descriptor = cd
        }
    }

    public mutating func close() {
        if let cd = descriptor { iconv_close(cd) }
        descriptor = nil
    }

    /// Converts one chunk. Bytes of a sequence cut by the chunk's end are kept
    /// for the next call; `final` flushes them as invalid.
    public mutating func convert(_ input: UnsafeRawBufferPointer, final: Bool, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard let cd = descriptor else {
            // UTF-8 needs no conversion; invalid bytes are found per field later.
            body(input)
            return
        }
        var pending: [UInt8]
        if carry.isEmpty {
            pending = Array(input)
        } else {
            pending = carry
            pending.append(contentsOf: input)
            carry.removeAll(keepingCapacity: true)
        }
        let needed = pending.count * 2 + 16
        if output.count < needed { output = [UInt8](repeating: 0, count: needed) }
        var produced = 0
        pending.withUnsafeMutableBytes { inRaw in
            output.withUnsafeMutableBytes { outRaw in
                var inPtr = inRaw.baseAddress?.assumingMemoryBound(to: CChar.self)
                var inLeft = inRaw.count
                let outBase = outRaw.baseAddress!.assumingMemoryBound(to: CChar.self)
                var outPtr: UnsafeMutablePointer<CChar>? = outBase
                var outLeft = outRaw.count
                while inLeft > 0 {
                    let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    if r != -1 { break }
                    let err = errno
                    if err == EINVAL && !final {
                        // Incomplete sequence at the end of the chunk: keep it for the next one.
                        carry = Array(UnsafeRawBufferPointer(start: inPtr, count: inLeft))
                        inLeft = 0
                        break
                    }
                    if err == E2BIG { break } // cannot happen with 2x + 16 room; stop rather than loop
                    // EILSEQ, or a truncated sequence at end of file: mark and skip a code unit.
                    invalidSequences += 1
                    outPtr!.pointee = CChar(bitPattern: Transcoder.invalidMarker)
                    outPtr = outPtr! + 1
                    outLeft -= 1
                    let skip = min(encoding.invalidSkip, inLeft)
                    inPtr = inPtr! + skip
                    inLeft -= skip
                }
                produced = outPtr! - outBase
            }
        }
        output.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
    }
}
