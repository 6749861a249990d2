// The fault handler: one pthread that serves the userfaultfd.
//
// It restores held pages on MISSING faults (decompress, UFFDIO_COPY, free),
// zero-fills pages pagezip does not hold, and applies the kernel's reports of
// munmap, mremap and madvise(DONTNEED/FREE) to the entry table.  It holds the
// map lock exclusively from before it reads a batch of messages until it has
// handled them, so no store can move a page between the kernel dequeuing an
// event and the engine applying it.
//
// Everything here is @_noLocks: no allocation, no runtime locks, no reference
// counting.  The host may hold malloc's locks while it waits for us.

import CPageZipPreload
import CPageZipSys
import PageZipCore

enum Outcome {
    case done
    case retry      // an ioctl saw mappings changing (EAGAIN): read more messages, then retry
}

// errno values (computed: a stored global would be initialised lazily)
var EAGAIN: Int { 11 }
var ENOENT: Int { 2 }
var EEXIST: Int { 17 }
var ENOMEM: Int { 12 }
var EINTR: Int { 4 }
var EBUSY: Int { 16 }
var EINVAL: Int { 22 }



@_noLocks
func faultHandlerMain(_ arg: UnsafeMutableRawPointer?) {
    let name: StaticString = "pagezip-fault"
    pz_set_thread_name(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self))
    let e = E
    let uffd = e.pointee.uffd
    var wakeFd = e.pointee.wakeFd
    let mapLock = e.pointee.word(.mapLock)
    var spinUntil: UInt64 = 0
    while true {
        var r0: Int16 = 0
        var r1: Int16 = 0
        // After serving faults, look again without sleeping for a short while:
        // a program touching held pages faults in bursts, and waking a sleeping
        // handler on an idle CPU costs more than serving the fault (in a VM,
        // twice the fault time).  Bounded: 40 us of polling per burst.
        var n = 0
        if spinUntil != 0 {
            while true {
                n = pz_sys_poll2(uffd, wakeFd, 0, &r0, &r1)
                if n != 0 || pz_now_ns() >= spinUntil { break }
                pz_cpu_relax()
            }
            spinUntil = 0
        }
        if n == 0 { n = pz_sys_poll2(uffd, wakeFd, -1, &r0, &r1) }
        if r0 & 0x20 != 0 {
            // POLLNVAL: the host closed the userfaultfd with a raw system call
            // (libc's close/close_range/closefrom cannot).  The kernel has
            // unregistered everything; nothing is left to serve.
            logLine(.error, e.pointee.handlerLog) { w in
                w.append("the program closed pagezip's userfaultfd behind libc's back; pages held until now are lost")
            }
            pz_preload_set_state(Int32(PZ_STATE_PASSTHROUGH))
            var never: UInt32 = 0
            while true { pz_futex_wait(&never, 0, 0) }
        }
        if r1 & 0x20 != 0 {
            // Closed behind our back: nobody may write to that number again.
            wakeFd = -1
            e.pointee.wakeFd = -1
        }
        if r1 != 0 && wakeFd >= 0 {
            var value: UInt64 = 0
            _ = pz_sys_read(wakeFd, &value, 8)
        }
        applyDeferredFrees()
        if r0 != 0 {
            let before = e.pointee.counters.get(.faults)
            pz_rw_lock_exclusive(mapLock)
            drainMessages()
            pz_rw_unlock_exclusive(mapLock)
            if e.pointee.counters.get(.faults) != before { spinUntil = pz_now_ns() &+ 40_000 }
        }
    }
}

/// Reads one batch of userfaultfd messages and handles it.  Caller holds the
/// map lock exclusively.
///
/// Events (munmap, mremap, madvise) go before faults: the kernel hands out
/// pending faults ahead of events, but an event reports a change already made
/// to the page tables, while a faulting thread is still waiting and will see
/// the state after it.  Serving a fault first could restore a page at an
/// address mremap has already moved it away from.
@_noLocks
func drainMessages() {
    let e = E
    let q = e.pointee.handlerEvents
    let capacity = 1024
    let none = UInt32(PZ_EV_NONE.rawValue)
    let fault = UInt32(PZ_EV_FAULT.rawValue)
    var count = pz_uffd_read_events(e.pointee.uffd, q, 32)
    if count <= 0 { return }
    var idleRetries = 0
    while true {
        for i in 0..<count where q[i].kind != fault && q[i].kind != none {
            // Odd while entries and sets change together: a fork child that
            // copied them mid-change rebuilds its registrations instead.
            let seq = e.pointee.word(.eventSeq)
            _ = pz_add32(seq, 1)
            _ = handle(q[i])
            _ = pz_add32(seq, 1)
            q[i].kind = none
        }
        var retry = false
        for i in 0..<count where q[i].kind == fault {
            if case .retry = handle(q[i]) {
                retry = true
                break
            }
            q[i].kind = none
        }
        if !retry { return }
        // A fault saw mappings changing (EAGAIN): the event that raised
        // mmap_changing is (or will soon be) queued.  Read it, handle it,
        // then retry.
        var live = 0
        for i in 0..<count where q[i].kind != none {
            q[live] = q[i]
            live += 1
        }
        count = live
        var gotMore = false
        if count < capacity {
            let m = pz_uffd_read_events(e.pointee.uffd, q + count, min(32, capacity - count))
            if m > 0 {
                count += m
                gotMore = true
            }
        }
        e.pointee.counters.add(.retries)
        if gotMore {
            idleRetries = 0
        } else {
            idleRetries += 1
            if idleRetries < 50 { pz_sys_yield() } else { pz_sys_sleep_ns(20_000) }
        }
    }
}

@_noLocks
func handle(_ ev: pz_event) -> Outcome {
    switch ev.kind {
    case UInt32(PZ_EV_FAULT.rawValue):
        return handleFault(UInt(ev.a), write: ev.b & 1 != 0)
    case UInt32(PZ_EV_REMOVE.rawValue):
        return handleRemove(UInt(ev.a), UInt(ev.b))
    case UInt32(PZ_EV_UNMAP.rawValue):
        return handleUnmap(UInt(ev.a), UInt(ev.b))
    case UInt32(PZ_EV_REMAP.rawValue):
        return handleRemap(from: UInt(ev.a), to: UInt(ev.b), length: UInt(ev.c))
    default:
        return .done
    }
}

// MARK: faults

@_noLocks
func handleFault(_ address: UInt, write: Bool) -> Outcome {
    let e = E
    let page = address & ~4095
    let start = pz_now_ns()
    e.pointee.faultStartNs = start
    e.pointee.counters.add(.faults)
    let outcome: Outcome
    if e.pointee.stagingReservation.contains(page) {
        // An empty staging slot was read: a pagezip bug, never the host's data.
        logLine(.error, e.pointee.handlerLog) { w in
            w.append("internal error: fault on an empty staging slot at ")
            w.appendHex(page)
        }
        outcome = zeroFill(page, write: write)
    } else if !EntryTable.covers(page) {
        outcome = zeroFill(page, write: write)
    } else {
        let entry = e.pointee.entries.load(page)
        if entry.isStored {
            outcome = restore(page, entry, forFault: true, write: write)
        } else if entry.isStoring {
            outcome = restoreFromStaging(page, entry)
        } else {
            e.pointee.counters.add(.zeroFills)
            outcome = zeroFill(page, write: write)
        }
    }
    if case .done = outcome {
        // Restores record their latency before handing the page over; the
        // total time (with the hand-over) goes to fault_ns.
        e.pointee.counters.add(.faultNanos, pz_now_ns() &- start)
    }
    return outcome
}

/// Maps a zero page (read) or a fresh zeroed page (write) at a page nobody holds.
@_noLocks
func zeroFill(_ page: UInt, write: Bool) -> Outcome {
    let e = E
    var done: Int64 = 0
    let r: Int
    if write {
        r = pz_uffd_copy(e.pointee.uffd, page, UInt(bitPattern: e.pointee.zeroPage), 4096, 0, &done)
    } else {
        r = pz_uffd_zeropage(e.pointee.uffd, page, 4096, 0, &done)
    }
    return finishFill(page, r, 4096)
}

/// Common handling of a fill ioctl's result for [page, page+len).
@_noLocks
func finishFill(_ page: UInt, _ r: Int, _ len: UInt) -> Outcome {
    if r == 0 { return .done }
    if r == -EAGAIN { return .retry }
    if r == -ENOMEM {
        pz_sys_sleep_ns(1_000_000)
        return .retry
    }
    // EEXIST: someone (an earlier message for the same page) filled it; ENOENT:
    // the mapping is gone.  Either way the faulting thread must be woken to
    // retry its access.
    _ = pz_uffd_wake(E.pointee.uffd, page, Int(len))
    return .done
}

/// Brings back a held page, and on sequential access its held successors.
@_noLocks
func restore(_ page: UInt, _ first: Entry, forFault: Bool, write: Bool, single: Bool = false, protect: Bool = true) -> Outcome {
    let e = E
    var window = 1
    if forFault && !single {
        if page == e.pointee.nextSequentialPage {
            e.pointee.sequentialWindow = min(e.pointee.sequentialWindow * 2, e.pointee.tunables.faultAround)
        } else {
            e.pointee.sequentialWindow = 1
        }
        window = e.pointee.sequentialWindow
        if window > 1, let reg = e.pointee.registered.find(page) {
            let pagesLeft = Int((reg.end - page) >> 12)
            window = min(window, pagesLeft)
        } else {
            window = 1
        }
    }
    // Collect the run of held pages [page, page + n).
    var n = 1
    var allZero = first.isZeroPage
    while n < window {
        let next = e.pointee.entries.load(page + UInt(n) << 12)
        if !next.isStored { break }
        if !next.isZeroPage { allZero = false }
        n += 1
    }
    if !allZero {
        let buf = e.pointee.handlerScratch
        var i = 0
        while i < n {
            let ent = i == 0 ? first : e.pointee.entries.load(page + UInt(i) << 12)
            let dst = buf + (i << 12)
            if !decodeInto(ent, dst) {
                // Corrupt data: make the loss loud (SIGBUS on access), never silent.
                e.pointee.counters.add(.decompressFail)
                logLine(.error, e.pointee.handlerLog) { w in
                    w.append("decompression failed for the page at ")
                    w.appendHex(page + UInt(i) << 12)
                    w.append("; the page is poisoned (SIGBUS on access)")
                }
                if i == 0 {
                    var p: Int64 = 0
                    let pr = pz_uffd_poison(e.pointee.uffd, page, 4096, &p)
                    if pr != 0 && pr != -EEXIST { _ = pz_uffd_zeropage(e.pointee.uffd, page, 4096, 0, &p) }
                    releaseEntry(page, e.pointee.entries.exchange(page, .empty))
                    _ = pz_uffd_wake(e.pointee.uffd, page, 4096)
                    return .done
                }
                n = i
                break
            }
            i += 1
        }
    }
    // The faulting thread must find the pages gone from pagezip (stats, pool)
    // the moment it runs again, and waking it from the fill itself saves a
    // separate UFFDIO_WAKE (and the preemption inside it).  So the entries
    // leave the table first and are put back if the fill fails.  In a fork
    // window the other order is kept: a child copying memory between the two
    // steps must never see a page that is neither held nor present.
    let early = pz_load32(e.pointee.word(.forkSafe)) == 0
    let taken = e.pointee.handlerTaken
    for i in 0..<n {
        let p = page + UInt(i) << 12
        taken[i] = early ? e.pointee.entries.exchange(p, .empty).bits : e.pointee.entries.load(p).bits
        if early { uncount(Entry(bits: taken[i])) }
    }
    if forFault { e.pointee.faultLatency.record(pz_now_ns() &- e.pointee.faultStartNs) }
    var mode = early ? UInt64(0) : UInt64(PZ_UFFD_MODE_DONTWAKE)
    // With write tracking, pages restored for a read come back write-protected:
    // they stay "not written" until the program really writes them.
    let protected = e.pointee.writeTracking && !write && protect && !allZero
    if protected { mode |= UInt64(PZ_UFFD_COPY_MODE_WP) }
    var done: Int64 = 0
    let r: Int
    if allZero {
        r = pz_uffd_zeropage(e.pointee.uffd, page, n << 12, mode, &done)
    } else {
        r = pz_uffd_copy(e.pointee.uffd, page, UInt(bitPattern: e.pointee.handlerScratch), n << 12, mode, &done)
    }
    let filled = r == 0 ? n : (done > 0 ? Int(done) >> 12 : 0)
    for i in 0..<n {
        let p = page + UInt(i) << 12
        let ent = Entry(bits: taken[i])
        if i < filled {
            if early {
                if !ent.isZeroPage { freeObject(ent.handle) }
            } else {
                releaseEntry(p, e.pointee.entries.exchange(p, .empty))
            }
        } else if early {
            e.pointee.entries.store(p, ent)   // not filled: still held
            recount(ent)
        }
    }
    if filled > 0 {
        if !early { _ = pz_uffd_wake(e.pointee.uffd, page, filled << 12) }
        if forFault, let history = e.pointee.history {
            // Only the page that faulted shows use; neighbours came along.
            // Their clocks restart too: else the next pass stores them again
            // and a program reading 2-page items sequentially (memcached)
            // churns 50,000 pages a minute through store and fault-around.
            let now = engineSeconds()
            // "Soon" is four cold ages: a reader that comes back on a period
            // longer than the cold age (memcached's LRU crawler reads every
            // item header about once a minute) still marks its pages hot, so
            // they stop cycling through the pool after a few rounds.
            if history.noteRefault(page, now: now, soon: effectiveColdAgeSeconds() &* 4) {
                e.pointee.counters.add(.repeatRefaults)
            }
            for i in 1..<filled { history.noteRestored(page + UInt(i) << 12, now: now) }
        }
        if forFault {
            e.pointee.counters.add(.refaults, UInt64(filled))
            if filled > 1 { e.pointee.counters.add(.faultAroundPages, UInt64(filled - 1)) }
            e.pointee.nextSequentialPage = page + UInt(filled) << 12
        }
        return .done
    }
    if protected && r == -EINVAL && done <= 0 {
        // A range registered without WP mode: restore it unprotected.
        return restore(page, first, forFault: forFault, write: write, single: single, protect: false)
    }
    if n > 1 && (r == -ENOENT || r == -EINVAL) {
        // The window crossed into another mapping (UFFDIO_COPY must stay in
        // one VMA): restore just the faulting page; always make progress.
        e.pointee.sequentialWindow = 1
        return restore(page, first, forFault: forFault, write: write, single: true, protect: protect)
    }
    if r == -EEXIST {
        // The page is present although we hold it: the present page wins.
        releaseEntry(page, e.pointee.entries.exchange(page, .empty))
        _ = pz_uffd_wake(e.pointee.uffd, page, 4096)
        return .done
    }
    return finishFill(page, r, 4096)
}

/// Decodes a held entry into one page of memory.
@_noLocks
func decodeInto(_ ent: Entry, _ dst: UnsafeMutableRawPointer) -> Bool {
    let e = E
    if ent.isZeroPage {
        dst.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        return true
    }
    let src = e.pointee.pool.pointer(ent.handle)
    if ent.isRaw {
        dst.copyMemory(from: src, byteCount: 4096)
        return true
    }
    return Codec.decompress(src, length: ent.length, into: dst)
}

/// A page that is being stored is still whole in its staging slot: copy it
/// back from there.  The store worker sees the entry changed and discards
/// its compressed copy.
@_noLocks
func restoreFromStaging(_ page: UInt, _ entry: Entry) -> Outcome {
    let e = E
    let src = e.pointee.staging + UInt(entry.slot) << 12
    // Take the entry first (the worker then discards its copy), and put it
    // back if the fill fails; in a fork window keep the entry until it is in.
    let early = pz_load32(e.pointee.word(.forkSafe)) == 0
    if early { e.pointee.entries.store(page, .empty) }
    var done: Int64 = 0
    let r = pz_uffd_copy(e.pointee.uffd, page, src, 4096, early ? 0 : UInt64(PZ_UFFD_MODE_DONTWAKE), &done)
    if r == 0 || r == -EEXIST {
        if !early { e.pointee.entries.store(page, .empty) }
        e.pointee.counters.add(.refaults)
        // Touched while being stored: as hot as a page gets.
        e.pointee.history?.noteRefault(page, now: engineSeconds(), soon: UInt32.max)
        if !early || r != 0 { _ = pz_uffd_wake(e.pointee.uffd, page, 4096) }
        return .done
    }
    if early { e.pointee.entries.store(page, entry) }
    return finishFill(page, r, 4096)
}

/// Frees what a held entry owns and updates the gauges.  Storing entries own
/// nothing yet (the worker discards its result).
@_noLocks
func releaseEntry(_ page: UInt, _ ent: Entry) {
    guard ent.isStored else { return }
    uncount(ent)
    if !ent.isZeroPage { freeObject(ent.handle) }
}

/// Puts a held page into the gauges: the counters and its group's charge.
/// Every path that adds or removes a held entry goes through count/uncount.
@_noLocks
func count(_ ent: Entry) {
    let e = E
    let c = e.pointee.counters
    c.add(.storedPages)
    if ent.isZeroPage {
        c.add(.samePages)
    } else {
        c.add(.comprDataSize, UInt64(ent.objectLength))
        if ent.isRaw { c.add(.hugePages) }
    }
    e.pointee.groups.charge(ent.group, bytes: UInt64(ent.isZeroPage ? 0 : ent.objectLength))
}

/// Takes a held page out of the gauges (the pool object is freed separately).
@_noLocks
func uncount(_ ent: Entry) {
    let e = E
    let c = e.pointee.counters
    c.sub(.storedPages)
    if ent.isZeroPage {
        c.sub(.samePages)
    } else {
        c.sub(.comprDataSize, UInt64(ent.objectLength))
        if ent.isRaw { c.sub(.hugePages) }
    }
    e.pointee.groups.uncharge(ent.group, bytes: UInt64(ent.isZeroPage ? 0 : ent.objectLength))
}

/// Puts a held page back into the gauges (a fill that failed): it was
/// counted as stored once already.
@_noLocks
func recount(_ ent: Entry) {
    count(ent)
    E.pointee.groups.unchargeStoredTotal(ent.group)
}

/// Frees a pool object, unless a fork is being prepared: then the free waits
/// (a child must never copy the pool in the middle of a free).  A free that
/// cannot wait is bracketed by poolSeq so the child can repair that class.
@_noLocks
func freeObject(_ handle: UInt32) {
    let e = E
    if pz_load32(e.pointee.word(.forkSafe)) != 0 && e.pointee.deferredCount < Engine.deferredCapacity {
        e.pointee.deferredFrees[e.pointee.deferredCount] = handle
        e.pointee.deferredCount += 1
        return
    }
    let seq = e.pointee.word(.poolSeq)
    pz_store32(e.pointee.word(.poolSeqClass), UInt32(e.pointee.pool.sizeClass(ofHandle: handle)))
    _ = pz_add32(seq, 1)
    e.pointee.pool.free(handle)
    _ = pz_add32(seq, 1)
}

/// Frees what was deferred during a fork window (handler thread, after it).
@_noLocks
func applyDeferredFrees() {
    let e = E
    guard e.pointee.deferredCount > 0, pz_load32(e.pointee.word(.forkSafe)) == 0 else { return }
    for i in 0..<e.pointee.deferredCount { freeObject(e.pointee.deferredFrees[i]) }
    e.pointee.deferredCount = 0
}

// MARK: events

/// Frees every entry in [start, end); entries being stored are cancelled.
@_noLocks
func dropEntries(_ start: UInt, _ end: UInt) -> UInt64 {
    let e = E
    let reg = e.pointee.registered
    var i = reg.firstEndingAfter(start)
    var dropped: UInt64 = 0
    while i < reg.count {
        let iv = reg[i]
        if iv.start >= end { break }
        var p = max(iv.start, start)
        let stop = min(iv.end, end)
        while p < stop {
            let ent = e.pointee.entries.load(p)
            if !ent.isEmpty {
                let old = e.pointee.entries.exchange(p, .empty)
                if old.isStored {
                    releaseEntry(p, old)
                    dropped += 1
                }
            }
            p += 4096
        }
        i += 1
    }
    if dropped > 0 { e.pointee.counters.add(.droppedPages, dropped) }
    return dropped
}

@_noLocks
func handleRemove(_ start: UInt, _ end: UInt) -> Outcome {
    let e = E
    if e.pointee.stagingReservation.overlaps(start, end) { return .done }  // the worker emptying its slots
    e.pointee.counters.add(.eventsRemove)
    e.pointee.fences.noteRemoved(start, end, now: pz_now_ns())
    _ = dropEntries(start, end)
    return .done
}

@_noLocks
func handleUnmap(_ start: UInt, _ end: UInt) -> Outcome {
    let e = E
    e.pointee.counters.add(.eventsUnmap)
    _ = dropEntries(start, end)
    e.pointee.registered.remove(start, end)
    refreshRegisteredGauge()
    e.pointee.appMapped.remove(start, end)
    e.pointee.noFork.remove(start, end)
    e.pointee.siteRegions.remove(start, end)
    return .done
}

/// mremap moved [from, from+length) to [to, to+length): carry the entries.
@_noLocks
func handleRemap(from: UInt, to: UInt, length: UInt) -> Outcome {
    let e = E
    let reg = e.pointee.registered
    var i = reg.firstEndingAfter(from)
    let end = from + length
    var moved: UInt64 = 0
    while i < reg.count {
        let iv = reg[i]
        if iv.start >= end { break }
        var p = max(iv.start, from)
        let stop = min(iv.end, end)
        while p < stop {
            let ent = e.pointee.entries.load(p)
            if !ent.isEmpty {
                let dst = to + (p - from)
                e.pointee.entries.store(p, .empty)
                let old = e.pointee.entries.exchange(dst, ent)
                releaseEntry(dst, old)
                if ent.isStoring {
                    // Still in its staging slot: tell the store worker where
                    // the page lives now.
                    e.pointee.workerScratch.slotAddress[Int(ent.slot)] = dst
                } else {
                    moved += 1
                }
            }
            p += 4096
        }
        i += 1
    }
    e.pointee.counters.add(.eventsRemap)
    if moved > 0 { e.pointee.counters.add(.remappedPages, moved) }
    // Never claim more than the kernel registered: the old range is gone
    // (or, with MREMAP_DONTUNMAP, empty); the new one is registered.
    e.pointee.registered.remove(from, end)
    e.pointee.registered.insert(to, to + length)
    refreshRegisteredGauge()
    if e.pointee.appMapped.overlaps(from, end) {
        e.pointee.appMapped.remove(from, end)
        e.pointee.appMapped.insert(to, to + length)
    }
    let site = e.pointee.siteRegions.remove(from, end)
    if site != 0 { e.pointee.siteRegions.assign(to, to + length, site: site) }
    if e.pointee.noFork.overlaps(from, end) {   // MADV_DONTFORK travels with the mapping
        e.pointee.noFork.remove(from, end)
        e.pointee.noFork.insert(to, to + length)
    }
    return .done
}

/// Republishes the registered-bytes gauge.  Map lock held exclusively.
@_noLocks
func refreshRegisteredGauge() {
    let e = E
    e.pointee.counters.set(.registeredBytes, UInt64(e.pointee.registered.sumBytes()))
}
