// Bytes (writing): a growable byte buffer for output built in memory.
import SchoolStatModel

/// Where output bytes are appended: an array, or a `ByteBuffer`.
public protocol ByteAppending {
    mutating func append(_ byte: UInt8)
    mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>)
}

extension Array: ByteAppending where Element == UInt8 {
    @inline(__always)
    public mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) { append(contentsOf: bytes) }
}

extension ByteAppending {
    /// Bytes of a text used rarely (a decimal or date too long for the fixed forms, `null`).
    public mutating func appendUTF8(_ s: String) {
        var s = s
        s.withUTF8 { appendBytes($0) }
    }

    /// The bytes of `array`, copied in one go.
    @inlinable
    public mutating func appendBytes(_ array: [UInt8]) {
        array.withUnsafeBufferPointer { appendBytes($0) }
    }
}

/// Bytes appended with one copy each, not through `Array.append(contentsOf:)`'s generic
/// sequence path (docs/performance.md). A value type like `Array`: a copy shares the storage
/// until either is changed.
public struct ByteBuffer: ByteAppending, @unchecked Sendable {
    @usableFromInline final class Storage {
        @usableFromInline let base: UnsafeMutablePointer<UInt8>
        @usableFromInline let capacity: Int
        @usableFromInline init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: capacity)
        }
        deinit { base.deallocate() }
    }

    /// Nil until the first byte: an empty buffer costs no allocation.
    @usableFromInline var storage: Storage?
    @usableFromInline var byteCount = 0
    /// Bytes in the buffer.
    @inlinable public var count: Int { byteCount }

    public init() {}

    public init(capacity: Int) { storage = Storage(capacity: Swift.max(16, capacity)) }

    public var isEmpty: Bool { count == 0 }

    /// Room for `extra` more bytes in storage of this buffer's own.
    @inlinable @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity || !isKnownUniquelyReferenced(&storage) { grow(extra) }
    }

    @usableFromInline var capacity: Int { storage?.capacity ?? 0 }

    @usableFromInline mutating func grow(_ extra: Int) {
        let bigger = Storage(capacity: Swift.max(count + extra, capacity * 2, 64))
        if let storage { bigger.base.initialize(from: storage.base, count: count) }
        storage = bigger
    }

    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) {
        reserve(1)
        (storage.unsafelyUnwrapped.base + count).initialize(to: byte)
        byteCount += 1
    }

    @inlinable @inline(__always)
    public mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (storage.unsafelyUnwrapped.base + count).initialize(from: from, count: bytes.count)
        byteCount += bytes.count
    }

    /// Room for `bound` more bytes, written through `ReservedBytes`; the bytes it wrote are added.
    @inlinable
    public mutating func withReserved(_ bound: Int, _ body: (inout ReservedBytes) -> Void) {
        reserve(bound)
        let start = storage.unsafelyUnwrapped.base + count
        var out = ReservedBytes(start: start, end: start + bound)
        body(&out)
        byteCount += out.position - start
    }

    /// `byte` `times` times.
    @inlinable
    public mutating func append(_ byte: UInt8, times: Int) {
        guard times > 0 else { return }
        reserve(times)
        (storage.unsafelyUnwrapped.base + count).initialize(repeating: byte, count: times)
        byteCount += times
    }

    @inlinable
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage?.base, count: count))
    }

    /// Empties the buffer, keeping its storage for the next bytes.
    @inlinable public mutating func removeAll() { byteCount = 0 }

    /// The bytes as an array (a copy).
    public var array: [UInt8] { withBytes { Array($0) } }
}

/// Bytes appended into room reserved beforehand (`ByteBuffer.withReserved`): no capacity or
/// uniqueness test per byte. Writing past the room is a programming error, stopped before it happens.
public struct ReservedBytes: ByteAppending {
    @usableFromInline var position: UnsafeMutablePointer<UInt8>
    @usableFromInline let end: UnsafeMutablePointer<UInt8>

    @inlinable init(start: UnsafeMutablePointer<UInt8>, end: UnsafeMutablePointer<UInt8>) { position = start; self.end = end }

    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) {
        precondition(position < end)
        position.initialize(to: byte)
        position += 1
    }

    @inlinable @inline(__always)
    public mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(end - position >= bytes.count)
        position.initialize(from: from, count: bytes.count)
        position += bytes.count
    }
}
