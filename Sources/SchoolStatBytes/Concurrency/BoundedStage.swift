// Bytes (concurrency): one stage of a pipeline on a thread of its own — work handed over in
// order, done in that order, at most `capacity` items waiting, so that a fast producer never
// piles up memory behind a slow consumer (a disk write, a sort, a digest).
import Dispatch

public final class BoundedStage: @unchecked Sendable {
    private let queue: DispatchQueue
    private let room: DispatchSemaphore

    /// `label` names the thread in a debugger; `capacity` is how many items may wait.
    public init(label: String, capacity: Int) {
        queue = DispatchQueue(label: label)
        room = DispatchSemaphore(value: max(1, capacity))
    }

    /// Hands `work` to the stage; waits while `capacity` items are already waiting.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        room.wait()
        queue.async { [room] in
            work()
            room.signal()
        }
    }

    /// Waits until everything handed over so far is done, then runs `body` on the stage and
    /// returns what it gives.
    public func drain<T>(then body: () throws -> T) rethrows -> T {
        try queue.sync(execute: body)
    }

    /// Waits until everything handed over so far is done.
    public func drain() { queue.sync {} }
}
