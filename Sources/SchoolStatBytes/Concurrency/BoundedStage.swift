// Bytes (concurrency): one stage of a pipeline on a thread of its own — work handed over in
// order, done in that order, at most `capacity` items waiting, so that a fast producer never
// piles up memory behind a slow consumer (a disk write, a sort, a digest).
import DequeModule
import Foundation

public final class BoundedStage: @unchecked Sendable {
    /// The work handed over and not yet done, shared with the stage's thread under its lock.
    private final class Line: @unchecked Sendable {
        let condition = NSCondition()
        var items: Deque<() -> Void> = []
        /// Items handed over and not finished (waiting or running).
        var inFlight = 0
        var closing = false
    }

    private let line: Line
    private let capacity: Int
    /// No thread could be started for the stage: each item is done as it is handed over.
    private let inline: Bool

    /// A stage's work is shallow (a write, a sort, a finding recorded): its thread's stack is
    /// smaller than a parser's, which counts under a check's address-space ceiling.
    public static let stackSize = 1 << 20

    /// `label` names the thread in a debugger; `capacity` is how many items may wait.
    public init(label: String, capacity: Int) {
        self.capacity = max(1, capacity)
        let line = Line()
        self.line = line
        inline = !Threads.start(name: label, stackSize: Self.stackSize) {
            line.condition.lock()
            while true {
                while line.items.isEmpty && !line.closing { line.condition.wait() }
                guard let work = line.items.popFirst() else { break }
                line.condition.unlock()
                work()
                line.condition.lock()
                line.inFlight -= 1
                line.condition.broadcast()
            }
            line.condition.unlock()
        }
    }

    /// Hands `work` to the stage; waits while `capacity` items are already waiting.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        if inline { return work() }
        line.condition.lock()
        while line.inFlight >= capacity { line.condition.wait() }
        line.items.append(work)
        line.inFlight += 1
        line.condition.broadcast()
        line.condition.unlock()
    }

    /// Waits until everything handed over so far is done, then runs `body` (on the caller's
    /// thread, nothing else of the stage running) and returns what it gives.
    public func drain<T>(then body: () throws -> T) rethrows -> T {
        drain()
        return try body()
    }

    /// Waits until everything handed over so far is done.
    public func drain() {
        guard !inline else { return }
        line.condition.lock()
        while line.inFlight > 0 { line.condition.wait() }
        line.condition.unlock()
    }

    deinit {
        line.condition.lock()
        line.closing = true
        line.condition.broadcast()
        line.condition.unlock()
    }
}
