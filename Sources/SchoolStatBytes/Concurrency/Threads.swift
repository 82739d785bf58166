// Bytes (concurrency): threads of schoolstat's own, and what is done when one cannot be had.
//
// A check the page runs lives under an address-space ceiling, where a new thread's stack may not
// fit. libdispatch then waits for resources and tries again, for as long as it takes: the check
// would hang until the page's time limit instead of ending at once. A thread started here says
// when it could not be, and its work is done on the caller's thread instead.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSupport
import Dispatch
import Synchronization

public enum Threads {
    /// The stack each thread is given: deep enough for the parsers' recursion (their depth is
    /// bounded well within it).
    public static let defaultStackSize = 8 << 20

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a thread of its own (`name` shown in a debugger);
    /// false, `body` not run, when the system gives none.
    @discardableResult
    public static func start(name: String = "schoolstat", stackSize: Int = defaultStackSize, _ body: @escaping @Sendable () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return false }
        defer { pthread_attr_destroy(&attributes) }
        _ = pthread_attr_setstacksize(&attributes, stackSize)
        _ = pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Body {
            schoolstat_name_thread(name)
            body()
        }).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let started = pthread_create(&thread, &attributes, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard started == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        return true
    }

    /// Lowers the calling thread's priority: it takes a core only while the others leave one idle.
    public static func yieldToOthers() { schoolstat_yield_thread() }

    /// Runs `body(i)` for every `i` in `0..<count`, on up to `threads` threads, the caller's among
    /// them; returns when every one has run. Iterations go to whichever thread is free, so the
    /// order they run in is not fixed.
    public static func forEach(_ count: Int, threads: Int, stackSize: Int = defaultStackSize, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 1, threads > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        let shared = SharedLoop(count: count, body: body)
        var helpers = 0
        for _ in 1..<min(threads, count) {
            guard start(name: "schoolstat-loop", stackSize: stackSize, { shared.run(); shared.finished() }) else { break }
            helpers += 1
        }
        shared.run()
        shared.wait(for: helpers)
    }

    /// The iterations of a `forEach` still to take, and the helper threads done.
    private final class SharedLoop: Sendable {
        private let next = Atomic<Int>(0)
        private let count: Int
        private let body: @Sendable (Int) -> Void
        /// Signalled by each helper thread once it has nothing left to take (a semaphore wakes
        /// whoever waits without a thread of its own).
        private let done = DispatchSemaphore(value: 0)
        init(count: Int, body: @escaping @Sendable (Int) -> Void) {
            self.count = count
            self.body = body
        }
        func run() {
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < count else { return }
                body(i)
            }
        }
        func finished() { done.signal() }
        func wait(for helpers: Int) { for _ in 0..<helpers { done.wait() } }
    }
}
