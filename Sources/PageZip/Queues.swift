// The small queues between host threads and pagezip's threads, all in
// pagezip's memory.
//
// RequestQueue: MADV_PAGEOUT calls waiting for the store worker.  Each slot
// has a futex word the caller sleeps on until the worker has stored its range.
// RangeRing: MADV_COLD ranges the worker stores when idle (lossy when full).
// NoteRing: mappings seen by the interposers (lossy when full: the ring then
// sets `overflowed` and the engine falls back to conservative choices).

import CPageZipSys
import PageZipCore

struct RequestQueue {
    static var slots: Int { 64 }
    // per slot: [0] start, [1] end, [2] result, [3] state (futex word in low half) ... 8 words
    let words: UnsafeMutablePointer<UInt64>
    let states: UnsafeMutablePointer<UInt32>    // 16 words apart; 0 free, 1 queued, 2 taken, 3 done
    static var bytes: Int { slots * 64 + slots * 64 }

    init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt64.self, capacity: RequestQueue.slots * 8)
        states = (memory + RequestQueue.slots * 64).bindMemory(to: UInt32.self, capacity: RequestQueue.slots * 16)
    }

    @inline(__always) func state(_ i: Int) -> UnsafeMutablePointer<UInt32> { states + i * 16 }

    /// Claims a free slot; spins (sleeping) while all are busy.
    @_noLocks
    func claim(start: UInt, end: UInt) -> Int {
        while true {
            for i in 0..<RequestQueue.slots where pz_load32(state(i)) == 0 {
                if pz_cas32(state(i), 0, 4) {         // 4: being filled
                    words[i * 8] = UInt64(start)
                    words[i * 8 + 1] = UInt64(end)
                    words[i * 8 + 2] = 0
                    pz_store32(state(i), 1)
                    return i
                }
            }
            pz_sys_sleep_ns(100_000)
        }
    }

    /// The next queued slot, marked taken.
    @_noLocks
    func take() -> Int? {
        for i in 0..<RequestQueue.slots where pz_load32(state(i)) == 1 {
            if pz_cas32(state(i), 1, 2) { return i }
        }
        return nil
    }

    func range(_ i: Int) -> (UInt, UInt) { (UInt(words[i * 8]), UInt(words[i * 8 + 1])) }

    @_noLocks
    func complete(_ i: Int, result: Int) {
        words[i * 8 + 2] = UInt64(bitPattern: Int64(result))
        pz_store32(state(i), 3)
        pz_futex_wake(state(i), 1)
    }

    /// Waits for the worker, frees the slot, returns its result.
    @_noLocks
    func wait(_ i: Int) -> Int {
        while pz_load32(state(i)) != 3 {
            let s = pz_load32(state(i))
            if s != 3 { pz_futex_wait(state(i), s, 0) }
        }
        let r = Int(Int64(bitPattern: words[i * 8 + 2]))
        pz_store32(state(i), 0)
        return r
    }

    func reset() {
        for i in 0..<RequestQueue.slots { pz_store32(state(i), 0) }
    }
}

/// A bounded ring of ranges (MADV_COLD hints).  Producers take a lock word.
struct RangeRing {
    static var slots: Int { 1024 }
    let words: UnsafeMutablePointer<UInt64>   // [0] head, [1] tail, then pairs
    static var bytes: Int { 16 + slots * 16 + 64 }

    init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt64.self, capacity: 2 + RangeRing.slots * 2)
    }

    /// Adds a range; drops it when full.  Caller holds the ring's lock.
    func push(_ start: UInt, _ end: UInt) -> Bool {
        let head = words[0], tail = words[1]
        if tail - head >= UInt64(RangeRing.slots) { return false }
        let i = Int(tail % UInt64(RangeRing.slots))
        words[2 + i * 2] = UInt64(start)
        words[3 + i * 2] = UInt64(end)
        words[1] = tail + 1
        return true
    }

    func pop() -> (UInt, UInt)? {
        let head = words[0], tail = words[1]
        if head == tail { return nil }
        let i = Int(head % UInt64(RangeRing.slots))
        let r = (UInt(words[2 + i * 2]), UInt(words[3 + i * 2]))
        words[0] = head + 1
        return r
    }

    var isEmpty: Bool { words[0] == words[1] }
    func reset() { words[0] = 0; words[1] = 0 }
}

/// Mappings reported by the interposers, applied by the store worker.
struct NoteRing {
    enum Kind: UInt64 { case mapped = 1, unmapped = 2, noFork = 3, fork = 4 }
    static var slots: Int { 4096 }
    let words: UnsafeMutablePointer<UInt64>   // [0] head, [1] tail, [2] overflowed, then triples
    static var bytes: Int { 64 + slots * 32 }

    init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt64.self, capacity: 8 + NoteRing.slots * 4)
    }

    /// Caller holds the ring's lock.
    func push(_ kind: Kind, _ start: UInt, _ end: UInt, site: UInt16 = 0) {
        let head = words[0], tail = words[1]
        if tail - head >= UInt64(NoteRing.slots) {
            words[2] = 1
            return
        }
        let i = Int(tail % UInt64(NoteRing.slots))
        words[8 + i * 4] = kind.rawValue
        words[9 + i * 4] = UInt64(start)
        words[10 + i * 4] = UInt64(end)
        words[11 + i * 4] = UInt64(site)
        words[1] = tail + 1
    }

    func pop() -> (Kind, UInt, UInt, UInt16)? {
        let head = words[0], tail = words[1]
        if head == tail { return nil }
        let i = Int(head % UInt64(NoteRing.slots))
        let r = (Kind(rawValue: words[8 + i * 4]) ?? .mapped, UInt(words[9 + i * 4]), UInt(words[10 + i * 4]),
                 UInt16(truncatingIfNeeded: words[11 + i * 4]))
        words[0] = head + 1
        return r
    }

    var overflowed: Bool { words[2] != 0 }
    /// Unlocked peek; a stale answer only delays the notes to the next round.
    var isEmptyQuick: Bool { pz_load64_relaxed(words) == pz_load64_relaxed(words + 1) }
    func reset() { words[0] = 0; words[1] = 0 }
}

/// Drops (MADV_DONTNEED/FREE/REMOVE) that must not race a store.
///
/// The kernel reports a drop to the userfaultfd (EVENT_REMOVE) and only then
/// zaps the pages; a page moved out in between would come back with its old
/// contents.  Drops through the interposer are fenced for their whole
/// duration; drops pagezip only hears about (glibc's internal madvise) are
/// fenced for `recentWindowNs` after the event.
struct DropFences {
    static var activeSlots: Int { 64 }
    static var recentSlots: Int { 64 }
    static var recentWindowNs: UInt64 { 200_000_000 }
    // [0] overflow count (all stores wait), active: 64 x (start, end), recent: [.. head] + 64 x (start, end, time)
    let words: UnsafeMutablePointer<UInt64>
    static var bytes: Int { 8 * (8 + activeSlots * 2 + 8 + recentSlots * 3) }

    init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt64.self, capacity: DropFences.bytes / 8)
    }

    private var active: UnsafeMutablePointer<UInt64> { words + 8 }
    private var recentHead: UnsafeMutablePointer<UInt64> { words + 8 + DropFences.activeSlots * 2 }
    private var recent: UnsafeMutablePointer<UInt64> { words + 16 + DropFences.activeSlots * 2 }

    /// Returns a token for `end(_:)`.
    @_noLocks
    func begin(_ start: UInt, _ end: UInt) -> Int32 {
        for i in 0..<DropFences.activeSlots {
            let s = active + i * 2
            if pz_load64(s + 1) == 0 && pz_cas64(s + 1, 0, UInt64(end)) {
                pz_store64(s, UInt64(start))
                pz_fence()
                return Int32(i)
            }
        }
        _ = pz_add64(words, 1)
        pz_fence()
        return -1
    }

    @_noLocks
    func end(_ token: Int32) {
        if token < 0 {
            _ = pz_sub64(words, 1)
            return
        }
        let s = active + Int(token) * 2
        pz_store64(s, 0)
        pz_store64(s + 1, 0)
    }

    /// Records a drop the kernel reported (fault handler only).
    @_noLocks
    func noteRemoved(_ start: UInt, _ end: UInt, now: UInt64) {
        let h = Int(recentHead.pointee % UInt64(DropFences.recentSlots))
        let r = recent + h * 3
        pz_store64(r, UInt64(start))
        pz_store64(r + 1, UInt64(end))
        pz_store64(r + 2, now)
        recentHead.pointee &+= 1
    }

    /// Whether a store of [start, end) now could race a drop.
    @_noLocks
    func blocks(_ start: UInt, _ end: UInt, now: UInt64) -> Bool {
        if pz_load64(words) != 0 { return true }
        for i in 0..<DropFences.activeSlots {
            let s = active + i * 2
            let e = UInt(pz_load64(s + 1))
            if e != 0 {
                let b = UInt(pz_load64(s))
                if b < end && e > start { return true }
            }
        }
        for i in 0..<DropFences.recentSlots {
            let r = recent + i * 3
            let t = pz_load64(r + 2)
            if t != 0 && now &- t < DropFences.recentWindowNs {
                let b = UInt(pz_load64(r)), e = UInt(pz_load64(r + 1))
                if b < end && e > start { return true }
            }
        }
        return false
    }

    func reset() {
        for i in 0..<(DropFences.bytes / 8) { words[i] = 0 }
    }
}
