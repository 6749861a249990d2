// Counters: one 64-bit word each in pagezip's memory, updated with relaxed
// atomics.  Names follow what operators already read from zswap
// (/sys/kernel/debug/zswap) and zram (mm_stat, io_stat).

import CPageZipSys

@frozen
public enum Counter: Int, CaseIterable, Sendable {
    // gauges
    case storedPages            // pages held (data + zero), zswap stored_pages
    case samePages              // zero pages held, zram same_pages
    case hugePages              // pages held uncompressed, zram huge_pages
    case comprDataSize          // bytes of compressed data, zram compr_data_size
    case registeredBytes        // bytes registered with userfaultfd
    case trackedBytes           // bytes registered for write tracking (last refresh)
    // events
    case storedTotal            // pages ever stored
    case refaults               // stored pages brought back by a fault
    case faultAroundPages       // of which restored ahead of the fault
    case faults                 // fault messages served
    case zeroFills              // faults on pages pagezip did not hold
    case rejectCompressPoor     // zswap reject_compress_poor
    case rejectBusy             // shared (after fork), pinned or KSM pages left alone
    case rejectAllocFail        // zswap reject_alloc_fail
    case rejectExcluded         // pages that may not be stored (pagezip's own, loader memory)
    case decompressFail         // zswap decompress_fail
    case droppedPages           // held pages freed by munmap/madvise/mremap shrink
    case remappedPages          // held pages carried by mremap
    case forkRestoredPages      // pages restored before fork (memory glibc touches in the child)
    case forks
    case pageoutCalls           // madvise(MADV_PAGEOUT) and pagezip_pageout calls
    case coldHints              // madvise(MADV_COLD) calls queued
    case storeBatches
    case storeNanos             // time spent storing
    case faultNanos             // time spent serving faults
    case eventsRemove
    case eventsUnmap
    case eventsRemap
    case registrations
    case retries                // EAGAIN from mappings changing under an ioctl
    case writtenBackPages       // zswap written_back_pages: always 0, there is no backing device
    case reclaimPasses          // auto reclaim passes
    case reclaimStoredPages     // pages stored by auto reclaim
    case reclaimNanos           // the reclaimer thread's own CPU time
    case reclaimBackoffs        // times the refault budget doubled the effective cold age
    case pagesCompacted         // pool pages freed by compaction, zram pages_compacted
    case writeScans             // PAGEMAP_SCAN walks of tracked memory (write tracking)
    case writtenPagesSeen       // pages those walks found written since the walk before
    case repeatRefaults         // refaults of pages already marked hot: what a longer cold age prevents

    public var name: String {
        switch self {
        case .storedPages: return "stored_pages"
        case .samePages: return "same_pages"
        case .hugePages: return "huge_pages"
        case .comprDataSize: return "compr_data_size"
        case .registeredBytes: return "registered_bytes"
        case .storedTotal: return "stored_total"
        case .refaults: return "refaults"
        case .faultAroundPages: return "fault_around_pages"
        case .faults: return "faults"
        case .zeroFills: return "zero_fills"
        case .rejectCompressPoor: return "reject_compress_poor"
        case .rejectBusy: return "reject_busy"
        case .rejectAllocFail: return "reject_alloc_fail"
        case .rejectExcluded: return "reject_excluded"
        case .decompressFail: return "decompress_fail"
        case .droppedPages: return "dropped_pages"
        case .remappedPages: return "remapped_pages"
        case .forkRestoredPages: return "fork_restored_pages"
        case .forks: return "forks"
        case .pageoutCalls: return "pageout_calls"
        case .coldHints: return "cold_hints"
        case .storeBatches: return "store_batches"
        case .storeNanos: return "store_ns"
        case .faultNanos: return "fault_ns"
        case .eventsRemove: return "events_remove"
        case .eventsUnmap: return "events_unmap"
        case .eventsRemap: return "events_remap"
        case .registrations: return "registrations"
        case .retries: return "retries"
        case .writtenBackPages: return "written_back_pages"
        case .reclaimPasses: return "reclaim_passes"
        case .reclaimStoredPages: return "reclaim_stored_pages"
        case .reclaimNanos: return "reclaim_cpu_ns"
        case .reclaimBackoffs: return "reclaim_backoffs"
        case .pagesCompacted: return "pages_compacted"
        case .writeScans: return "write_scans"
        case .writtenPagesSeen: return "written_pages_seen"
        case .repeatRefaults: return "repeat_refaults"
        case .trackedBytes: return "tracked_bytes"
        }
    }

    public var isGauge: Bool { rawValue <= Counter.trackedBytes.rawValue }
}

@frozen
public struct Counters: @unchecked Sendable {
    public static let capacity = 64
    public let words: UnsafeMutablePointer<UInt64>

    public init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt64.self, capacity: Counters.capacity)
    }

    @inlinable @inline(__always)
    public func add(_ c: Counter, _ v: UInt64 = 1) { _ = pz_add64(words + c.rawValue, v) }

    @inlinable @inline(__always)
    public func sub(_ c: Counter, _ v: UInt64 = 1) { _ = pz_sub64(words + c.rawValue, v) }

    @inlinable @inline(__always)
    public func set(_ c: Counter, _ v: UInt64) { pz_store64(words + c.rawValue, v) }

    @inlinable @inline(__always)
    public func get(_ c: Counter) -> UInt64 { pz_load64_relaxed(words + c.rawValue) }
}
