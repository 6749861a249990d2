// Auto reclaim: find pages the program has left alone and have them stored,
// within a refault budget and a CPU budget (PAGEZIP_RECLAIM=auto).
//
// The access signals, best first: writes, where the kernel can track them for
// a process (userfaultfd write-protect in async mode plus PAGEMAP_SCAN, Linux
// >= 6.7; WriteTracking.swift), and refaults for reads.  A process cannot see
// read access bits here (no DAMON vaddr, soft-dirty or idle-page tracking in
// this kernel; DAMON's physical-address mode is root-only and machine-wide),
// so a page left unwritten for the cold age is stored on trial, and a page
// that refaults soon after being stored is marked hot and left alone
// cold-age x 2^heat the next times (PageHistory).  When refaults exceed the budget (a share of the
// working set per minute, Google's promotion-rate target) the effective cold
// age doubles; when calm it halves back.  With a target RSS, the coldest
// pages go first until the process is under it (memcg's memory.high).
//
// One raw thread, started at boot in auto mode.  With write tracking it
// registers and scans from its first tick (which starts the fault handler
// and store worker: registered memory sends them events); without, it sleeps
// until the first cold age has passed and they start when it first has
// something to store.  Work per tick is bounded (a page budget and a CPU
// share), and its cost grows with tracked memory, not with time.

import CPageZipPreload
import CPageZipSys
import PageZipCore

/// Reclaimer-private state, in pagezip's memory.
struct ReclaimState {
    static var regionCapacity: Int { 16384 }
    // Two region lists, swapped on every refresh (the old one carries the
    // first-seen times over).
    var regionStarts: UnsafeMutablePointer<UInt>
    var regionEnds: UnsafeMutablePointer<UInt>
    var regionSeen: UnsafeMutablePointer<UInt32>     // seconds when first seen
    var spareStarts: UnsafeMutablePointer<UInt>
    var spareEnds: UnsafeMutablePointer<UInt>
    var spareSeen: UnsafeMutablePointer<UInt32>
    var regionCount: Int = 0
    var cursor: UInt = 0                              // next address to examine
    var residency: UnsafeMutablePointer<UInt8>        // mincore vector, chunkPages
    static var chunkPages: Int { 4096 }
    var multiplier: UInt32 = 1                        // effective cold age = cold age x multiplier
    var calmTicks = 0
    var lastRefaults: UInt64 = 0
    var lastRefaultCheck: UInt64 = 0
    var cpuSpentNs: UInt64 = 0                        // reclaim CPU (own + store work) this window
    var windowStartNs: UInt64 = 0
    var track: WriteTrackState                        // used when the engine tracks writes
}

/// Seconds since the engine started (>= 1, so 0 can mean "never").
@_noLocks @inline(__always)
func engineSeconds() -> UInt32 {
    let e = E
    return UInt32(truncatingIfNeeded: (pz_now_ns() &- e.pointee.bootNs) / 1_000_000_000) &+ 1
}

/// The effective cold age in seconds (the fault handler reads it to judge "soon").
@_noLocks @inline(__always)
func effectiveColdAgeSeconds() -> UInt32 {
    pz_load32(E.pointee.word(.effectiveColdAge))
}

@_noLocks
func reclaimerMain(_ arg: UnsafeMutableRawPointer?) {
    let name: StaticString = "pagezip-reclaim"
    pz_set_thread_name(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self))
    let e = E
    let rs = e.pointee.reclaim.unsafelyUnwrapped
    let coldAge = max(UInt32(1), UInt32(e.pointee.tunables.coldAgeSeconds))
    pz_store32(e.pointee.word(.effectiveColdAge), coldAge)
    rs.pointee.windowStartNs = pz_now_ns()
    rs.pointee.lastRefaultCheck = pz_now_ns()
    while true {
        let eff = coldAge &* rs.pointee.multiplier
        // Tick: an eighth of the cold age, between 0.25 s and 10 s.
        let tickNs = min(max(UInt64(eff) * 1_000_000_000 / 8, 250_000_000), 10_000_000_000)
        pz_sys_sleep_ns(tickNs)
        let cpu0 = pz_thread_cpu_ns()
        adjustForRefaults(rs, coldAge: coldAge)
        let now = engineSeconds()
        // Writes are watched from the first tick, so by the time anything can
        // be cold the pages in use are known.
        let tracking = e.pointee.writeTracking && rs.pointee.track.active
        if tracking {
            refreshRegions(rs, now: now)
            _ = trackWrites(rs, now: now)
        }
        if now > eff || e.pointee.tunables.targetRSS != 0 {   // else nothing can be cold yet
            if !tracking { refreshRegions(rs, now: now) }
            reclaimPass(rs, now: now)
        }
        let spent = (pz_thread_cpu_ns() &- cpu0)
        rs.pointee.cpuSpentNs &+= spent
        e.pointee.counters.add(.reclaimNanos, spent)
        e.pointee.counters.add(.reclaimPasses)
    }
}

/// The refault budget: refaults per minute, as a share of the working set.
/// Only repeats count (pages already marked hot coming back again): the first
/// refault of a page that is read but never written is unavoidable without a
/// read signal, and that page's own heat keeps it resident from then on.
/// Counting those made memcached under steady GETs double its cold age
/// to 64x while it learnt its hot set, and stop reclaiming.
@_noLocks
private func adjustForRefaults(_ rs: UnsafeMutablePointer<ReclaimState>, coldAge: UInt32) {
    let e = E
    let now = pz_now_ns()
    let elapsed = now &- rs.pointee.lastRefaultCheck
    guard elapsed >= 5_000_000_000 else { return }   // judge over at least 5 s
    let refaults = e.pointee.counters.get(.repeatRefaults)
    let delta = refaults &- rs.pointee.lastRefaults
    rs.pointee.lastRefaults = refaults
    rs.pointee.lastRefaultCheck = now
    let workingSet = max(residentPages(), 1)
    let perMinute = Double(delta) * 60e9 / Double(elapsed)
    let allowed = Double(workingSet) * e.pointee.tunables.refaultBudgetPercent / 100
    if perMinute > allowed {
        rs.pointee.multiplier = min(rs.pointee.multiplier * 2, 64)
        rs.pointee.calmTicks = 0
        e.pointee.counters.add(.reclaimBackoffs)
    } else if perMinute < allowed / 2 {
        rs.pointee.calmTicks += 1
        if rs.pointee.calmTicks >= 6 && rs.pointee.multiplier > 1 {   // calm for ~30 s
            rs.pointee.multiplier /= 2
            rs.pointee.calmTicks = 0
        }
    }
    pz_store32(e.pointee.word(.effectiveColdAge), coldAge &* rs.pointee.multiplier)
}

/// Resident pages of the process (/proc/self/statm), without allocating.
@_noLocks
func residentPages() -> UInt64 {
    let path: StaticString = "/proc/self/statm"
    let fd = pz_sys_open(UnsafeRawPointer(path.utf8Start).assumingMemoryBound(to: CChar.self), 0o2000000, 0)
    guard fd >= 0 else { return 0 }
    var buf: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    let n = withUnsafeMutableBytes(of: &buf) { pz_sys_read(Int32(fd), $0.baseAddress, 63) }
    _ = pz_sys_close(Int32(fd))
    guard n > 0 else { return 0 }
    return withUnsafeBytes(of: &buf) { b -> UInt64 in
        var field = 0
        var value: UInt64 = 0
        var i = 0
        while i < n {
            let c = b[i]
            if c == 32 {
                if field == 1 { return value }
                field += 1
                value = 0
            } else if c >= 48 && c <= 57 {
                value = value * 10 + UInt64(c - 48)
            }
            i += 1
        }
        return field == 1 ? value : 0
    }
}

/// Rebuilds the list of eligible regions from /proc/self/maps, keeping the
/// time each was first seen (a new region is not cold for a cold age).
@_noLocks
private func refreshRegions(_ rs: UnsafeMutablePointer<ReclaimState>, now: UInt32) {
    let e = E
    let count = MapsParser.read(into: e.pointee.reclaimMappings, capacity: e.pointee.workerScratch.mappingCapacity,
                                buffer: e.pointee.reclaimMapsBuffer, bufferSize: e.pointee.workerScratch.mapsBufferSize)
    guard count > 0 else { return }
    var n = 0
    var old = 0
    let oldCount = rs.pointee.regionCount
    for i in 0..<count {
        let m = e.pointee.reclaimMappings[i]
        // Above the entry table's reach (5-level paging) nothing can be held.
        guard m.isPrivateAnonymousRW, !e.pointee.isOwn(m.start, m.end), m.end <= EntryTable.addressLimit,
              n < ReclaimState.regionCapacity else { continue }
        while old < oldCount && rs.pointee.regionEnds[old] <= m.start { old += 1 }
        var seen = now
        if old < oldCount && rs.pointee.regionStarts[old] < m.end {
            seen = rs.pointee.regionSeen[old]
            // Changed bounds (a new mapping, a split, a grown heap): register
            // for write tracking again; registering is a no-op where it holds.
            if rs.pointee.regionStarts[old] != m.start || rs.pointee.regionEnds[old] != m.end { seen &= ~regionTrackedBit }
        }
        rs.pointee.spareStarts[n] = m.start
        rs.pointee.spareEnds[n] = m.end
        rs.pointee.spareSeen[n] = seen
        n += 1
    }
    swap(&rs.pointee.regionStarts, &rs.pointee.spareStarts)
    swap(&rs.pointee.regionEnds, &rs.pointee.spareEnds)
    swap(&rs.pointee.regionSeen, &rs.pointee.spareSeen)
    rs.pointee.regionCount = n
}

/// One pass: walk regions from the cursor, store runs of resident pages that
/// have been left alone long enough, within the per-pass budget.
@_noLocks
private func reclaimPass(_ rs: UnsafeMutablePointer<ReclaimState>, now: UInt32) {
    let e = E
    guard rs.pointee.regionCount > 0 else { return }
    let coldAge = pz_load32(e.pointee.word(.effectiveColdAge))
    let target = e.pointee.tunables.targetRSS
    var overTarget = target > 0 && residentPages() * 4096 > target
    // Over the target, age is relaxed step by step (coldest first).
    var ageNeeded = overTarget ? coldAge / 2 : coldAge
    let budgetPages = 65536                 // at most 256 MiB examined per pass
    var examined = 0
    var passes = 0
    var idx = firstRegion(rs, at: rs.pointee.cursor)
    while examined < budgetPages {
        if idx >= rs.pointee.regionCount {
            idx = 0
            passes += 1
            if !overTarget || passes > 4 { rs.pointee.cursor = 0; break }
            overTarget = residentPages() * 4096 > target
            if !overTarget { break }
            ageNeeded /= 4                       // still over: take younger pages too
        }
        let rStart = rs.pointee.regionStarts[idx]
        let rEnd = rs.pointee.regionEnds[idx]
        let regionAge = now &- (rs.pointee.regionSeen[idx] & ~regionTrackedBit)
        if regionAge < ageNeeded && !overTarget {
            idx += 1
            continue
        }
        let p = max(rStart, rs.pointee.cursor)
        if p >= rEnd { idx += 1; continue }
        let chunkEnd = min(rEnd, p + UInt(ReclaimState.chunkPages) << 12)
        let pages = Int((chunkEnd - p) >> 12)
        examined += pages
        if pz_sys_mincore(p, pages << 12, rs.pointee.residency) == 0 {
            storeColdRuns(p, pages, rs.pointee.residency, now: now, regionAge: regionAge, ageNeeded: ageNeeded)
        }
        rs.pointee.cursor = chunkEnd
        if chunkEnd >= rEnd { idx += 1 }
        if !withinCPUBudget(rs) { return }
    }
}

@_noLocks
private func firstRegion(_ rs: UnsafeMutablePointer<ReclaimState>, at addr: UInt) -> Int {
    var i = 0
    while i < rs.pointee.regionCount && rs.pointee.regionEnds[i] <= addr { i += 1 }
    return i
}

/// Queues stores for the runs of pages in [p, p + pages) that are resident,
/// not held, and past their rest time.
@_noLocks
private func storeColdRuns(_ p: UInt, _ pages: Int, _ residency: UnsafeMutablePointer<UInt8>,
                           now: UInt32, regionAge: UInt32, ageNeeded: UInt32) {
    let e = E
    let history = e.pointee.history.unsafelyUnwrapped
    var runStart = -1
    var i = 0
    while i <= pages {
        var cold = false
        if i < pages && residency[i] & 1 != 0 {
            let a = p + UInt(i) << 12
            if e.pointee.entries.load(a).isEmpty {
                let h = history.load(a)
                let since = PageHistory.seconds(h)
                let rest = PageHistory.restSeconds(h, coldAge: max(ageNeeded, 1))
                let idle = since == 0 ? regionAge : PageHistory.elapsed(since: since, now: now)
                cold = idle >= (since == 0 ? ageNeeded : rest)
            }
        }
        if cold {
            if runStart < 0 { runStart = i }
        } else if runStart >= 0 {
            let s = p + UInt(runStart) << 12
            let len = (i - runStart) << 12
            let t0 = pz_now_ns()
            let stored = requestStore(s, len)
            let rs = e.pointee.reclaim.unsafelyUnwrapped
            rs.pointee.cpuSpentNs &+= pz_now_ns() &- t0    // the worker's time on our behalf
            e.pointee.counters.add(.reclaimStoredPages, UInt64(stored))
            runStart = -1
        }
        i += 1
    }
}

/// Hands a range to the store worker and waits for it.
@_noLocks
func requestStore(_ start: UInt, _ len: Int) -> Int {
    let e = E
    if !ensureStarted() { return 0 }
    let slot = e.pointee.requests.claim(start: start, end: start + UInt(len))
    kickWorker()
    let stored = e.pointee.requests.wait(slot)
    // Worth watching now; a host thread starts the stats thread (statshook.c).
    if stored > 0 { pz_preload_want_stats() }
    return stored
}

/// The CPU share: reclaim work (own thread plus the worker's time on its
/// requests) may use PAGEZIP_RECLAIM_CPU percent of one core; over it, sleep.
@_noLocks
private func withinCPUBudget(_ rs: UnsafeMutablePointer<ReclaimState>) -> Bool {
    let e = E
    let now = pz_now_ns()
    let window = now &- rs.pointee.windowStartNs
    let share = e.pointee.tunables.reclaimCPUPercent / 100
    let allowed = UInt64(Double(window) * share)
    if rs.pointee.cpuSpentNs > allowed {
        // Sleep until the spending fits the share again.
        let owed = Double(rs.pointee.cpuSpentNs - allowed) / share
        pz_sys_sleep_ns(min(UInt64(owed), 5_000_000_000))
    }
    if window > 60_000_000_000 {     // a rolling one-minute window
        rs.pointee.windowStartNs = now
        rs.pointee.cpuSpentNs = 0
    }
    return true
}
