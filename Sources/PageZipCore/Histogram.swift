// A latency histogram with four buckets per power of two (about 19 % wide),
// in pagezip's memory, recorded with relaxed atomics from any thread.

import CPageZipSys

public struct Histogram: @unchecked Sendable {
    public static let buckets = 256
    public static let bytes = buckets * 8
    public let words: UnsafeMutablePointer<UInt64>

    public init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt64.self, capacity: Histogram.buckets)
    }

    @inline(__always)
    public static func bucket(_ v: UInt64) -> Int {
        if v < 4 { return Int(v) }
        let e = 63 - v.leadingZeroBitCount        // floor(log2 v) >= 2
        let sub = Int((v >> UInt64(e - 2)) & 3)
        return min(4 * (e - 1) + sub, buckets - 1)
    }

    /// Lower bound of a bucket's range.
    public static func lowerBound(_ b: Int) -> UInt64 {
        if b < 4 { return UInt64(b) }
        let e = b / 4 + 1
        let sub = UInt64(b % 4)
        return (4 + sub) << UInt64(e - 2)
    }

    @_noLocks @inline(__always)
    public func record(_ v: UInt64) { _ = pz_add64(words + Histogram.bucket(v), 1) }

    public var count: UInt64 {
        var n: UInt64 = 0
        for i in 0..<Histogram.buckets { n += pz_load64_relaxed(words + i) }
        return n
    }

    /// The value below which `q` (0...1) of the samples lie: the upper edge
    /// of the bucket holding that rank.
    public func percentile(_ q: Double) -> UInt64 {
        let total = count
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * q).rounded(.up))
        var seen: UInt64 = 0
        for i in 0..<Histogram.buckets {
            seen += pz_load64_relaxed(words + i)
            if seen >= max(rank, 1) { return Histogram.lowerBound(i + 1) }
        }
        return Histogram.lowerBound(Histogram.buckets - 1)
    }
}
