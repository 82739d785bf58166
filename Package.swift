// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "schoolstat",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "schoolstat", targets: ["schoolstat"]),
        .library(name: "SchoolStatCore", targets: ["SchoolStatCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
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
        // Small POSIX helpers Swift cannot call directly (renameat2).
        .target(name: "CSupport", path: "Sources/CSupport"),
        .target(
            name: "SchoolStatCore",
            dependencies: [
                "CLibCSV", "COpenCC", "CLibXML2", "CSupport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            path: "Sources/SchoolStatCore",
            // Release builds drop the run-time exclusivity checks on the per-cell path (each costs a
            // thread-local lookup); debug builds, and so the tests, keep them.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "schoolstat",
            dependencies: [
                "SchoolStatCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/schoolstat"
        ),
        .testTarget(
            name: "SchoolStatCoreTests",
            dependencies: ["SchoolStatCore", "schoolstat", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            path: "Tests/SchoolStatCoreTests",
            exclude: ["Fixtures"]
        ),
    ]
)

// libFuzzer targets, only when `make fuzz` asks for them (SCHOOLSTAT_FUZZ=1): they are built with
// -sanitize=fuzzer, which supplies their main. See Fuzz/README.md.
if Context.environment["SCHOOLSTAT_FUZZ"] != nil {
    for name in ["FuzzCSV", "FuzzWorkbook", "FuzzRules"] {
        package.targets.append(.executableTarget(
            name: name, dependencies: ["SchoolStatCore"], path: "Fuzz/Sources/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
        package.products.append(.executable(name: name, targets: [name]))
    }
}
