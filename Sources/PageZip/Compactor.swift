// Pool compaction, run by the store worker when it is idle.
//
// Refaults and drops free objects all over the pool; over time a class can
// hold many partly empty slabs.  When the pool wastes more than a quarter of
// its memory (and at least 1 MiB), the worker drains the sparsest slabs of the
// classes that could free whole slabs: it moves their objects into the other
// slabs of the class and the emptied slabs go back to the kernel
// (pages_compacted).  Stored entries are stable while the worker holds the
// map lock shared (the fault handler only changes them holding it
// exclusively); the lock is released every few hundred pages so faults are
// served meanwhile.

import CPageZipSys
import PageZipCore

/// One compaction pass; unless forced, only when the pool wastes more than a
/// quarter of its memory and at least 1 MiB.  Returns pages freed.
@_noLocks
func compact(force: Bool) -> UInt64 {
    let e = E
    let pool = e.pointee.pool
    let used = pool.currentBytesInUse()
    let allocated = pool.allocatedBytesNow()
    let wasted = used - min(used, allocated)
    guard force || (used > 1 << 20 && wasted > used / 4) else { return 0 }
    let before = pool.compactedPages()
    let frames = e.pointee.workerScratch.drainFrames
    var c = 1
    while c <= Pool.classCount {
        parkIfForking()
        let (free, perSlab) = pool.fragmentation(c)
        if perSlab > 0 && free >= 2 * perSlab {
            let n = pool.beginDrain(c, maxFrames: min(free / perSlab, 4096), out: frames)
            if n > 0 {
                relocateObjects(inDrainingSlabsOf: c)
                pool.endDrain(c, frames: frames, count: n)
            }
        }
        c += 1
    }
    return pool.compactedPages() - before
}

/// Moves every stored object that lives in a draining slab to a new object.
@_noLocks
private func relocateObjects(inDrainingSlabsOf c: Int) {
    let e = E
    let pool = e.pointee.pool
    let mapLock = e.pointee.word(.mapLock)
    var p: UInt = 0
    var steps = 0
    pz_rw_lock_shared(mapLock)
    while true {
        let reg = e.pointee.registered
        let idx = reg.firstEndingAfter(p)
        if idx >= reg.count { break }
        let iv = reg[idx]
        if p < iv.start { p = iv.start }
        let ent = e.pointee.entries.load(p)
        if ent.isStored && !ent.isZeroPage && pool.isDraining(ent.handle) {
            let len = ent.objectLength
            if let h = pool.allocate(length: len) {
                pool.pointer(h).copyMemory(from: pool.pointer(ent.handle), byteCount: len)
                let moved = Entry(bits: (ent.bits & 0xFFFF_FFFF) | UInt64(h) << 32)
                if e.pointee.entries.compareExchange(p, expected: ent, desired: moved) {
                    pool.free(ent.handle)
                } else {
                    pool.free(h)
                }
            }
        }
        p += 4096
        steps += 1
        if steps & 255 == 0 {
            // Let the fault handler in.
            pz_rw_unlock_shared(mapLock)
            pz_rw_lock_shared(mapLock)
        }
    }
    pz_rw_unlock_shared(mapLock)
}
