// The shipped library: self-contained, few exports, preloadable anywhere.

import Foundation
import Testing

@Suite struct LibraryShapeTests {
    @Test func linksNoSwiftRuntimeLibrary() throws {
        let lib = try Harness.requireLibrary()
        let r = Harness.run(["/usr/bin/ldd", lib], preload: false)
        #expect(r.status == 0)
        #expect(!r.stdout.contains("libswift"), "\(r.stdout)")
        #expect(!r.stdout.contains("libFoundation"), "\(r.stdout)")
        // liblz4 is linked in statically (bound at load, see Package.swift).
        #expect(!r.stdout.contains("liblz4"), "\(r.stdout)")
        // So is the C++ runtime the Swift runtime needs (0.86 ms per host start).
        #expect(!r.stdout.contains("libstdc++"), "\(r.stdout)")
    }

    /// The Swift runtime's crash backtracer would install SIGSEGV/SIGBUS
    /// handlers into the host when it finds `swift-backtrace`; it is not linked.
    @Test func carriesNoSwiftCrashBacktracer() throws {
        let lib = try Harness.requireLibrary()
        let r = Harness.run(["/usr/bin/nm", lib], preload: false)
        #expect(r.status == 0)
        for symbol in ["_swift_spawnBacktracer", "_swift_installCrashHandler", "_swift_displayCrashMessage"] {
            #expect(!r.stdout.contains(symbol), "\(symbol) is linked")
        }
    }

    @Test func exportsOnlyTheInterposersAndTheAPI() throws {
        let lib = try Harness.requireLibrary()
        let r = Harness.run(["/usr/bin/nm", "-D", "--defined-only", lib], preload: false)
        let exported = Set(r.stdout.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            guard f.count == 3, f[1] == "T" || f[1] == "D" || f[1] == "W" else { return nil }
            return String(f[2])
        })
        #expect(exported == ["mmap", "mmap64", "munmap", "mremap", "madvise", "__register_atfork", "close", "close_range", "closefrom", "dup2", "dup3",
                             "epoll_wait", "epoll_pwait", "poll", "select", "nanosleep", "clock_nanosleep",
                             "pagezip_pageout", "pagezip_get_stats", "pagezip_active", "pagezip_version", "pagezip_compact"],
                "\(exported.sorted())")
    }
}
