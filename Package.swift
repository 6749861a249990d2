// swift-tools-version:6.0
import Foundation
import PackageDescription

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

let package = Package(
    name: "pagezip",
    products: [
        // LD_PRELOAD=.build/release/libpagezip.so
        .library(name: "pagezip", type: .dynamic, targets: ["PageZip"]),
        // The `pagezip` command (`make` links .build/release/pagezip to it).
        .executable(name: "pagezip-cli", targets: ["PageZipCommand"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CUnwind", pkgConfig: "libunwind", providers: [.apt(["libunwind-dev"])]),
        .target(name: "CPageZipSys", dependencies: ["CLZ4"], cSettings: [.define("_GNU_SOURCE")]),
        .target(
            name: "PageZipCore",
            dependencies: ["CPageZipSys"],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "CPageZipPreload", cSettings: [.define("_GNU_SOURCE")]),
        .target(
            name: "PageZip",
            dependencies: ["PageZipCore", "CPageZipSys", "CPageZipPreload"],
            exclude: ["exports.map"],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])],
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                "-Xlinker", "--version-script=\(root)/Sources/PageZip/exports.map",
                "-Xlinker", "-z", "-Xlinker", "nodelete",
            ])]),
        .executableTarget(
            name: "PageZipCommand",
            dependencies: [
                "PageZipCore", "CPageZipSys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/pagezip"),
        .testTarget(name: "PageZipCoreTests", dependencies: ["PageZipCore", "CPageZipSys"]),
        // Real programs under the built library; needs `swift build -c release` first.
        .testTarget(name: "IntegrationTests"),
    ]
)
