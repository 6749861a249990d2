// The engine's state: one record in pagezip's own memory, reached through a
// global pointer that is set once at boot and never changes.
//
// Lock order (outer to inner):
//   words[.startLock]  engine start-up, fork handlers
//   words[.mapLock]    rw: registered/appMapped sets and every entry transition
//                      from or to `storing`.  The fault handler holds it
//                      exclusively while it reads and handles a batch of
//                      userfaultfd messages; the store worker holds it shared
//                      around UFFDIO_MOVE and the final entry updates.  No
//                      holder ever waits for the fault handler (no munmap,
//                      no madvise, no touching host memory).
//   pool class lock -> pool frame lock (Pool.swift)
//   group table lock (GroupTable.swift), taken alone by the store worker
// Only pagezip's own threads take mapLock and the pool locks, so a host thread
// that faults can never hold them.

import CPageZipSys
import PageZipCore

/// Futex words in the engine's control page.
enum Word: Int {
    case mapLock = 0
    case startLock
    case started            // 0 no threads, 1 running
    case handlerPause       // 0 run, 1 pause requested, 2 paused
    case handlerRequests    // bitmask of HandlerRequest
    case handlerDone        // bumped when requests are done
    case workerSeq          // bumped when work is queued
    case workerGate         // 1: fork in progress, park at the next batch boundary
    case workerParked       // 1 while parked
    case requestLock        // guards the request queue's producer side
    case forkLock
    case coldLock
    case noteLock
    case effectiveColdAge   // seconds; written by the reclaimer, read by the fault handler
    case handlerRunning     // 1 once the fault handler thread runs
    case forkSafe           // 1 between fork prepare and parent: the handler defers pool frees
    case eventSeq           // odd while the handler applies an event (a child seeing odd rebuilds)
    case poolSeq            // odd while the handler frees a pool object
    case poolSeqClass       // the class of that free
}

/// Values the hot paths read; trivial so copies cost nothing.
struct Tunables {
    var rejectAbove: Int = 3072
    var faultAround: Int = 8
    var groupLimit: UInt64 = 0
    var acceptThresholdPercent: Int = 90
    var logLevel: Int = LogLevel.warn.rawValue
    var coldAgeSeconds: Double = 120
    var targetRSS: UInt64 = 0
    var reclaimCPUPercent: Double = 5
    var refaultBudgetPercent: Double = 0.2
}

struct Engine {
    var uffd: Int32 = -1
    var wakeFd: Int32 = -1
    /// /proc/self/maps for PROCMAP_QUERY, opened once by the store worker
    /// (a descriptor opened per query would take the lowest free number
    /// each time, under a host that just closed one to reuse it).
    var mapsQueryFd: Int32 = -1
    var uffdOrigin: Int32 = 0
    var features: UInt64 = 0

    var entries: EntryTable
    var pool: Pool
    var counters: Counters
    var faultLatency: Histogram
    var storeLatency: Histogram
    var groups: GroupTable
    /// Ranges registered with the userfaultfd; never larger than the truth.
    var registered: IntervalSet
    /// Ranges the host mapped through the interposed mmap/mremap.
    var appMapped: IntervalSet
    /// Ranges pagezip must never store: loader memory present at boot.
    var excluded: IntervalSet
    /// MADV_DONTFORK / MADV_WIPEONFORK ranges: a child must not restore them.
    var noFork: IntervalSet
    /// Allocation sites of the host's mmap calls, and the ranges each mapped.
    var sites: SiteTable
    var siteRegions: SiteRegionMap

    var words: UnsafeMutablePointer<UInt32>
    var requests: RequestQueue
    var coldHints: RangeRing
    var notes: NoteRing
    var fences: DropFences

    var staging: UInt = 0
    var stagingSlots: Int = 0

    var handlerScratch: UnsafeMutableRawPointer   // fault-around buffer, 64 pages
    var zeroPage: UnsafeMutableRawPointer         // a page of zeros, never written
    var handlerEvents: UnsafeMutablePointer<pz_event>
    var handlerLog: UnsafeMutableRawPointer
    var workerScratch: WorkerScratch
    var handlerStack: UnsafeMutableRawPointer
    var workerStack: UnsafeMutableRawPointer
    var reclaimStack: UnsafeMutableRawPointer
    // Thread control blocks of the raw threads (CPageZipSys/rawthread.c).
    var handlerTLS: UnsafeMutableRawPointer
    var workerTLS: UnsafeMutableRawPointer
    var reclaimTLS: UnsafeMutableRawPointer
    /// Scratch for the fork child (the held ranges while they are re-registered).
    var childIntervals: UnsafeMutablePointer<UInt>
    /// Auto reclaim only: page history, reclaimer state and its maps buffers.
    var history: PageHistory?
    var reclaim: UnsafeMutablePointer<ReclaimState>?
    var reclaimMappings: UnsafeMutablePointer<Mapping>
    var reclaimMapsBuffer: UnsafeMutablePointer<UInt8>
    var bootNs: UInt64 = 0
    var historyBase: UInt = 0
    var historySize: UInt = 0
    static var stackSize: Int { 1 << 20 }
    static var tlsSize: Int { 64 << 10 }

    var tunables = Tunables()

    // Fault-handler-private state.
    var faultStartNs: UInt64 = 0
    var handlerTaken: UnsafeMutablePointer<UInt64>   // entries taken out during a fill, 64
    var nextSequentialPage: UInt = 0
    var sequentialWindow: Int = 1
    // Store-worker-private state.
    var cachedPgid: Int32 = -1
    var cachedGroup: UInt16 = 0
    var poolFull = false
    /// Pool frees the handler deferred during a fork window.
    var deferredFrees: UnsafeMutablePointer<UInt32>
    var deferredCount: Int = 0
    static var deferredCapacity: Int { 65536 }
    /// The pid that prepared the last fork, and the child that finished its fork work.
    var forkParentPid: Int32 = 0
    var forkChildDonePid: Int32 = 0
    /// glibc's thread lists were found (threadlists.c); if not, thread stacks stay resident.
    var threadListsKnown = false
    /// The userfaultfd has UFFD_FEATURE_WP_ASYNC and auto reclaim tracks
    /// writes: every range pagezip registers is also write-protect tracked.
    /// Set before any thread starts (boot, fork child).
    var writeTracking = false
    var lastCompactionNs: UInt64 = 0

    // Our own memory, never to be tracked.
    var metaReservation: Reservation
    var poolReservation: Reservation
    var entryReservation: Reservation
    var stagingReservation: Reservation

    @inline(__always)
    func word(_ w: Word) -> UnsafeMutablePointer<UInt32> { words + w.rawValue * 16 }

    /// pagezip's own reservation containing addr.
    @_noLocks
    func ownRange(containing addr: UInt) -> (start: UInt, end: UInt)? {
        if metaReservation.contains(addr) { return (metaReservation.base, metaReservation.end) }
        if poolReservation.contains(addr) { return (poolReservation.base, poolReservation.end) }
        if entryReservation.contains(addr) { return (entryReservation.base, entryReservation.end) }
        if stagingReservation.contains(addr) { return (stagingReservation.base, stagingReservation.end) }
        return nil
    }

    /// The start of the next own reservation above addr, or limit.
    @_noLocks
    func nextOwnStart(after addr: UInt, limit: UInt) -> UInt {
        var n = limit
        if metaReservation.base > addr && metaReservation.base < n { n = metaReservation.base }
        if poolReservation.base > addr && poolReservation.base < n { n = poolReservation.base }
        if entryReservation.base > addr && entryReservation.base < n { n = entryReservation.base }
        if stagingReservation.base > addr && stagingReservation.base < n { n = stagingReservation.base }
        return n
    }

    /// The mode every MISSING registration of the host's memory uses.
    @inline(__always)
    var registerMode: UInt64 {
        writeTracking ? UInt64(PZ_UFFD_REGISTER_MODE_MISSING | PZ_UFFD_REGISTER_MODE_WP) : UInt64(PZ_UFFD_REGISTER_MODE_MISSING)
    }

    /// True if [start, end) touches memory that is pagezip's own.
    func isOwn(_ start: UInt, _ end: UInt) -> Bool {
        metaReservation.overlaps(start, end) || poolReservation.overlaps(start, end)
            || entryReservation.overlaps(start, end) || stagingReservation.overlaps(start, end)
            || (historyBase != 0 && start < historyBase + historySize && end > historyBase)
    }
}

/// Scratch memory of the store worker.
struct WorkerScratch {
    var compressed: UnsafeMutableRawPointer      // 8 KiB
    var lz4State: UnsafeMutableRawPointer
    var mappings: UnsafeMutablePointer<Mapping>
    var mappingCapacity: Int
    var mapsBuffer: UnsafeMutablePointer<UInt8>
    var mapsBufferSize: Int
    var log: UnsafeMutableRawPointer
    var outcomes: UnsafeMutablePointer<UInt64>   // one per staging slot
    /// Where each staging slot's page belongs; mremap may move it (fault handler).
    var slotAddress: UnsafeMutablePointer<UInt>
    var drainFrames: UnsafeMutablePointer<UInt32> // compaction: slabs being drained
}

/// The engine, or nil before boot and in pass-through.
@inline(__always)
var engineStorage: UnsafeMutablePointer<Engine>? { pz_engine_get()?.assumingMemoryBound(to: Engine.self) }

@inline(__always)
var E: UnsafeMutablePointer<Engine> { pz_engine_get().unsafelyUnwrapped.assumingMemoryBound(to: Engine.self) }

/// Log from any pagezip thread without allocating.
@_noLocks
func logLine(_ level: LogLevel, _ scratch: UnsafeMutableRawPointer, _ body: (inout LineWriter) -> Void) {
    guard let e = engineStorage, level.rawValue <= e.pointee.tunables.logLevel else { return }
    var w = LineWriter(memory: scratch)
    body(&w)
    w.flush()
}
