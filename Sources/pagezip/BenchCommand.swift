// `pagezip bench`: pagezip side by side with raw LZ4 and with the kernel's
// own compressed swap, as ratios, in one run.

import ArgumentParser
import Foundation
import PageZipCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure pagezip against raw LZ4 and the kernel's compressed swap.",
        discussion: """
            Runs for about two minutes (--quick: about 20 s; --smoke: a few seconds) and prints \
            one table; --json writes the same results, --svg the picture.  Every ratio is \
            pagezip ÷ the other side: below 1.00 pagezip uses less time or memory, above 1.00 more.

            PAGE LEVEL (this process, no preload).  Six kinds of 4 KiB page, as a process's \
            cold memory holds them: zero, text, pointer-heavy heap, numeric arrays, random, \
            partly filled.  For each page: pagezip's zero check (Codec.isZeroPage) vs memcmp, \
            pagezip's compressor (Codec.compress, which gives up once a page will not fit in \
            3072 B) vs LZ4_compress_default, and Codec.decompress vs LZ4_decompress_safe.  Median \
            and p99 per page, the two sides back to back on each page.  "store path" is \
            what pagezip really runs per page: the zero check, then LZ4 unless the page was \
            zero.  The mix row weights the kinds 15/25/25/15/10/10 %.

            END TO END (a child process per run).  The child fills a region (default 256 MiB) \
            with the same mix, calls madvise(MADV_PAGEOUT) on all of it, reads its RSS (which \
            includes pagezip's pool: it lives in the process), then touches every page once and \
            times each touch, sequentially and, after a second page-out, in random order, and \
            compares every byte.  The pagezip side has libpagezip.so preloaded; the kernel side \
            is the same child without it, on the kernel's swap.  "memory held" is RSS growth \
            plus the swap device's growth (zram mm_stat mem_used_total, zswap's pool).  Runs \
            alternate pagezip, kernel, pagezip, kernel.  First-touch times include the ~20 ns \
            of the two clock reads.  pagezip restores up to 8 pages per fault on sequential \
            access (the other 7 touches then cost nothing), and keeps pages that compress \
            poorly resident: read the mean and the per-kind medians with the percentiles.

            KERNEL ANCHOR.  Needs a swap device.  If one is on, it is used as it is.  If none is \
            and you are root with an idle zram0, the bench sets zram0 up (lz4, disksize twice \
            the region, mkswap), swaps it on only while a kernel-side child runs, and afterwards \
            swaps it off, resets it and writes the original algorithm back; also on an error or \
            Ctrl-C.  The table says what it changed and put back.  Otherwise the kernel side is \
            skipped with the reason; nothing is estimated.  --no-kernel skips it.

            IDLE OVERHEAD.  /bin/true's start-up and a CPU-bound program's run time, with and \
            without the library preloaded, nothing paged out; wall time from spawn to exit.

            Examples:
              pagezip bench                    # as root: with the kernel anchor
              pagezip bench --quick --json out.json
              pagezip bench --smoke --no-kernel       # CI
              PAGEZIP_FAULT_AROUND=1 pagezip bench    # settings for pagezip's side
            """)

    @Flag(help: "A shorter run: 64 MiB region, fewer runs (about 20 s).")
    var quick = false
    @Flag(help: "A few seconds: tiny region, one run per side; no kernel anchor unless --kernel-anchor is given.")
    var smoke = false
    @Option(help: "Size of the end-to-end region (e.g. 256M, 1G).")
    var region: String?
    @Option(help: "End-to-end runs per side.")
    var runs: Int?
    @Option(help: "Write the results as JSON to this file.")
    var json: String?
    @Option(help: "Write the first-touch latency picture (SVG) to this file.")
    var svg = "pagezip-bench.svg"
    @Flag(help: "Do not write the SVG picture.")
    var noSvg = false
    @Option(help: """
        auto: use a swap device that is on, or set up an idle zram0 as root; \
        zram: the same, but fail instead of skipping; none: skip.
        """)
    var kernelAnchor: KernelAnchorChoice?
    @Flag(help: "Skip the kernel anchor (same as --kernel-anchor none).")
    var noKernel = false
    @Option(help: "The libpagezip.so to preload (default: next to this command).")
    var library: String?
    @OptionGroup(visibility: .private)
    var child: BenchChildOptions

    func validate() throws {
        if quick && smoke { throw ValidationError("choose one of --quick and --smoke") }
        if let region {
            guard let bytes = Config.parseSize(region), bytes >= 1 << 20 else {
                throw ValidationError("--region \(region): give a size of at least 1M, like 64M or 1G")
            }
            // The child holds the region uncompressed before it pages it out.
            let ram = UInt64(meminfoKiB("MemTotal") ?? 0) * 1024
            if ram > 0 && bytes > ram / 2 {
                throw ValidationError("--region \(region) is more than half of this machine's \(ram >> 20) MiB of RAM")
            }
        }
        if let runs, runs < 1 { throw ValidationError("--runs must be at least 1") }
        if noKernel, let choice = kernelAnchor, choice != .none {
            throw ValidationError("--no-kernel contradicts --kernel-anchor \(choice.rawValue)")
        }
    }

    /// The settings this invocation asks for.
    var settings: BenchSettings {
        var s = BenchSettings.preset(smoke ? "smoke" : (quick ? "quick" : "default"))
        if let region, let bytes = Config.parseSize(region) { s.regionBytes = Int(bytes) & ~4095 }
        if let runs { s.endToEndRunsPerSide = runs }
        return s
    }

    /// The kernel anchor asked for, and when it is none, why.
    var anchorChoice: (KernelAnchorChoice, String) {
        if noKernel { return (.none, "--no-kernel") }
        if let kernelAnchor { return (kernelAnchor, "--kernel-anchor \(kernelAnchor.rawValue)") }
        return smoke ? (.none, "--smoke runs without it unless --kernel-anchor is given") : (.auto, "")
    }

    func run() throws {
        if let task = child.child { return try child.run(task) }
        let (found, looked) = LibraryLocator.find(explicit: library)
        guard let lib = found else {
            warn("cannot find libpagezip.so (looked in: \(looked.joined(separator: ", "))); "
                + "build it with `swift build -c release` or pass --library")
            throw ExitCode(127)
        }
        // The pagezip side needs the right to serve kernel-mode faults: say so
        // now rather than after the page-level section.
        let probe = UserfaultfdProbe.run()
        if !probe.usable {
            warn("pagezip cannot compress here, so there is nothing to measure: "
                 + (probe.problem(kernelRelease: kernelRelease()) ?? "userfaultfd is not usable"))
            throw ExitCode(1)
        }
        BenchCleanup.shared.install()
        let progress = BenchProgress()
        if geteuid() == 0, let recovered = ManagedZram.recoverStale() { progress.note(recovered) }

        let s = settings
        let overhead = timerOverheadNanos()
        var report = BenchReport(
            startedAt: ISO8601DateFormatter().string(from: Date()), settings: s,
            pagezipEnvironment: BenchSpawn.pagezipSettings,
            machine: MachineInfo.gather(library: lib, timerOverhead: overhead),
            kernelAnchor: KernelAnchorReport(status: "skipped"))

        report.pageLevel = PageLevelBench.run(s, timerOverhead: overhead, progress: progress)

        let (choice, why) = anchorChoice
        let anchor = choice == .none ? KernelAnchor.skipped("not requested (\(why))")
            : try KernelAnchor.prepare(choice, regionBytes: s.regionBytes, progress: progress)
        // Whatever happens from here on, the machine is put back.
        defer { anchor.restore() }
        let (e2e, curves) = try EndToEndBench.run(s, library: lib, anchor: anchor, progress: progress)
        anchor.restore()   // before the idle runs: they see the machine as it was
        report.endToEnd = e2e
        report.machine.pagezipLibraryVersion = e2e.libraryVersion

        report.idleOverhead = try IdleOverheadBench.run(s, library: lib, progress: progress)
        if !noSvg {
            progress.step("writing \(svg)")
            let title = "first touch after MADV_PAGEOUT, \(s.regionBytes >> 20) MiB of mixed pages: pagezip vs kernel"
            try LatencySVG.render(curves, title: title).write(toFile: svg, atomically: true, encoding: .utf8)
            report.svg = svg
        }
        report.kernelAnchor = anchor.report
        report.tallyVerification()
        report.durationSeconds = progress.elapsedSeconds
        report.machine.loadAverageAtEnd = MachineInfo.loadAverage()
        progress.finish()
        print(BenchTable.render(report), terminator: "")
        if let json {
            try report.json().write(to: URL(fileURLWithPath: json))
            print("json: \(json)")
        }
        if report.verifiedMismatches > 0 {
            warn("\(report.verifiedMismatches) pages did not read back as written")
            throw ExitCode(3)
        }
    }
}
