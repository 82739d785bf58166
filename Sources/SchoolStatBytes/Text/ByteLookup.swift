// Bytes (normalising): exact lookup of short texts by their UTF-8 bytes, for the
// spellings a column accepts as written (`女`, `本科`, `是`, `-`).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// A table from exact spellings to values, searched by length and first byte and
/// then by comparing bytes. Cheaper per cell than a `[String: …]` lookup, which
/// hashes a Unicode-normalised form of non-ASCII text. Matching is byte-exact;
/// anything else takes the caller's slower, forgiving path (match keys).
public struct ByteLookup<Value> {
    /// Entries by length (capped at 31) and first byte: 32 × 256 buckets, most of them empty.
    /// Empty until the first entry: a table with no entries costs nothing.
    private var buckets: [[(bytes: [UInt8], value: Value)]]

    public init(_ pairs: some Sequence<(String, Value)>) {
        buckets = []
        for (text, value) in pairs {
            if buckets.isEmpty { buckets = Array(repeating: [], count: 32 * 256) }
            let bytes = Array(text.utf8)
            buckets[Self.bucket(count: bytes.count, first: bytes.first ?? 0)].append((bytes, value))
        }
    }

    @inline(__always)
    private static func bucket(count: Int, first: UInt8) -> Int { min(count, 31) << 8 | Int(first) }

    public func value(for text: String) -> Value? {
        if buckets.isEmpty { return nil }
        return text.withBytes { value(for: $0) }
    }

    public func value(for b: UnsafeBufferPointer<UInt8>) -> Value? {
        if buckets.isEmpty { return nil }
        let bucket = buckets[Self.bucket(count: b.count, first: b.first ?? 0)]
        for entry in bucket where entry.bytes.count == b.count {
            let same = entry.bytes.withUnsafeBufferPointer { e in
                b.isEmpty || memcmp(e.baseAddress!, b.baseAddress!, b.count) == 0
            }
            if same { return entry.value }
        }
        return nil
    }

    public func contains(_ text: String) -> Bool { value(for: text) != nil }
}
