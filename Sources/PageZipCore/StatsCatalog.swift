// Every quantity the stats report, one line each: where it comes from, what a
// person calls it, what zswap/zram call it, and its Prometheus name.  The
// text and Prometheus renderers both walk this list, so a number means the
// same thing in every format.  Engine counters not listed here still appear
// (StatsCatalog.all adds them under their own names).

public struct StatsMetric: Sendable {
    public enum Kind: Sendable {
        /// A level that goes up and down (Prometheus gauge).
        case gaugePages, gaugeBytes, gaugeCount
        /// An event count since start (Prometheus counter, "_total").
        case counter
        /// Nanoseconds spent, since start (Prometheus counter in seconds).
        case counterNanos
    }

    /// Section of the human table.
    public var section: String
    /// Words for people.
    public var label: String
    /// The kernel's name for the same quantity, if it has one.
    public var kernelName: String?
    /// Prometheus metric name, unit suffix included.
    public var prometheusName: String
    public var help: String
    public var kind: Kind
    public var value: @Sendable (StatsUsage) -> UInt64
}

public enum StatsCatalog {
    static func counter(_ c: Counter) -> @Sendable (StatsUsage) -> UInt64 { { $0[c] } }

    /// The curated list, in display order.
    public static let curated: [StatsMetric] = [
        // held now
        .init(section: "held", label: "stored pages", kernelName: "zswap stored_pages",
              prometheusName: "pagezip_stored_pages", help: "Pages held now, zero pages included (zswap stored_pages).",
              kind: .gaugePages, value: counter(.storedPages)),
        .init(section: "held", label: "zero pages", kernelName: "zram same_pages",
              prometheusName: "pagezip_same_pages", help: "Held pages that were all zeros; they use no pool memory (zram same_pages).",
              kind: .gaugePages, value: counter(.samePages)),
        .init(section: "held", label: "pages kept uncompressed", kernelName: "zram huge_pages",
              prometheusName: "pagezip_huge_pages", help: "Held pages kept whole in the pool (zram huge_pages).",
              kind: .gaugePages, value: counter(.hugePages)),
        .init(section: "held", label: "original bytes", kernelName: "zram orig_data_size",
              prometheusName: "pagezip_orig_data_size_bytes", help: "Bytes held, uncompressed (zram orig_data_size).",
              kind: .gaugeBytes, value: { $0.origDataBytes }),
        .init(section: "held", label: "compressed bytes", kernelName: "zram compr_data_size",
              prometheusName: "pagezip_compr_data_size_bytes", help: "Bytes of compressed data (zram compr_data_size).",
              kind: .gaugeBytes, value: { $0.comprDataBytes }),
        // pool
        .init(section: "pool", label: "pool bytes", kernelName: "zram mem_used_total, zswap pool_total_size",
              prometheusName: "pagezip_pool_bytes",
              help: "Memory of the compressed pool, allocator overhead included (zram mem_used_total, zswap pool_total_size).",
              kind: .gaugeBytes, value: { $0.poolBytes }),
        .init(section: "pool", label: "allocator overhead", kernelName: nil,
              prometheusName: "pagezip_allocator_overhead_bytes",
              help: "Pool bytes holding no compressed data: size-class rounding, partly filled and cached slabs.",
              kind: .gaugeBytes, value: { $0.allocatorOverheadBytes }),
        .init(section: "pool", label: "size-class bytes", kernelName: nil,
              prometheusName: "pagezip_pool_allocated_bytes", help: "Bytes of pool objects handed out (compressed sizes rounded to 16 B classes).",
              kind: .gaugeBytes, value: { $0.poolAllocatedBytes }),
        .init(section: "pool", label: "pool limit", kernelName: "zram mem_limit, zswap max_pool_percent",
              prometheusName: "pagezip_pool_limit_bytes", help: "Pool limit in force; 0 means none.",
              kind: .gaugeBytes, value: { $0.poolLimitBytes }),
        .init(section: "pool", label: "pool limit hits", kernelName: "zswap pool_limit_hit",
              prometheusName: "pagezip_pool_limit_hit_total", help: "Pool allocations refused at the pool limit (zswap pool_limit_hit).",
              kind: .counter, value: { $0.poolLimitHits }),
        .init(section: "pool", label: "pool pages released", kernelName: nil,
              prometheusName: "pagezip_pool_released_pages_total", help: "Pool pages given back to the kernel when their slab emptied.",
              kind: .counter, value: { $0.poolPagesReleased }),
        // left resident
        .init(section: "rejected", label: "compress poorly", kernelName: "zswap reject_compress_poor",
              prometheusName: "pagezip_reject_compress_poor_total",
              help: "Pages left resident because they compress above PAGEZIP_REJECT_ABOVE (zswap reject_compress_poor).",
              kind: .counter, value: counter(.rejectCompressPoor)),
        .init(section: "rejected", label: "pool full", kernelName: "zswap reject_alloc_fail",
              prometheusName: "pagezip_reject_alloc_fail_total",
              help: "Pages left resident because the pool or the group limit refused them (zswap reject_alloc_fail).",
              kind: .counter, value: counter(.rejectAllocFail)),
        .init(section: "rejected", label: "busy (shared, pinned)", kernelName: nil,
              prometheusName: "pagezip_reject_busy_total", help: "Pages left resident because they were shared after fork, pinned or KSM-merged.",
              kind: .counter, value: counter(.rejectBusy)),
        .init(section: "rejected", label: "not storable", kernelName: nil,
              prometheusName: "pagezip_reject_excluded_total", help: "Pages asked for that pagezip may not store (its own, loader memory, not private anonymous).",
              kind: .counter, value: counter(.rejectExcluded)),
        .init(section: "rejected", label: "decompression failures", kernelName: "zswap decompress_fail",
              prometheusName: "pagezip_decompress_fail_total", help: "Held pages that failed to decompress (zswap decompress_fail).",
              kind: .counter, value: counter(.decompressFail)),
        .init(section: "rejected", label: "written back", kernelName: "zswap written_back_pages",
              prometheusName: "pagezip_written_back_pages_total", help: "Pages written to a backing device: always 0, pagezip has none (zswap written_back_pages).",
              kind: .counter, value: counter(.writtenBackPages)),
        // activity
        .init(section: "activity", label: "pages stored", kernelName: "vmstat zswpout",
              prometheusName: "pagezip_stored_pages_total", help: "Pages ever stored (like the kernel's zswpout).",
              kind: .counter, value: counter(.storedTotal)),
        .init(section: "activity", label: "refaults", kernelName: "vmstat zswpin",
              prometheusName: "pagezip_refaults_total", help: "Held pages brought back because they were touched (like the kernel's zswpin).",
              kind: .counter, value: counter(.refaults)),
        .init(section: "activity", label: "of which repeats", kernelName: nil,
              prometheusName: "pagezip_repeat_refaults_total",
              help: "Refaults of pages already marked hot: the ones auto reclaim's refault budget counts.",
              kind: .counter, value: counter(.repeatRefaults)),
        .init(section: "activity", label: "of which fault-around", kernelName: nil,
              prometheusName: "pagezip_fault_around_pages_total", help: "Refaulted pages restored ahead of the page that faulted.",
              kind: .counter, value: counter(.faultAroundPages)),
        .init(section: "activity", label: "faults served", kernelName: nil,
              prometheusName: "pagezip_faults_total", help: "userfaultfd page faults served.",
              kind: .counter, value: counter(.faults)),
        .init(section: "activity", label: "zero fills", kernelName: nil,
              prometheusName: "pagezip_zero_fills_total", help: "Faults on registered pages pagezip did not hold, filled with zeros.",
              kind: .counter, value: counter(.zeroFills)),
        .init(section: "activity", label: "dropped by munmap/madvise", kernelName: "zram notify_free",
              prometheusName: "pagezip_dropped_pages_total", help: "Held pages freed because the program unmapped or discarded them.",
              kind: .counter, value: counter(.droppedPages)),
        .init(section: "activity", label: "moved by mremap", kernelName: nil,
              prometheusName: "pagezip_remapped_pages_total", help: "Held pages carried to a new address by mremap.",
              kind: .counter, value: counter(.remappedPages)),
        .init(section: "activity", label: "page-out calls", kernelName: nil,
              prometheusName: "pagezip_pageout_calls_total", help: "madvise(MADV_PAGEOUT) and pagezip_pageout() calls.",
              kind: .counter, value: counter(.pageoutCalls)),
        .init(section: "activity", label: "cold hints", kernelName: nil,
              prometheusName: "pagezip_cold_hints_total", help: "madvise(MADV_COLD) calls queued.",
              kind: .counter, value: counter(.coldHints)),
        .init(section: "activity", label: "forks", kernelName: nil,
              prometheusName: "pagezip_forks_total", help: "fork() calls (counted in the parent; a child starts with its parent's counters).",
              kind: .counter, value: counter(.forks)),
        .init(section: "activity", label: "restored before fork", kernelName: nil,
              prometheusName: "pagezip_fork_restored_pages_total", help: "Held pages restored before fork because glibc touches them in the child.",
              kind: .counter, value: counter(.forkRestoredPages)),
        .init(section: "activity", label: "store time", kernelName: nil,
              prometheusName: "pagezip_store_seconds_total", help: "Time spent storing pages.",
              kind: .counterNanos, value: counter(.storeNanos)),
        // tracking
        .init(section: "tracking", label: "registered bytes", kernelName: nil,
              prometheusName: "pagezip_registered_bytes", help: "Bytes of memory registered with userfaultfd (pages pagezip may hold).",
              kind: .gaugeBytes, value: counter(.registeredBytes)),
        .init(section: "tracking", label: "registered regions", kernelName: nil,
              prometheusName: "pagezip_registered_regions", help: "Address ranges registered with userfaultfd.",
              kind: .gaugeCount, value: { $0.registeredRegions }),
        .init(section: "tracking", label: "group ID overflows", kernelName: nil,
              prometheusName: "pagezip_group_overflow_total", help: "Stores charged to the shared overflow group ID because all 65534 IDs were in use.",
              kind: .counter, value: { $0.groupOverflowAssignments }),
    ]

    /// Counters the curated list already shows (directly or through a derived value).
    static let coveredCounters: Set<Counter> = [
        .storedPages, .samePages, .hugePages, .comprDataSize, .registeredBytes, .storedTotal, .refaults,
        .faultAroundPages, .faults, .zeroFills, .rejectCompressPoor, .rejectBusy, .rejectAllocFail, .rejectExcluded,
        .decompressFail, .droppedPages, .remappedPages, .forkRestoredPages, .forks, .pageoutCalls, .coldHints,
        .storeNanos, .writtenBackPages,
        .faultNanos,   // the fault latency summary's _sum
    ]

    /// The curated list plus every other engine counter under its own name,
    /// so a counter added to the engine is reported without touching this
    /// file.  A generated name that a curated metric already uses gets an
    /// "engine_" prefix: a family must never appear twice in one exposition.
    public static let all: [StatsMetric] = curated + Counter.allCases.filter { !coveredCounters.contains($0) }.map { c in
        let nanos = c.name.hasSuffix("_ns")
        let base = nanos ? String(c.name.dropLast(3)) + "_seconds" : c.name
        let suffix = c.isGauge ? "" : "_total"
        var name = "pagezip_" + base + suffix
        if curated.contains(where: { $0.prometheusName == name }) { name = "pagezip_engine_" + base + suffix }
        return StatsMetric(
            section: "engine", label: c.name, kernelName: nil, prometheusName: name,
            help: "Engine counter \(c.name).", kind: nanos ? .counterNanos : (c.isGauge ? .gaugeCount : .counter),
            value: counter(c))
    }
}
