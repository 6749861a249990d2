// The store worker: one pthread that compresses pages into the pool.
//
// A page is taken away from the host atomically before it is read:
// UFFDIO_MOVE (Linux >= 6.8) moves it out of the host's mapping into one of
// pagezip's staging slots in a single page-table operation, so no write can
// land between reading the page and dropping it.  A thread that touches the
// page meanwhile faults and the fault handler copies it back from its slot;
// the worker then discards its compressed copy.  UFFDIO_MOVE also refuses
// pages that are pinned (O_DIRECT, io_uring) or shared after fork, which a
// write-protect scheme could not see.
//
// One batch (at most `stagingSlots` contiguous pages):
//   A  map lock shared: mark entries `storing`, UFFDIO_MOVE the pages out
//   B  no lock:         zero check, LZ4, pool allocation, for each page
//   C  map lock shared: entries `storing` -> `stored`; rejected pages moved back
//   D  no lock:         MADV_DONTNEED the staging slots
// The worker never holds the map lock across anything that waits for the
// fault handler (D does: the kernel reports it as EVENT_REMOVE).

import CPageZipPreload
import CPageZipSys
import PageZipCore


// Per-slot outcome of phase B, packed: kind (bits 0-3), length (4-15), handle (32-63).
private var outcomeNone: UInt64 { 0 }
private var outcomeMoved: UInt64 { 1 }
private var outcomeZero: UInt64 { 2 }
private var outcomeStored: UInt64 { 3 }
private var outcomeRejectPoor: UInt64 { 4 }
private var outcomeRejectAlloc: UInt64 { 5 }


@_noLocks
func storeWorkerMain(_ arg: UnsafeMutableRawPointer?) {
    let name: StaticString = "pagezip-store"
    pz_set_thread_name(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self))
    let e = E
    let seqWord = e.pointee.word(.workerSeq)
    while true {
        let seq = pz_load32(seqWord)
        parkIfForking()
        applyNotes()
        if let slot = e.pointee.requests.take() {
            let (start, end) = e.pointee.requests.range(slot)
            if start == compactRequestMarker {
                e.pointee.requests.complete(slot, result: Int(compact(force: true)))
            } else {
                e.pointee.requests.complete(slot, result: storeRange(start, end))
            }
            continue
        }
        if let hint = popColdHint() {
            _ = storeRange(hint.0, hint.1)
            continue
        }
        // Idle: look after the pool at most once a second.
        let now = pz_now_ns()
        if now &- e.pointee.lastCompactionNs > 1_000_000_000 {
            e.pointee.lastCompactionNs = now
            e.pointee.counters.add(.pagesCompacted, compact(force: false))
        }
        if pz_load32(seqWord) == seq { pz_futex_wait(seqWord, seq, 1_000_000_000) }
    }
}

/// A request range that asks for compaction instead of a store.
var compactRequestMarker: UInt { 1 }

/// Wakes the worker after queuing work.
@_noLocks
func kickWorker() {
    let w = E.pointee.word(.workerSeq)
    _ = pz_add32(w, 1)
    pz_futex_wake(w, 1)
}

@_noLocks
private func popColdHint() -> (UInt, UInt)? {
    let e = E
    let lock = e.pointee.word(.coldLock)
    pz_mutex_lock(lock)
    let r = e.pointee.coldHints.pop()
    pz_mutex_unlock(lock)
    return r
}

/// Parks the worker while a fork is being prepared (Fork.swift).
@_noLocks
func parkIfForking() {
    let e = E
    let gate = e.pointee.word(.workerGate)
    if pz_load32(gate) == 0 { return }
    let parked = e.pointee.word(.workerParked)
    pz_store32(parked, 1)
    pz_futex_wake(parked, 8)
    while pz_load32(gate) != 0 { pz_futex_wait(gate, 1, 0) }
    pz_store32(parked, 0)
}

/// Folds the interposers' notes into the host-mapping sets.
@_noLocks
func applyNotes() {
    let e = E
    let noteLock = e.pointee.word(.noteLock)
    if e.pointee.notes.isEmptyQuick { return }
    pz_rw_lock_exclusive(e.pointee.word(.mapLock))
    pz_mutex_lock(noteLock)
    while let (kind, start, end, site) = e.pointee.notes.pop() {
        switch kind {
        case .mapped:
            e.pointee.appMapped.insert(start, end)
            e.pointee.siteRegions.assign(start, end, site: site)
        case .unmapped:
            e.pointee.appMapped.remove(start, end)
            e.pointee.siteRegions.remove(start, end)
            e.pointee.noFork.remove(start, end)
        case .noFork:
            e.pointee.noFork.insert(start, end)
        case .fork:
            e.pointee.noFork.remove(start, end)
        }
    }
    pz_mutex_unlock(noteLock)
    pz_rw_unlock_exclusive(e.pointee.word(.mapLock))
}

/// The group the worker's pages are charged to: the process group of the
/// process (all threads share it).
@_noLocks
private func currentGroup() -> UInt16 {
    let e = E
    let pgid = pz_sys_getpgid()
    if pgid != e.pointee.cachedPgid || e.pointee.cachedGroup == 0 {
        e.pointee.cachedGroup = e.pointee.groups.id(for: pgid, defaultLimit: e.pointee.tunables.groupLimit)
        e.pointee.cachedPgid = pgid
    }
    return e.pointee.cachedGroup
}

/// Stores the eligible pages of [start, end); returns the pages stored.
@_noLocks
func storeRange(_ start: UInt, _ end: UInt) -> Int {
    let e = E
    guard start & 4095 == 0, end > start, EntryTable.covers(end - 1) else { return 0 }
    let stop = (end + 4095) & ~4095
    if e.pointee.isOwn(start, stop) { return 0 }
    let t0 = pz_now_ns()
    var cursor = start
    var stored = 0
    var attempts = 0
    while cursor < stop {
        parkIfForking()
        pz_rw_lock_shared(e.pointee.word(.mapLock))
        let reg = e.pointee.registered.find(cursor)
        pz_rw_unlock_shared(e.pointee.word(.mapLock))
        guard let reg else {
            // Not registered yet: find the next eligible stretch and register it.
            guard let (s, t) = nextEligible(cursor, stop) else { break }
            if s > cursor { cursor = s }
            if !register(s, t) { cursor = max(t, cursor + 4096) }
            continue
        }
        let spanEnd = min(stop, reg.end)
        let batchEnd = min(spanEnd, cursor + UInt(e.pointee.stagingSlots) << 12)
        let (n, retry) = storeBatch(cursor, batchEnd)
        stored += n
        if retry && attempts < 1000 {
            attempts += 1
            pz_sys_sleep_ns(attempts < 10 ? 10_000 : 200_000)
            continue
        }
        attempts = 0
        cursor = batchEnd
    }
    e.pointee.counters.add(.storeNanos, pz_now_ns() &- t0)
    return stored
}

/// The first stretch of [from, to) that pagezip may store: private anonymous
/// read-write memory that is not pagezip's, not loader memory present at
/// boot, not a library's .bss, and not the thread descriptor at the top of a
/// thread stack.  Asks the kernel for the mappings from `from` on
/// (PROCMAP_QUERY), else reads all of /proc/self/maps.  The kernel merges
/// adjacent anonymous mappings, so exclusions are cut out of a mapping, not
/// used to reject all of it.
@_noLocks
func nextEligible(_ from: UInt, _ to: UInt) -> (UInt, UInt)? {
    switch nextEligibleByQuery(from, to) {
    case .found(let s, let t): return (s, t)
    case .none: return nil
    case .cannotAsk: break
    }
    let e = E
    let ws = e.pointee.workerScratch
    let count = MapsParser.read(into: ws.mappings, capacity: ws.mappingCapacity,
                                buffer: ws.mapsBuffer, bufferSize: ws.mapsBufferSize)
    guard count > 0 else { return nil }
    var i = 0
    while i < count {
        let m = ws.mappings[i]
        i += 1
        if m.end <= from { continue }
        if m.start >= to { break }
        if let span = eligibleSpan(m, previous: i >= 2 ? ws.mappings[i - 2] : nil, from, to) { return span }
    }
    return nil
}

/// Set once the kernel has refused PROCMAP_QUERY (before Linux 6.11).
nonisolated(unsafe) private var procmapQueryMissing = false

/// nextEligible through PROCMAP_QUERY: a few ioctls instead of reading every
/// line of /proc/self/maps, which pagezip's own registrations can make
/// thousands long.  nil when the kernel lacks the ioctl.
private enum QueryAnswer { case found(UInt, UInt), none, cannotAsk }

@_noLocks
private func nextEligibleByQuery(_ from: UInt, _ to: UInt) -> QueryAnswer {
    if procmapQueryMissing { return .cannotAsk }
    let e = E
    var fd = e.pointee.mapsQueryFd
    if fd < 0 {
        let path: StaticString = "/proc/self/maps"
        let opened = pz_sys_open(UnsafeRawPointer(path.utf8Start).assumingMemoryBound(to: CChar.self), 0o2000000, 0)
        guard opened >= 0 else { return .cannotAsk }
        fd = pz_preload_own_fd(Int32(opened))
        e.pointee.mapsQueryFd = fd
    }
    let name = e.pointee.workerScratch.mapsBuffer
    var addr = from
    while addr < to {
        var vma = pz_vma()
        let r = pz_procmap_query(fd, addr, true, &vma, name, 4096)
        if r == -2 { return .none }                          // ENOENT: nothing above
        if r == -25 || r == -22 {                           // ENOTTY, EINVAL: no such ioctl
            procmapQueryMissing = true
            return .cannotAsk
        }
        guard r == 0 else { return .cannotAsk }              // e.g. a name too long: read the text
        let m = mapping(vma, name)
        if m.start >= to { return .none }
        var previous: Mapping?
        if m.start > 0 {
            var p = pz_vma()
            if pz_procmap_query(fd, m.start - 1, false, &p, name, 4096) == 0 { previous = mapping(p, name) }
        }
        if let (s, t) = eligibleSpan(m, previous: previous, from, to) { return .found(s, t) }
        addr = m.end
    }
    return .none
}

/// A PROCMAP_QUERY answer as the maps parser would have read it.
@_noLocks
private func mapping(_ v: pz_vma, _ name: UnsafeMutablePointer<UInt8>) -> Mapping {
    // name_size counts the NUL; 0 when the mapping has no name.
    let kind = MapsParser.kind(name: name, length: max(Int(v.name_size) - 1, 0), inodeNonZero: v.inode != 0)
    let f = v.flags
    return Mapping(start: UInt(v.start), end: UInt(v.end), readable: f & UInt64(PZ_VMA_READ) != 0,
                   writable: f & UInt64(PZ_VMA_WRITE) != 0, executable: f & UInt64(PZ_VMA_EXEC) != 0,
                   privateMapping: f & UInt64(PZ_VMA_SHARED) == 0, kind: kind)
}

/// The part of mapping m (within [from, to)) pagezip may store, or nil;
/// `previous` is the mapping listed just below m, if any.
@_noLocks
private func eligibleSpan(_ m: Mapping, previous: Mapping?, _ from: UInt, _ to: UInt) -> (UInt, UInt)? {
    let e = E
    var s = max(m.start, from)
    var t = min(m.end, to)
    var ok = m.isPrivateAnonymousRW
    if ok, let prev = previous {
        if prev.end == m.start && prev.kind == .file && m.kind == .anonymous { ok = false }  // .bss
        if prev.end == m.start && !prev.readable && !prev.writable && m.kind == .anonymous {
            // A guard page below: a thread stack.  Its top holds the thread
            // descriptor the kernel writes at thread exit; leave it resident.
            // Without glibc's thread lists fork could not bring descriptors
            // back, so then the whole stack stays.
            t = e.pointee.threadListsKnown ? min(t, m.end &- 2 * 4096) : s
        }
    }
    if !ok {
        e.pointee.counters.add(.rejectExcluded, UInt64((t &- s) >> 12))
        return nil
    }
    s = (s + 4095) & ~4095
    while s < t {
        if let ex = e.pointee.excluded.find(s) {
            let skip = min(t, ex.end)
            e.pointee.counters.add(.rejectExcluded, UInt64((skip - s) >> 12))
            s = skip
            continue
        }
        if let own = e.pointee.ownRange(containing: s) {
            s = min(t, own.end)
            continue
        }
        let stop = min(e.pointee.excluded.nextStart(after: s, limit: t), e.pointee.nextOwnStart(after: s, limit: t))
        return (s, stop)
    }
    return nil
}

/// Registers [s, t) with the userfaultfd.  The map lock is held exclusively
/// across the ioctl and the set update so an unmap event cannot slip between.
@_noLocks
func register(_ s: UInt, _ end: UInt) -> Bool {
    let e = E
    pz_rw_lock_exclusive(e.pointee.word(.mapLock))
    // Only the gap before the next registered range: unregistering on failure
    // must never touch a range that holds pages.
    let t = e.pointee.registered.nextStart(after: s, limit: end)
    if t <= s {
        pz_rw_unlock_exclusive(e.pointee.word(.mapLock))
        return true
    }
    var r = pz_uffd_register_mode(e.pointee.uffd, s, Int(t - s), e.pointee.registerMode)
    if r == 0 {
        if e.pointee.registered.insert(s, t) {
            refreshRegisteredGauge()
            e.pointee.counters.add(.registrations)
        } else {
            // The set is full: never claim a range it cannot record.
            _ = pz_uffd_unregister(e.pointee.uffd, s, Int(t - s))
            r = -28   // ENOSPC
        }
    }
    pz_rw_unlock_exclusive(e.pointee.word(.mapLock))
    if r != 0 {
        logLine(.debug, e.pointee.workerScratch.log) { w in
            w.append("cannot register ")
            w.appendHex(s)
            w.append("-")
            w.appendHex(t)
            w.append(": errno ")
            w.append(int: -r)
        }
    }
    return r == 0
}

/// Stores one batch [a, b) inside a registered range.  Returns the pages
/// stored and whether the batch should be retried (mappings were changing).
@_noLocks
func storeBatch(_ a: UInt, _ b: UInt) -> (Int, Bool) {
    let e = E
    let n = Int((b - a) >> 12)
    let uffd = e.pointee.uffd
    let entries = e.pointee.entries
    let outcomes = e.pointee.workerScratch.outcomes
    let staging = e.pointee.staging
    let mapLock = e.pointee.word(.mapLock)
    let group = currentGroup()
    let t0 = pz_now_ns()
    var retry = false

    // Phase A: claim the entries and move the pages out.
    pz_rw_lock_shared(mapLock)
    if !e.pointee.registered.covers(a, b) {
        pz_rw_unlock_shared(mapLock)
        return (0, false)
    }
    if e.pointee.fences.blocks(a, b, now: t0) {
        pz_rw_unlock_shared(mapLock)
        return (0, false)
    }
    let slotAddress = e.pointee.workerScratch.slotAddress
    for i in 0..<n {
        let p = a + UInt(i) << 12
        slotAddress[i] = p
        // A page on a 64 MiB boundary may hold a glibc malloc arena header,
        // which glibc touches in a fork child before any atfork handler runs.
        if p & (64 << 20 - 1) == 0 {
            outcomes[i] = outcomeNone
            continue
        }
        outcomes[i] = entries.compareExchange(p, expected: .empty, desired: .storing(slot: UInt32(i), group: group))
            ? outcomeMoved : outcomeNone
    }
    var i = 0
    var singlePages = false
    while i < n {
        if outcomes[i] == outcomeNone {
            i += 1
            continue
        }
        var k = i
        while k < n && outcomes[k] != outcomeNone { k += 1 }
        if singlePages { k = i + 1 }
        var done: Int64 = 0
        _ = pz_uffd_move(uffd, staging + UInt(i) << 12, a + UInt(i) << 12, (k - i) << 12,
                         UInt64(PZ_UFFD_MODE_DONTWAKE), &done)
        if done > 0 {
            i += Int(done) >> 12     // the rest of the run (if any) is retried from the failure
            continue
        }
        let err = Int(-done)
        if err == EINVAL && k - i > 1 && !singlePages {
            // The run crosses into another mapping (UFFDIO_MOVE stays in one
            // VMA): go page by page for the rest of the batch.
            singlePages = true
            continue
        }
        let p = a + UInt(i) << 12
        entries.store(p, .empty)
        outcomes[i] = outcomeNone
        if err == ENOENT || err == EINVAL || err == 14 {   // EFAULT: not a movable page
            i += 1                   // never touched, or this page's mapping cannot move
        } else if err == EBUSY {
            e.pointee.counters.add(.rejectBusy)
            i += 1
        } else {
            // EAGAIN: mappings are changing; anything else: give back the rest.
            var j = i + 1
            while j < n {
                if outcomes[j] != outcomeNone {
                    entries.store(a + UInt(j) << 12, .empty)
                    outcomes[j] = outcomeNone
                }
                j += 1
            }
            if err == EAGAIN { retry = true }
            break
        }
    }
    pz_rw_unlock_shared(mapLock)

    // Phase B: compress each moved page.
    var moved = 0
    let limit = e.pointee.tunables.rejectAbove
    let dst = e.pointee.workerScratch.compressed
    let state = e.pointee.workerScratch.lz4State
    checkPoolPressure()
    for i in 0..<n where outcomes[i] == outcomeMoved {
        moved += 1
        let src = UnsafeRawPointer(bitPattern: staging + UInt(i) << 12)!
        if Codec.isZeroPage(src) {
            outcomes[i] = outcomeZero
            continue
        }
        let len = Codec.compress(src, into: dst, limit: limit, state: state)
        if len == 0 {
            outcomes[i] = outcomeRejectPoor
            continue
        }
        if e.pointee.poolFull || !e.pointee.groups.admits(group, bytes: UInt64(len)) {
            outcomes[i] = outcomeRejectAlloc
            continue
        }
        guard let h = e.pointee.pool.allocate(length: len) else {
            outcomes[i] = outcomeRejectAlloc
            e.pointee.poolFull = true
            continue
        }
        e.pointee.pool.pointer(h).copyMemory(from: dst, byteCount: len)
        outcomes[i] = outcomeStored | UInt64(len) << 4 | UInt64(h) << 32
    }

    // Phase C: publish, or give rejected pages back.
    var stored = 0
    let nowSeconds = e.pointee.history == nil ? 0 : engineSeconds()
    pz_rw_lock_shared(mapLock)
    for i in 0..<n where outcomes[i] != outcomeNone {
        let p = slotAddress[i]       // mremap may have moved the page meanwhile
        let expected = Entry.storing(slot: UInt32(i), group: group)
        let o = outcomes[i]
        switch o & 0xF {
        case outcomeZero:
            // Count before publishing: once published, the handler may
            // release (and uncount) the page at any moment.
            account(stored: .zero(group: group))
            if entries.compareExchange(p, expected: expected, desired: .zero(group: group)) {
                e.pointee.history?.noteStored(p, now: nowSeconds)
                stored += 1
            } else {
                unaccount(.zero(group: group))
            }
        case outcomeStored:
            let len = Int((o >> 4) & 0xFFF)
            let h = UInt32(truncatingIfNeeded: o >> 32)
            let ent = Entry.stored(handle: h, length: len, group: group)
            account(stored: ent)
            if entries.compareExchange(p, expected: expected, desired: ent) {
                e.pointee.history?.noteStored(p, now: nowSeconds)
                stored += 1
            } else {
                unaccount(ent)
                e.pointee.pool.free(h)
            }
        default:
            if o & 0xF == outcomeRejectPoor {
                e.pointee.counters.add(.rejectCompressPoor)
                // It will compress no better next time: auto reclaim tries
                // it again only after twice as long each time.
                e.pointee.history?.noteRejected(p, now: nowSeconds)
            } else {
                e.pointee.counters.add(.rejectAllocFail)
            }
            // Give the page back, unless the handler already did.
            while entries.load(p) == expected {
                let r = giveBack(p, slot: i, expected: expected, group: group)
                if r == .again {
                    // Mappings are changing: let the fault handler read its
                    // messages, then try again.
                    pz_rw_unlock_shared(mapLock)
                    pz_sys_sleep_ns(20_000)
                    pz_rw_lock_shared(mapLock)
                    continue
                }
                break
            }
        }
    }
    pz_rw_unlock_shared(mapLock)

    // Phase D: empty the staging slots.
    if moved > 0 {
        Reservation.discard(staging, UInt(n) << 12)
        e.pointee.counters.add(.storeBatches)
        e.pointee.storeLatency.record((pz_now_ns() &- t0) / UInt64(moved))
    }
    return (stored, retry)
}

enum GiveBack { case done, again }

/// Returns a rejected page to the host: UFFDIO_MOVE it back, or copy it if
/// the mapping changed protection, or as a last resort keep it whole in the
/// pool.  While this fails the entry stays `storing` and the fault handler
/// serves the page from its slot, so the host never waits on it.
/// Map lock held shared.
@_noLocks
private func giveBack(_ p: UInt, slot i: Int, expected: Entry, group: UInt16) -> GiveBack {
    let e = E
    let src = e.pointee.staging + UInt(i) << 12
    var done: Int64 = 0
    let r = pz_uffd_move(e.pointee.uffd, p, src, 4096, 0, &done)
    if r == 0 {
        e.pointee.entries.store(p, .empty)
        return .done
    }
    if r == -EAGAIN { return .again }
    let c = pz_uffd_copy(e.pointee.uffd, p, src, 4096, 0, &done)
    if c == 0 || c == -EEXIST {
        e.pointee.entries.store(p, .empty)
        return .done
    }
    if c == -EAGAIN { return .again }
    if c == -ENOENT {
        // The mapping is gone; the unmap event will (or did) clear the entry.
        _ = e.pointee.entries.compareExchange(p, expected: expected, desired: .empty)
        return .done
    }
    // Keep the page whole: better a page of pool memory than a lost page.
    if let h = e.pointee.pool.allocate(length: 4096) {
        e.pointee.pool.pointer(h).copyMemory(from: UnsafeRawPointer(bitPattern: src)!, byteCount: 4096)
        let ent = Entry.stored(handle: h, length: 0, group: group, raw: true)
        account(stored: ent)
        if !e.pointee.entries.compareExchange(p, expected: expected, desired: ent) {
            unaccount(ent)
            e.pointee.pool.free(h)
        }
        return .done
    }
    logLine(.warn, e.pointee.workerScratch.log) { w in
        w.append("cannot give back the page at ")
        w.appendHex(p)
        w.append(" yet (errno ")
        w.append(int: -c)
        w.append("); retrying")
    }
    pz_sys_sleep_ns(10_000_000)
    return .again
}

/// A page just stored: held now, and one more ever stored.
@_noLocks
private func account(stored ent: Entry) {
    count(ent)
    E.pointee.counters.add(.storedTotal)
}

/// The store lost its race for the entry: undo account(stored:).
@_noLocks
private func unaccount(_ ent: Entry) {
    uncount(ent)
    E.pointee.counters.sub(.storedTotal)
    E.pointee.groups.unchargeStoredTotal(ent.group)   // count() charged it as ever stored
}

/// zswap's accept threshold: after the pool limit was hit, store again only
/// once the pool has shrunk below the threshold share of the limit.
@_noLocks
private func checkPoolPressure() {
    let e = E
    guard e.pointee.poolFull else { return }
    let limit = e.pointee.pool.currentLimit()
    if limit == 0 {
        e.pointee.poolFull = false
        return
    }
    let threshold = limit / 100 * UInt64(e.pointee.tunables.acceptThresholdPercent)
    if e.pointee.pool.currentBytesInUse() < threshold { e.pointee.poolFull = false }
}
