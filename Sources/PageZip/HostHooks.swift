// What the interposers call.  These run on the host's threads: no
// allocation, no lock that a pagezip thread holds while waiting for the host.

import CPageZipPreload
import CPageZipSys
import PageZipCore

@_cdecl("pz_engine_note_mmap")
public func noteMmap(_ addr: UInt, _ len: Int, _ prot: Int32, _ flags: Int32, _ site: UInt16) {
    pushNote(.mapped, addr, addr + UInt(len), site: site)
}

@_cdecl("pz_engine_intern_site")
public func internSite(_ frames: UnsafePointer<UInt>?, _ nframes: Int32) -> UInt16 {
    guard let frames, nframes > 0, let e = engineStorage else { return 0 }
    return e.pointee.sites.intern(frames, count: Int(nframes))
}

@_cdecl("pz_engine_note_munmap")
public func noteMunmap(_ addr: UInt, _ len: Int) {
    pushNote(.unmapped, addr, addr + UInt(len))
}

@_cdecl("pz_engine_note_mremap")
public func noteMremap(_ oldAddr: UInt, _ oldLen: Int, _ newAddr: UInt, _ newLen: Int) {
    pushNote(.unmapped, oldAddr, oldAddr + UInt(oldLen))
    pushNote(.mapped, newAddr, newAddr + UInt(newLen))
}

@_cdecl("pz_engine_note_advice")
public func noteAdvice(_ addr: UInt, _ len: Int, _ advice: Int32) {
    pushNote(.noFork, addr, addr + UInt((len + 4095) & ~4095))
}

@_noLocks
private func pushNote(_ kind: NoteRing.Kind, _ s: UInt, _ t: UInt, site: UInt16 = 0) {
    guard let e = engineStorage else { return }
    let lock = e.pointee.word(.noteLock)
    pz_mutex_lock(lock)
    e.pointee.notes.push(kind, s & ~4095, (t + 4095) & ~4095, site: site)
    pz_mutex_unlock(lock)
}

@_cdecl("pz_engine_pageout")
public func enginePageout(_ addr: UInt, _ len: Int) -> Int {
    guard len > 0, addr & 4095 == 0, let e = engineStorage else { return 0 }
    guard ensureStarted() else { return 0 }
    e.pointee.counters.add(.pageoutCalls)
    let slot = e.pointee.requests.claim(start: addr, end: addr + UInt(len))
    kickWorker()
    return e.pointee.requests.wait(slot)
}

@_cdecl("pz_engine_cold_hint")
public func engineColdHint(_ addr: UInt, _ len: Int) {
    guard len > 0, addr & 4095 == 0, let e = engineStorage else { return }
    guard ensureStarted() else { return }
    let lock = e.pointee.word(.coldLock)
    pz_mutex_lock(lock)
    _ = e.pointee.coldHints.push(addr, addr + UInt(len))
    pz_mutex_unlock(lock)
    e.pointee.counters.add(.coldHints)
    kickWorker()
}

@_cdecl("pz_engine_drop_begin")
public func engineDropBegin(_ addr: UInt, _ len: Int) -> Int32 {
    guard let e = engineStorage else { return -2 }
    return e.pointee.fences.begin(addr & ~4095, (addr + UInt(len) + 4095) & ~4095)
}

@_cdecl("pz_engine_drop_end")
public func engineDropEnd(_ token: Int32) {
    guard token != -2, let e = engineStorage else { return }
    e.pointee.fences.end(token)
}
