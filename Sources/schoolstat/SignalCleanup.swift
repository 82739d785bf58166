// A run's staging directory removed when the process is told to stop.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
import SchoolStatHistory

/// Removes a run's staging directory when the process is told to stop.
final class SignalCleanup: Sendable {
    private struct State {
        var path: String?
        var stopping = false
    }
    private final class Shared: Sendable {
        let state = Mutex(State())
    }
    private let shared = Shared()
    /// Kept for the life of the process; never touched after `init`.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]

    var staging: String? {
        get { shared.state.withLock { $0.path } }
        set { shared.state.withLock { $0.path = newValue } }
    }

    /// Blocks for good once a signal has been taken: the handler exits the process when it has
    /// removed the staging directory, with the signal's status, which an error the removal
    /// caused on this thread must not pre-empt.
    func waitIfStopping() {
        guard shared.state.withLock({ $0.stopping }) else { return }
        while true { sleep(60) }
    }

    init() {
        let shared = self.shared
        sources = [SIGTERM, SIGINT, SIGHUP].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let path = shared.state.withLock { state -> String? in
                    state.stopping = true
                    return state.path
                }
                if let path {
                    // Moved aside first: threads still writing cannot create files in it any more.
                    let doomed = path + ".removing"
                    try? FileManager.default.removeItem(atPath: rename(path, doomed) == 0 ? doomed : path)
                }
                FileHandle.standardError.write(Data("schoolstat: 已中止，上一次的输出保持不变。 (stopped; previous outputs untouched)\n".utf8))
                exit(128 + sig)
            }
            source.resume()
            return source
        }
    }
}
