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
        // Headers only: the library links liblz4.a in (see PageZip below), others -llz4.
        .systemLibrary(name: "CLZ4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CUnwind", pkgConfig: "libunwind", providers: [.apt(["libunwind-dev"])]),
        .target(name: "CPageZipSys", dependencies: ["CLZ4"], cSettings: [.define("_GNU_SOURCE")]),
        .target(
            name: "PageZipCore",
            dependencies: ["CPageZipSys"],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "CPageZipPreload", dependencies: ["CUnwind"], cSettings: [.define("_GNU_SOURCE")]),
        .target(
            name: "PageZip",
            dependencies: ["PageZipCore", "CPageZipSys", "CPageZipPreload"],
            exclude: ["exports.map", "link"],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])],
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                "-Xlinker", "--version-script=\(root)/Sources/PageZip/exports.map",
                "-Xlinker", "-z", "-Xlinker", "nodelete",
                // Resolve every symbol at load: a lazy PLT binding in the fault
                // handler would walk ld.so's lists, which may sit on a page
                // pagezip holds (a deadlock).
                "-Xlinker", "-z", "-Xlinker", "now",
                // The system's liblz4, linked in: its calls are then bound at
                // load too (a lazily bound liblz4.so deadlocked the handler).
                "-Xlinker", "--push-state", "-Xlinker", "-Bstatic", "-Xlinker", "-llz4", "-Xlinker", "--pop-state",
                // The Swift runtime's C++ runtime, linked in too: link/libstdc++.so
                // is a linker script naming libstdc++.a, found before the
                // toolchain's libstdc++.so because swiftc's -L paths come first.
                // Loading libstdc++.so.6 cost every host 0.86 ms at start.
                "-L\(root)/Sources/PageZip/link",
            ])]),
        .executableTarget(
            name: "PageZipCommand",
            dependencies: [
                "PageZipCore", "CPageZipSys", "CLZ4",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/pagezip",
            linkerSettings: [.linkedLibrary("lz4")]),
        .testTarget(name: "PageZipCoreTests", dependencies: ["PageZipCore", "CPageZipSys"],
                    linkerSettings: [.linkedLibrary("lz4")]),
        // Real programs under the built library; needs `swift build -c release` first.
        .testTarget(name: "IntegrationTests"),
    ]
)
