// Bytes: a String's UTF-8 bytes read in place through a buffer, not byte by byte through
// `String.utf8`; FNV-1a; UTF-8 validation.
import SchoolStatModel

extension String {
    /// Calls `body` with the string's UTF-8 bytes (no copy for native strings).
    @inline(__always)
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        // A native string's bytes are read where they are; only a small string (its bytes kept
        // in the value itself) is copied. A copy of a native one would retain its storage.
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return try copy.withUTF8(body)
    }

    /// The same text in storage of its own. A thread that copies a string on every row takes
    /// one that no other thread holds: threads that retain one object contend on its count.
    public var unshared: String { String(decoding: Array(utf8), as: UTF8.self) }
}

/// The 64-bit FNV-1a hash of some bytes (rule-pack group numbers).
public enum FNV1a {
    public static let basis: UInt64 = 0xcbf29ce484222325

    /// One byte more: for loops that compute another hash over the same bytes at once.
    @inlinable @inline(__always) public static func step(_ h: UInt64, _ b: UInt8) -> UInt64 { (h ^ UInt64(b)) &* 0x100000001b3 }

    public static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = basis
        for b in bytes { h = step(h, b) }
        return h
    }
}

public enum UTF8Check {
    /// Whether the bytes are well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
    public static func isValid(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            if c < 0xC2 { return false }
            if c < 0xE0 {
                guard i + 1 < n, b[i + 1] & 0xC0 == 0x80 else { return false }
                i += 2
            } else if c < 0xF0 {
                guard i + 2 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80 else { return false }
                if c == 0xE0 && b[i + 1] < 0xA0 { return false } // overlong
                if c == 0xED && b[i + 1] >= 0xA0 { return false } // surrogate
                i += 3
            } else if c < 0xF5 {
                guard i + 3 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80 else { return false }
                if c == 0xF0 && b[i + 1] < 0x90 { return false } // overlong
                if c == 0xF4 && b[i + 1] >= 0x90 { return false } // past U+10FFFF
                i += 4
            } else {
                return false
            }
        }
        return true
    }
}
