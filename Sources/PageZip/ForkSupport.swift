// fork(): the child must read exactly the parent's bytes.
//
// Without UFFD_FEATURE_EVENT_FORK (which needs CAP_SYS_PTRACE) the child's
// mappings lose their userfaultfd registration, and a page pagezip holds would
// read as zeros there.  So, in pthread_atfork handlers:
//   prepare  park the store worker; have the fault handler restore the held
//            pages glibc itself may touch in the child before our child
//            handler runs (its heaps, thread stacks: everything outside the
//            host's own mmap'd ranges); pause the handler.
//   child    the child has a copy-on-write copy of the pool and the entry
//            table: open its own userfaultfd, register its copies of the held
//            ranges, start its own threads.  If that fails, decompress every
//            held page in place (the child is single-threaded here).
//   parent   resume.
// This works with and without CAP_SYS_PTRACE, and the child keeps working
// after the parent exits.  Processes that bypass glibc's fork (raw clone
// without CLONE_VM, _Fork) are not covered; see the README.
//
// Our handlers are registered at boot, before any allocator initialises, so
// in the child ours runs first — before jemalloc's or tcmalloc's own child
// handler has made malloc usable again, and the prepare handler runs after
// theirs has locked it.  So nothing here allocates: the child's threads are
// raw clones (Lifecycle.swift) and log lines use fixed memory.

import CPageZipPreload
import CPageZipSys
import Glibc
import PageZipCore

nonisolated(unsafe) private var forkArmed = false

func registerForkHandlers() {
    pthread_atfork({ forkPrepare() }, { forkParent() }, { forkChild() })
}

private func forkPrepare() {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE), let e = engineStorage else { return }
    pz_mutex_lock(e.pointee.word(.forkLock))
    forkArmed = pz_load32(e.pointee.word(.started)) == 1
    if forkArmed {
        // 1. Park the worker at a batch boundary: no page is in a staging slot.
        let gate = e.pointee.word(.workerGate)
        let parked = e.pointee.word(.workerParked)
        pz_store32(gate, 1)
        kickWorker()
        while pz_load32(parked) == 0 { pz_futex_wait(parked, 0, 1_000_000) }
        // 2. Restore what glibc touches in the child; 3. pause the handler.
        postHandlerRequest(handlerRequestRestoreForFork)
        let pause = e.pointee.word(.handlerPause)
        pz_store32(pause, 1)
        postHandlerRequest(handlerRequestPause)
        while pz_load32(pause) != 2 { pz_futex_wait(pause, 1, 1_000_000) }
    }
    // Locks host threads can hold briefly: the child must not inherit them held.
    pz_mutex_lock(e.pointee.word(.noteLock))
    pz_mutex_lock(e.pointee.word(.coldLock))
    e.pointee.counters.add(.forks)
}

private func forkParent() {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE), let e = engineStorage else { return }
    pz_mutex_unlock(e.pointee.word(.coldLock))
    pz_mutex_unlock(e.pointee.word(.noteLock))
    if forkArmed {
        let pause = e.pointee.word(.handlerPause)
        pz_store32(pause, 0)
        pz_futex_wake(pause, 8)
        let gate = e.pointee.word(.workerGate)
        pz_store32(gate, 0)
        pz_futex_wake(gate, 8)
    }
    pz_mutex_unlock(e.pointee.word(.forkLock))
}

private func forkChild() {
    guard pz_preload_get_state() == Int32(PZ_STATE_ACTIVE), let e = engineStorage else { return }
    // Only this thread exists now; every lock word is ours or free.
    pz_store32(e.pointee.word(.mapLock), 0)
    pz_store32(e.pointee.word(.startLock), 0)
    pz_store32(e.pointee.word(.requestLock), 0)
    pz_store32(e.pointee.word(.coldLock), 0)
    pz_store32(e.pointee.word(.noteLock), 0)
    pz_store32(e.pointee.word(.handlerPause), 0)
    pz_store32(e.pointee.word(.handlerRequests), 0)
    pz_store32(e.pointee.word(.workerGate), 0)
    pz_store32(e.pointee.word(.workerParked), 0)
    pz_store32(e.pointee.word(.handlerRunning), 0)
    pz_store32(e.pointee.word(.started), 0)
    e.pointee.requests.reset()
    e.pointee.fences.reset()
    e.pointee.coldHints.reset()
    // The parent's descriptors manage the parent's memory: never use them here.
    if e.pointee.wakeFd >= 0 { _ = pz_sys_close(e.pointee.wakeFd) }
    _ = pz_sys_close(e.pointee.uffd)
    e.pointee.wakeFd = -1
    e.pointee.uffd = -1
    let fd = openChildUserfaultfd()
    if fd < 0 {
        restoreAllInPlace()
        logChild("cannot open a userfaultfd (errno ", Int(-fd))
        pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
        pz_store32(e.pointee.word(.forkLock), 0)
        return
    }
    e.pointee.uffd = fd
    if forkArmed {
        // Faults must be served from now on: register, then start the handler
        // and the worker before any other child handler can touch a held page.
        reregisterInChild()
        if !ensureStarted() {
            restoreAllInPlace()
            pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
        }
    }
    if pz_preload_get_state() == Int32(PZ_STATE_ACTIVE) && e.pointee.reclaim != nil { startReclaimer() }
    pz_store32(e.pointee.word(.forkLock), 0)
}

/// A userfaultfd for the child with the parent's features; -errno on failure.
@_noLocks
private func openChildUserfaultfd() -> Int32 {
    var origin: Int32 = 0
    var deviceErrno: Int32 = 0
    let fd = pz_uffd_open(&origin, &deviceErrno)
    if fd < 0 { return fd }
    var features: UInt64 = 0
    var ioctls: UInt64 = 0
    let r = pz_uffd_api(fd, requiredFeaturesValue(), &features, &ioctls)
    if r != 0 {
        _ = pz_sys_close(fd)
        return Int32(truncatingIfNeeded: r)
    }
    return fd
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

private func postHandlerRequest(_ bit: UInt32) {
    let e = E
    let req = e.pointee.word(.handlerRequests)
    let done = e.pointee.word(.handlerDone)
    let seq = pz_load32(done)
    while true {
        let v = pz_load32(req)
        if pz_cas32(req, v, v | bit) { break }
    }
    var one: UInt64 = 1
    _ = pz_sys_write(e.pointee.wakeFd, &one, 8)
    if bit == handlerRequestPause { return }   // the caller waits for the paused state
    while pz_load32(done) == seq || pz_load32(req) & bit != 0 {
        pz_futex_wait(done, pz_load32(done), 1_000_000)
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
            if pz_uffd_register(e.pointee.uffd, p, Int(stop - p)) == 0 {
                reg.insert(p, stop)
            } else {
                // Register what still exists, page by page; drop the rest.
                var q = p
                while q < stop {
                    if pz_uffd_register(e.pointee.uffd, q, 4096) == 0 { reg.insert(q, q + 4096) } else { dropInChild(q, q + 4096) }
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

/// Decompresses every held page into place.  Only in a child before it
/// returns from fork (single-threaded, mappings no longer registered).
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
