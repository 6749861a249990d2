// What pagezip knows about when a page was last in use: one 32-bit word per
// virtual page, direct-mapped like the entry table (128 GiB of sparse address
// space, backed only where pages have history), kept only in auto reclaim.
//
//   bits 0-23   time in seconds since the engine started (0 = no history)
//   bits 24-27  heat: how many times in a row the page refaulted soon after
//               being stored; auto reclaim leaves it alone cold-age x 2^heat
//   bits 28-31  spare
//
// The store worker records the store time, the fault handler the refault
// time and heat, write tracking (where the kernel has it) the time a page was
// last seen written.  Reads leave no access bit a process can see here (no
// DAMON vaddr, soft-dirty or idle-page tracking): a refault soon after a
// store is how a page that is only read shows itself hot.

import CPageZipSys

@frozen
public struct PageHistory: @unchecked Sendable {
    public static var reservationSize: UInt { (EntryTable.addressLimit >> 12) * 4 }
    public let words: UnsafeMutablePointer<UInt32>

    public init(base: UnsafeMutableRawPointer) {
        words = base.assumingMemoryBound(to: UInt32.self)
    }

    @inlinable @inline(__always)
    public static func pack(seconds: UInt32, heat: Int) -> UInt32 {
        (seconds & 0xFF_FFFF) | UInt32(min(max(heat, 0), 15)) << 24
    }

    @inlinable @inline(__always)
    public static func seconds(_ w: UInt32) -> UInt32 { w & 0xFF_FFFF }

    @inlinable @inline(__always)
    public static func heat(_ w: UInt32) -> Int { Int((w >> 24) & 0xF) }

    /// Seconds from a recorded time to `now`, modulo the 24-bit field: right
    /// for any interval under 194 days, however long the process has run.
    @inlinable @inline(__always)
    public static func elapsed(since: UInt32, now: UInt32) -> UInt32 { (now &- since) & 0xFF_FFFF }

    @inlinable @inline(__always)
    public func load(_ addr: UInt) -> UInt32 { pz_load32(words + Int(addr >> 12)) }

    @inlinable @inline(__always)
    public func store(_ addr: UInt, _ w: UInt32) { pz_store32(words + Int(addr >> 12), w) }

    /// A store at `now` (seconds, >= 1): keep the heat, note the time.
    @inlinable @inline(__always)
    public func noteStored(_ addr: UInt, now: UInt32) {
        let w = load(addr)
        store(addr, PageHistory.pack(seconds: now, heat: PageHistory.heat(w)))
    }

    /// Seen written at `now`: keep the heat, note the time of use.
    @inlinable @inline(__always)
    public func noteWritten(_ addr: UInt, now: UInt32) {
        let w = load(addr)
        if PageHistory.seconds(w) != now & 0xFF_FFFF { store(addr, PageHistory.pack(seconds: now, heat: PageHistory.heat(w))) }
    }

    /// Restored at `now` without being touched (fault-around brought it
    /// along): keep the heat, restart the clock, so a page that just came
    /// back is not stored again before a cold age has passed.
    @inlinable @inline(__always)
    public func noteRestored(_ addr: UInt, now: UInt32) {
        noteWritten(addr, now: now)
    }

    /// Compressed too poorly to keep at `now`: one step hotter, clock
    /// restarted, so the reclaimer waits cold age x 2^heat before it spends
    /// another compression on it.
    @inlinable @inline(__always)
    public func noteRejected(_ addr: UInt, now: UInt32) {
        let w = load(addr)
        store(addr, PageHistory.pack(seconds: now, heat: PageHistory.heat(w) + 1))
    }

    /// A refault at `now`: hotter if it came within `soon` seconds of the
    /// store, cooler otherwise.  Returns whether the page was already hot:
    /// a repeat, which a longer cold age would have prevented.  A first
    /// refault is how a page that is only read shows itself (reads leave no
    /// trace here); its own heat, not the global cold age, answers it.
    @inlinable @inline(__always) @discardableResult
    public func noteRefault(_ addr: UInt, now: UInt32, soon: UInt32) -> Bool {
        let w = load(addr)
        let then = PageHistory.seconds(w)
        var heat = PageHistory.heat(w)
        let wasHot = heat > 0
        if then != 0 && PageHistory.elapsed(since: then, now: now) < soon { heat += 1 } else if heat > 0 { heat -= 1 }
        store(addr, PageHistory.pack(seconds: now, heat: heat))
        return wasHot
    }

    /// Seconds a resident page must be left alone after its last known use:
    /// cold age x 2^heat, at most 64 x cold age.
    @inlinable @inline(__always)
    public static func restSeconds(_ w: UInt32, coldAge: UInt32) -> UInt32 {
        let h = min(heat(w), 6)
        return coldAge &<< UInt32(h)
    }
}
