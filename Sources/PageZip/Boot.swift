// Boot: runs once from the library's constructor, before the host's main.
//
// Reads the configuration, checks that userfaultfd can serve kernel-mode
// faults, reserves pagezip's memory and lays the engine out in it.  If
// anything is missing, the host runs unchanged and one line on stderr says
// why and how to fix it.  Threads start later, on first use (Lifecycle.swift).
// No Set or Dictionary here: the Swift runtime's hashing seed is initialised
// after this constructor runs.

import CPageZipPreload
import CPageZipSys
import Glibc
import PageZipCore

let pagezipVersion: StaticString = "0.1.0"

func writeStderr(_ line: String) {
    var s = line
    s.withUTF8 { buf in
        buf.withMemoryRebound(to: CChar.self) { pz_write_stderr($0.baseAddress, $0.count) }
    }
}

func physicalMemoryBytes() -> UInt64 {
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    return pages > 0 ? UInt64(pages) * 4096 : 8 << 30
}

@_cdecl("pz_engine_boot")
public func engineBoot() {
    let (config, warnings) = Config.load(env: { name in getenv(name).map { String(cString: $0) } },
                                         memTotalBytes: physicalMemoryBytes())
    let level = config.logLevel
    if level >= .warn {
        for w in warnings { writeStderr("pagezip: \(w)\n") }
    }
    guard config.enabled else {
        if level >= .info { writeStderr("pagezip: disabled by PAGEZIP_ENABLE=0; the program runs unchanged\n") }
        pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
        return
    }
    let wantWriteTracking = config.reclaimMode == .auto && config.trackWrites
    if let reason = openUserfaultfd(writeTracking: wantWriteTracking) {
        if level >= .warn { writeStderr("pagezip: not compressing: \(reason); the program runs unchanged\n") }
        pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
        return
    }
    if let reason = buildEngine(config) {
        if level >= .warn { writeStderr("pagezip: not compressing: \(reason); the program runs unchanged\n") }
        if bootUffd >= 0 { _ = pz_sys_close(bootUffd) }
        pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
        return
    }
    registerForkHandlers()
    threadListsKnown = pz_preload_thread_lists_probe() == 0
    E.pointee.threadListsKnown = threadListsKnown
    if !threadListsKnown && level >= .info {
        writeStderr("pagezip: glibc's thread lists were not found; thread stacks are kept resident\n")
    }
    pz_preload_set_sites(config.sitesEnabled ? 1 : 0)
    pz_preload_set_state(Int32(PZ_STATE_ACTIVE))
    // Before the reclaimer exists, so the stats area is excluded from storing.
    statsServerStartAtBoot()
    if config.reclaimMode == .auto { startReclaimer() }
    if level >= .info {
        let via = E.pointee.uffdOrigin == Int32(PZ_UFFD_VIA_DEVICE.rawValue) ? "/dev/userfaultfd" : "userfaultfd(2)"
        writeStderr("pagezip: active (pid \(getpid()), \(via), pool limit \(config.poolMaxBytes >> 20) MiB)\n")
    }
}

nonisolated(unsafe) var bootUffd: Int32 = -1
nonisolated(unsafe) var bootOrigin: Int32 = 0
nonisolated(unsafe) var bootFeatures: UInt64 = 0
/// UFFD_FEATURE_WP_ASYNC was granted: auto reclaim can track writes.
nonisolated(unsafe) var bootWriteTracking = false

var requiredFeatures: UInt64 { requiredFeaturesValue() }

@_noLocks @inline(__always)
func requiredFeaturesValue() -> UInt64 {
    UInt64(PZ_UFFD_FEATURE_EVENT_REMAP) | UInt64(PZ_UFFD_FEATURE_EVENT_REMOVE)
        | UInt64(PZ_UFFD_FEATURE_EVENT_UNMAP) | UInt64(PZ_UFFD_FEATURE_MOVE)
}

/// Opens the userfaultfd and completes the API handshake.  Returns nil, or
/// why pagezip cannot work, phrased for the one-line message.
func openUserfaultfd(writeTracking: Bool) -> String? {
    // Write tracking is optional (Linux >= 6.7): a kernel without
    // UFFD_FEATURE_WP_ASYNC refuses the whole handshake, so ask again without it.
    if writeTracking, let fd = openAndHandshake(UInt64(PZ_UFFD_FEATURE_WP_ASYNC)) {
        bootUffd = fd
        bootWriteTracking = true
        return nil
    }
    guard let fd = openAndHandshake(0) else { return whyNoUserfaultfd() }
    bootUffd = fd
    return nil
}

/// A userfaultfd with the features pagezip needs plus `extra`, or nil.
func openAndHandshake(_ extra: UInt64) -> Int32? {
    var origin: Int32 = 0
    var deviceErrno: Int32 = 0
    let fd = pz_uffd_open(&origin, &deviceErrno)
    guard fd >= 0 else { return nil }
    var features: UInt64 = 0
    var ioctls: UInt64 = 0
    if pz_uffd_api(fd, requiredFeatures | extra, &features, &ioctls) == 0 {
        bootOrigin = origin
        bootFeatures = features
        return pz_preload_own_fd(fd)
    }
    _ = pz_sys_close(fd)
    return nil
}

/// Why no userfaultfd with the needed features could be had, for the one-line message.
func whyNoUserfaultfd() -> String {
    // Something is missing: ask the probe (a fresh descriptor) what.
    let probe = UserfaultfdProbe.run()
    return probe.problem(kernelRelease: kernelRelease())
        ?? "the kernel refused userfaultfd features 0x\(String(requiredFeatures & ~probe.features, radix: 16))"
}

func kernelRelease() -> String {
    var u = utsname()
    uname(&u)
    return withUnsafeBytes(of: &u.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
}

/// Reserves pagezip's memory and lays the engine out in it.  Returns nil, or
/// the reason it could not.
func buildEngine(_ config: Config) -> String? {
    let metaSize: UInt = 256 << 20
    let slots = 64
    func fail(_ what: String, _ size: UInt, _ err: Int32) -> String {
        "cannot reserve \(size >> 20) MiB of address space for the \(what) (\(UserfaultfdProbe.errnoName(err))): RLIMIT_AS (ulimit -v) or vm.overcommit_memory=2 may forbid it"
    }
    let (metaR, e1) = Reservation.reserve(size: metaSize)
    guard let meta = metaR else { return fail("bookkeeping", metaSize, e1) }
    let (entryR, e2) = Reservation.reserve(size: EntryTable.reservationSize)
    guard let entryRes = entryR else { return fail("entry table", EntryTable.reservationSize, e2) }
    let (poolR, e3) = Reservation.reserve(size: Pool.reservationSize)
    guard let poolRes = poolR else { return fail("pool", Pool.reservationSize, e3) }
    let (stagingR, e4) = Reservation.reserve(size: UInt(slots) * 4096)
    guard let stagingRes = stagingR else { return fail("staging area", UInt(slots) * 4096, e4) }

    var carver = BumpCarver(meta)
    func take(_ bytes: Int, align: UInt = 64) -> UnsafeMutableRawPointer {
        carver.take(UInt(bytes), align: align)!
    }
    let engineMem = take(MemoryLayout<Engine>.stride, align: 4096)
    let words = take(64 * 64, align: 4096).bindMemory(to: UInt32.self, capacity: 64 * 16)
    let counters = Counters(memory: take(Counters.capacity * 8))
    let faultHist = Histogram(memory: take(Histogram.bytes))
    let storeHist = Histogram(memory: take(Histogram.bytes))
    let pool = Pool(reservation: poolRes, metadata: take(Pool.metadataBytes, align: 4096), limitBytes: config.poolMaxBytes)
    let groups = GroupTable(memory: take(GroupTable.memoryBytes(), align: 4096))
    let registered = IntervalSet(memory: take(IntervalSet.bytes(capacity: 65536)), capacity: 65536)
    let appMapped = IntervalSet(memory: take(IntervalSet.bytes(capacity: 65536)), capacity: 65536)
    let excluded = IntervalSet(memory: take(IntervalSet.bytes(capacity: 8192)), capacity: 8192)
    let noFork = IntervalSet(memory: take(IntervalSet.bytes(capacity: 8192)), capacity: 8192)
    let sites = SiteTable(memory: take(SiteTable.bytes, align: 4096))
    let siteRegions = SiteRegionMap(memory: take(SiteRegionMap.bytes(capacity: 65536)), capacity: 65536)
    let requests = RequestQueue(memory: take(RequestQueue.bytes))
    let coldHints = RangeRing(memory: take(RangeRing.bytes))
    let notes = NoteRing(memory: take(NoteRing.bytes))
    let fences = DropFences(memory: take(DropFences.bytes))
    let handlerScratch = take(64 * 4096, align: 4096)
    let zeroPage = take(4096, align: 4096)
    let handlerEvents = take(1024 * MemoryLayout<pz_event>.stride).bindMemory(to: pz_event.self, capacity: 1024)
    let handlerLog = take(LineWriter.capacity)
    let handlerTaken = take(64 * 8).bindMemory(to: UInt64.self, capacity: 64)
    let mappingCapacity = 65536
    let workerScratch = WorkerScratch(
        compressed: take(8192, align: 4096),
        lz4State: take(Codec.stateBytes, align: 4096),
        mappings: take(mappingCapacity * MemoryLayout<Mapping>.stride).bindMemory(to: Mapping.self, capacity: mappingCapacity),
        mappingCapacity: mappingCapacity,
        mapsBuffer: take(256 << 10, align: 4096).bindMemory(to: UInt8.self, capacity: 256 << 10),
        mapsBufferSize: 256 << 10,
        log: take(LineWriter.capacity),
        outcomes: take(slots * 8).bindMemory(to: UInt64.self, capacity: slots),
        slotAddress: take(slots * 8).bindMemory(to: UInt.self, capacity: slots),
        drainFrames: take(4096 * 4).bindMemory(to: UInt32.self, capacity: 4096))
    // Thread stacks with a guard page below each.
    let handlerGuard = take(4096 + Engine.stackSize, align: 4096)
    let workerGuard = take(4096 + Engine.stackSize, align: 4096)
    let reclaimGuard = take(4096 + Engine.stackSize, align: 4096)
    for g in [handlerGuard, workerGuard, reclaimGuard] { _ = pz_sys_mprotect(UInt(bitPattern: g), 4096, 0) }
    let handlerTLS = take(Engine.tlsSize, align: 4096)
    let workerTLS = take(Engine.tlsSize, align: 4096)
    let reclaimTLS = take(Engine.tlsSize, align: 4096)
    let childIntervals = take(65536 * 16).bindMemory(to: UInt.self, capacity: 65536 * 2)
    let deferredFrees = take(Engine.deferredCapacity * 4).bindMemory(to: UInt32.self, capacity: Engine.deferredCapacity)
    let reclaimMappings = take(mappingCapacity * MemoryLayout<Mapping>.stride)
        .bindMemory(to: Mapping.self, capacity: mappingCapacity)
    let reclaimMapsBuffer = take(256 << 10, align: 4096).bindMemory(to: UInt8.self, capacity: 256 << 10)

    // Auto reclaim: page history (sparse, 4 B per page) and the reclaimer's state.
    var history: PageHistory? = nil
    var reclaim: UnsafeMutablePointer<ReclaimState>? = nil
    if config.reclaimMode == .auto {
        let (histR, e5) = Reservation.reserve(size: PageHistory.reservationSize)
        guard let hist = histR else { return fail("page history", PageHistory.reservationSize, e5) }
        history = PageHistory(base: UnsafeMutableRawPointer(bitPattern: hist.base)!)
        historyReservation = hist
        let cap = ReclaimState.regionCapacity
        let state = take(MemoryLayout<ReclaimState>.stride).bindMemory(to: ReclaimState.self, capacity: 1)
        state.initialize(to: ReclaimState(
            regionStarts: take(cap * 8).bindMemory(to: UInt.self, capacity: cap),
            regionEnds: take(cap * 8).bindMemory(to: UInt.self, capacity: cap),
            regionSeen: take(cap * 4).bindMemory(to: UInt32.self, capacity: cap),
            spareStarts: take(cap * 8).bindMemory(to: UInt.self, capacity: cap),
            spareEnds: take(cap * 8).bindMemory(to: UInt.self, capacity: cap),
            spareSeen: take(cap * 4).bindMemory(to: UInt32.self, capacity: cap),
            residency: take(ReclaimState.chunkPages, align: 4096).bindMemory(to: UInt8.self, capacity: ReclaimState.chunkPages),
            track: WriteTrackState(
                scanVector: take(WriteTrackState.scanCapacity * MemoryLayout<pz_page_region>.stride)
                    .bindMemory(to: pz_page_region.self, capacity: WriteTrackState.scanCapacity),
                log: take(LineWriter.capacity))))
        reclaim = state
    }

    let engine = engineMem.bindMemory(to: Engine.self, capacity: 1)
    engine.initialize(to: Engine(
        uffd: bootUffd, wakeFd: -1, uffdOrigin: bootOrigin, features: bootFeatures,
        entries: EntryTable(base: UnsafeMutableRawPointer(bitPattern: entryRes.base)!),
        pool: pool, counters: counters, faultLatency: faultHist, storeLatency: storeHist, groups: groups,
        registered: registered, appMapped: appMapped, excluded: excluded, noFork: noFork,
        sites: sites, siteRegions: siteRegions,
        words: words, requests: requests, coldHints: coldHints, notes: notes, fences: fences,
        staging: stagingRes.base, stagingSlots: slots,
        handlerScratch: handlerScratch, zeroPage: zeroPage, handlerEvents: handlerEvents, handlerLog: handlerLog,
        workerScratch: workerScratch,
        handlerStack: handlerGuard + 4096, workerStack: workerGuard + 4096, reclaimStack: reclaimGuard + 4096,
        handlerTLS: handlerTLS, workerTLS: workerTLS, reclaimTLS: reclaimTLS, childIntervals: childIntervals,
        history: history, reclaim: reclaim, reclaimMappings: reclaimMappings, reclaimMapsBuffer: reclaimMapsBuffer,
        bootNs: pz_now_ns(),
        tunables: Tunables(rejectAbove: config.rejectAboveBytes, faultAround: config.faultAroundPages,
                           groupLimit: config.groupPoolMaxBytes,
                           acceptThresholdPercent: config.acceptThresholdPercent,
                           logLevel: config.logLevel.rawValue,
                           coldAgeSeconds: config.coldAgeSeconds, targetRSS: config.targetRSSBytes,
                           reclaimCPUPercent: config.reclaimCPUPercent,
                           refaultBudgetPercent: config.refaultBudgetPercent),
        handlerTaken: handlerTaken,
        deferredFrees: deferredFrees,
        metaReservation: meta, poolReservation: poolRes, entryReservation: entryRes,
        stagingReservation: stagingRes))
    engine.pointee.writeTracking = bootWriteTracking
    if let h = historyReservation {
        engine.pointee.historyBase = h.base
        engine.pointee.historySize = h.size
    }
    pz_engine_set(engine)
    bootConfig = config
    excludeBootMappings()
    return nil
}

nonisolated(unsafe) var bootConfig = Config()
nonisolated(unsafe) var historyReservation: Reservation? = nil
/// Whether fork's prepare handler can bring thread descriptors back (threadlists.c).
nonisolated(unsafe) var threadListsKnown = false

/// Anonymous memory that exists before the host's main belongs to the loader
/// (TLS blocks, early allocations): glibc touches it in a forked child before
/// pagezip can serve faults there, so it is never stored.
func excludeBootMappings() {
    let e = E
    let ws = e.pointee.workerScratch
    let n = MapsParser.read(into: ws.mappings, capacity: ws.mappingCapacity,
                            buffer: ws.mapsBuffer, bufferSize: ws.mapsBufferSize)
    guard n > 0 else { return }
    for i in 0..<n {
        let m = ws.mappings[i]
        if m.kind == .anonymous || m.kind == .anonNamed, !e.pointee.isOwn(m.start, m.end) {
            e.pointee.excluded.insert(m.start, m.end)
        }
    }
}
