// Bytes (concurrency): a program run as a child process, and its end seen by waiting for it.
//
// Foundation's `Process` learns that a child ended from a signal handled on a run loop of its
// own; in a process that starts many children from many threads at once (the page, checking
// uploads side by side; a test suite) that news can fail to arrive, and whoever waits for it
// waits for good. A `ChildProcess` asks the system itself (`waitpid` on the child's id), so the
// end of a child is seen however many others there are.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSupport
import Synchronization

public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    public let program: String
    public let code: Int32
    public var description: String { "cannot start \(program): \(String(cString: strerror(code)))" }
}

public final class ChildProcess: Sendable {
    /// How a child ended.
    public enum Termination: Equatable, Sendable {
        /// It exited with this code.
        case exited(Int32)
        /// A signal ended it.
        case signalled(Int32)
        /// The system no longer knew it when asked: it ended, and no one can tell how (another
        /// part of the process took its end first).
        case lost

        /// The exit code, the signal's number (as Foundation's `terminationStatus` gives it), or
        /// -1 when how it ended is not known.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): signal
            case .lost: -1
            }
        }
    }

    public let pid: Int32
    /// Set once the child has been waited for; its id is then no longer its (it may be reused),
    /// so no signal is sent to it after.
    private let ended = Mutex<Termination?>(nil)

    /// Starts `executable` (a full path) with `arguments`. `environment` nil keeps this process's;
    /// `directory` nil, this process's working directory. Standard input reads `input`; standard
    /// output and error are written to the files `output` and `errors` (created readable by this
    /// user only, or emptied when they exist); each nil is /dev/null. Nothing else of this
    /// process's (no descriptor, no ignored or blocked signal) passes to the child.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                input: String? = nil, output: String? = nil, errors: String? = nil) throws(ChildProcessError) {
        // C copies of every text, freed once the child has started (posix_spawn returns after it has).
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup($0.key + "=" + $0.value) } + [nil] }
        let paths = [directory, input, output, errors].map { $0.flatMap { UnsafePointer(strdup($0)) } }
        defer {
            for p in argv + (envp ?? []) { free(p) }
            for p in paths { free(UnsafeMutablePointer(mutating: p)) }
        }
        var pid: Int32 = 0
        let failed = argv.withUnsafeBufferPointer { argvBuffer in
            Self.withOptionalArray(envp) { envpPointer in
                schoolstat_spawn(&pid, executable, argvBuffer.baseAddress, envpPointer, paths[0], paths[1], paths[2], paths[3])
            }
        }
        guard failed == 0 else { throw ChildProcessError(program: executable, code: failed) }
        self.pid = pid
    }

    /// A child no one waited for is stopped and waited for as its handle goes (a test that
    /// failed before it could), so that none is left running or unreaped.
    deinit {
        if poll() == nil {
            signal(SIGKILL)
            wait()
        }
    }

    private static func withOptionalArray<R>(_ a: [UnsafeMutablePointer<CChar>?]?, _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> R) -> R {
        guard let a else { return body(nil) }
        return a.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// How the child ended, or nil while it runs; never waits.
    public func poll() -> Termination? {
        ended.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            var got: Int32
            repeat { got = waitpid(pid, &status, WNOHANG) } while got == -1 && errno == EINTR
            guard got == pid else {
                // -1 (ECHILD): no such child of this process's any more (its end was taken
                // elsewhere): ended, how not known, rather than waited on for good.
                if got == -1 { ended = .lost }
                return ended
            }
            let low = status & 0x7F
            ended = low == 0 ? .exited((status >> 8) & 0xFF) : .signalled(low)
            return ended
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits for the child to end, however long it takes.
    @discardableResult
    public func wait() -> Termination { wait(until: nil)! }

    /// Waits for the child to end, at most `seconds`; nil if it is still running then.
    @discardableResult
    public func wait(seconds: Double) -> Termination? { wait(until: .now + .milliseconds(Int64(seconds * 1000))) }

    /// Asks every few milliseconds: the child's end is seen within 10 ms of it.
    private func wait(until limit: ContinuousClock.Instant?) -> Termination? {
        var pause: UInt32 = 500
        while true {
            if let ended = poll() { return ended }
            if let limit, ContinuousClock.now >= limit { return nil }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
    }

    /// Sends `signal` to the child, unless it has already been seen to end.
    public func signal(_ signal: Int32) {
        ended.withLock { ended in
            if ended == nil { _ = kill(pid, signal) }
        }
    }

    /// Asks the child to stop (SIGTERM), and ends it (SIGKILL) if it is still running after
    /// `grace` seconds; returns how it ended.
    @discardableResult
    public func stop(grace: Double = 2) -> Termination {
        signal(SIGTERM)
        if let ended = wait(seconds: grace) { return ended }
        signal(SIGKILL)
        return wait()
    }
}
