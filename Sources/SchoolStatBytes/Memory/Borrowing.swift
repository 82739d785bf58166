// Bytes: objects lent to a per-row loop without a retain and release each time, and cache hints.
// The loops that need them call them for every row; what makes lending safe is kept here.
import CSupport
import SchoolStatModel

/// Objects kept alive by this list and lent to `forEach` without a retain and release per use.
/// Safe: the list holds each object strongly for as long as it exists, and a borrowed reference
/// cannot outlive the call.
public struct BorrowedObjects<T: AnyObject> {
    @usableFromInline let owned: [T]
    @usableFromInline let lent: [Unmanaged<T>]

    @inlinable
    public init(_ objects: [T]) {
        owned = objects
        lent = objects.map { Unmanaged.passUnretained($0) }
    }

    /// Calls `body` with each object in order.
    @inlinable @inline(__always)
    public func forEach(_ body: (T) -> Void) {
        for object in lent { object._withUnsafeGuaranteedRef(body) }
    }
}

public enum CacheHint {
    /// Asks for `array[index]` to be brought into the cache before it is written; an index
    /// outside the array asks for nothing.
    @inlinable @inline(__always)
    public static func prefetchForWrite<Element>(_ array: [Element], at index: Int) {
        array.withUnsafeBufferPointer { b in
            if UInt(bitPattern: index) < UInt(b.count) { schoolstat_prefetch_for_write(b.baseAddress! + index) }
        }
    }
}
