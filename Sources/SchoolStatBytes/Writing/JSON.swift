// Bytes: JSON string escaping into a byte buffer.
import CSupport
import SchoolStatModel

public enum JSON {
    /// Appends `s` as a JSON string literal, as UTF-8 bytes.
    public static func appendString(_ s: String, to out: inout some ByteAppending) {
        out.append(0x22)
        s.withBytes { bytes in
            // The runs between the bytes that need escaping, each copied whole (most values are
            // one run; messages quote values with ").
            var run = 0
            while run < bytes.count {
                let i = run + schoolstat_json_next_escape(bytes.baseAddress! + run, bytes.count - run)
                out.appendBytes(UnsafeBufferPointer(rebasing: bytes[run..<i]))
                guard i < bytes.count else { break }
                let b = bytes[i]
                run = i + 1
                out.append(0x5C)
                switch b {
                case 0x22, 0x5C: out.append(b)
                case 0x0A: out.append(0x6E)
                case 0x0D: out.append(0x72)
                case 0x09: out.append(0x74)
                default:
                    let hex: StaticString = "0123456789abcdef"
                    for c in [0x75, 0x30, 0x30, hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 0xF)]] { out.append(c) }
                }
            }
        }
        out.append(0x22)
    }
}
