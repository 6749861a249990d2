// Write tracking for auto reclaim: which pages the program wrote lately.
//
// Linux >= 6.7 can tell a process which of its pages were written without
// root and without a signal handler: ranges registered with userfaultfd in
// write-protect mode with UFFD_FEATURE_WP_ASYNC have their write faults
// resolved by the kernel itself (about 1 us, no message to pagezip), and the
// PAGEMAP_SCAN ioctl lists the pages written since they were last protected
// and protects them again in the same walk.  Every reclaimer tick walks the
// tracked regions and stamps written pages in the page history, so a page
// the program keeps writing is never judged cold.  Reads leave no trace
// here: a page only read comes back by a refault, which marks it hot
// (PageHistory), and a page restored for a read is installed protected, so
// it too counts as written only when it is.
//
// Rules that keep this safe:
// - A region is registered WP-only where pagezip holds nothing, and
//   MISSING|WP where it does: the kernel replaces a range's mode, and WP
//   alone over held pages would let the kernel map zeros there.  Both happen
//   under the map lock, like every registration.
// - Holes are never protected (the scan matches present or swapped pages
//   only), so no uffd-wp markers are left: UFFDIO_ZEROPAGE and UFFDIO_MOVE
//   treat markers as occupied.
// - Transparent huge pages are left out: a write to a protected huge page
//   splits it.
// - A registered region makes its munmap/madvise/mremap wait for the fault
//   handler to read the event, so the handler runs before the first region
//   is registered.
// - A fork child reopens /proc/self/pagemap: the parent's descriptor would
//   protect the parent's pages.

import CPageZipPreload
import CPageZipSys
import PageZipCore

/// Write-tracking state, part of the reclaimer's.
struct WriteTrackState {
    var pagemapFd: Int32 = -1
    /// False once tracking failed; registrations keep their WP mode (harmless).
    var active = true
    var scanVector: UnsafeMutablePointer<pz_page_region>
    var log: UnsafeMutableRawPointer                  // LineWriter.capacity
    static var scanCapacity: Int { 512 }
}

/// Bit 31 of a region's first-seen word: the region is registered for write tracking.
let regionTrackedBit: UInt32 = 1 << 31

/// Registers the regions not yet tracked and walks every tracked one for the
/// pages written since the last tick.  Returns false if tracking had to stop.
@_noLocks
func trackWrites(_ rs: UnsafeMutablePointer<ReclaimState>, now: UInt32) -> Bool {
    let e = E
    if rs.pointee.track.pagemapFd < 0 {
        let path: StaticString = "/proc/self/pagemap"
        let fd = pz_sys_open(UnsafeRawPointer(path.utf8Start).assumingMemoryBound(to: CChar.self), 0o2000000, 0)
        guard fd >= 0 else { return stopTracking(rs, "cannot open /proc/self/pagemap (errno ", -fd) }
        rs.pointee.track.pagemapFd = pz_preload_own_fd(Int32(fd))
    }
    // Registered ranges send their unmap events to the handler: it must run.
    guard ensureStarted() else { return stopTracking(rs, "the fault handler is not running (errno ", 0) }
    var trackedBytes: UInt = 0
    for i in 0..<rs.pointee.regionCount {
        let start = rs.pointee.regionStarts[i]
        let end = rs.pointee.regionEnds[i]
        if rs.pointee.regionSeen[i] & regionTrackedBit == 0 {
            registerForTracking(start, end)
            rs.pointee.regionSeen[i] |= regionTrackedBit
        }
        trackedBytes += end - start
        let r = noteWrittenPages(rs, start, end, now: now)
        if r < 0 && r != -Int(ENOMEM) {
            return stopTracking(rs, "PAGEMAP_SCAN failed (errno ", -r)
        }
    }
    e.pointee.counters.set(.trackedBytes, UInt64(trackedBytes))
    e.pointee.counters.add(.writeScans)
    return true
}

/// Adds write-protect tracking to [start, end) without ever dropping a
/// MISSING registration (see the rules above).
@_noLocks
private func registerForTracking(_ start: UInt, _ end: UInt) {
    let e = E
    let missingWP = UInt64(PZ_UFFD_REGISTER_MODE_MISSING | PZ_UFFD_REGISTER_MODE_WP)
    pz_rw_lock_exclusive(e.pointee.word(.mapLock))
    var s = start
    while s < end {
        if let held = e.pointee.registered.find(s) {
            let t = min(end, held.end)
            _ = pz_uffd_register_mode(e.pointee.uffd, s, Int(t - s), missingWP)
            s = t
        } else {
            let t = e.pointee.registered.nextStart(after: s, limit: end)
            // EINVAL/ENOMEM: a mapping that cannot be tracked (or is gone);
            // its pages are then judged by age and refaults alone.
            _ = pz_uffd_register_mode(e.pointee.uffd, s, Int(t - s), UInt64(PZ_UFFD_REGISTER_MODE_WP))
            s = t
        }
    }
    pz_rw_unlock_exclusive(e.pointee.word(.mapLock))
}

/// One PAGEMAP_SCAN walk over [start, end): stamps each written page in the
/// page history and protects it again.  Returns pages seen, or -errno.
@_noLocks
private func noteWrittenPages(_ rs: UnsafeMutablePointer<ReclaimState>, _ start: UInt, _ end: UInt, now: UInt32) -> Int {
    let e = E
    let history = e.pointee.history.unsafelyUnwrapped
    let vec = rs.pointee.track.scanVector
    let cap = WriteTrackState.scanCapacity
    var s = start
    var seen = 0
    while s < end {
        let n = pz_pagemap_scan_written(rs.pointee.track.pagemapFd, s, end, vec, cap, true)
        if n < 0 { return n }
        for i in 0..<n {
            var p = UInt(vec[i].start)
            while p < UInt(vec[i].end) {
                history.noteWritten(p, now: now)
                p += 4096
            }
            seen += Int((vec[i].end - vec[i].start) >> 12)
        }
        // A full vector: the walk stopped after the last range it returned
        // (walk_end is not reliable past 512 ranges).
        guard n == cap else { break }
        s = UInt(vec[cap - 1].end)
    }
    e.pointee.counters.add(.writtenPagesSeen, UInt64(seen))
    return seen
}

@_noLocks
private func stopTracking(_ rs: UnsafeMutablePointer<ReclaimState>, _ why: StaticString, _ err: Int) -> Bool {
    rs.pointee.track.active = false
    logLine(.warn, rs.pointee.track.log) { w in
        w.append("write tracking is off: ")
        w.append(why)
        w.append(int: err)
        w.append("); cold pages are found by age and refaults")
    }
    return false
}
