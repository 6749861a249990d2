// A snapshot of this process's engine, read without any engine lock: counters
// and histograms through their relaxed atomic getters, the pool's gauges,
// the group table's atomics.  Values read at slightly different instants may
// disagree by a page in flight; none can be torn.

import CPageZipPreload
import CPageZipSys
import Glibc
import PageZipCore

func currentStatsSnapshot(includeSites: Bool) -> StatsSnapshot {
    let active = pz_preload_get_state() == Int32(PZ_STATE_ACTIVE)
    let process = StatsProcess(
        pid: getpid(), pgid: getpgid(0), uid: geteuid(), command: mainThreadName(),
        libraryVersion: String(describing: pagezipVersion),
        uptimeNs: engineStorage.map { pz_now_ns() &- $0.pointee.bootNs } ?? 0)
    guard let e = engineStorage else {
        return StatsSnapshot(process: process,
                             backend: StatsBackend(state: "passthrough", name: "userfaultfd", access: "none", features: 0,
                                                   threads: "not started", euid: geteuid()),
                             config: configInForce(nil), usage: StatsUsage(), groups: [],
                             sites: includeSites ? [] : nil)
    }
    let origin = e.pointee.uffdOrigin
    let threads: String
    switch pz_load32(e.pointee.word(.started)) {
    case 0: threads = "not started"
    case 1: threads = "running"
    default: threads = "failed"
    }
    let backend = StatsBackend(
        state: active ? "active" : "passthrough", name: "userfaultfd",
        access: origin == Int32(PZ_UFFD_VIA_DEVICE.rawValue) ? "device" : (origin == Int32(PZ_UFFD_VIA_SYSCALL.rawValue) ? "syscall" : "none"),
        features: e.pointee.features, threads: threads, euid: geteuid())

    var usage = StatsUsage()
    let c = e.pointee.counters
    for counter in Counter.allCases { usage[counter] = c.get(counter) }
    let pool = e.pointee.pool
    usage.poolBytes = pool.bytesInUse
    usage.poolAllocatedBytes = pool.allocatedBytes
    usage.poolLimitBytes = pool.currentLimit()
    usage.poolLimitHits = pool.limitHits
    usage.poolPagesReleased = pool.pagesReleased
    // One aligned word, written under the map lock by its owners; read
    // without it (a single load cannot tear).
    usage.registeredRegions = UInt64(max(e.pointee.registered.count, 0))
    usage.groupOverflowAssignments = e.pointee.groups.overflowAssignments
    usage.faultLatency = StatsLatency(histogram: e.pointee.faultLatency)
    usage.storeLatency = StatsLatency(histogram: e.pointee.storeLatency)

    let groups = e.pointee.groups.usage().map {
        StatsGroupUsage(id: $0.id, pgid: $0.pgid, storedPages: $0.pages, comprBytes: $0.comprBytes,
                        limitBytes: $0.limitBytes, limitHits: $0.limitHits, storedTotal: $0.storedTotal)
    }
    return StatsSnapshot(process: process, backend: backend, config: configInForce(e), usage: usage, groups: groups,
                         sites: includeSites ? currentSites() : nil)
}

/// The configuration in force: the tunables the engine runs with, the rest
/// as read at boot.
private func configInForce(_ e: UnsafeMutablePointer<Engine>?) -> [StatsConfigEntry] {
    let c = bootConfig
    let t = e?.pointee.tunables
    let logNames = ["quiet", "error", "warn", "info", "debug"]
    return [
        StatsConfigEntry("pool_max_bytes", .uint(e?.pointee.pool.currentLimit() ?? c.poolMaxBytes)),
        StatsConfigEntry("accept_threshold_percent", .uint(UInt64(t?.acceptThresholdPercent ?? c.acceptThresholdPercent))),
        StatsConfigEntry("group_pool_max_bytes", .uint(t?.groupLimit ?? c.groupPoolMaxBytes)),
        StatsConfigEntry("reject_above_bytes", .uint(UInt64(t?.rejectAbove ?? c.rejectAboveBytes))),
        StatsConfigEntry("fault_around_pages", .uint(UInt64(t?.faultAround ?? c.faultAroundPages))),
        StatsConfigEntry("reclaim", .string(c.reclaimMode.rawValue)),
        StatsConfigEntry("access_signal", .string(accessSignal(e))),
        StatsConfigEntry("cold_age_seconds", .double(c.coldAgeSeconds)),
        StatsConfigEntry("target_rss_bytes", .uint(c.targetRSSBytes)),
        StatsConfigEntry("reclaim_cpu_percent", .double(c.reclaimCPUPercent)),
        StatsConfigEntry("refault_budget_percent", .double(c.refaultBudgetPercent)),
        StatsConfigEntry("log", .string(logNames[min(max(c.logLevel.rawValue, 0), logNames.count - 1)])),
        StatsConfigEntry("socket_dir", .string(statsDirectory)),
    ]
}

/// What auto reclaim learns page temperature from (issue: reported in stats).
private func accessSignal(_ e: UnsafeMutablePointer<Engine>?) -> String {
    guard bootConfig.reclaimMode == .auto, let e else { return "none (hints mode: only MADV_PAGEOUT/MADV_COLD)" }
    if e.pointee.writeTracking, let rs = e.pointee.reclaim, rs.pointee.track.active {
        return "writes: userfaultfd write-protect + PAGEMAP_SCAN; reads: refaults"
    }
    return "age and refaults"
}

/// /proc/self/comm: the main thread's name (this thread is "pagezip-stats").
private func mainThreadName() -> String {
    let fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "?" }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 64)
    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return "?" }
    var name = Array(buf[0..<n])
    while name.last == 0x0A { name.removeLast() }
    return String(decoding: name, as: UTF8.self)
}
