// The human-readable report: one block per section, every ratio written as
// pagezip ÷ the other side, so below 1.00 always means pagezip is cheaper.

import Foundation
import PageZipCore

enum BenchTable {
    static func render(_ r: BenchReport) -> String {
        var out = "pagezip bench, \(r.settings.mode) mode, \(Fmt.minutes(r.durationSeconds))\n"
        out += "machine: \(r.machine.line)\n"
        out += "         THP \(r.machine.transparentHugepages), zswap enabled=\(r.machine.zswapEnabled); "
            + "one clock window (two CLOCK_MONOTONIC reads) costs \(Fmt.duration(r.machine.timerOverheadNs))\n"
        if let busy = r.machine.busyWarning { out += "WARNING: \(busy)\n" }
        if !r.pagezipEnvironment.isEmpty { out += "pagezip settings: \(r.pagezipEnvironment.joined(separator: " "))\n" }
        out += anchorLines(r.kernelAnchor)
        if let p = r.pageLevel { out += "\n" + pageLevel(p) }
        if let e = r.endToEnd { out += "\n" + endToEnd(e, r.settings, anchor: r.kernelAnchor) }
        if let i = r.idleOverhead { out += "\n" + idle(i) }
        out += "\n"
        if let svg = r.svg { out += "picture: \(svg) (first-touch latency: CDF and tail, pagezip vs kernel)\n" }
        out += "verified: \(Fmt.count(r.verifiedPages)) pages compared byte for byte, \(r.verifiedMismatches) wrong\n"
        return out
    }

    static func anchorLines(_ a: KernelAnchorReport) -> String {
        guard a.status != "skipped" else { return "kernel anchor: skipped: \(a.reason ?? "")\n" }
        var out = "kernel anchor: \(a.device ?? "?") (\(a.origin ?? "")); swap-side memory counted: \(a.swapMeter ?? "none")\n"
        if !a.actions.isEmpty { out += "  changed for this run: \(a.actions.joined(separator: "; "))\n" }
        if !a.restored.isEmpty { out += "  put back: \(a.restored.joined(separator: "; "))\n" }
        return out
    }

    // MARK: page level

    static func pageLevel(_ p: PageLevelReport) -> String {
        var out = "PAGE LEVEL: per 4 KiB page; \(p.pagesPerKind) pages × \(p.passes) passes per kind, the two sides "
            + "back to back on each page; ratio = pagezip ÷ raw\n"
        func cells(_ c: OpComparison) -> [String] {
            [c.pagezip.map { Fmt.duration($0.medianNs) } ?? "-", c.pagezip.map { Fmt.duration($0.p99Ns) } ?? "-",
             Fmt.duration(c.raw.medianNs), Fmt.duration(c.raw.p99Ns), Fmt.ratio(c.ratioMedian), Fmt.ratio(c.ratioP99)]
        }
        let head = ["median", "p99", "median", "p99", "ratio", "p99 ratio"]

        out += "\n  zero check: Codec.isZeroPage vs memcmp with a page of zeros\n"
        var t = TextTable(["kind"] + head)
        for k in p.kinds { t.add([k.kind] + cells(k.zeroCheck)) }
        out += t.render(indent: "    ")

        out += "\n  compress: Codec.compress (gives up above \(p.rejectAboveBytes) B) vs LZ4_compress_default;"
            + " bytes per page: pagezip counts zero pages 0, kept pages 4096\n"
        t = TextTable(["kind"] + head + ["bytes pz", "raw", "zero", "kept"])
        for k in p.kinds {
            t.add([k.kind] + cells(k.compress) + [String(Int(k.pagezipBytesPerPage)), String(Int(k.rawBytesPerPage)),
                                                 String(k.pagezipZeroPages), String(k.pagezipKeptResident)])
        }
        out += t.render(indent: "    ")

        out += "\n  store path: zero check, then compress unless zero (what pagezip runs per page) vs LZ4_compress_default\n"
        t = TextTable(["kind"] + head)
        for k in p.kinds { t.add([k.kind] + cells(k.storePath)) }
        out += t.render(indent: "    ")

        out += "\n  decompress: Codec.decompress (the pages Codec.compress accepted) vs LZ4_decompress_safe\n"
        t = TextTable(["kind"] + head)
        for k in p.kinds { t.add([k.kind] + cells(k.decompress)) }
        out += t.render(indent: "    ")

        let m = p.mix
        out += "\n  the mix (\(mixDescription)), mean per page:\n"
        t = TextTable(["", "pagezip", "raw LZ4", "ratio"])
        t.add(["store (zero check + compress)", Fmt.duration(m.storePathNsPerPage), Fmt.duration(m.rawCompressNsPerPage),
               Fmt.ratio(m.storeRatio)])
        t.add(["restore (decompress held pages)", Fmt.duration(m.restoreCodecNsPerPage), Fmt.duration(m.rawDecompressNsPerPage),
               Fmt.ratio(m.restoreRatio)])
        t.add(["bytes per page", String(Int(m.pagezipBytesPerPage)), String(Int(m.rawBytesPerPage)),
               Fmt.ratio(ratio(m.pagezipBytesPerPage, m.rawBytesPerPage))])
        out += t.render(indent: "    ")
        out += "    round trips verified: \(Fmt.count(p.verifiedPages)), wrong: \(p.verifiedMismatches)\n"
        return out
    }

    static var mixDescription: String {
        PageMix.sharesPer20.map { "\($0.1 * 5) % \($0.0.name)" }.joined(separator: ", ")
    }

    // MARK: end to end

    static func endToEnd(_ e: EndToEndReport, _ s: BenchSettings, anchor: KernelAnchorReport) -> String {
        var out = "END TO END: \(e.regionBytes >> 20) MiB of mixed pages in a child, MADV_PAGEOUT, then the first touch "
            + "of every page; \(e.pagezip.runs) run(s) per side, in the order \(compactOrder(e.runOrder))\n"
        let k = e.kernel
        let kernelName = k == nil ? "kernel" : "kernel (\(anchor.device ?? "swap"))"
        var t = TextTable(["", "pagezip", kernelName, "pagezip/kernel"])
        let r = e.ratiosPagezipOverKernel
        /// A row; `q` is its ratio, or nil for rows that are detail, not comparison.
        func row(_ name: String, _ a: String, _ b: String?, _ q: Double?? = .none) {
            let ratioCell = q.map { k == nil ? "-" : Fmt.ratio($0) } ?? ""
            t.add([name, a, b ?? "-", ratioCell])
        }
        let p = e.pagezip
        row("memory held after page-out", Fmt.mib(p.heldBytes), k.map { Fmt.mib($0.heldBytes) }, r?.heldBytes)
        row("  RSS growth (pool included)", Fmt.mib(p.rssGrowthBytes), k.map { Fmt.mib($0.rssGrowthBytes) })
        row("  swap device growth", Fmt.mib(p.swapDeviceGrowthBytes), k.map { Fmt.mib($0.swapDeviceGrowthBytes) })
        row("region ÷ held", times(p.compressionRatio), k.map { times($0.compressionRatio) })
        row("compressed data", p.compressedBytes.map(Fmt.mib) ?? "-", k.map { $0.compressedBytes.map(Fmt.mib) ?? "-" })
        row("pool memory (allocator overhead)", pool(p), k.map(pool))
        row("zero / incompressible pages", pages(p), k.map(pages))
        row("page-out, per page", Fmt.duration(p.pageoutNsPerPage), k.map { Fmt.duration($0.pageoutNsPerPage) }, r?.pageoutNsPerPage)
        for (order, pick, ratios) in [
            ("sequential", { (x: SideSummary) in x.firstTouchSequential },
             [r?.sequentialMedian, r?.sequentialP99, r?.sequentialP999, r?.sequentialMean]),
            ("random", { (x: SideSummary) in x.firstTouchRandom },
             [r?.randomMedian, r?.randomP99, r?.randomP999, r?.randomMean]),
        ] {
            let a = pick(p)
            let b = k.map(pick)
            row("first touch, \(order): median", Fmt.duration(a.medianNs), b.map { Fmt.duration($0.medianNs) }, ratios[0])
            row("  p99", Fmt.duration(a.p99Ns), b.map { Fmt.duration($0.p99Ns) }, ratios[1])
            row("  p99.9", Fmt.duration(a.p999Ns), b.map { Fmt.duration($0.p999Ns) }, ratios[2])
            row("  mean", Fmt.duration(a.meanNs), b.map { Fmt.duration($0.meanNs) }, ratios[3])
        }
        row("verified pages (wrong)", "\(Fmt.count(p.verifiedPages)) (\(p.mismatchedPages))",
            k.map { "\(Fmt.count($0.verifiedPages)) (\($0.mismatchedPages))" })
        out += t.render()

        out += "  first touch by kind, median (sequential / random):\n"
        var kt = TextTable(["kind", "pagezip", k == nil ? "" : "kernel"])
        for kind in PageKind.allCases.map(\.name) {
            func medians(_ x: SideSummary) -> String {
                "\(Fmt.duration(x.firstTouchSequentialMedianByKind[kind] ?? .nan)) / "
                    + Fmt.duration(x.firstTouchRandomMedianByKind[kind] ?? .nan)
            }
            kt.add([kind, medians(p), k.map(medians) ?? ""])
        }
        out += kt.render(indent: "    ")
        if let why = e.kernelSkippedReason { out += "  kernel side skipped: \(why)\n" }
        for note in e.notes { out += "  note: \(note)\n" }
        return out
    }

    static func pool(_ s: SideSummary) -> String {
        guard let b = s.poolBytes else { return "-" }
        return "\(Fmt.mib(b)) (\(s.allocatorOverheadPercent.map(Fmt.percent) ?? "?"))"
    }

    /// "9830 / 8942": zero pages / incompressible pages ("?" when not observable).
    static func pages(_ s: SideSummary) -> String {
        guard s.zeroPages != nil || s.incompressiblePages != nil else { return "-" }
        return "\(s.zeroPages.map { String(Int($0)) } ?? "?") / \(s.incompressiblePages.map { String(Int($0)) } ?? "?")"
    }

    static func times(_ x: Double?) -> String { x.map { String(format: "%.2fx", $0) } ?? "n/a" }

    /// "pagezip, kernel × 4" for an alternating order.
    static func compactOrder(_ order: [String]) -> String {
        guard let first = order.first else { return "-" }
        let period = order.count > 1 && order[1] != first ? 2 : 1
        let unit = order.prefix(period).joined(separator: ", ")
        return order.count / period > 1 ? "(\(unit)) × \(order.count / period)" : unit
    }

    // MARK: idle overhead

    static func idle(_ i: IdleOverheadReport) -> String {
        var out = "IDLE OVERHEAD: nothing paged out; wall time from spawn to exit, median of the runs, alternating\n"
        var t = TextTable(["program", "runs", "without", "with", "with ÷ without", "difference", "p99 without", "p99 with"])
        for c in [i.startup, i.cpuBound] {
            let sign = c.deltaMedianNs >= 0 ? "+" : "-"
            t.add([c.program, String(c.runs), Fmt.duration(c.without.medianNs), Fmt.duration(c.with.medianNs),
                   Fmt.ratio(c.ratioMedian), sign + Fmt.duration(abs(c.deltaMedianNs)),
                   Fmt.duration(c.without.p99Ns), Fmt.duration(c.with.p99Ns)])
        }
        out += t.render()
        if !i.cpuBoundChecksumsMatch { out += "  WARNING: the CPU-bound program computed different results with the library\n" }
        return out
    }
}
