// Starting pagezip's threads on first use, so a process that never pages
// anything out never pays for them.

import CPageZipPreload
import CPageZipSys
import PageZipCore

/// Starts the fault handler and the store worker if they are not running.
/// Returns false if they cannot run (then nothing is ever stored).
func ensureStarted() -> Bool {
    let e = E
    let started = e.pointee.word(.started)
    let s = pz_load32(started)
    if s == 1 { return true }
    if s == 2 { return false }
    let lock = e.pointee.word(.startLock)
    pz_mutex_lock(lock)
    defer { pz_mutex_unlock(lock) }
    if pz_load32(started) != 0 { return pz_load32(started) == 1 }
    let ok = startThreads()
    pz_store32(started, ok ? 1 : 2)
    return ok
}

private func startThreads() -> Bool {
    let e = E
    let efd = pz_sys_eventfd(0, 0o2000000 | 0o4000)   // EFD_CLOEXEC | EFD_NONBLOCK
    guard efd >= 0 else {
        logStartFailure("eventfd", Int(-efd))
        return false
    }
    e.pointee.wakeFd = Int32(efd)
    let r = pz_uffd_register(e.pointee.uffd, e.pointee.staging, e.pointee.stagingSlots << 12)
    guard r == 0 else {
        logStartFailure("registering the staging area", -r)
        return false
    }
    var err = pz_thread_start({ faultHandlerMain($0) }, nil, e.pointee.handlerStack, Engine.stackSize)
    guard err == 0 else {
        logStartFailure("starting the fault handler thread", Int(err))
        return false
    }
    err = pz_thread_start({ storeWorkerMain($0) }, nil, e.pointee.workerStack, Engine.stackSize)
    guard err == 0 else {
        // The handler runs but nothing will be stored: safe.
        logStartFailure("starting the store worker thread", Int(err))
        return false
    }
    return true
}

private func logStartFailure(_ what: String, _ err: Int) {
    if bootConfig.logLevel >= .error {
        writeStderr("pagezip: not compressing: \(what) failed (errno \(err)); the program runs unchanged\n")
    }
}
