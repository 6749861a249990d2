// End to end, the parent's side: runs the child with the library (pagezip)
// and without it on the kernel's swap (kernel), alternating A B A B, then
// reduces the runs to one summary per side and pagezip/kernel ratios.

import Foundation
import PageZipCore

enum EndToEndBench {
    static func run(_ s: BenchSettings, library: String, anchor: KernelAnchor,
                    progress: BenchProgress) throws -> (EndToEndReport, [LatencyCurve]) {
        var runs: [String: [EndToEndRun]] = ["pagezip": [], "kernel": []]
        var order: [String] = []
        var notes: [String] = []
        let sides = anchor.available ? ["pagezip", "kernel"] : ["pagezip"]
        for r in 0..<s.endToEndRunsPerSide {
            for side in sides {
                progress.step("end to end: \(side) run \(r + 1)/\(s.endToEndRunsPerSide), "
                              + "\(s.regionBytes >> 20) MiB: fill, page out, touch, verify")
                let run: EndToEndRun
                if side == "kernel" {
                    try anchor.beforeKernelRun()
                    defer { anchor.afterKernelRun() }
                    run = try runChild(side: side, s, library: nil, meter: anchor.meter, notes: &notes)
                    anchor.markRan()
                } else {
                    run = try runChild(side: side, s, library: library, meter: anchor.meter, notes: &notes)
                }
                runs[side]!.append(run)
                order.append(side)
            }
        }
        let mix = PageMix(seed: s.seed)
        let kinds = (0..<s.regionPages).map { mix.kind(ofPage: $0) }
        let (pz, pzCurves) = summarize("pagezip", runs["pagezip"]!, s, kinds)
        var report = EndToEndReport(libraryVersion: runs["pagezip"]!.first?.libraryVersion,
                                    regionBytes: s.regionBytes, pages: s.regionPages, runOrder: order,
                                    pagezip: pz, verifiedPages: pz.verifiedPages,
                                    verifiedMismatches: pz.mismatchedPages, notes: notes)
        var curves = pzCurves
        if anchor.available, let kernelRuns = runs["kernel"], !kernelRuns.isEmpty {
            let (k, kCurves) = summarize("kernel", kernelRuns, s, kinds)
            report.kernel = k
            report.verifiedPages += k.verifiedPages
            report.verifiedMismatches += k.mismatchedPages
            report.ratiosPagezipOverKernel = ratios(pz, k)
            curves += kCurves
            let reclaimed = (k.rssFilledBytes - k.rssAfterPageoutBytes) / Double(s.regionBytes)
            if reclaimed < 0.5 {
                report.notes.append("the kernel paged out only \(Int(reclaimed * 100)) % of the region: "
                                    + "its swap device may be too small or full")
            }
        } else {
            report.kernelSkippedReason = anchor.report.reason
        }
        return (report, curves)
    }

    /// One child run; its JSON, or an error with its stderr.
    static func runChild(side: String, _ s: BenchSettings, library: String?, meter: SwapMeter,
                         notes: inout [String]) throws -> EndToEndRun {
        let tmp = FileManager.default.temporaryDirectory.path
        let out = BenchCleanup.shared.tempFile("\(tmp)/pagezip-bench-\(getpid())-\(side).out")
        let err = BenchCleanup.shared.tempFile("\(tmp)/pagezip-bench-\(getpid())-\(side).err")
        defer {
            BenchCleanup.shared.removeTempFile(out)
            BenchCleanup.shared.removeTempFile(err)
        }
        let argv = BenchChildOptions.argv(.e2e, ["--side", side, "--region-bytes", String(s.regionBytes),
                                                 "--seed", String(s.seed), "--swap-meter", meter.spec])
        let cmd = BenchSpawn.Prepared(argv, env: BenchSpawn.environment(preload: library))
        let status = BenchSpawn.wait(try BenchSpawn.start(cmd, stdout: out, stderr: err))
        let stderr = readSmallFile(err) ?? ""
        guard status == 0 else {
            throw BenchError("the \(side) child failed (status \(status)): \(stderr.isEmpty ? "no message" : stderr)")
        }
        for line in stderr.split(separator: "\n") where !notes.contains("\(side) child: \(line)") {
            notes.append("\(side) child: \(line)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(EndToEndRun.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
    }

    static func summarize(_ side: String, _ runs: [EndToEndRun], _ s: BenchSettings,
                          _ kinds: [PageKind]) -> (SideSummary, [LatencyCurve]) {
        let first = runs.map { $0.rounds[0] }
        func med(_ f: (EndToEndRun) -> Double) -> Double { median(runs.map(f)) }
        let rssGrowth = med { Double($0.rounds[0].rssAfterPageoutBytes - $0.rssBaselineBytes) }
        let swapGrowth = median(first.map { Double($0.swapGrowth.heldBytes) })
        let held = rssGrowth + swapGrowth
        var summary = SideSummary(
            side: side, runs: runs.count, regionBytes: s.regionBytes,
            heldBytes: held, rssGrowthBytes: rssGrowth, swapDeviceGrowthBytes: swapGrowth,
            rssFilledBytes: med { Double($0.rssFilledBytes) },
            rssAfterPageoutBytes: median(first.map { Double($0.rssAfterPageoutBytes) }),
            compressionRatio: ratio(Double(s.regionBytes), held),
            pageoutNsPerPage: median(runs.flatMap { $0.rounds.map(\.pageoutNsPerPage) }),
            pageoutNsPerPageEachRound: runs.flatMap { $0.rounds.map(\.pageoutNsPerPage) },
            firstTouchSequential: LatencySummary(samples: 0, medianNs: 0, p99Ns: 0, p999Ns: 0, meanNs: 0),
            firstTouchRandom: LatencySummary(samples: 0, medianNs: 0, p99Ns: 0, p999Ns: 0, meanNs: 0),
            firstTouchSequentialMedianByKind: [:], firstTouchRandomMedianByKind: [:],
            verifiedPages: runs.reduce(0) { $0 + $1.rounds.count * $1.pages },
            mismatchedPages: runs.reduce(0) { $0 + $1.rounds.reduce(0) { $0 + $1.mismatchedPages } },
            mismatchedBytes: runs.reduce(0) { $0 + $1.rounds.reduce(0) { $0 + $1.mismatchedBytes } })
        if side == "pagezip" {
            let stats = first.compactMap(\.stats)
            if !stats.isEmpty {
                summary.compressedBytes = median(stats.map { Double($0.comprDataSize) })
                summary.poolBytes = median(stats.map { Double($0.memUsedTotal) })
                summary.zeroPages = median(stats.map { Double($0.samePages) })
                summary.incompressiblePages = median(stats.map { Double($0.rejectCompressPoor) })
            }
        } else if first.contains(where: { $0.swapGrowth.zramMemUsedBytes > 0 }) {
            summary.compressedBytes = median(first.map { Double($0.swapGrowth.zramComprBytes) })
            summary.poolBytes = median(first.map { Double($0.swapGrowth.zramMemUsedBytes) })
            // Since Linux 6.12 the swap layer keeps zero pages in a bitmap and
            // zram never sees them: zram's same_pages then stays 0, and says nothing.
            let same = median(first.map { Double($0.swapGrowth.zramSamePages) })
            summary.zeroPages = same > 0 ? same : nil
            summary.incompressiblePages = median(first.map { Double($0.swapGrowth.zramHugePages) })
        }
        if let c = summary.compressedBytes, let p = summary.poolBytes, c > 0 {
            summary.allocatorOverheadPercent = (p - c) / c * 100
        }
        var curves: [LatencyCurve] = []
        for (roundIndex, order) in ["sequential", "random"].enumerated() {
            let rounds = runs.compactMap { $0.rounds.count > roundIndex ? $0.rounds[roundIndex] : nil }
            let all = Distribution(rounds.flatMap { $0.touchNs.map { Double($0) } })
            var byKind: [String: Double] = [:]
            for kind in PageKind.allCases {
                let samples = rounds.flatMap { r in r.touchNs.indices.filter { kinds[$0] == kind }.map { Double(r.touchNs[$0]) } }
                byKind[kind.name] = Distribution(samples).median
            }
            if order == "sequential" {
                summary.firstTouchSequential = all.summary
                summary.firstTouchSequentialMedianByKind = byKind
            } else {
                summary.firstTouchRandom = all.summary
                summary.firstTouchRandomMedianByKind = byKind
            }
            curves.append(LatencyCurve(label: "\(side), \(order)", side: side, order: order, sortedNs: all.sorted))
        }
        return (summary, curves)
    }

    static func ratios(_ p: SideSummary, _ k: SideSummary) -> EndToEndRatios {
        EndToEndRatios(
            heldBytes: ratio(p.heldBytes, k.heldBytes),
            pageoutNsPerPage: ratio(p.pageoutNsPerPage, k.pageoutNsPerPage),
            sequentialMedian: ratio(p.firstTouchSequential.medianNs, k.firstTouchSequential.medianNs),
            sequentialP99: ratio(p.firstTouchSequential.p99Ns, k.firstTouchSequential.p99Ns),
            sequentialP999: ratio(p.firstTouchSequential.p999Ns, k.firstTouchSequential.p999Ns),
            sequentialMean: ratio(p.firstTouchSequential.meanNs, k.firstTouchSequential.meanNs),
            randomMedian: ratio(p.firstTouchRandom.medianNs, k.firstTouchRandom.medianNs),
            randomP99: ratio(p.firstTouchRandom.p99Ns, k.firstTouchRandom.p99Ns),
            randomP999: ratio(p.firstTouchRandom.p999Ns, k.firstTouchRandom.p999Ns),
            randomMean: ratio(p.firstTouchRandom.meanNs, k.firstTouchRandom.meanNs))
    }
}
