// Starting pagezip's threads on first use, so a process that never pages
// anything out never pays for them.
//
// The fault handler, the store worker and the reclaimer are raw clone(2)
// threads on pagezip's own stacks (CPageZipSys/rawthread.c): starting them
// never allocates, so it is safe anywhere — in a fork child before the
// allocator's own atfork handler has run, or inside an interposed call made
// while an allocator holds its locks.  Their code is @_noLocks-checked.

import CPageZipPreload
import CPageZipSys
import PageZipCore

/// Starts the fault handler and the store worker if they are not running.
/// Returns false if they cannot run (then nothing is ever stored).
@_noLocks
func ensureStarted() -> Bool {
    let e = E
    let started = e.pointee.word(.started)
    let s = pz_load32(started)
    if s == 1 { return true }
    if s == 2 { return false }
    let lock = e.pointee.word(.startLock)
    pz_mutex_lock(lock)
    var ok = pz_load32(started) == 1
    if pz_load32(started) == 0 {
        ok = startHandler() && startWorker()
        pz_store32(started, ok ? 1 : 2)
    }
    pz_mutex_unlock(lock)
    return ok
}

/// The fault handler: its wake-up eventfd, the staging slots registered with
/// the userfaultfd, and the thread.
@_noLocks
func startHandler() -> Bool {
    let e = E
    if pz_load32(e.pointee.word(.handlerRunning)) == 1 { return true }
    let efd = pz_sys_eventfd(0, 0o2000000 | 0o4000)   // EFD_CLOEXEC | EFD_NONBLOCK
    guard efd >= 0 else { return startFailed(.handler, Int(-efd)) }
    e.pointee.wakeFd = pz_preload_own_fd(Int32(efd))
    let r = pz_uffd_register(e.pointee.uffd, e.pointee.staging, e.pointee.stagingSlots << 12)
    guard r == 0 else { return startFailed(.staging, -r) }
    let err = pz_raw_thread_start({ faultHandlerMain($0) }, nil, e.pointee.handlerStack, Engine.stackSize,
                                  e.pointee.handlerTLS, Engine.tlsSize)
    guard err == 0 else { return startFailed(.handler, Int(err)) }
    pz_store32(e.pointee.word(.handlerRunning), 1)
    return true
}

@_noLocks
func startWorker() -> Bool {
    let e = E
    let err = pz_raw_thread_start({ storeWorkerMain($0) }, nil, e.pointee.workerStack, Engine.stackSize,
                                  e.pointee.workerTLS, Engine.tlsSize)
    // Without a worker the handler still runs: nothing is stored, nothing lost.
    return err == 0 || startFailed(.worker, Int(err))
}

@_noLocks
func startReclaimer() {
    let e = E
    guard e.pointee.reclaim != nil else { return }
    let err = pz_raw_thread_start({ reclaimerMain($0) }, nil, e.pointee.reclaimStack, Engine.stackSize,
                                  e.pointee.reclaimTLS, Engine.tlsSize)
    if err != 0 { _ = startFailed(.reclaimer, Int(err)) }
}

enum StartStep { case handler, staging, worker, reclaimer }

@_noLocks
private func startFailed(_ step: StartStep, _ err: Int) -> Bool {
    let e = E
    logLine(.error, e.pointee.workerScratch.log) { w in
        switch step {
        case .handler: w.append("not compressing: cannot start the fault handler (errno ")
        case .staging: w.append("not compressing: cannot register the staging area (errno ")
        case .worker: w.append("not compressing: cannot start the store worker (errno ")
        case .reclaimer: w.append("auto reclaim is off: cannot start its thread (errno ")
        }
        w.append(int: err)
        w.append("); the program runs unchanged")
    }
    return false
}
