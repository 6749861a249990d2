// What the interposers call.  These run on the host's threads: no
// allocation, no lock that a pagezip thread holds while waiting for the host.
//
// Arguments are whatever the host passed to libc, including nonsense the
// kernel will reject (negative lengths, ranges that wrap): nothing here may
// trap on them.  All arithmetic is checked, and invalid ranges are ignored so
// the real call fails exactly as it would without pagezip.

import CPageZipPreload
import CPageZipSys
import PageZipCore

/// [addr, addr+len) rounded out to pages, or nil if it wraps or leaves the
/// user address space.
@_noLocks @inline(__always)
func pageRange(_ addr: UInt, _ len: UInt) -> (UInt, UInt)? {
    let limit = EntryTable.addressLimit
    guard len > 0, len <= limit, addr < limit else { return nil }
    let end = addr &+ len
    guard end > addr, end <= limit else { return nil }
    return (addr & ~4095, (end &+ 4095) & ~4095)
}

@_cdecl("pz_engine_note_mmap")
public func noteMmap(_ addr: UInt, _ len: UInt, _ prot: Int32, _ flags: Int32, _ site: UInt16) {
    guard let (s, t) = pageRange(addr, len) else { return }
    pushNote(.mapped, s, t, site: site)
}

@_cdecl("pz_engine_intern_site")
public func internSite(_ frames: UnsafePointer<UInt>?, _ nframes: Int32) -> UInt16 {
    guard let frames, nframes > 0, let e = engineStorage else { return 0 }
    return e.pointee.sites.intern(frames, count: Int(nframes))
}

@_cdecl("pz_engine_note_munmap")
public func noteMunmap(_ addr: UInt, _ len: UInt) {
    guard let (s, t) = pageRange(addr, len) else { return }
    pushNote(.unmapped, s, t)
}

@_cdecl("pz_engine_note_mremap")
public func noteMremap(_ oldAddr: UInt, _ oldLen: UInt, _ newAddr: UInt, _ newLen: UInt) {
    if let (s, t) = pageRange(oldAddr, oldLen) { pushNote(.unmapped, s, t) }
    if let (s, t) = pageRange(newAddr, newLen) { pushNote(.mapped, s, t) }
}

/// A failed mremap over a range pagezip registered only in part: register the
/// whole range in the same mode, so its VMAs become one again.  Only ever adds
/// registration (holes in it are then zero-filled by the handler).
@_cdecl("pz_engine_mend_split")
public func mendSplit(_ addr: UInt, _ len: UInt) -> Int32 {
    guard addr & 4095 == 0, let (s, t) = pageRange(addr, len), let e = engineStorage else { return 0 }
    guard pz_load32(e.pointee.word(.handlerRunning)) == 1 else { return 0 }
    let lock = e.pointee.word(.mapLock)
    let mask = pz_sys_block_signals()
    pz_rw_lock_exclusive(lock)
    defer {
        pz_rw_unlock_exclusive(lock)
        pz_sys_restore_signals(mask)
    }
    guard e.pointee.registered.overlaps(s, t), !e.pointee.registered.covers(s, t) else { return 0 }
    guard pz_uffd_register_mode(e.pointee.uffd, s, Int(t - s), e.pointee.registerMode) == 0 else { return 0 }
    if e.pointee.registered.insert(s, t) {
        refreshRegisteredGauge()
        e.pointee.counters.add(.registrations)
    }
    return 1
}

@_cdecl("pz_engine_note_advice")
public func noteAdvice(_ addr: UInt, _ len: UInt, _ advice: Int32) {
    guard let (s, t) = pageRange(addr, len) else { return }
    switch advice {
    case 10, 18: pushNote(.noFork, s, t)       // MADV_DONTFORK, MADV_WIPEONFORK
    case 11, 19: pushNote(.fork, s, t)         // MADV_DOFORK, MADV_KEEPONFORK
    default: break
    }
}

@_noLocks
private func pushNote(_ kind: NoteRing.Kind, _ s: UInt, _ t: UInt, site: UInt16 = 0) {
    guard let e = engineStorage else { return }
    let lock = e.pointee.word(.noteLock)
    pz_mutex_lock(lock)
    e.pointee.notes.push(kind, s, t, site: site)
    pz_mutex_unlock(lock)
}

@_cdecl("pz_engine_pageout")
public func enginePageout(_ addr: UInt, _ len: UInt) -> Int {
    guard addr & 4095 == 0, let (s, t) = pageRange(addr, len), let e = engineStorage else { return 0 }
    guard ensureStarted() else { return 0 }
    statsServerStartOnFirstUse()
    e.pointee.counters.add(.pageoutCalls)
    let slot = e.pointee.requests.claim(start: s, end: t)
    kickWorker()
    return e.pointee.requests.wait(slot)
}

@_cdecl("pz_engine_cold_hint")
public func engineColdHint(_ addr: UInt, _ len: UInt) {
    guard addr & 4095 == 0, let (s, t) = pageRange(addr, len), let e = engineStorage else { return }
    guard ensureStarted() else { return }
    statsServerStartOnFirstUse()
    let lock = e.pointee.word(.coldLock)
    pz_mutex_lock(lock)
    _ = e.pointee.coldHints.push(s, t)
    pz_mutex_unlock(lock)
    e.pointee.counters.add(.coldHints)
    kickWorker()
}

@_cdecl("pz_engine_drop_begin")
public func engineDropBegin(_ addr: UInt, _ len: UInt) -> Int32 {
    guard let e = engineStorage, let (s, t) = pageRange(addr, len) else { return -2 }
    return e.pointee.fences.begin(s, t)
}

@_cdecl("pz_engine_drop_end")
public func engineDropEnd(_ token: Int32) {
    guard token != -2, let e = engineStorage else { return }
    e.pointee.fences.end(token)
}
