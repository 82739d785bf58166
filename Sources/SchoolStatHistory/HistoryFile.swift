// History: the file a history lives in, looked at before anything writes to it or beside it. A
// symbolic link, a named pipe or a device is refused unopened; an existing file must be an
// undamaged SQLite database carrying schoolstat's application id (or, written by an earlier
// build, its `schoolstat_history` table) in a format this build knows. The look is read-only and
// takes no locks (SQLite's `immutable` mode), so SQLite creates no -journal, -wal or -shm file
// beside a file that turns out not to be ours.
import Foundation
import GRDBSQLite
import SchoolStatModel
import SchoolStatBytes

enum HistoryFile {
    /// `PRAGMA application_id` of a schoolstat history: "SSHT".
    static let applicationID: Int32 = 0x5353_4854
    /// The history's format (its `user_version` and the row of `schoolstat_history`).
    static let format = 1

    enum State: Equatable {
        /// Nothing there: the history is created.
        case absent
        /// An empty regular file (0 bytes): the history is created in it.
        case empty
        /// A SQLite database with no tables yet: taken as a new history.
        case emptyDatabase
        /// A schoolstat history.
        case history
    }

    /// What is at `path`, or why it cannot be a history; nothing is written.
    static func vet(path: String) throws(HistoryError) -> State {
        func refuse(_ zh: String, _ en: String) -> HistoryError { HistoryError(path: path, reason: "\(zh)，不会改动它 (\(en); left alone)") }
        switch PathKind(path: path) {
        case .absent: return .absent
        case .regular: break
        case .symbolicLink:
            throw refuse("这是符号链接；运行历史不经由链接写入，请直接指定它指向的文件", "a symbolic link; name the file it points to instead")
        case let kind:
            throw refuse("这是\(kind.description)，不是普通文件", "not a regular file")
        }
        let header: [UInt8], size: Int
        do throws(ReadError) {
            let fd = try RegularFile.openForReading(path)
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ReadError.ioFailure(path: path, reason: String(cString: strerror(errno))) }
            size = Int(st.st_size)
            if size == 0 { return .empty }
            var bytes = [UInt8](repeating: 0, count: 100)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 100, 0) }
            header = n == 100 ? bytes : []
        } catch {
            throw HistoryError(path: path, reason: error.description)
        }
        guard header.starts(with: Array("SQLite format 3\u{0}".utf8)) else {
            throw refuse("这不是 SQLite 数据库（或文件头已损坏）", "not a SQLite database, or its header is damaged")
        }
        func be32(_ at: Int) -> UInt32 { header[at..<at + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        guard pageSize >= 512, pageSize.nonzeroBitCount == 1 else {
            throw refuse("数据库文件已损坏（页大小无效）", "the database is damaged: invalid page size")
        }
        // Bytes past the last page (SQLite would not even look at them) are damage, and so is a
        // file shorter than its header says — unless a -wal file beside it still holds what a
        // checkpoint was copying.
        let walExists = PathKind(path: path + "-wal") != .absent
        let pages = Int(be32(28)), sizeValid = be32(92) == be32(24) && pages > 0
        if size % pageSize != 0 || (sizeValid && (pages * pageSize < size || (!walExists && pages * pageSize > size))) {
            throw refuse("数据库文件已损坏（长度与页数不符，可能末尾多出了数据或被截断）", "the database is damaged: its length does not match its pages")
        }
        let applicationID = Int32(bitPattern: be32(68)), userVersion = Int(Int32(bitPattern: be32(60)))
        guard applicationID == 0 || applicationID == Self.applicationID else {
            throw refuse("这不是 schoolstat 的运行历史数据库", "not a schoolstat history")
        }
        guard userVersion <= Self.format, userVersion >= 0 else {
            throw refuse("这是更新版本的 schoolstat 写出的运行历史（格式 \(userVersion)，本程序认识的最高格式为 \(Self.format)）；请使用更新的 schoolstat",
                         "written by a newer schoolstat (format \(userVersion); this build knows up to \(Self.format))")
        }
        let look: (check: String, tables: [String], format: Int?)
        do { look = try readOnlyLook(path: path, immutable: !walExists) } catch {
            throw refuse("不是可读的 SQLite 数据库（\(error.message)）", "not a readable SQLite database: \(error.message)")
        }
        guard look.check == "ok" else {
            throw refuse("数据库文件已损坏（完整性检查：\(look.check.prefix(200))）", "the database is damaged: quick_check says \(look.check.prefix(200))")
        }
        if look.tables.isEmpty && applicationID == 0 { return .emptyDatabase }
        guard look.tables.contains("schoolstat_history") else {
            throw refuse("这不是 schoolstat 的运行历史数据库", "not a schoolstat history")
        }
        if let format = look.format, format > Self.format || format < 1 {
            throw refuse("运行历史的格式 \(format) 不是本程序认识的（最高 \(Self.format)）；请使用更新的 schoolstat",
                         "history format \(format) is not one this build knows (up to \(Self.format))")
        }
        return .history
    }

    struct LookError: Error { var message: String }

    /// The integrity check, the tables and the history's recorded format of the SQLite file at
    /// `path`, read through SQLite's C interface: read-only, and with `immutable` without locks
    /// or any file beside it.
    static func readOnlyLook(path: String, immutable: Bool) throws(LookError) -> (check: String, tables: [String], format: Int?) {
        var db: OpaquePointer?
        // In a URI, `%`, `?` and `#` are escaped; the rest of the path is taken as it is.
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let escaped = absolute.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3F")
            .replacingOccurrences(of: "#", with: "%23")
        let uri = "file://" + escaped + (immutable ? "?immutable=1" : "")
        let opened = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nil)
        defer { sqlite3_close_v2(db) }
        guard opened == SQLITE_OK, let db else { throw LookError(message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open") }
        sqlite3_busy_timeout(db, 30_000)
        func rows(_ sql: String) throws(LookError) -> [String] {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
                sqlite3_finalize(statement)
                throw LookError(message: String(cString: sqlite3_errmsg(db)))
            }
            defer { sqlite3_finalize(statement) }
            var out: [String] = []
            while true {
                let step = sqlite3_step(statement)
                if step == SQLITE_DONE { return out }
                guard step == SQLITE_ROW else { throw LookError(message: String(cString: sqlite3_errmsg(db))) }
                out.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
            }
        }
        let check = try rows("PRAGMA quick_check(1)").first ?? ""
        let tables = try rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        var format: Int?
        if tables.contains("schoolstat_history") {
            format = try rows("SELECT max(format) FROM schoolstat_history").first.flatMap { Int($0) }
        }
        return (check, tables, format)
    }

    /// The tables of the SQLite file at `path`, looked at without writing to it or beside it; nil
    /// when it is not a readable SQLite database.
    static func tableNames(path: String) -> [String]? {
        guard PathKind(path: path) == .regular else { return nil }
        let walExists = PathKind(path: path + "-wal") != .absent
        return try? readOnlyLook(path: path, immutable: !walExists).tables
    }
}
