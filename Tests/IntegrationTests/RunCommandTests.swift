// `pagezip run`: the program gets its arguments untouched and its exit
// status comes back; the library is preloaded by absolute path.  And
// `pagezip stats --sites`: held memory is charged to the mmap call site.

import Foundation
import Testing

@Suite struct RunCommandTests {
    @Test func argumentsWithSpacesAndTheExitStatusPassThrough() throws {
        _ = try Harness.requireLibrary()
        let r = Harness.run([Harness.cli, "run", "--", "/bin/sh", "-c", "printf '%s|' \"$@\"; exit 7", "sh",
                             "a b", "c  d", "", "*"], preload: false, timeout: 60)
        #expect(r.status == 7, "\(r.stderr)")
        #expect(r.stdout == "a b|c  d||*|")
    }

    @Test func theLibraryIsPreloadedByAbsolutePath() throws {
        let library = try Harness.requireLibrary()
        let r = Harness.run([Harness.cli, "run", "--reclaim", "hints", "--", "/bin/sh", "-c", "echo \"$LD_PRELOAD\"; echo \"$PAGEZIP_RECLAIM\""],
                            preload: false, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && lines[0].hasPrefix("/") && lines[0].hasSuffix("libpagezip.so"), "\(r.stdout)")
        #expect(URL(fileURLWithPath: lines.first ?? "").resolvingSymlinksInPath().path
                == URL(fileURLWithPath: library).resolvingSymlinksInPath().path)
        #expect(lines.last == "hints")
    }

    @Test func aSignalDeathComesBackAsTheShellWouldReportIt() throws {
        _ = try Harness.requireLibrary()
        let r = Harness.run([Harness.cli, "run", "--", "/bin/sh", "-c", "kill -TERM $$"], preload: false, timeout: 60)
        // pagezip run execs the program, so the caller sees the signal itself.
        #expect(r.status == SIGTERM, "status \(r.status): \(r.stderr)")
    }

    @Test func heldMemoryIsChargedToItsMmapCallSite() throws {
        let dir = StatsFixture.socketDir("sites")
        let prog = try LiveProgram([try Harness.program("statsprobe"), "50", "10"], socketDir: dir)
        defer { prog.stop() }
        let held = try prog.fields(try prog.line(startingWith: "proc "))
        _ = try prog.line(startingWith: "ready")
        let pid = try #require(held["pid"])
        let stored = try #require(held["stored_pages"].flatMap { Int($0) })
        let json = try StatsFixture.json(StatsFixture.cli(["stats", "--socket-dir", dir, "--wait", "60", "--sites", "--json", pid]))
        let sites = try #require(json["sites"] as? [[String: Any]])
        let charged = sites.compactMap { $0["stored_pages"] as? Int }.reduce(0, +)
        #expect(charged == stored, "every held page belongs to a site: \(sites)")
        let top = try #require(sites.max { ($0["stored_pages"] as? Int ?? 0) < ($1["stored_pages"] as? Int ?? 0) })
        let frames = (top["frames"] as? [[String: Any]] ?? []).compactMap { $0["symbol"] as? String }
        #expect(frames.first?.hasPrefix("statsprobe+0x") == true, "the innermost frame is the program's mmap call: \(frames)")
        prog.send("\n\n")
        #expect(prog.finish() == 0, "\(prog.stderr)")
    }
}
