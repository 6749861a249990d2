// The human table, the Prometheus exposition, number formatting, and summing
// processes by process group.

import PageZipCore
import Testing

@Suite struct StatsFormatTests {
    @Test func sizesLikeZramctl() {
        #expect(StatsFormat.size(0) == "0B")
        #expect(StatsFormat.size(1023) == "1023B")
        #expect(StatsFormat.size(4096) == "4K")
        #expect(StatsFormat.size(1536) == "1.5K")
        #expect(StatsFormat.size(38_587_596) == "36.8M")
        #expect(StatsFormat.size(1_073_741_824 * 3 / 2) == "1.5G")
        #expect(StatsFormat.size(1024 * 1024 - 1) == "1M")          // 1023.999K rounds up a unit
        #expect(StatsFormat.size(UInt64.max) == "16E")
        #expect(StatsFormat.size(123_456, exact: true) == "123456")
    }

    @Test func ratiosAndDurations() {
        var u = StatsUsage()
        #expect(StatsFormat.ratio(u) == "-")
        u[.storedPages] = 1000
        u.poolBytes = 1_048_576
        #expect(StatsFormat.ratio(u) == "3.91")
        #expect(StatsFormat.fixed(2.005, decimals: 1) == "2.0")
        #expect(StatsFormat.fixed(0.25, decimals: 2) == "0.25")
        #expect(StatsFormat.duration(ns: 850) == "850ns")
        #expect(StatsFormat.duration(ns: 4_096) == "4.1µs")
        #expect(StatsFormat.duration(ns: 2_300_000) == "2.3ms")
        #expect(StatsFormat.seconds(ns: 1_500_000_001) == "1.500000001")
        #expect(StatsFormat.table([["a", "1"], ["long", "22"]], leftAligned: [0]) == "a      1\nlong  22\n")
    }

    @Test func latencyPercentilesMatchTheEngineHistogram() {
        let mem = UnsafeMutableRawPointer.allocate(byteCount: Histogram.bytes, alignment: 64)
        mem.initializeMemory(as: UInt8.self, repeating: 0, count: Histogram.bytes)
        let h = Histogram(memory: mem)
        for v in 1...5000 { h.record(UInt64(v) * 37) }
        let l = StatsLatency(histogram: h)
        #expect(l.count == 5000)
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] { #expect(l.percentile(q) == h.percentile(q), "q \(q)") }
        // Two halves added give the whole.
        var a = StatsLatency(buckets: Array(l.buckets.prefix(l.buckets.count / 2)))
        a.add(StatsLatency(buckets: Array(l.buckets.dropFirst(l.buckets.count / 2))))
        #expect(a == l)
    }
}

/// The cells of the first table line whose first cell is `first` (cells are
/// at least two spaces apart).
func columns(_ text: String, _ first: String) -> [String]? {
    for line in text.split(separator: "\n") {
        var cells: [String] = []
        var cell = ""
        var spaces = 0
        for ch in line {
            if ch == " " {
                spaces += 1
                continue
            }
            if spaces >= 2 && !cell.isEmpty {
                cells.append(cell)
                cell = ""
            } else if spaces == 1 && !cell.isEmpty {
                cell += " "
            }
            spaces = 0
            cell.append(ch)
        }
        if !cell.isEmpty { cells.append(cell) }
        if cells.first == first { return cells }
    }
    return nil
}

@Suite struct StatsTextTests {
    @Test func oneProcessShowsEveryCounterWithItsKernelName() {
        let text = StatsText.process(sampleSnapshot())
        #expect(text.hasPrefix("pagezip 0.1.0 in pid 4242 (cache \"hot\"\\cold?), process group 4240, up 1.5s\n"), "\(text.prefix(80))")
        for line in ["stored pages", "zswap stored_pages", "zram same_pages", "zram orig_data_size", "zram compr_data_size",
                     "zram mem_used_total, zswap pool_total_size", "zswap reject_compress_poor", "zswap reject_alloc_fail",
                     "zswap pool_limit_hit", "zswap written_back_pages", "zswap decompress_fail", "zram huge_pages",
                     "fault service", "configuration in force", "cold_age_seconds"] {
            #expect(text.contains(line), "missing \(line)")
        }
        #expect(columns(text, "stored pages") == ["stored pages", "300", "zswap stored_pages"])
        #expect(columns(text, "zero pages") == ["zero pages", "100", "zram same_pages"])
        #expect(columns(text, "original bytes") == ["original bytes", "1.2M", "zram orig_data_size"])
        #expect(columns(text, "pool bytes") == ["pool bytes", "320K", "zram mem_used_total, zswap pool_total_size"])
        #expect(columns(text, "compress poorly") == ["compress poorly", "2", "zswap reject_compress_poor"])
        #expect(columns(text, "pool_max_bytes") == ["pool_max_bytes", "1G"])
        #expect(columns(text, "1.2M") == ["1.2M", "301.8K", "320K", "100", "3.75", "7", "9"])
        // Every engine counter appears, also those without a curated line.
        for c in Counter.allCases where c.name != "fault_ns" {
            let shown = StatsCatalog.all.contains { m in m.value(sampleSnapshot().usage) == sampleSnapshot().usage[c] }
            #expect(shown, "\(c.name)")
        }
    }

    @Test func groupTableColumns() {
        let g = StatsAggregation.byProcessGroup([sampleSnapshot(pid: 10, pgid: 10), sampleSnapshot(pid: 11, pgid: 10, stored: 100, zero: 0)])
        let text = StatsText.groups(g, rates: [10: 2.25])
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(columns(text, "PGID") == ["PGID", "PROCS", "DATA", "COMPR", "TOTAL", "ZERO", "RATIO", "REFAULTS", "REFAULT/s", "REJECTS", "COMMAND"])
        #expect(columns(text, "10") == ["10", "2", "1.6M", "603.5K", "640K", "100", "2.50", "14", "2.3", "18", "cache \"hot\"\\cold?"])
        // Numbers are right-aligned under their heading.
        #expect(lines[0].firstRange(of: "TOTAL")?.upperBound.utf16Offset(in: lines[0]) == lines[1].firstRange(of: "640K")?.upperBound.utf16Offset(in: lines[1]))
    }

    @Test func sitesLargestFirstWithEveryFrame() {
        let s = sampleSnapshot(sites: [
            SiteUsage(id: 1, frames: [SiteFrame(address: 0x1000, symbol: "small+0x1")], calls: 1, mappedBytes: 8192, storedPages: 1, comprBytes: 100),
            SiteUsage(id: 2, frames: [SiteFrame(address: 0x2000, symbol: "big+0x2"), SiteFrame(address: 0x3000)], calls: 9,
                      mappedBytes: 1 << 20, storedPages: 256, comprBytes: 200_000),
            SiteUsage(id: 0, frames: [], calls: 0, mappedBytes: 4096, storedPages: 0, comprBytes: 0),
        ])
        let lines = StatsText.sites(s).split(separator: "\n").map(String.init)
        #expect(lines[1].hasPrefix("SITE  CALLS  MAPPED  STORED  DATA   COMPR"))
        #expect(lines[2].hasSuffix("0x2000 big+0x2"), "\(lines)")
        #expect(lines[3].hasSuffix("0x3000"))
        #expect(lines[4].hasSuffix("0x1000 small+0x1"))
        #expect(lines[5].hasSuffix("(not recorded)"))
        #expect(StatsText.sites(sampleSnapshot(sites: [])).hasSuffix("  none recorded\n"))
    }
}

@Suite struct StatsPrometheusTests {
    /// Checks the exposition format: every sample's family has HELP and TYPE
    /// first, names and labels are well formed, no series repeats, values parse.
    func validate(_ text: String) -> [String: String] {
        var declared: Set<String> = []
        var samples: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count >= 4, "\(line)")
                if line.hasPrefix("# TYPE ") {
                    #expect(["gauge", "counter", "summary"].contains(String(parts[3])), "\(line)")
                    #expect(!declared.contains(String(parts[2])), "\(parts[2]) declared twice")
                    declared.insert(String(parts[2]))
                }
                continue
            }
            guard let space = line.lastIndex(of: " ") else {
                Issue.record("no value: \(line)")
                continue
            }
            let series = String(line[..<space])
            let value = String(line[line.index(after: space)...])
            #expect(Double(value) != nil || value == "NaN", "\(line)")
            let name = String(series.prefix { $0 != "{" })
            #expect(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && name.hasPrefix("pagezip_"), "\(name)")
            let family = ["_sum", "_count"].reduce(name) { n, s in declared.contains(n) ? n : (n.hasSuffix(s) ? String(n.dropLast(s.count)) : n) }
            #expect(declared.contains(family), "\(name) has no TYPE before it")
            #expect(samples[series] == nil, "repeated series \(series)")
            samples[series] = value
        }
        return samples
    }

    @Test func oneProcess() {
        let samples = validate(StatsPrometheus.render(sampleSnapshot()))
        #expect(samples["pagezip_stored_pages"] == "300")
        #expect(samples["pagezip_same_pages"] == "100")
        #expect(samples["pagezip_orig_data_size_bytes"] == String(300 * 4096))
        #expect(samples["pagezip_compr_data_size_bytes"] == "309000")
        #expect(samples["pagezip_pool_bytes"] == "327680")
        #expect(samples["pagezip_reject_compress_poor_total"] == "2")
        #expect(samples["pagezip_pool_limit_hit_total"] == "5")
        #expect(samples["pagezip_refaults_total"] == "7")
        #expect(samples["pagezip_fault_latency_seconds_count"] == "100")
        #expect(samples["pagezip_group_stored_pages{pgid=\"4240\"}"] == "300")
        #expect(samples["pagezip_group_stored_pages_total{pgid=\"overflow\"}"] == "2")
        #expect(samples["pagezip_config{option=\"pool_max_bytes\"}"] == String(1 << 30))
        #expect(samples.keys.contains { $0.hasPrefix("pagezip_info{") && $0.contains("command=\"cache \\\"hot\\\"\\\\cold\\n\"") })
    }

    @Test func groupSeriesAreBounded() {
        var s = sampleSnapshot()
        s.groups = (1...100).map { StatsGroupUsage(id: UInt16($0), pgid: Int32($0), storedPages: UInt64($0), comprBytes: 1, limitBytes: 0, limitHits: 0, storedTotal: 1) }
        let samples = validate(StatsPrometheus.render(s))
        let series = samples.keys.filter { $0.hasPrefix("pagezip_group_stored_pages{") }
        #expect(series.count == StatsPrometheus.maxGroupSeries + 1)
        #expect(samples["pagezip_group_stored_pages{pgid=\"100\"}"] == "100")
        #expect(samples["pagezip_group_stored_pages{pgid=\"other\"}"] == String((1...68).reduce(0, +)))
    }

    @Test func processGroupsAreLabelled() {
        let groups = StatsAggregation.byProcessGroup([sampleSnapshot(pid: 5, pgid: 5), sampleSnapshot(pid: 6, pgid: 5), sampleSnapshot(pid: 9, pgid: 9)])
        let samples = validate(StatsPrometheus.render(groups: groups))
        #expect(samples["pagezip_stored_pages{pgid=\"5\"}"] == "600")
        #expect(samples["pagezip_stored_pages{pgid=\"9\"}"] == "300")
        #expect(samples["pagezip_fault_latency_seconds_count{pgid=\"5\"}"] == "200")
        #expect(samples["pagezip_group_processes{pgid=\"5\",command=\"cache \\\"hot\\\"\\\\cold\\n\"}"] == "2")
    }
}

@Suite struct StatsAggregationTests {
    @Test func processesAddUpByTheirProcessGroup() {
        let groups = StatsAggregation.byProcessGroup([
            sampleSnapshot(pid: 30, pgid: 20, stored: 10, zero: 1),
            sampleSnapshot(pid: 20, pgid: 20, stored: 5, zero: 2),
            sampleSnapshot(pid: 40, pgid: 40, stored: 7, zero: 0),
        ])
        #expect(groups.map(\.pgid) == [20, 40])
        #expect(groups[0].processes.map(\.pid) == [20, 30])
        #expect(groups[0].usage.storedPages == 15)
        #expect(groups[0].usage.zeroPages == 3)
        #expect(groups[0].usage.poolBytes == 2 * 327_680)
        #expect(groups[0].usage.faultLatency.count == 200)
        #expect(groups[1].usage.storedPages == 7)
    }

    @Test func refaultRatesFromSuccessiveSamples() {
        var rates = StatsRefaultRates()
        // First sight: the average since start.
        var r = rates.update([sampleSnapshot(pid: 1, pgid: 1, refaults: 100, uptimeNs: 10_000_000_000),
                              sampleSnapshot(pid: 2, pgid: 1, refaults: 50, uptimeNs: 5_000_000_000)])
        #expect(r[1] == 20)
        // Then the change over each process's own clock.
        r = rates.update([sampleSnapshot(pid: 1, pgid: 1, refaults: 130, uptimeNs: 12_000_000_000),
                          sampleSnapshot(pid: 2, pgid: 1, refaults: 50, uptimeNs: 7_000_000_000)])
        #expect(r[1] == 15)
        // A pid that now belongs to a younger process starts over.
        r = rates.update([sampleSnapshot(pid: 1, pgid: 3, refaults: 4, uptimeNs: 2_000_000_000)])
        #expect(r[3] == 2)
        #expect(r[1] == nil)
    }
}
