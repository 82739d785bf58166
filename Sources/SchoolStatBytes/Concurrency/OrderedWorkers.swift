// Bytes (pipeline): a small ordered worker pool. The caller hands in batches in file
// order; worker threads transform them in parallel; the results come back to
// the caller's thread in the order the batches went in, so everything written
// from them is the same whatever the number of threads.
import DequeModule
import Foundation

public final class OrderedWorkers<Input, Output>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Batches waiting for a worker, never more than the window.
    private var pending: Deque<(sequence: Int, input: Input)> = []
    private var finished: [Int: Output] = [:]
    private var submitted = 0
    private var consumed = 0
    private var closing = false
    private var running = 0
    /// How many batches may be submitted and not yet consumed: this bounds memory.
    private let window: Int
    private let work: (_ worker: Int, Input) -> Output

    /// Starts `threads` workers; `work` gets the worker's number, so it can keep per-worker state.
    public init(threads: Int, window: Int, work: @escaping (_ worker: Int, Input) -> Output) {
        self.window = max(1, window)
        self.work = work
        let count = max(1, threads)
        running = count
        for worker in 0..<count {
            let thread = Thread { [self] in self.loop(worker) }
            thread.stackSize = 8 << 20
            thread.name = "schoolstat-validate-\(worker)"
            thread.start()
        }
    }

    private func loop(_ worker: Int) {
        while true {
            condition.lock()
            while pending.isEmpty && !closing { condition.wait() }
            if pending.isEmpty {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = pending.removeFirst()
            condition.unlock()
            let output = work(worker, job.input)
            condition.lock()
            finished[job.sequence] = output
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Queues one batch, then hands every result that is ready, in order, to `consume`;
    /// waits only while too many batches are in flight.
    public func submit(_ input: Input, consume: (Output) -> Void) {
        condition.lock()
        pending.append((submitted, input))
        submitted += 1
        condition.broadcast()
        condition.unlock()
        drain(consume, keepingAtMost: window)
    }

    /// Consumes every remaining result in order and stops the workers; call it once,
    /// on every path (the worker threads keep the pool alive until then).
    public func finish(consume: (Output) -> Void) {
        drain(consume, keepingAtMost: 0)
        condition.lock()
        closing = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func drain(_ consume: (Output) -> Void, keepingAtMost limit: Int) {
        while true {
            condition.lock()
            while submitted - consumed > limit && finished[consumed] == nil { condition.wait() }
            guard let output = finished.removeValue(forKey: consumed) else {
                condition.unlock()
                return
            }
            consumed += 1
            condition.unlock()
            consume(output)
        }
    }
}
