// Normalising: exact lookup of short texts by their UTF-8 bytes, for the
// spellings a column accepts as written (`女`, `本科`, `是`, `-`).

/// A table from exact spellings to values, searched by length and first byte and
/// then by comparing bytes. Cheaper per cell than a `[String: …]` lookup, which
/// hashes a Unicode-normalised form of non-ASCII text. Matching is byte-exact;
/// anything else takes the caller's slower, forgiving path (match keys).
struct ByteLookup<Value> {
    private var buckets: [Int: [(bytes: [UInt8], value: Value)]] = [:]

    init(_ pairs: some Sequence<(String, Value)>) {
        for (text, value) in pairs {
            let bytes = Array(text.utf8)
            buckets[Self.bucket(count: bytes.count, first: bytes.first ?? 0), default: []].append((bytes, value))
        }
    }

    var isEmpty: Bool { buckets.isEmpty }

    private static func bucket(count: Int, first: UInt8) -> Int { count << 8 | Int(first) }

    func value(for text: String) -> Value? {
        var text = text
        return text.withUTF8 { b in
            guard let bucket = buckets[Self.bucket(count: b.count, first: b.first ?? 0)] else { return nil }
            for entry in bucket where entry.bytes.elementsEqual(b) { return entry.value }
            return nil
        }
    }

    func contains(_ text: String) -> Bool { value(for: text) != nil }
}
