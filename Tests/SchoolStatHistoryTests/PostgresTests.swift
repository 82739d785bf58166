import Foundation
import Testing

/// A private PostgreSQL cluster for the tests: `initdb` in a temporary directory, started by
/// `pg_ctl` on a Unix socket only (no TCP), stopped and removed at the end. Debian's `postgresql`
/// package provides the programs (`make test` installs it). As root, the server runs as the
/// `postgres` user, which the package creates. With `clerk`, the cluster also listens on
/// 127.0.0.1 and has a role `clerk` who must give a password (SCRAM) and owns a database `county`;
/// `postgres` itself is trusted on the socket, for the tests' own queries.
final class PostgresCluster {
    let directory: String
    let port: Int
    let bin: String
    private let asRoot = getuid() == 0

    var socket: String { directory + "/socket" }
    var url: String { "postgresql://postgres@localhost:\(port)/postgres?host=\(socket)" }

    init(clerk password: String? = nil) throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw ClusterError("PostgreSQL is not installed (Debian package postgresql; make test installs it)")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        // Short: a Unix socket's path must fit in 107 bytes.
        var template = Array("/tmp/pg-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ClusterError("mkdtemp failed") }
        directory = String(cString: made)
        port = Int.random(in: 20_000...60_000)
        try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true)
        if asRoot { try run("/bin/chown", ["-R", "postgres:postgres", directory], asServer: false) }
        try run(bin + "/initdb", ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
        if password != nil {
            // Rewritten in place: the file keeps its owner.
            try """
                local all postgres trust
                local all all scram-sha-256
                host all all 127.0.0.1/32 scram-sha-256

                """.write(toFile: directory + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
        }
        let listen = password == nil ? "''" : "127.0.0.1"
        try run(bin + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60",
                                  "-o", "-k \(socket) -c listen_addresses=\(listen) -p \(port) -c fsync=off", "start"])
        if let password {
            _ = try query("CREATE ROLE clerk LOGIN PASSWORD '\(password)'")
            _ = try query("CREATE DATABASE county OWNER clerk")
        }
    }

    func stop() {
        _ = try? run(bin + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// One value per line of the query's answer (`psql -At`).
    func query(_ sql: String, database: String = "postgres") throws -> [String] {
        try run(bin + "/psql", ["-h", socket, "-p", String(port), "-U", "postgres", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .split(separator: "\n").map(String.init)
    }

    /// Runs `program` and waits for it (`TestSupport.run`, which asks the system rather than
    /// Foundation's `Process`, which does not always notice `runuser` ending). Output goes to
    /// files, not pipes: the server pg_ctl starts would hold a pipe open for good.
    @discardableResult
    func run(_ program: String, _ arguments: [String], asServer: Bool = true) throws -> String {
        let argv = (asRoot && asServer) ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments : [program] + arguments
        let r = try TestSupport.run(argv[0], Array(argv.dropFirst()), timeout: 600)
        guard r.status == 0 else { throw ClusterError("\(program) failed (status \(r.status)): " + r.stderr) }
        return r.stdout
    }
}

struct ClusterError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

@Suite("Export to PostgreSQL", .serialized)
struct PostgresTests {
    @Test("a run's clean tables and findings land typed in one transaction, and a second export of the run changes nothing")
    func export() throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let dir = TestSupport.temporaryDirectory()
        let out = dir + "/out"
        let run = try TestSupport.runBinary(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", out, "--quiet", "--run-id", "night-1"])
        #expect(run.status == 1)

        let first = try TestSupport.runBinary(["export", "night-1", "--db", dir + "/schoolstat-history.sqlite", "--to", cluster.url, "--rules", TestSupport.rules])
        #expect(first.status == 0, "\(first.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
        let tables = try #require(summary?["tables"] as? [String: [String: Any]])
        func counts() throws -> [String: String] {
            var c: [String: String] = [:]
            for name in tables.keys.sorted() { c[name] = try cluster.query("SELECT count(*) FROM schoolstat.\(name) WHERE run_id = 'night-1'").first }
            c["findings"] = try cluster.query("SELECT count(*) FROM schoolstat.findings WHERE run_id = 'night-1'").first
            return c
        }
        let before = try counts()
        for (name, t) in tables { #expect(before[name] == (t["rows_clean"] as? Int).map(String.init), "\(name)") }
        #expect(before["findings"] == String(TestSupport.csvRecords(out + "/ledger.csv").count))

        // Typed columns: integers, exact decimals, dates, booleans.
        let types = Dictionary(uniqueKeysWithValues: try cluster.query("""
            SELECT table_name || '.' || column_name || '=' || data_type FROM information_schema.columns WHERE table_schema = 'schoolstat'
            """).map { line -> (String, String) in let p = line.split(separator: "="); return (String(p[0]), String(p[1])) })
        #expect(types["schools.total_pupils"] == "bigint")
        #expect(types["teachers.annual_wage"] == "numeric")
        #expect(types["teachers.birth_date"] == "date")
        #expect(types["teachers.certified"] == "boolean")
        #expect(types["teachers.school_code"] == "text")
        // Exact decimals: the clean CSV's text comes back digit for digit.
        let clean = TestSupport.csvRecords(out + "/clean/teachers.csv")
        let sample = try #require(clean.first { !($0["annual_wage"] ?? "").isEmpty })
        let wage = try cluster.query("SELECT annual_wage::text FROM schoolstat.teachers WHERE run_id = 'night-1' AND teacher_id = '\(sample["teacher_id"]!)'")
        #expect(wage.first.map { Decimal(string: $0) } == Decimal(string: sample["annual_wage"]!))

        // The same run again: nothing changes.
        let digest = "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM schoolstat.teachers t"
        let fingerprint = try cluster.query(digest)
        let again = try TestSupport.runBinary(["export", out, "--to", cluster.url, "--rules", TestSupport.rules])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try counts() == before)
        #expect(try cluster.query(digest) == fingerprint)
        #expect(try cluster.query("SELECT count(*) FROM schoolstat.runs").first == "1")

        // A later run sits beside it, told apart by its run id.
        _ = try TestSupport.runBinary(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", out, "--quiet", "--run-id", "night-2"])
        #expect(try TestSupport.runBinary(["export", "night-2", "--db", dir + "/schoolstat-history.sqlite", "--to", cluster.url, "--rules", TestSupport.rules]).status == 0)
        #expect(try cluster.query("SELECT run_id FROM schoolstat.runs ORDER BY run_id") == ["night-1", "night-2"])
        // night-1's outputs were replaced by night-2's: exporting it again is refused, not guessed.
        let gone = try TestSupport.runBinary(["export", "night-1", "--db", dir + "/schoolstat-history.sqlite", "--to", cluster.url, "--rules", TestSupport.rules])
        #expect(gone.status == 3)
        #expect(gone.stderr.contains("已被之后的运行替换"))
    }

    @Test("a failed export leaves nothing behind")
    func failedExportRollsBack() throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.runBinary(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", dir + "/out", "--quiet", "--run-id", "r1"])
        // A table of the same name with an incompatible column: the COPY fails half-way.
        _ = try cluster.query("CREATE SCHEMA schoolstat; CREATE TABLE schoolstat.teachers (run_id TEXT NOT NULL, birth_date INTEGER)")
        let failed = try TestSupport.runBinary(["export", dir + "/out", "--to", cluster.url, "--rules", TestSupport.rules])
        #expect(failed.status == 4)
        #expect(try cluster.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'schoolstat'") == ["1"])
        #expect(try cluster.query("SELECT count(*) FROM schoolstat.teachers") == ["0"])
    }

    @Test("the export connects as psql does: a password in the address, PG* variables, ~/.pgpass, a service file, sslmode; the password is never shown")
    func connections() throws {
        // Characters a URI must percent-encode, and one .pgpass must escape.
        let secret = "Kq7#v%t@w:9x"
        let encoded = "Kq7%23v%25t%40w%3A9x"
        let cluster = try PostgresCluster(clerk: secret)
        defer { cluster.stop() }
        let dir = TestSupport.temporaryDirectory()
        let out = dir + "/out", history = dir + "/schoolstat-history.sqlite"
        #expect(try TestSupport.runBinary(["validate", TestSupport.samples, "--rules", TestSupport.rules, "--out", out, "--quiet", "--run-id", "r1"]).status == 1)
        let socket = cluster.socket, port = String(cluster.port)
        // A home of its own: no .pgpass or service file of the machine's takes part.
        let home = dir + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let clean = ["HOME": home]
        var shown = ""
        func export(_ to: String, _ environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
            let result = try TestSupport.runBinary(["export", "r1", "--db", history, "--to", to, "--rules", TestSupport.rules],
                                                   environment: clean.merging(environment) { $1 })
            shown += result.stdout + result.stderr
            return result
        }
        func runs(_ schema: String) throws -> [String] {
            try cluster.query("SELECT run_id FROM \(schema).runs", database: "county")
        }

        // The password in the URI, percent-encoded; the socket directory as host.
        let uri = try export("postgresql://clerk:\(encoded)@/county?host=\(socket)&port=\(port)&schema=by_uri")
        #expect(uri.status == 0, "\(uri.stderr)")
        #expect(try runs("by_uri") == ["r1"])
        #expect(try cluster.query("SELECT count(*) FROM by_uri.teachers", database: "county") != ["0"])

        // Everything from the PG* variables.
        let variables = try export("postgresql://?schema=by_variables",
                                   ["PGHOST": socket, "PGPORT": port, "PGUSER": "clerk", "PGDATABASE": "county", "PGPASSWORD": secret])
        #expect(variables.status == 0, "\(variables.stderr)")
        #expect(try runs("by_variables") == ["r1"])

        // A key=value string, the password from ~/.pgpass (mode 0600; ':' escaped).
        let pgpass = home + "/.pgpass"
        try "*:\(port):county:clerk:\(secret.replacingOccurrences(of: ":", with: "\\:"))\n".write(toFile: pgpass, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pgpass)
        let passfile = try export("host=\(socket) port=\(port) user=clerk dbname=county schema=by_pgpass")
        #expect(passfile.status == 0, "\(passfile.stderr)")
        #expect(try runs("by_pgpass") == ["r1"])

        // A service named in the target, from ~/.pg_service.conf; the same service named by PGSERVICE
        // from the file PGSERVICEFILE names. The password still from ~/.pgpass.
        let service = "[county]\nhost=\(socket)\nport=\(port)\nuser=clerk\ndbname=county\n"
        try service.write(toFile: home + "/.pg_service.conf", atomically: false, encoding: .utf8)
        let named = try export("service=county schema=by_service")
        #expect(named.status == 0, "\(named.stderr)")
        #expect(try runs("by_service") == ["r1"])
        try service.write(toFile: dir + "/services.conf", atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: home + "/.pg_service.conf")
        let fromVariable = try export("postgresql://?schema=by_pgservice", ["PGSERVICE": "county", "PGSERVICEFILE": dir + "/services.conf"])
        #expect(fromVariable.status == 0, "\(fromVariable.stderr)")
        #expect(try runs("by_pgservice") == ["r1"])

        // sslmode is libpq's: over TCP, a server without SSL is refused when SSL is required, and
        // used when it is not.
        let tcp = "postgresql://clerk:\(encoded)@127.0.0.1:\(port)/county"
        let required = try export(tcp + "?sslmode=require&schema=by_tcp")
        #expect(required.status == 4)
        #expect(required.stderr.contains("SSL"), "\(required.stderr)")
        #expect(try cluster.query("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'by_tcp'", database: "county") == ["0"])
        let plain = try export(tcp + "?sslmode=disable&schema=by_tcp")
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try runs("by_tcp") == ["r1"])

        // A wrong password, and one libpq cannot even decode: refused, neither shown.
        let wrong = try export("postgresql://clerk:Wrong%23Secret@/county?host=\(socket)&port=\(port)")
        #expect(wrong.status == 4)
        #expect(wrong.stderr.contains("password authentication failed"), "\(wrong.stderr)")
        let malformed = try export("postgresql://clerk:Bad%zzSecret@/county?host=\(socket)&port=\(port)")
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("******"), "\(malformed.stderr)")
        for password in [secret, encoded, "Wrong%23Secret", "Wrong#Secret", "Bad%zzSecret"] {
            #expect(!shown.contains(password), "\(password) shown")
        }
        // Nor written anywhere: not in the run's files, not in the history.
        var files = [history]
        for case let name as String in FileManager.default.enumerator(atPath: out)! { files.append(out + "/" + name) }
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: file) else { continue }
            for password in [secret, encoded] { #expect(bytes.range(of: Data(password.utf8)) == nil, "\(password) in \(file)") }
        }
    }
}
