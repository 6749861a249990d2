// fork(): the child must read exactly the parent's bytes.
//
// Without UFFD_FEATURE_EVENT_FORK (which needs CAP_SYS_PTRACE) the child's
// mappings lose their userfaultfd registration, and a page pagezip holds
// would read as zeros there.  So the child, before anything else runs, opens
// its own userfaultfd, starts its own fault handler, and re-registers its
// copy-on-write copies of the held ranges; its pool and entry table are
// copy-on-write copies of the parent's.  This works with and without
// CAP_SYS_PTRACE, and the child keeps working after the parent exits.
//
// "Before anything else runs":
//  - every atfork child handler is wrapped (interpose.c, __register_atfork)
//    so pagezip's child work runs first, even before the handlers of
//    libraries whose constructors ran before pagezip's;
//  - what glibc itself touches in the child before any handler runs (malloc
//    arena headers on 64 MiB boundaries, thread descriptors at the top of
//    thread stacks) is never stored (StoreWorker.swift);
//  - nothing here allocates (malloc may be unusable until the allocator's
//    own child handler has run): the child's threads are raw clones.
//
// The fault handler keeps serving faults throughout fork: other threads may
// fault while the forking thread waits for their locks.  To give the child
// a consistent copy, the store worker is parked at a batch boundary, the
// handler defers pool frees until fork returns, and it brackets each event
// with eventSeq (a child that copied an event half-applied rebuilds its
// registrations from /proc/self/maps and the entry table).  Processes that
// bypass glibc's fork (raw clone without CLONE_VM, _Fork) are not covered.

import CPageZipPreload
import CPageZipSys
import Glibc
import PageZipCore

func registerForkHandlers() {
    pthread_atfork({ forkPrepare() }, { forkParent() }, { forkChildFirst() })
}

private func forkPrepare() {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE), let e = engineStorage else { return }
    pz_mutex_lock(e.pointee.word(.forkLock))
    e.pointee.forkParentPid = pz_sys_getpid()
    e.pointee.forkChildDonePid = 0
    pz_store32(e.pointee.word(.forkSafe), 1)
    // A fault the handler began before it could see forkSafe has taken its
    // entries out early and may not have filled the page yet: fork now and
    // the child has neither.  Faults are served under the map lock, so
    // taking it once waits for that one to finish.
    let mask = pz_sys_block_signals()
    pz_rw_lock_exclusive(e.pointee.word(.mapLock))
    pz_rw_unlock_exclusive(e.pointee.word(.mapLock))
    pz_sys_restore_signals(mask)
    e.pointee.counters.add(.forks)
    if pz_load32(e.pointee.word(.started)) == 1 {
        // Park the worker at a batch boundary: no page is in a staging slot,
        // and nothing is stored until fork returns.
        let gate = e.pointee.word(.workerGate)
        let parked = e.pointee.word(.workerParked)
        pz_store32(gate, 1)
        kickWorker()
        while pz_load32(parked) == 0 { pz_futex_wait(parked, 0, 1_000_000) }
        // glibc walks every thread descriptor in the child before any
        // handler runs: bring them back while the fault handler serves.
        _ = pz_preload_thread_lists_touch()
    }
}

private func forkParent() {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE), let e = engineStorage else { return }
    pz_store32(e.pointee.word(.forkSafe), 0)
    if e.pointee.wakeFd >= 0 {
        var one: UInt64 = 1
        _ = pz_sys_write(e.pointee.wakeFd, &one, 8)    // the handler applies its deferred frees
    }
    let gate = e.pointee.word(.workerGate)
    pz_store32(gate, 0)
    pz_futex_wake(gate, 8)
    pz_mutex_unlock(e.pointee.word(.forkLock))
}

/// Runs pagezip's child work once per child, before any other atfork child
/// handler (interpose.c calls it from every wrapped handler).
@_cdecl("pz_engine_fork_child_first")
public func forkChildFirst() {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE), let e = engineStorage else { return }
    let pid = pz_sys_getpid()
    guard pid != e.pointee.forkParentPid, e.pointee.forkChildDonePid != pid else { return }
    e.pointee.forkChildDonePid = pid
    reinitializeInChild()
}

@_noLocks
private func reinitializeInChild() {
    let e = E
    // Only this thread exists now; every lock word is ours or free.
    for w in 0..<32 where w != Word.effectiveColdAge.rawValue {
        pz_store32(e.pointee.words + w * 16, 0)
    }
    e.pointee.requests.reset()
    e.pointee.fences.reset()
    e.pointee.coldHints.reset()
    e.pointee.notes.reset()
    e.pointee.sites.resetLockInChild()
    e.pointee.deferredCount = 0            // the parent frees them; here they simply stay allocated
    if let rs = e.pointee.reclaim {
        rs.pointee.regionCount = 0          // every region is new here: tracked again
        rs.pointee.cursor = 0
        // The parent's /proc/<pid>/pagemap: scanning it would protect the parent's pages.
        if rs.pointee.track.pagemapFd >= 0 {
            pz_preload_disown_fd(rs.pointee.track.pagemapFd)
            _ = pz_sys_close(rs.pointee.track.pagemapFd)
            rs.pointee.track.pagemapFd = -1
        }
    }
    let seqs = e.pointee.words
    // The parent was inside a pool free when memory was copied: repair it.
    if pz_load32(seqs + Word.poolSeq.rawValue * 16) & 1 != 0 {
        e.pointee.pool.abandonClass(Int(pz_load32(seqs + Word.poolSeqClass.rawValue * 16)))
    }
    let eventTorn = pz_load32(seqs + Word.eventSeq.rawValue * 16) & 1 != 0
    pz_store32(seqs + Word.poolSeq.rawValue * 16, 0)
    pz_store32(seqs + Word.eventSeq.rawValue * 16, 0)
    // The parent's descriptors manage the parent's memory: never use them here.
    if e.pointee.wakeFd >= 0 {
        pz_preload_disown_fd(e.pointee.wakeFd)
        _ = pz_sys_close(e.pointee.wakeFd)
    }
    pz_preload_disown_fd(e.pointee.uffd)
    _ = pz_sys_close(e.pointee.uffd)
    if e.pointee.mapsQueryFd >= 0 {
        _ = pz_preload_close_own_fd(e.pointee.mapsQueryFd)    // the parent's maps
        e.pointee.mapsQueryFd = -1
    }
    e.pointee.wakeFd = -1
    e.pointee.uffd = -1

    var fd: Int32 = -1
    if e.pointee.writeTracking {
        fd = openChildUserfaultfd(UInt64(PZ_UFFD_FEATURE_WP_ASYNC))
        if fd < 0 { e.pointee.writeTracking = false }
    }
    if fd < 0 { fd = openChildUserfaultfd(0) }
    guard fd >= 0 else {
        // Nothing is registered in the child yet: the pages can be written in place.
        restoreAllInPlace()
        logChild("cannot open a userfaultfd (errno ", Int(-fd))
        pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
        return
    }
    e.pointee.uffd = fd
    guard e.pointee.registered.count > 0 || eventTorn else {
        if e.pointee.reclaim != nil { startReclaimer() }
        return                              // nothing held: threads start on first use
    }
    // The handler first, so faults during re-registration are served.
    guard startHandler() else {
        restoreAllInPlace()
        logChild("cannot start its fault handler (errno ", 0)
        pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
        return
    }
    if eventTorn { rebuildRegisteredFromMaps() }
    reregisterInChild()
    if startWorker() { pz_store32(e.pointee.word(.started), 1) }
    if e.pointee.reclaim != nil { startReclaimer() }
}

/// A userfaultfd for the child with the parent's features plus `extra`; -errno on failure.
@_noLocks
private func openChildUserfaultfd(_ extra: UInt64) -> Int32 {
    var origin: Int32 = 0
    var deviceErrno: Int32 = 0
    let fd = pz_uffd_open(&origin, &deviceErrno)
    if fd < 0 { return fd }
    var features: UInt64 = 0
    var ioctls: UInt64 = 0
    let r = pz_uffd_api(fd, requiredFeaturesValue() | extra, &features, &ioctls)
    if r != 0 {
        _ = pz_sys_close(fd)
        return Int32(truncatingIfNeeded: r)
    }
    return pz_preload_own_fd(fd)
}

@_noLocks
private func logChild(_ what: StaticString, _ err: Int) {
    let e = E
    logLine(.warn, e.pointee.workerScratch.log) { w in
        w.append("not compressing in a forked child: ")
        w.append(what)
        w.append(int: err)
        w.append("); held pages were restored")
    }
}

/// The parent applied an event only partly when memory was copied: find the
/// held ranges again from the child's mappings and the entry table.
@_noLocks
private func rebuildRegisteredFromMaps() {
    let e = E
    let ws = e.pointee.workerScratch
    let n = MapsParser.read(into: ws.mappings, capacity: ws.mappingCapacity,
                            buffer: ws.mapsBuffer, bufferSize: ws.mapsBufferSize)
    e.pointee.registered.removeAll()
    guard n > 0 else { return }
    for i in 0..<n {
        let m = ws.mappings[i]
        guard m.isPrivateAnonymousRW, !e.pointee.isOwn(m.start, m.end), m.end <= EntryTable.addressLimit else { continue }
        var p = m.start
        while p < m.end {
            if !e.pointee.entries.load(p).isEmpty {
                e.pointee.registered.insert(m.start, m.end)
                break
            }
            p += 4096
        }
    }
}

/// Registers the child's copies of the held ranges with its own
/// userfaultfd.  Entries in ranges the child does not have (MADV_DONTFORK)
/// or gets zeroed (MADV_WIPEONFORK) are dropped.  Allocation-free.
@_noLocks
private func reregisterInChild() {
    let e = E
    let reg = e.pointee.registered
    // Copy the intervals out first: registering rewrites the set.
    let tmp = e.pointee.childIntervals
    let n = min(reg.count, 65536)
    for i in 0..<n {
        tmp[2 * i] = reg[i].start
        tmp[2 * i + 1] = reg[i].end
    }
    reg.removeAll()
    for i in 0..<n {
        let s = tmp[2 * i], t = tmp[2 * i + 1]
        var p = s
        while p < t {
            if let nf = e.pointee.noFork.find(p) {
                let stop = min(nf.end, t)
                dropInChild(p, stop)
                p = stop
                continue
            }
            let stop = e.pointee.noFork.nextStart(after: p, limit: t)
            if pz_uffd_register_mode(e.pointee.uffd, p, Int(stop - p), e.pointee.registerMode) == 0 {
                reg.insert(p, stop)
            } else {
                // Register what still exists, page by page; drop the rest.
                var q = p
                while q < stop {
                    if pz_uffd_register_mode(e.pointee.uffd, q, 4096, e.pointee.registerMode) == 0 { reg.insert(q, q + 4096) } else { dropInChild(q, q + 4096) }
                    q += 4096
                }
            }
            p = stop
        }
    }
    e.pointee.counters.set(.registeredBytes, UInt64(reg.sumBytes()))
}

@_noLocks
private func dropInChild(_ s: UInt, _ t: UInt) {
    let e = E
    var p = s
    while p < t {
        let old = e.pointee.entries.exchange(p, .empty)
        if old.isStored { releaseEntry(p, old) }
        p += 4096
    }
}

/// Decompresses every held page into place.  Only in a child, before it
/// returns from fork and before anything is registered in it (single
/// thread, plain memory).
@_noLocks
private func restoreAllInPlace() {
    let e = E
    let reg = e.pointee.registered
    for i in 0..<reg.count {
        let iv = reg[i]
        var p = iv.start
        while p < iv.end {
            let ent = e.pointee.entries.load(p)
            if ent.isStored {
                let dst = UnsafeMutableRawPointer(bitPattern: p)!
                if !decodeInto(ent, dst) {
                    e.pointee.counters.add(.decompressFail)
                }
                releaseEntry(p, e.pointee.entries.exchange(p, .empty))
            }
            p += 4096
        }
    }
    reg.removeAll()
}
