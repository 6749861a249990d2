// The engine's guarantees, each proven by a real program under the library
// that checks every byte it wrote.

import Testing

@Suite(.serialized) struct EngineScenarioTests {
    @Test func concurrentWritersNeverLoseAWriteWhilePagesAreStored() throws {
        _ = try Harness.requireLibrary()
        let r = Harness.run([try Harness.program("race"), "512", "3"], preload: true)
        #expect(!r.timedOut)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("mismatched_bytes") == 0)
        // The race was real: thousands of stores against thousands of writes.
        #expect((r.int("stored_total") ?? 0) > 1000, "\(r.stdout)")
        #expect((r.int("page_writes") ?? 0) > 1000)
        #expect(r.pagezipLines.isEmpty, "\(r.stderr)")
    }

    @Test func systemCallsReadAndWriteCompressedBuffers() throws {
        let r = Harness.run([try Harness.program("syscalls")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        for key in ["write_from_paged_out", "read_into_paged_out", "readv_into_paged_out", "socket_paged_out",
                    "struct_from_paged_out"] {
            #expect(r.value(key) == "ok", "\(key) in \(r.stdout)")
        }
        #expect(r.int("held_before") == 256, "every page of the source buffer was held before write(2)")
    }

    @Test func forkedChildReadsEveryHeldPageOfItsParent() throws {
        let r = Harness.run([try Harness.program("forkcheck")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        // All but a heap page on a 64 MiB boundary, which stays resident.
        #expect(r.int("parent_held") == r.int("expected_held"), "\(r.stdout)")
        #expect((r.int("expected_held") ?? 0) >= 1024 + 63, "\(r.stdout)")
        for key in ["child_reads_all", "parent_unaffected", "child_independent", "posix_spawn"] {
            #expect(r.value(key) == "ok", "\(key) in \(r.stdout)")
        }
    }

    @Test func forkOfAThreadedProgramWhoseThreadStacksAreHeld() throws {
        // glibc walks every thread descriptor in the child before any atfork
        // handler runs (the redis BGSAVE crash): they must be back by then.
        let r = Harness.run([try Harness.program("forkthreads")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("children_ok") == 1)
        #expect((r.int("stack_pages_stored") ?? 0) > 0, "the stacks were really held: \(r.stdout)")
    }

    @Test func closingEveryDescriptorKeepsPagezipsOwn() throws {
        let r = Harness.run([try Harness.program("closefds")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.value("closefds") == "ok")
    }

    @Test func closingEveryDescriptorKeepsTheStatsSocket() throws {
        let dir = Harness.workDir.appendingPathComponent("closestats-sockets").path
        let r = Harness.run([try Harness.program("closestats"), dir], preload: true, env: ["PAGEZIP_SOCKET_DIR": dir])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.value("closestats") == "ok")
    }

    @Test func unmapRemapAndDropOverHeldPages() throws {
        let r = Harness.run([try Harness.program("mapops")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        for key in ["munmap", "partial_munmap", "mremap_move", "mremap_grow", "mremap_half_held", "madvise_drop"] {
            #expect(r.value(key) == "ok", "\(key) in \(r.stdout)")
        }
        #expect(r.int("stored_pages") == 0 && r.int("compr_data_size") == 0, "nothing leaks: \(r.stdout)")
    }

    @Test func zeroPagesAreHeldWithoutPoolMemory() throws {
        let r = Harness.run([try Harness.program("zeropages")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("zero_pages_held") == 2048)
        #expect(r.int("pool_bytes_held") == r.int("pool_bytes_before"))
        #expect(r.int("compr_bytes_held") == 0)
    }

    @Test func hostSignalHandlersStillGetTheirSignals() throws {
        let r = Harness.run([try Harness.program("sigsegv")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("sigsegv_caught") == 3)
    }

    @Test func theCacheExampleShrinksAndVerifies() throws {
        let r = Harness.run([try Harness.program("cache"), "64", "5"], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains(", 0 wrong"), "\(r.stdout)")
        #expect(r.stdout.contains("pagezip: held "), "\(r.stdout)")
    }
}

@Suite(.serialized) struct PoolAndReclaimTests {
    @Test func compactionReturnsEmptiedSlabsAndKeepsEveryByte() throws {
        let r = Harness.run([try Harness.program("compaction")], preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.value("verified") == "ok")
        let before = try #require(r.int("pool_before")), after = try #require(r.int("pool_after"))
        let compr = try #require(r.int("compr"))
        #expect(after < before / 2, "pool \(before) -> \(after)")
        #expect(Double(after) < Double(compr) * 1.25, "after compaction the pool is within 25 % of the data: \(after) vs \(compr)")
    }

    @Test func autoReclaimShrinksAnIdleProgramAndKeepsEveryByte() throws {
        let r = Harness.run([try Harness.program("idle"), "64", "5", "60"], preload: true,
                            env: ["PAGEZIP_RECLAIM": "auto", "PAGEZIP_COLD_AGE": "2s"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("reached") == 1, "pagezip never held 90 % of the cold part: \(r.stdout)")
        #expect(r.int("mismatched_bytes") == 0)
        let start = try #require(r.int("rss_kib")), idle = try #require(r.int("rss_idle_kib"))
        #expect(idle < start / 2, "RSS \(start) KiB -> \(idle) KiB")
        #expect(r.pagezipLines.isEmpty, "\(r.stderr)")
    }

    @Test(.enabled(if: Harness.kernelAtLeast(6, 7)))
    func writeTrackingKeepsWrittenPagesResident() throws {
        // A quarter of the pages is rewritten all the time.  With write
        // tracking none of them is ever stored (no refault); without it each
        // is stored on trial once the cold age passes and comes straight back.
        let args = [try Harness.program("idle"), "64", "25", "60"]
        let env = ["PAGEZIP_RECLAIM": "auto", "PAGEZIP_COLD_AGE": "2s", "PAGEZIP_REFAULT_BUDGET": "10"]
        let tracked = Harness.run(args, preload: true, env: env)
        #expect(tracked.status == 0, "\(tracked.stdout)\n\(tracked.stderr)")
        #expect(tracked.int("reached") == 1, "\(tracked.stdout)")
        #expect(tracked.int("mismatched_bytes") == 0)
        #expect(tracked.int("end_refaults") == 0, "written pages were stored: \(tracked.stdout)")
        #expect(tracked.int("end_stored_total") == tracked.int("held_pages"), "\(tracked.stdout)")
        let untracked = Harness.run(args, preload: true, env: env.merging(["PAGEZIP_TRACK_WRITES": "0"]) { $1 })
        #expect(untracked.status == 0, "\(untracked.stdout)\n\(untracked.stderr)")
        #expect(untracked.int("mismatched_bytes") == 0)
        #expect((untracked.int("end_refaults") ?? 0) >= 4096 / 2, "refaults alone should miss the writes: \(untracked.stdout)")
    }

    @Test func hintsModeNeverStoresOnItsOwn() throws {
        // The default mode: nothing is stored without MADV_PAGEOUT/MADV_COLD.
        let r = Harness.run([try Harness.program("idle"), "16", "5", "4"], preload: true,
                            env: ["PAGEZIP_COLD_AGE": "1s"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("reached") == 0)
        #expect(r.int("stored_total") == 0, "\(r.stdout)")
    }
}
