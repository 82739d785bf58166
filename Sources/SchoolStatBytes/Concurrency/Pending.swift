// Bytes (concurrency): one value computed on a thread of its own while the caller goes on.
import Foundation

/// A value computed on another thread while the caller goes on, or at once on the caller's.
public final class Pending<Value>: @unchecked Sendable {
    private var result: Value?
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()

    /// Computes the value on a thread of its own (`name`, with a stack of `stackSize` bytes) or,
    /// when `onAnotherThread` is false or no thread can be had, here and now.
    public init(onAnotherThread: Bool = true, name: String = "schoolstat-pending", stackSize: Int? = nil,
                _ compute: @escaping @Sendable () -> Value) {
        let finish: @Sendable () -> Void = { [self] in
            let value = compute()
            lock.withLock { result = value }
            done.signal()
        }
        if onAnotherThread && Threads.start(name: name, stackSize: stackSize ?? Threads.defaultStackSize, finish) { return }
        finish()
    }

    /// The value, once computed (waits for it the first time).
    public var value: Value {
        if let value = lock.withLock({ result }) { return value }
        done.wait()
        return lock.withLock { result! }
    }
}
