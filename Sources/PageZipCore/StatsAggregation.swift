// Process groups across processes.
//
// Each process reports only its own memory (its group table lives in its own
// engine), so a process group's usage is the sum over the processes that are
// in it now.  A forked child starts with a copy-on-write copy of its parent's
// held pages and counters: the sum then counts those pages once per process,
// which is what each process would get back if it touched them.

public struct StatsProcessGroup: Equatable, Sendable {
    public var pgid: Int32
    /// Ascending by pid.
    public var processes: [StatsProcess]
    public var usage: StatsUsage

    /// The group leader's command if it reports, else the first process's.
    public var command: String {
        (processes.first { $0.pid == pgid } ?? processes.first)?.command ?? "?"
    }
}

public enum StatsAggregation {
    /// Sums snapshots by the process group each process is in; ascending by pgid.
    public static func byProcessGroup(_ snapshots: [StatsSnapshot]) -> [StatsProcessGroup] {
        var groups: [StatsProcessGroup] = []
        for s in snapshots.sorted(by: { $0.process.pid < $1.process.pid }) {
            if let i = groups.firstIndex(where: { $0.pgid == s.process.pgid }) {
                groups[i].processes.append(s.process)
                groups[i].usage.add(s.usage)
            } else {
                groups.append(StatsProcessGroup(pgid: s.process.pgid, processes: [s.process], usage: s.usage))
            }
        }
        return groups.sorted { $0.pgid < $1.pgid }
    }
}

/// Refaults per second from successive samples, per process group.
///
/// A process's rate is the change in its refault counter over the change in
/// its own uptime clock between two samples; a process seen for the first
/// time (or whose pid now belongs to a newer process) contributes its average
/// since start.  A group's rate is the sum over its processes.
public struct StatsRefaultRates: Sendable {
    private struct Sample: Sendable {
        var uptimeNs: UInt64
        var refaults: UInt64
    }
    private var last: [Int32: Sample] = [:]

    public init() {}

    public mutating func update(_ snapshots: [StatsSnapshot]) -> [Int32: Double] {
        var rates: [Int32: Double] = [:]
        var next: [Int32: Sample] = [:]
        for s in snapshots {
            let now = Sample(uptimeNs: s.process.uptimeNs, refaults: s.usage[.refaults])
            next[s.process.pid] = now
            let rate: Double
            if let prev = last[s.process.pid], now.uptimeNs > prev.uptimeNs, now.refaults >= prev.refaults {
                rate = Double(now.refaults - prev.refaults) / (Double(now.uptimeNs - prev.uptimeNs) / 1e9)
            } else if now.uptimeNs > 0 {
                rate = Double(now.refaults) / (Double(now.uptimeNs) / 1e9)
            } else {
                rate = 0
            }
            rates[s.process.pgid, default: 0] += rate
        }
        last = next
        return rates
    }
}
