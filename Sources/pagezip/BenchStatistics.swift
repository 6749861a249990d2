// Percentiles and the clock every bench measurement uses.

import CPageZipSys

/// CLOCK_MONOTONIC in nanoseconds (vDSO; pagezip's own clock).
@inline(__always)
func monotonicNanos() -> UInt64 { pz_now_ns() }

/// The cost of one empty timing window (two clock reads), median of many:
/// subtracted from per-page samples so a 30 ns operation is not reported as 50.
func timerOverheadNanos() -> Double {
    var samples = [UInt64](repeating: 0, count: 20_001)
    for i in samples.indices {
        let t0 = monotonicNanos()
        let t1 = monotonicNanos()
        samples[i] = t1 &- t0
    }
    return Distribution(samples.map { Double($0) }).median
}

/// A sorted sample set and the numbers reports quote from it.
struct Distribution {
    let sorted: [Double]

    init(_ samples: [Double]) { sorted = samples.sorted() }

    var count: Int { sorted.count }
    var isEmpty: Bool { sorted.isEmpty }

    /// Nearest-rank percentile, q in 0...1; 0 for an empty set.
    func percentile(_ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    var median: Double { percentile(0.5) }
    var p99: Double { percentile(0.99) }
    var p999: Double { percentile(0.999) }
    var mean: Double { sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count) }

    var summary: LatencySummary {
        LatencySummary(samples: count, medianNs: median, p99Ns: p99, p999Ns: p999, meanNs: mean)
    }
}

/// What the report keeps of a latency distribution.
struct LatencySummary: Codable {
    var samples: Int
    var medianNs: Double
    var p99Ns: Double
    var p999Ns: Double
    var meanNs: Double
}

/// a / b, or nil when b is zero (a ratio the report prints as "n/a").
func ratio(_ a: Double, _ b: Double) -> Double? {
    b > 0 && a.isFinite && b.isFinite ? a / b : nil
}

func median(_ values: [Double]) -> Double { Distribution(values).median }
