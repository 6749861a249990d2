// The exported C API (include/pagezip.h).

import CPageZipPreload
import CPageZipSys
import PageZipCore

@_cdecl("pagezip_pageout")
public func pagezipPageout(_ addr: UnsafeMutableRawPointer?, _ len: UInt) -> Int {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE) else { return -38 }   // ENOSYS
    let a = UInt(bitPattern: addr)
    if len == 0 { return 0 }
    guard a & 4095 == 0, pageRange(a, len) != nil else { return -22 }               // EINVAL
    return enginePageout(a, len)
}

@_cdecl("pagezip_compact")
public func pagezipCompact() -> Int {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE), let e = engineStorage else { return -38 }
    guard ensureStarted() else { return 0 }
    let slot = e.pointee.requests.claim(start: compactRequestMarker, end: compactRequestMarker)
    kickWorker()
    return e.pointee.requests.wait(slot)
}

@_cdecl("pagezip_active")
public func pagezipActive() -> Int32 {
    pz_preload_get_state() == Int32(PZ_STATE_ACTIVE) ? 1 : 0
}

@_cdecl("pagezip_version")
public func pagezipVersionString() -> UnsafePointer<CChar> {
    UnsafeRawPointer(pagezipVersion.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("pagezip_get_stats")
public func pagezipGetStats(_ out: UnsafeMutablePointer<pagezip_stats>?) -> Int32 {
    guard let out else { return -22 }
    let size = Int(out.pointee.size)
    guard size >= 16 else { return -22 }
    var s = pagezip_stats()
    s.size = UInt32(min(size, MemoryLayout<pagezip_stats>.size))
    s.version = UInt32(PAGEZIP_STATS_VERSION)
    s.active = UInt32(pagezipActive())
    if let e = engineStorage {
        let c = e.pointee.counters
        s.stored_pages = c.get(.storedPages)
        s.same_pages = c.get(.samePages)
        s.huge_pages = c.get(.hugePages)
        s.orig_data_size = c.get(.storedPages) * 4096
        s.compr_data_size = c.get(.comprDataSize)
        s.mem_used_total = e.pointee.pool.bytesInUse
        s.pool_limit = e.pointee.pool.limitBytes
        s.stored_total = c.get(.storedTotal)
        s.refaults = c.get(.refaults)
        s.fault_around_pages = c.get(.faultAroundPages)
        s.faults = c.get(.faults)
        s.reject_compress_poor = c.get(.rejectCompressPoor)
        s.reject_busy = c.get(.rejectBusy)
        s.reject_alloc_fail = c.get(.rejectAllocFail)
        s.pool_limit_hit = e.pointee.pool.limitHits
        s.decompress_fail = c.get(.decompressFail)
        s.dropped_pages = c.get(.droppedPages)
        s.registered_bytes = c.get(.registeredBytes)
        s.fault_p50_ns = e.pointee.faultLatency.percentile(0.5)
        s.fault_p99_ns = e.pointee.faultLatency.percentile(0.99)
        s.pages_compacted = e.pointee.pool.compactedPages()
    }
    let n = Int(s.size)
    withUnsafeBytes(of: &s) { src in
        UnsafeMutableRawPointer(out).copyMemory(from: src.baseAddress!, byteCount: n)
    }
    return 0
}
