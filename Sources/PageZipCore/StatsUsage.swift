// The numbers of a snapshot: everything that adds up across processes, so a
// process group's usage is the sum of its processes' (StatsAggregation).

import CPageZipSys

public struct StatsUsage: Equatable, Sendable {
    /// Engine counters by `Counter.rawValue`.
    public var counters: [UInt64]
    /// Pool memory, allocator overhead included (zram mem_used_total, zswap pool_total_size).
    public var poolBytes: UInt64 = 0
    /// Bytes of the size-class objects handed out (compressed bytes rounded up to 16 B classes).
    public var poolAllocatedBytes: UInt64 = 0
    /// The pool limit in force (0 = none).
    public var poolLimitBytes: UInt64 = 0
    /// Allocations refused because the pool was at its limit (zswap pool_limit_hit).
    public var poolLimitHits: UInt64 = 0
    /// Pool pages given back to the kernel because their slab emptied.
    public var poolPagesReleased: UInt64 = 0
    /// Address ranges registered with the userfaultfd.
    public var registeredRegions: UInt64 = 0
    /// Stores charged to the shared overflow group ID (all 65534 IDs in use).
    public var groupOverflowAssignments: UInt64 = 0
    /// Fault service time (userfaultfd message to page in place).
    public var faultLatency = StatsLatency()
    /// Store time per page (UFFDIO_MOVE, zero check, LZ4, pool).
    public var storeLatency = StatsLatency()

    public init() {
        counters = Array(repeating: 0, count: Counter.allCases.count)
    }

    public subscript(_ c: Counter) -> UInt64 {
        get { c.rawValue < counters.count ? counters[c.rawValue] : 0 }
        set {
            if c.rawValue >= counters.count { counters += Array(repeating: 0, count: c.rawValue + 1 - counters.count) }
            counters[c.rawValue] = newValue
        }
    }

    // MARK: derived values, named as zram and zswap name them

    /// zswap stored_pages: pages held, zero pages included.
    public var storedPages: UInt64 { self[.storedPages] }
    /// zram same_pages: held pages that were all zeros (no pool memory).
    public var zeroPages: UInt64 { self[.samePages] }
    /// zram orig_data_size: bytes held, uncompressed.
    public var origDataBytes: UInt64 { storedPages &* 4096 }
    /// zram compr_data_size
    public var comprDataBytes: UInt64 { self[.comprDataSize] }
    /// Pool memory that holds no compressed byte: size-class rounding, partly
    /// filled slabs, one cached empty slab per class.
    public var allocatorOverheadBytes: UInt64 { poolBytes > comprDataBytes ? poolBytes - comprDataBytes : 0 }
    /// Pages left resident, every reason together.
    public var rejectedPages: UInt64 {
        self[.rejectCompressPoor] &+ self[.rejectAllocFail] &+ self[.rejectBusy]
    }

    /// Adds another process's usage (a process group's total).
    public mutating func add(_ o: StatsUsage) {
        if o.counters.count > counters.count { counters += Array(repeating: 0, count: o.counters.count - counters.count) }
        for i in 0..<o.counters.count { counters[i] &+= o.counters[i] }
        poolBytes &+= o.poolBytes
        poolAllocatedBytes &+= o.poolAllocatedBytes
        poolLimitBytes &+= o.poolLimitBytes
        poolLimitHits &+= o.poolLimitHits
        poolPagesReleased &+= o.poolPagesReleased
        registeredRegions &+= o.registeredRegions
        groupOverflowAssignments &+= o.groupOverflowAssignments
        faultLatency.add(o.faultLatency)
        storeLatency.add(o.storeLatency)
    }
}

/// A latency histogram in the engine's buckets (four per power of two), kept
/// sparse so that histograms of several processes can be added and their
/// percentiles computed exactly as the engine would.
public struct StatsLatency: Equatable, Sendable {
    public struct Bucket: Equatable, Sendable {
        public var index: Int
        public var count: UInt64
        public init(index: Int, count: UInt64) {
            self.index = index
            self.count = count
        }
    }

    /// Non-empty buckets, ascending by index.
    public private(set) var buckets: [Bucket] = []

    public init() {}

    /// From (index, count) pairs in any order; out-of-range indices are
    /// dropped and repeated ones summed.
    public init(buckets pairs: [Bucket]) {
        for b in pairs where b.count > 0 && b.index >= 0 && b.index < Histogram.buckets { add(index: b.index, count: b.count) }
    }

    /// From the engine's histogram, read with relaxed atomics.
    public init(histogram h: Histogram) {
        for i in 0..<Histogram.buckets {
            let n = pz_load64_relaxed(h.words + i)
            if n > 0 { buckets.append(Bucket(index: i, count: n)) }
        }
    }

    public var count: UInt64 { buckets.reduce(0) { $0 &+ $1.count } }

    /// The value below which `q` (0...1) of the samples lie: the upper edge of
    /// the bucket holding that rank (Histogram.percentile).
    public func percentile(_ q: Double) -> UInt64 {
        let total = count
        guard total > 0 else { return 0 }
        let rank = max(UInt64((Double(total) * q).rounded(.up)), 1)
        var seen: UInt64 = 0
        for b in buckets {
            seen &+= b.count
            if seen >= rank { return Histogram.lowerBound(b.index + 1) }
        }
        return Histogram.lowerBound(Histogram.buckets - 1)
    }

    public mutating func add(_ o: StatsLatency) {
        for b in o.buckets { add(index: b.index, count: b.count) }
    }

    private mutating func add(index: Int, count: UInt64) {
        var lo = 0
        var hi = buckets.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if buckets[mid].index < index { lo = mid + 1 } else { hi = mid }
        }
        if lo < buckets.count && buckets[lo].index == index {
            buckets[lo].count &+= count
        } else {
            buckets.insert(Bucket(index: index, count: count), at: lo)
        }
    }
}

