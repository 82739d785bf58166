// Bytes (reading): what is at a path, found out without blocking. Opening a named pipe for reading
// waits until something writes to it, and reading a device can go on for ever; every file
// schoolstat reads or writes beside its outputs is looked at first (lstat, or an open with
// O_NONBLOCK followed by fstat) and taken only when it is a regular file.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SchoolStatModel

/// What is at a path.
public enum PathKind: Sendable, Equatable {
    case absent
    case regular
    case directory
    case symbolicLink
    case special(SpecialFile)

    /// Looks at `path` without opening it; a symbolic link is reported as one unless
    /// `followingLinks` (then it is what the link leads to, or absent when it leads nowhere).
    public init(path: String, followingLinks: Bool = false) {
        var st = stat()
        guard (followingLinks ? stat(path, &st) : lstat(path, &st)) == 0 else { self = .absent; return }
        self.init(mode: st.st_mode)
    }

    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        default: self = .special(SpecialFile(mode: mode))
        }
    }

    /// What it is, in words, for a message: `命名管道 (a named pipe)`.
    public var description: String {
        switch self {
        case .absent: "不存在 (absent)"
        case .regular: "普通文件 (a regular file)"
        case .directory: "目录 (a directory)"
        case .symbolicLink: "符号链接 (a symbolic link)"
        case .special(let kind): "\(kind.nameZh) (\(kind.nameEn))"
        }
    }
}

extension SpecialFile {
    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFIFO: self = .pipe
        case S_IFSOCK: self = .socket
        case S_IFCHR, S_IFBLK: self = .device
        default: self = .other
        }
    }

    public var nameZh: String {
        switch self {
        case .pipe: "命名管道"
        case .socket: "套接字"
        case .device: "设备文件"
        case .other: "特殊文件"
        }
    }

    public var nameEn: String {
        switch self {
        case .pipe: "a named pipe"
        case .socket: "a socket"
        case .device: "a device"
        case .other: "a special file"
        }
    }
}

/// Which file an open descriptor reads, and its state then: size, last change of its contents
/// and of its inode. A file read twice in one run (the pre-pass, then the main pass reading the
/// text of batches it kept only the positions of) must still be this file, unchanged.
public struct FileIdentity: Equatable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// When its contents last changed, and when its inode did (which no one can set back), in nanoseconds.
    public var modified: Int64
    public var changed: Int64

    public init?(fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        self.init(st)
    }

    /// The file `path` names now (through symbolic links); nil when there is none.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    private init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        changed = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }
}

public enum RegularFile {
    /// Opens `path` for reading when it is a regular file (a symbolic link to one included),
    /// without ever waiting: the open does not block on a named pipe, and anything but a regular
    /// file is closed again and refused, saying what it is.
    public static func openForReading(_ path: String) throws(ReadError) -> Int32 {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        let kind = PathKind(mode: st.st_mode)
        guard kind == .regular else {
            close(fd)
            throw .cannotOpen(path: path, reason: "这是\(kind.description)，不是普通文件 (not a regular file)")
        }
        // Reads from a regular file never block; the flag is cleared all the same.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return fd
    }

    /// Reads from `fd` until `raw` is full, the file ends or a read fails (read again when a
    /// signal cuts it short); how many bytes were read.
    public static func readAll(_ fd: Int32, into raw: UnsafeMutableRawBufferPointer) -> Int {
        var got = 0
        while got < raw.count {
            let n = Glibc.read(fd, raw.baseAddress! + got, raw.count - got)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        return got
    }

    /// The bytes of the regular file at `path`, at most `limit` of them (nil when it holds more);
    /// nil when there is no such file. Anything but a regular file throws, unopened or unread.
    public static func contents(_ path: String, limit: Int) throws(ReadError) -> [UInt8]? {
        if PathKind(path: path, followingLinks: true) == .absent { return nil }
        let fd = try openForReading(path)
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .ioFailure(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > limit { return nil }
        }
    }
}
