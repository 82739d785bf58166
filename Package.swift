// swift-tools-version: 6.0
import PackageDescription

// Release builds drop the run-time exclusivity checks on the per-cell path (each costs a
// thread-local lookup) and optimise across the targets, so that splitting the code into targets
// costs nothing at run time; debug builds, and so the tests, keep the checks.
let release: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "schoolstat",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "schoolstat", targets: ["schoolstat"]),
        .library(name: "SchoolStatPipeline", targets: ["SchoolStatPipeline", "SchoolStatReporting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    ],
    targets: [
        // libcsv from Debian's libcsv-dev (header csv.h, library libcsv).
        .systemLibrary(
            name: "CLibCSV",
            path: "Sources/CLibCSV",
            providers: [.apt(["libcsv-dev"])]
        ),
        // OpenCC from Debian's libopencc-dev: traditional to simplified Chinese.
        .systemLibrary(
            name: "COpenCC",
            path: "Sources/COpenCC",
            providers: [.apt(["libopencc-dev"])]
        ),
        // libxml2 from Debian's libxml2-dev: workbook parts are streamed through its SAX2 push parser.
        .systemLibrary(
            name: "CLibXML2",
            path: "Sources/CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // libxlsxwriter from Debian's libxlsxwriter-dev: the clerk's annotated workbook.
        .systemLibrary(
            name: "CLibXLSXWriter",
            path: "Sources/CLibXLSXWriter",
            pkgConfig: "xlsxwriter",
            providers: [.apt(["libxlsxwriter-dev"])]
        ),
        // FreeXL from Debian's libfreexl-dev (header freexl.h, library libfreexl): legacy Excel
        // 97-2003 workbooks (.xls, BIFF5 and BIFF8), text converted from the workbook's code page.
        .systemLibrary(
            name: "CFreeXL",
            path: "Sources/CFreeXL",
            providers: [.apt(["libfreexl-dev"])]
        ),
        // libpq from Debian's libpq-dev, the client psql and pg_dump use: the export to PostgreSQL.
        // Its header only: the library is loaded when the export first needs it (CSupport).
        .systemLibrary(
            name: "CLibPQ",
            path: "Sources/CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),
        // libcrypto from Debian's libssl-dev (OpenSSL): SHA-256 of input and rule files.
        .systemLibrary(
            name: "CLibCrypto",
            path: "Sources/CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Small C functions for SchoolStatBytes and SchoolStatPipeline: what Swift cannot call
        // directly (renameat2, sync_file_range, the allocator's threshold, a prefetch), libcsv's
        // callbacks and the record sink they fill, and byte scans on the per-row path (does a CSV
        // field need quotes, a JSON string escapes, may a field hold an ID number's digits).
        .target(name: "CSupport", path: "Sources/CSupport"),
        // The targets below depend on each other one way, in this order: what each may use is what
        // is listed above it. README.md, "How the code is laid out", draws the graph. Each target
        // lists every module its files import: .ci/check-imports.sh, run by `make test`, fails on
        // an import that is not listed.
        //
        // Model: values, the schema and rule-set types, the rule language's syntax tree, `pattern:`
        // expressions (parsed once, matched in linear time), findings and errors. Plain data; no
        // I/O, no unsafe code.
        .target(name: "SchoolStatModel", path: "Sources/SchoolStatModel", swiftSettings: release),
        // Bytes: the only target with unsafe code (pointers, unmanaged references, unchecked
        // Sendable), behind safe APIs: the libcsv, libxml2, FreeXL, libxlsxwriter, iconv and OpenCC
        // bridges, the CSV, xlsx and xls readers, record batches and spills, CSV and JSON bytes,
        // buffered files, byte-level text (numbers, dates, cleaning, character-class patterns),
        // hashing, SHA-256 through libcrypto, ID masks, row blocks, the key pre-pass's sort and
        // duplicate lookups, the ordered worker threads.
        .target(
            name: "SchoolStatBytes",
            dependencies: [
                "SchoolStatModel", "CLibCSV", "CLibXML2", "COpenCC", "CLibXLSXWriter", "CFreeXL", "CLibCrypto", "CSupport",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            path: "Sources/SchoolStatBytes", swiftSettings: release
        ),
        // Rules: Rules/ loaded and checked — YAML, schemas, packs, profiles, waivers, the rule
        // language's parser, compiler and built-in functions.
        .target(
            name: "SchoolStatRules",
            dependencies: ["SchoolStatModel", "SchoolStatBytes", .product(name: "Yams", package: "Yams")],
            path: "Sources/SchoolStatRules", swiftSettings: release
        ),
        // Pipeline: reading, normalising, validating, evaluating, writing; one validate run.
        .target(
            name: "SchoolStatPipeline",
            dependencies: [
                "SchoolStatModel", "SchoolStatBytes", "SchoolStatRules", "CSupport",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Sources/SchoolStatPipeline", swiftSettings: release
        ),
        // Reporting: the county evaluation from a run's clean data, as CSV, Markdown and HTML.
        .target(
            name: "SchoolStatReporting",
            dependencies: ["SchoolStatModel", "SchoolStatBytes", "SchoolStatRules", "SchoolStatPipeline"],
            path: "Sources/SchoolStatReporting", swiftSettings: release
        ),
        // Check: one school's files checked before submission, as a problem list with Excel cell
        // addresses and the clerk's own workbook handed back with every problem marked.
        .target(
            name: "SchoolStatCheck",
            dependencies: ["SchoolStatModel", "SchoolStatBytes", "SchoolStatRules", "SchoolStatPipeline"],
            path: "Sources/SchoolStatCheck", swiftSettings: release
        ),
        // Server: the clerk's check as a local web page (Hummingbird), every asset embedded.
        .target(
            name: "SchoolStatServer",
            dependencies: [
                "SchoolStatModel", "SchoolStatBytes", "SchoolStatCheck",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/SchoolStatServer", swiftSettings: release
        ),
        // History: every run recorded in an embedded SQLite database (GRDB), what changed since the
        // previous run, the verdicts of the recorded runs for the evaluation's series, and a run's
        // clean tables exported to PostgreSQL (libpq, COPY) or SQLite.
        .target(
            name: "SchoolStatHistory",
            dependencies: [
                "SchoolStatModel", "SchoolStatBytes", "SchoolStatRules", "SchoolStatPipeline", "SchoolStatReporting",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C interface itself, for the read-only, lock-free look at an existing file.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CLibPQ", "CSupport",
            ],
            path: "Sources/SchoolStatHistory", swiftSettings: release
        ),
        .executableTarget(
            name: "schoolstat",
            dependencies: [
                "SchoolStatModel", "SchoolStatBytes", "SchoolStatRules", "SchoolStatPipeline", "SchoolStatReporting",
                "SchoolStatCheck", "SchoolStatServer", "SchoolStatHistory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/schoolstat", swiftSettings: release
        ),
        // Helpers both test targets use: the package's folders, scratch directories, the built
        // binary run with a time limit, a reference CSV reader. Foundation only.
        .target(name: "SchoolStatTestSupport", dependencies: ["SchoolStatBytes"], path: "Tests/SchoolStatTestSupport"),
        .testTarget(
            name: "SchoolStatTests",
            dependencies: [
                "SchoolStatTestSupport", "SchoolStatModel", "SchoolStatBytes", "SchoolStatRules", "SchoolStatPipeline", "SchoolStatReporting",
                "SchoolStatCheck", "SchoolStatServer", "SchoolStatHistory", "schoolstat", "CSupport",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/SchoolStatTests",
            exclude: ["Fixtures"]
        ),
        // The run history and exports against real SQLite files and a real PostgreSQL server. A
        // target of its own: GRDB's SQL operators would slow the type-checking of every test file.
        .testTarget(
            name: "SchoolStatHistoryTests",
            dependencies: [
                "SchoolStatTestSupport", "SchoolStatModel", "SchoolStatBytes", "SchoolStatPipeline", "SchoolStatHistory", "schoolstat",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/SchoolStatHistoryTests"
        ),
    ]
)

// libFuzzer targets, only when `make fuzz` asks for them (SCHOOLSTAT_FUZZ=1): they are built with
// -sanitize=fuzzer, which supplies their main. See Fuzz/README.md.
if Context.environment["SCHOOLSTAT_FUZZ"] != nil {
    for name in ["FuzzCSV", "FuzzWorkbook", "FuzzLegacyWorkbook", "FuzzRules", "FuzzCheck"] {
        package.targets.append(.executableTarget(
            name: name, dependencies: ["SchoolStatModel", "SchoolStatRules", "SchoolStatPipeline", "SchoolStatCheck"], path: "Fuzz/Sources/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
        package.products.append(.executable(name: name, targets: [name]))
    }
}
