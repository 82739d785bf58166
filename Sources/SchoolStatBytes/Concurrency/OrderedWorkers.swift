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

    /// No worker thread could be started: each batch is transformed on the caller's thread, as
    /// it is submitted, by worker 0.
    private var inline = false

    /// Starts `threads` workers; `work` gets the worker's number, so it can keep per-worker state.
    /// Workers the system gives no thread for are done without.
    public init(threads: Int, window: Int, work: @escaping (_ worker: Int, Input) -> Output) {
        self.window = max(1, window)
        self.work = work
        var started = 0
        for worker in 0..<max(1, threads) {
            condition.lock()
            running += 1
            condition.unlock()
            let unchecked = UncheckedSelf(self)
            guard Threads.start(name: "schoolstat-validate-\(worker)", { unchecked.workers.loop(worker) }) else {
                condition.lock()
                running -= 1
                condition.unlock()
                break
            }
            started += 1
        }
        inline = started == 0
    }

    /// The pool, handed to its worker threads (it is shared under its own lock).
    private struct UncheckedSelf: @unchecked Sendable {
        let workers: OrderedWorkers
        init(_ workers: OrderedWorkers) { self.workers = workers }
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
        if inline {
            let output = work(0, input)
            condition.lock()
            finished[submitted] = output
            submitted += 1
            condition.unlock()
            return drain(consume, keepingAtMost: 0)
        }
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
