// History: the connection to PostgreSQL through libpq, the client psql and pg_dump use. What the
// user writes after --to is handed to libpq as it is (a URI or a key=value string), so every
// setting those tools honour is honoured here: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD,
// ~/.pgpass (or PGPASSFILE), PGSERVICE with pg_service.conf, sslmode, connect_timeout. Only
// `schema`, which is schoolstat's, is taken out first. A password written in the target never
// appears in a message: every text libpq returns is scrubbed of it.
import CLibPQ
import CSupport
import Foundation

/// Where an export to PostgreSQL connects, and into which schema.
public struct PostgresTarget: Sendable {
    /// What libpq is given: the user's URI or key=value string without `schema`.
    var conninfo: String
    /// The schema the tables go into (`schoolstat` unless the target names another).
    public var schema: String
    /// Passwords written in the target (as written and percent-decoded), scrubbed from every message.
    var secrets: [String]

    static let refusedMessage = ExportError(
        "--to 应为 postgresql://用户@主机:端口/数据库、libpq 的 key=value 连接串（如 'service=county'）或 sqlite:文件路径",
        "--to must be postgresql://user@host:port/database, a libpq key=value string (such as 'service=county') or sqlite:PATH", kind: .refused)

    /// `postgresql://[user[:password]@][host][:port][/database][?param=value&…]` or
    /// `key=value …`; `schema` may be given in either, every other parameter is libpq's.
    static func parse(_ text: String) throws(ExportError) -> PostgresTarget {
        var schema: String?
        var secrets: [String] = []
        let conninfo: String
        if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
            let questionMark = text.firstIndex(of: "?")
            let base = String(text[..<(questionMark ?? text.endIndex)])
            var kept: [Substring] = []
            if let questionMark {
                for item in text[text.index(after: questionMark)...].split(separator: "&", omittingEmptySubsequences: false) {
                    let name = item.prefix { $0 != "=" }
                    let value = item.dropFirst(name.count + 1)
                    switch name {
                    case "schema": schema = String(value).removingPercentEncoding ?? String(value)
                    case "password": secrets += [String(value), String(value).removingPercentEncoding ?? ""]; kept.append(item)
                    default: kept.append(item)
                    }
                }
            }
            // user:password@ before the host.
            let authority = base.dropFirst(base.hasPrefix("postgresql://") ? 13 : 11).prefix { $0 != "/" }
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                let password = String(authority[authority.index(after: colon)..<at])
                secrets += [password, password.removingPercentEncoding ?? ""]
            }
            conninfo = kept.isEmpty ? base : base + "?" + kept.joined(separator: "&")
        } else if text.contains("=") {
            guard let pairs = keywordValuePairs(text) else { throw refusedMessage }
            var kept: [(String, String)] = []
            for (key, value) in pairs {
                switch key {
                case "schema": schema = value
                case "password": secrets.append(value); kept.append((key, value))
                default: kept.append((key, value))
                }
            }
            conninfo = kept.map { "\($0.0)=\(quoted($0.1))" }.joined(separator: " ")
        } else {
            throw refusedMessage
        }
        let target = PostgresTarget(conninfo: conninfo, schema: schema ?? "schoolstat", secrets: secrets.filter { !$0.isEmpty })
        guard RunExport.isIdentifier(target.schema) else {
            throw ExportError("模式名 \(target.schema) 只能由小写字母、数字和下划线组成", "schema name \(target.schema) must be lower-case letters, digits and underscores",
                              kind: .refused)
        }
        // libpq is loaded now, the first time it is needed.
        if let problem = schoolstat_pq_load() {
            let reason = String(cString: problem)
            throw ExportError("无法加载 PostgreSQL 客户端库 libpq：\(reason)；请安装 libpq5（apt-get install libpq5）",
                              "cannot load the PostgreSQL client library libpq: \(reason); install libpq5 (apt-get install libpq5)")
        }
        // libpq's own reading of the rest: an unknown parameter or a malformed URI is refused here,
        // before the run is read.
        var message: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &message) {
            PQconninfoFree(options)
        } else {
            let reason = message.map { String(cString: $0) } ?? "out of memory"
            if let message { PQfreemem(message) }
            throw ExportError("--to 无法解析：\(target.clean(reason))", "--to cannot be parsed: \(target.clean(reason))", kind: .refused)
        }
        return target
    }

    /// A key=value connection string split as libpq splits it: values may be single-quoted, a
    /// backslash escapes the next character. Nil when it is malformed.
    static func keywordValuePairs(_ text: String) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        var chars = Array(text.unicodeScalars)[...]
        func skipSpaces() { while let c = chars.first, c.properties.isWhitespace { chars.removeFirst() } }
        while true {
            skipSpaces()
            guard !chars.isEmpty else { return pairs }
            var key = ""
            while let c = chars.first, c != "=", !c.properties.isWhitespace { key.unicodeScalars.append(c); chars.removeFirst() }
            skipSpaces()
            guard !key.isEmpty, chars.first == "=" else { return nil }
            chars.removeFirst()
            skipSpaces()
            var value = ""
            if chars.first == "'" {
                chars.removeFirst()
                var closed = false
                while let c = chars.popFirst() {
                    if c == "\\" { guard let next = chars.popFirst() else { return nil }; value.unicodeScalars.append(next); continue }
                    if c == "'" { closed = true; break }
                    value.unicodeScalars.append(c)
                }
                guard closed else { return nil }
            } else {
                while let c = chars.first, !c.properties.isWhitespace {
                    chars.removeFirst()
                    if c == "\\" { guard let next = chars.popFirst() else { return nil }; value.unicodeScalars.append(next); continue }
                    value.unicodeScalars.append(c)
                }
            }
            pairs.append((key, value))
        }
    }

    /// A value for a key=value string, quoted so that libpq reads it back unchanged.
    static func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// A message from libpq or the server on one line, with every password of the target masked.
    func clean(_ message: String) -> String {
        var text = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "; ")
        for secret in secrets.sorted(by: { $0.count > $1.count }) { text = text.replacingOccurrences(of: secret, with: "******") }
        return text
    }
}

/// One open libpq connection. Statements are sent one at a time; a failure is an `ExportError`
/// carrying the server's message, scrubbed of the target's passwords.
final class PostgresConnection {
    private let connection: OpaquePointer
    private let target: PostgresTarget

    init(_ target: PostgresTarget) throws(ExportError) {
        self.target = target
        // The user's string is expanded in place of dbname and overrides what comes before it.
        var keywords = ["fallback_application_name"], values = ["schoolstat"]
        if ProcessInfo.processInfo.environment["PGCONNECT_TIMEOUT"] == nil { keywords.append("connect_timeout"); values.append("30") }
        keywords.append("dbname"); values.append(target.conninfo)
        let connection = withCStrings(keywords) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let connection else { throw ExportError("无法连接 PostgreSQL：内存不足", "cannot connect to PostgreSQL: out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = target.clean(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw ExportError("无法连接 PostgreSQL：\(reason)", "cannot connect to PostgreSQL: \(reason)")
        }
        // The server's notices ("schema already exists, skipping") are not the user's business.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.connection = connection
    }

    deinit { PQfinish(connection) }

    /// Runs one statement, with `parameters` as $1, $2, … (text; nil is NULL).
    func execute(_ sql: String, _ parameters: [String?] = []) throws(ExportError) {
        let result = withCStrings(parameters) { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw failure(result) }
    }

    /// `COPY table (columns) FROM STDIN` in COPY's text format: `produce` hands over lines, sent
    /// in pieces of about 64 KB, so a table of any size is copied in bounded memory. An error
    /// thrown by `produce` ends the COPY, failed, and is thrown on.
    func copy(into table: String, columns: [String], _ produce: (_ emit: (String) throws -> Void) throws -> Void) throws -> Int {
        let start = PQexec(connection, "COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN")
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw failure(start)
        }
        PQclear(start)
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 17)
        var lines = 0
        func send() throws(ExportError) {
            let sent = pending.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
            }
            guard sent == 1 else { throw failure(nil) }
            pending.removeAll(keepingCapacity: true)
        }
        do {
            try produce { line in
                pending.append(contentsOf: line.utf8)
                lines += 1
                if pending.count >= 1 << 16 { try send() }
            }
            if !pending.isEmpty { try send() }
        } catch {
            _ = PQputCopyEnd(connection, "schoolstat stopped the copy")
            while let result = PQgetResult(connection) { PQclear(result) }
            throw error
        }
        guard PQputCopyEnd(connection, nil) == 1 else { throw failure(nil) }
        var problem: ExportError?
        while let result = PQgetResult(connection) {
            if problem == nil && PQresultStatus(result) != PGRES_COMMAND_OK { problem = failure(result) }
            PQclear(result)
        }
        if let problem { throw problem }
        return lines
    }

    /// The server's message for `result` (or the connection's last error), as an export failure.
    private func failure(_ result: OpaquePointer?) -> ExportError {
        let primary = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
        let reason = target.clean(primary ?? String(cString: PQerrorMessage(connection)))
        return ExportError("导出到 PostgreSQL 失败：\(reason)", "export to PostgreSQL failed: \(reason)")
    }
}

/// `strings` as a C array of C strings (nil stays NULL), valid inside `body`.
private func withCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { $0.flatMap { strdup($0) } }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withCStrings(strings.map(Optional.some), body)
}
