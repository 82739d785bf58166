import Foundation
import Testing
import SchoolStatBytes
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The child processes the page runs its checks in (and the tests their programs in): each one's
/// end seen however many run at once, what it is given and nothing more.
@Suite("Child processes")
struct ChildProcessTests {
    @Test("hundreds of children started from eight threads at once, some ending at once and some killed: every end is seen, with its status")
    func manyAtOnce() throws {
        // Threads of their own: the tasks of Swift's pool are as many as the cores.
        let ends = Mutex<[ChildProcess.Termination?]>([])
        let failures = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        for worker in 0..<8 {
            Thread.detachNewThread {
                var seen: [ChildProcess.Termination?] = []
                do {
                    for i in 0..<40 {
                        switch (worker + i) % 4 {
                        case 0:
                            seen.append(try ChildProcess("/bin/true", []).wait(seconds: 30))
                        case 1:
                            seen.append(try ChildProcess("/bin/sh", ["-c", "exit 3"]).wait(seconds: 30))
                        case 2:
                            let child = try ChildProcess("/bin/sleep", ["30"])
                            child.signal(SIGKILL)
                            seen.append(child.wait(seconds: 30))
                        default:
                            let child = try ChildProcess("/bin/sleep", ["30"])
                            if child.wait(seconds: 0.01) != nil { failures.withLock { $0.append("sleep 30 ended at once") } }
                            seen.append(child.stop())
                        }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
                ends.withLock { $0 += seen }
                done.signal()
            }
        }
        for _ in 0..<8 { done.wait() }
        #expect(failures.withLock { $0 }.isEmpty)
        let all = ends.withLock { $0 }
        #expect(all.count == 320)
        #expect(all.filter { $0 == .exited(0) }.count == 80)
        #expect(all.filter { $0 == .exited(3) }.count == 80)
        #expect(all.filter { $0 == .signalled(SIGKILL) }.count == 80)
        #expect(all.filter { $0 == .signalled(SIGTERM) }.count == 80)
    }

    @Test("the child has its directory, environment, input and output files; a program that cannot be run is an error naming it")
    func givenWhatItIsTold() throws {
        let dir = TestSupport.temporaryDirectory()
        TestSupport.write("from the input file\n", to: dir + "/in.txt")
        let child = try ChildProcess("/bin/sh", ["-c", "pwd; echo \"$GREETING\"; cat; echo problem >&2; exit 7"],
                                     environment: ["GREETING": "你好", "PATH": "/usr/bin:/bin"], directory: dir,
                                     input: dir + "/in.txt", output: dir + "/out.txt", errors: dir + "/err.txt")
        #expect(child.wait(seconds: 30) == .exited(7))
        #expect(TestSupport.text(dir + "/out.txt") == "\(dir)\n你好\nfrom the input file\n")
        #expect(TestSupport.text(dir + "/err.txt") == "problem\n")
        // Written for this user only.
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/out.txt")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        #expect(throws: ChildProcessError.self) { try ChildProcess(dir + "/no-such-program", []) }
        #expect(throws: ChildProcessError.self) { try ChildProcess("/bin/true", [], directory: dir + "/no-such-directory") }
    }

    @Test("the child holds no descriptor of this process's and no signal it ignores or blocks")
    func nothingInherited() throws {
        let dir = TestSupport.temporaryDirectory()
        // A descriptor open without close-on-exec, and SIGPIPE ignored, as a server has it.
        let open = Glibc.open(dir + "/held.txt", O_WRONLY | O_CREAT, 0o600)
        #expect(open > 2)
        defer { close(open) }
        // Left ignored after: putting back the default while other tests run could end the
        // whole test process on a write to a closed pipe.
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
        let child = try ChildProcess("/bin/cat", ["/proc/self/status"], output: dir + "/status.txt")
        #expect(child.wait(seconds: 30) == .exited(0))
        let status = TestSupport.text(dir + "/status.txt").split(separator: "\n")
        // Signals 1 to 31 at their default: the realtime signals above them are the C library's own.
        let ignored = status.first { $0.hasPrefix("SigIgn:\t") }.flatMap { UInt64($0.dropFirst("SigIgn:\t".count), radix: 16) }
        #expect(ignored.map { $0 & 0x7FFF_FFFF } == 0, "\(String(ignored ?? 0, radix: 16))")
        #expect(status.contains("SigBlk:\t0000000000000000"))
        let listing = try ChildProcess("/bin/ls", ["/proc/self/fd"], output: dir + "/fds.txt")
        #expect(listing.wait(seconds: 30) == .exited(0))
        // 0, 1, 2 and the directory ls itself opened to list.
        #expect(TestSupport.text(dir + "/fds.txt").split(separator: "\n").count == 4)
    }

    @Test("a child's end, once seen, stays as it was seen; no signal is sent after it, its id being free for another process")
    func endKept() throws {
        let child = try ChildProcess("/bin/true", [])
        #expect(child.wait(seconds: 30) == .exited(0))
        child.signal(SIGKILL)
        #expect(child.poll() == .exited(0))
        #expect(!child.isRunning)
    }

    @Test("a child whose handle goes without a wait (a test failing early) is stopped and reaped, not left running")
    func stoppedWithItsHandle() throws {
        var pid: Int32 = 0
        do {
            let child = try ChildProcess("/bin/sleep", ["30"])
            pid = child.pid
            #expect(FileManager.default.fileExists(atPath: "/proc/\(pid)"))
        }
        // Neither running nor a zombie: the id is no longer a process of this one's.
        #expect(waitpid(pid, nil, WNOHANG) == -1 && errno == ECHILD)
    }
}
