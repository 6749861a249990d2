// End to end, inside the child: the bench re-runs itself (`pagezip bench
// --child e2e`), with libpagezip.so preloaded for the pagezip side and without
// it for the kernel side; everything else is the same code.
//
// The child fills a region with the page mix, then twice: MADV_PAGEOUT over
// the whole region (timed), RSS and swap-side memory read, first touch of
// every page timed (a one-byte read between two clock reads; sequential order
// the first time, a random permutation the second), and every byte of every
// page checked against the mix.  It prints one JSON object on stdout.
// Between the clock reads there is nothing but the load, so the samples are
// the fault as the application sees it, plus the ~20 ns of the clock itself.

import Foundation
import Glibc
import PageZipCore

struct EndToEndRun: Codable {
    struct Round: Codable {
        var order: String                    // "sequential" or "random"
        var pageoutNsPerPage: Double
        var pageoutErrno: Int32              // 0, or madvise's errno
        var rssAfterPageoutBytes: Int
        var swapGrowth: SwapMeter.Reading    // since just before this pageout
        var stats: LibraryStats?             // right after this pageout
        var touchNs: [UInt32]                // by page index
        var mismatchedPages: Int
        var mismatchedBytes: Int
    }

    var side: String
    var pages: Int
    var libraryVersion: String?
    var fillNsPerPage: Double
    var rssBaselineBytes: Int
    var rssFilledBytes: Int
    var rounds: [Round]
    var statsAtEnd: LibraryStats?
    var sink: UInt8                          // the bytes read, so no read is optimised away
}

enum EndToEndChild {
    static let madvPageout: Int32 = 21
    static let madvNoHugepage: Int32 = 15

    static func run(side: String, regionBytes: Int, seed: UInt64, meter: SwapMeter) throws -> EndToEndRun {
        let pages = regionBytes / 4096
        let mix = PageMix(seed: seed)
        if side == "pagezip" {
            guard let stats = LibraryStats.read() else {
                let preload = ProcessInfo.processInfo.environment["LD_PRELOAD"] ?? ""
                throw BenchError("libpagezip.so is not loaded in the child (LD_PRELOAD=\(preload))")
            }
            guard stats.active else {
                throw BenchError("pagezip is loaded but not active in the child (its own message says why; `pagezip doctor` explains)")
            }
        }
        // A bench killed with SIGKILL cannot kill its child: the child notices
        // it was orphaned at the next step and stops, so it never lingers.
        let parent = getppid()
        func stopIfOrphaned() { if getppid() != parent { exit(2) } }
        let rssBaseline = residentBytes()
        // The interposed mmap on the pagezip side; 4 KiB pages on both sides
        // whatever the THP setting, so both page out the same pages.
        guard let raw = mmap(nil, regionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { throw BenchError("mmap of \(regionBytes) bytes: \(String(cString: strerror(errno)))") }
        defer { munmap(raw, regionBytes) }
        _ = madvise(raw, regionBytes, madvNoHugepage)
        let base = raw
        let t0 = monotonicNanos()
        for i in 0..<pages { mix.fill(base + i << 12, index: i) }
        let fillNs = Double(monotonicNanos() - t0) / Double(pages)
        let rssFilled = residentBytes()

        var rounds: [EndToEndRun.Round] = []
        var sink: UInt8 = 0
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { scratch.deallocate() }
        for order in ["sequential", "random"] {
            stopIfOrphaned()
            let before = meter.read()
            let p0 = monotonicNanos()
            let rc = madvise(base, regionBytes, madvPageout)
            let err = rc == 0 ? 0 : errno
            let p1 = monotonicNanos()
            let rss = residentBytes()
            let growth = meter.read() - before
            let stats = LibraryStats.read()

            let sequence = order == "sequential" ? Array(0..<pages) : shuffled(pages, seed: seed)
            var touch = [UInt32](repeating: 0, count: pages)
            for idx in sequence {
                let p = base + idx << 12
                let a = monotonicNanos()
                sink &+= p.load(as: UInt8.self)
                let b = monotonicNanos()
                touch[idx] = UInt32(clamping: b &- a)
            }
            stopIfOrphaned()
            var badPages = 0
            var badBytes = 0
            for i in 0..<pages {
                let n = mix.mismatchedBytes(base + i << 12, index: i, scratch: scratch)
                if n > 0 {
                    badPages += 1
                    badBytes += n
                }
            }
            rounds.append(EndToEndRun.Round(
                order: order, pageoutNsPerPage: Double(p1 - p0) / Double(pages), pageoutErrno: err,
                rssAfterPageoutBytes: rss, swapGrowth: growth, stats: stats, touchNs: touch,
                mismatchedPages: badPages, mismatchedBytes: badBytes))
        }
        return EndToEndRun(side: side, pages: pages, libraryVersion: LibraryStats.version(), fillNsPerPage: fillNs,
                           rssBaselineBytes: rssBaseline, rssFilledBytes: rssFilled, rounds: rounds,
                           statsAtEnd: LibraryStats.read(), sink: sink)
    }

    /// 0..<n in a random order fixed by the seed.
    static func shuffled(_ n: Int, seed: UInt64) -> [Int] {
        var a = Array(0..<n)
        var rng = SplitMix64(seed: seed ^ 0x5A5A_5A5A)
        a.shuffle(using: &rng)
        return a
    }

    /// This process's RSS from /proc/self/statm: pagezip's pool, its
    /// metadata and every resident page of the region included.
    static func residentBytes() -> Int {
        let fields = (readSmallFile("/proc/self/statm") ?? "").split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }
}
