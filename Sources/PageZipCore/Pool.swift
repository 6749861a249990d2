// The pool: where compressed pages live.
//
// A zsmalloc-like allocator over one sparse reservation.  Size classes are 16 B
// apart (16 ... 4096 B).  Each class carves objects out of slabs of 1-16 pages:
// the fewest pages that waste at most 2 % of the slab (else the least-waste
// count), and, as zsmalloc does, neighbouring classes with the same slab shape
// are merged so fewer partly filled slabs exist.  A slab sits in a 64 KiB frame
// of the reservation, so objects may straddle page boundaries (the reservation
// is virtually contiguous, unlike zsmalloc's).  A handle is the object's offset
// / 16: 32 bits address 64 GiB.
//
// Lock order: class lock -> frame lock.  Both are futex words in pagezip's
// memory; no caller holds them across a system call that can wait for the fault
// handler.  The handler frees, the store worker allocates and frees.

import CPageZipSys

public struct Pool: @unchecked Sendable {
    public static let reservationSize: UInt = 64 << 30
    public static let frameShift: UInt = 16
    public static let frameSize: UInt = 1 << frameShift
    public static let frameCount: Int = Int(reservationSize >> frameShift)
    public static let classCount = 256

    /// Per-frame slab descriptor, guarded by its class lock.
    public struct Frame {
        var sizeClass: UInt16   // 0 = not a slab; bit 15: draining (compaction)
        var inUse: UInt16
        var freeHead: UInt16    // object index + 1 of the first free object, 0 = none
        var bump: UInt16        // objects below this index have been handed out before
        var next: UInt32        // partial list, frame index + 1
        var prev: UInt32
    }

    /// Bytes of bookkeeping memory needed next to the reservation.
    public static var metadataBytes: Int {
        frameCount * MemoryLayout<Frame>.stride      // frame descriptors
            + frameCount * 4                          // free frame stack
            + (classCount + 1) * 64 * 2               // class words and locks
            + 4096                                    // control words
            + (classCount + 1) * 2                    // merged class map
    }

    public let base: UInt
    private let frames: UnsafeMutablePointer<Frame>
    private let freeStack: UnsafeMutablePointer<UInt32>
    private let classWords: UnsafeMutablePointer<UInt64>   // 8 words per class
    private let classLocks: UnsafeMutablePointer<UInt32>   // 16 words (64 B) apart
    private let control: UnsafeMutablePointer<UInt64>

    // control words
    private static let cFrameLock = 0        // low 32 bits used as the frame lock, see frameLock
    private static let cBump = 1
    private static let cFreeTop = 2
    private static let cPagesInUse = 3
    private static let cLimitPages = 4
    private static let cPagesReleased = 5
    private static let cLimitHits = 6
    private static let cPagesCompacted = 7
    private static let cFrameLockWord = 8    // separate UInt32 array view below

    // class words
    private static let wPartial = 0
    private static let wEmptyCached = 1
    private static let wLive = 2
    private static let wSlabs = 3
    private static let wSize = 4
    private static let wObjsPerSlab = 5
    private static let wPagesPerSlab = 6

    private let frameLockWord: UnsafeMutablePointer<UInt32>
    private let classMap: UnsafeMutablePointer<UInt16>

    /// Lays the pool out over `reservation` (the objects) and `metadata`
    /// (zero-filled, at least `metadataBytes`).
    public init(reservation: Reservation, metadata: UnsafeMutableRawPointer, limitBytes: UInt64) {
        base = reservation.base
        var p = metadata
        frames = p.bindMemory(to: Frame.self, capacity: Pool.frameCount)
        p += Pool.frameCount * MemoryLayout<Frame>.stride
        freeStack = p.bindMemory(to: UInt32.self, capacity: Pool.frameCount)
        p += Pool.frameCount * 4
        classWords = p.bindMemory(to: UInt64.self, capacity: (Pool.classCount + 1) * 8)
        p += (Pool.classCount + 1) * 64
        classLocks = p.bindMemory(to: UInt32.self, capacity: (Pool.classCount + 1) * 16)
        p += (Pool.classCount + 1) * 64
        control = p.bindMemory(to: UInt64.self, capacity: 16)
        frameLockWord = (p + 1024).bindMemory(to: UInt32.self, capacity: 1)
        classMap = (p + 4096).bindMemory(to: UInt16.self, capacity: Pool.classCount + 1)
        // Shapes once, merged classes from the top down: linear, not quadratic.
        var shapes = [(pages: Int, objects: Int)](repeating: (0, 0), count: Pool.classCount + 2)
        for c in 1...Pool.classCount { shapes[c] = Pool.geometry(sizeClass: c) }
        var merged = Pool.classCount
        for c in stride(from: Pool.classCount, through: 1, by: -1) {
            if c == Pool.classCount || shapes[c] != shapes[c + 1] { merged = c }
            classMap[c] = UInt16(merged)
        }
        for c in 1...Pool.classCount {
            let (pages, objs) = shapes[c]
            let w = classWords + c * 8
            w[Pool.wSize] = UInt64(c * 16)
            w[Pool.wObjsPerSlab] = UInt64(objs)
            w[Pool.wPagesPerSlab] = UInt64(pages)
        }
        control[Pool.cLimitPages] = limitBytes / 4096
    }

    public static let maxPagesPerSlab = 16
    public static let wasteTolerance = 0.02

    /// Pages per slab and objects per slab for a class: the fewest pages (1-16)
    /// whose slab wastes at most 2 %, else the least-waste page count.
    public static func geometry(sizeClass c: Int) -> (pages: Int, objects: Int) {
        let size = c * 16
        var best = 1
        var bestWaste = Double.infinity
        for pages in 1...maxPagesPerSlab {
            let bytes = pages * 4096
            let objs = bytes / size
            guard objs > 0 else { continue }
            let waste = Double(bytes - objs * size) / Double(bytes)
            if waste < bestWaste - 1e-9 {
                bestWaste = waste
                best = pages
            }
            if waste <= wasteTolerance { break }
        }
        return (best, best * 4096 / size)
    }

    /// The class whose slabs hold objects of class `c`: the largest class with
    /// the same slab shape (zsmalloc's class merging).
    public static func mergedClass(_ c: Int) -> Int {
        var m = c
        let shape = geometry(sizeClass: c)
        while m < classCount && geometry(sizeClass: m + 1) == shape { m += 1 }
        return m
    }

    @inline(__always)
    public static func sizeClass(forLength length: Int) -> Int { (length + 15) >> 4 }

    @inline(__always)
    public func pointer(_ handle: UInt32) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: base + (UInt(handle) << 4))!
    }

    /// Allocates an object of `length` bytes (1...4096).  Returns nil when the
    /// pool limit would be exceeded (counted as a limit hit) or the
    /// reservation is exhausted.
    @_noLocks
    public func allocate(length: Int) -> UInt32? {
        let c = Int(classMap[Pool.sizeClass(forLength: length)])
        let w = classWords + c * 8
        let lock = classLocks + c * 16
        pz_mutex_lock(lock)
        var f = UInt32(truncatingIfNeeded: w[Pool.wPartial])
        if f == 0 {
            f = takeSlab(c)
            if f == 0 {
                pz_mutex_unlock(lock)
                return nil
            }
            pushPartial(c, f)
        }
        let fi = Int(f - 1)
        let size = Int(w[Pool.wSize])
        let frameBase = base + UInt(fi) << Pool.frameShift
        var d = frames[fi]
        let idx: Int
        if d.freeHead != 0 {
            idx = Int(d.freeHead - 1)
            let obj = UnsafeMutableRawPointer(bitPattern: frameBase + UInt(idx * size))!
            d.freeHead = obj.load(as: UInt16.self)
        } else {
            idx = Int(d.bump)
            d.bump += 1
        }
        d.inUse += 1
        frames[fi] = d
        if UInt64(d.inUse) == w[Pool.wObjsPerSlab] { removePartial(c, f) }
        w[Pool.wLive] += 1
        pz_mutex_unlock(lock)
        return UInt32(truncatingIfNeeded: (UInt(fi) << Pool.frameShift + UInt(idx * size)) >> 4)
    }

    /// Frees an object; a slab that becomes empty goes back to the kernel
    /// (one empty slab per class is kept to absorb churn).
    @_noLocks
    public func free(_ handle: UInt32) {
        let offset = UInt(handle) << 4
        let fi = Int(offset >> Pool.frameShift)
        let tag = frames[fi].sizeClass
        let c = Int(tag & 0x3FFF)
        guard c > 0, tag & 0x4000 == 0 else { return }   // 0x4000: abandoned in a fork child

        let w = classWords + c * 8
        let lock = classLocks + c * 16
        pz_mutex_lock(lock)
        let size = UInt(w[Pool.wSize])
        let idx = (offset & (Pool.frameSize - 1)) / size
        var d = frames[fi]
        let obj = UnsafeMutableRawPointer(bitPattern: base + offset)!
        obj.storeBytes(of: d.freeHead, as: UInt16.self)
        d.freeHead = UInt16(idx + 1)
        let wasFull = UInt64(d.inUse) == w[Pool.wObjsPerSlab]
        d.inUse -= 1
        frames[fi] = d
        w[Pool.wLive] -= 1
        let f = UInt32(fi + 1)
        let draining = d.sizeClass & 0x8000 != 0
        if wasFull && !draining { pushPartial(c, f) }
        if d.inUse == 0 {
            if draining {
                frames[fi].sizeClass = UInt16(c)   // drop the draining bit
                releaseSlab(c, fi, keepCached: false)
                _ = pz_add64(control + Pool.cPagesCompacted, w[Pool.wPagesPerSlab])
            } else {
                removePartial(c, f)
                releaseSlab(c, fi, keepCached: true)
            }
        }
        pz_mutex_unlock(lock)
    }

    // MARK: slabs (class lock held)

    @_noLocks
    private func takeSlab(_ c: Int) -> UInt32 {
        let w = classWords + c * 8
        let cached = UInt32(truncatingIfNeeded: w[Pool.wEmptyCached])
        if cached != 0 {
            w[Pool.wEmptyCached] = 0
            return cached
        }
        let pages = w[Pool.wPagesPerSlab]
        let inUse = pz_load64_relaxed(control + Pool.cPagesInUse)
        let limit = control[Pool.cLimitPages]
        if limit != 0 && inUse + pages > limit {
            _ = pz_add64(control + Pool.cLimitHits, 1)
            return 0
        }
        pz_mutex_lock(frameLockWord)
        var fi: Int = -1
        let top = Int(control[Pool.cFreeTop])
        if top > 0 {
            fi = Int(freeStack[top - 1])
            control[Pool.cFreeTop] = UInt64(top - 1)
        } else if control[Pool.cBump] < UInt64(Pool.frameCount) {
            fi = Int(control[Pool.cBump])
            control[Pool.cBump] += 1
        }
        pz_mutex_unlock(frameLockWord)
        if fi < 0 { return 0 }
        frames[fi] = Frame(sizeClass: UInt16(c), inUse: 0, freeHead: 0, bump: 0, next: 0, prev: 0)
        _ = pz_add64(control + Pool.cPagesInUse, pages)
        w[Pool.wSlabs] += 1
        return UInt32(fi + 1)
    }

    @_noLocks
    private func releaseSlab(_ c: Int, _ fi: Int, keepCached: Bool) {
        let w = classWords + c * 8
        frames[fi].freeHead = 0
        frames[fi].bump = 0
        // Keep one empty slab per class to absorb churn, but only a small one:
        // 256 cached 16-page slabs would be 16 MiB of nothing.
        if keepCached && w[Pool.wEmptyCached] == 0 && w[Pool.wPagesPerSlab] <= 2 {
            w[Pool.wEmptyCached] = UInt64(fi + 1)
            return
        }
        let pages = w[Pool.wPagesPerSlab]
        Reservation.discard(base + UInt(fi) << Pool.frameShift, UInt(pages) * 4096)
        frames[fi] = Frame(sizeClass: 0, inUse: 0, freeHead: 0, bump: 0, next: 0, prev: 0)
        w[Pool.wSlabs] -= 1
        _ = pz_sub64(control + Pool.cPagesInUse, pages)
        _ = pz_add64(control + Pool.cPagesReleased, pages)
        pz_mutex_lock(frameLockWord)
        let top = Int(control[Pool.cFreeTop])
        freeStack[top] = UInt32(fi)
        control[Pool.cFreeTop] = UInt64(top + 1)
        pz_mutex_unlock(frameLockWord)
    }

    @_noLocks
    private func pushPartial(_ c: Int, _ f: UInt32) {
        let w = classWords + c * 8
        let head = UInt32(truncatingIfNeeded: w[Pool.wPartial])
        frames[Int(f - 1)].next = head
        frames[Int(f - 1)].prev = 0
        if head != 0 { frames[Int(head - 1)].prev = f }
        w[Pool.wPartial] = UInt64(f)
    }

    @_noLocks
    private func removePartial(_ c: Int, _ f: UInt32) {
        let w = classWords + c * 8
        let d = frames[Int(f - 1)]
        if d.prev != 0 {
            frames[Int(d.prev - 1)].next = d.next
        } else if UInt32(truncatingIfNeeded: w[Pool.wPartial]) == f {
            w[Pool.wPartial] = UInt64(d.next)
        } else {
            return  // not on the list
        }
        if d.next != 0 { frames[Int(d.next - 1)].prev = d.prev }
        frames[Int(f - 1)].next = 0
        frames[Int(f - 1)].prev = 0
    }

    // MARK: compaction

    /// Free object slots in a class and its objects per slab: draining
    /// floor(free / perSlab) of the sparsest slabs frees that many slabs.
    @_noLocks
    public func fragmentation(_ c: Int) -> (free: Int, perSlab: Int) {
        let w = classWords + c * 8
        let lock = classLocks + c * 16
        pz_mutex_lock(lock)
        let slabs = Int(w[Pool.wSlabs]) - (w[Pool.wEmptyCached] != 0 ? 1 : 0)
        let perSlab = Int(w[Pool.wObjsPerSlab])
        let free = slabs * perSlab - Int(w[Pool.wLive])
        pz_mutex_unlock(lock)
        return (free, perSlab)
    }

    /// Takes up to `maxFrames` of the sparsest partial slabs of class `c` off
    /// the partial list (nothing new is allocated there) and marks them
    /// draining; writes their frame indices to `out`, returns how many.
    @_noLocks
    public func beginDrain(_ c: Int, maxFrames: Int, out: UnsafeMutablePointer<UInt32>) -> Int {
        let w = classWords + c * 8
        let lock = classLocks + c * 16
        pz_mutex_lock(lock)
        var n = 0
        while n < maxFrames {
            // The sparsest slab left on the partial list.
            var best: UInt32 = 0
            var bestUse = UInt16.max
            var f = UInt32(truncatingIfNeeded: w[Pool.wPartial])
            var guardSteps = 0
            while f != 0 && guardSteps < 1_000_000 {
                let d = frames[Int(f - 1)]
                if d.inUse < bestUse {
                    bestUse = d.inUse
                    best = f
                }
                f = d.next
                guardSteps += 1
            }
            if best == 0 { break }
            removePartial(c, best)
            frames[Int(best - 1)].sizeClass |= 0x8000
            out[n] = best - 1
            n += 1
        }
        pz_mutex_unlock(lock)
        return n
    }

    /// Whether the object's slab is being drained.
    @_noLocks
    public func isDraining(_ handle: UInt32) -> Bool {
        let fi = Int((UInt(handle) << 4) >> Pool.frameShift)
        return UnsafeRawPointer(frames + fi).load(as: UInt16.self) & 0x8000 != 0
    }

    /// Puts slabs that could not be emptied back on the partial list.
    @_noLocks
    public func endDrain(_ c: Int, frames list: UnsafeMutablePointer<UInt32>, count: Int) {
        let lock = classLocks + c * 16
        pz_mutex_lock(lock)
        for i in 0..<count {
            let fi = Int(list[i])
            if frames[fi].sizeClass & 0x8000 != 0 {
                frames[fi].sizeClass &= 0x7FFF
                if frames[fi].inUse > 0 { pushPartial(c, UInt32(fi + 1)) }
            }
        }
        pz_mutex_unlock(lock)
    }

    /// The size class of an object (for fork bookkeeping).
    @_noLocks
    public func sizeClass(ofHandle handle: UInt32) -> Int {
        let fi = Int((UInt(handle) << 4) >> Pool.frameShift)
        return Int(UnsafeRawPointer(frames + fi).load(as: UInt16.self) & 0x3FFF)
    }

    /// In a fork child whose parent was inside free() for class `c` when the
    /// memory was copied: that class's lists may be torn.  Its slabs are left
    /// as they are (objects stay readable) but never freed again, and the
    /// class starts over with new slabs; the free-frame stack starts empty.
    @_noLocks
    public func abandonClass(_ c: Int) {
        let w = classWords + c * 8
        for fi in 0..<Pool.frameCount where Int(frames[fi].sizeClass & 0x3FFF) == c {
            frames[fi].sizeClass |= 0x4000
        }
        w[Pool.wPartial] = 0
        w[Pool.wEmptyCached] = 0
        w[Pool.wLive] = 0
        w[Pool.wSlabs] = 0
        control[Pool.cFreeTop] = 0
        pz_store32(classLocks + c * 16, 0)
        pz_store32(frameLockWord, 0)
    }

    /// Pages returned to the kernel by compaction (zram's pages_compacted).
    @_noLocks
    public func compactedPages() -> UInt64 { pz_load64_relaxed(control + Pool.cPagesCompacted) }

    // MARK: statistics

    @_noLocks
    public func currentBytesInUse() -> UInt64 { pz_load64_relaxed(control + Pool.cPagesInUse) * 4096 }

    @_noLocks
    public func currentLimit() -> UInt64 { pz_load64_relaxed(control + Pool.cLimitPages) * 4096 }

    /// Bytes of memory the pool holds (zram's mem_used_total).
    public var bytesInUse: UInt64 { pz_load64_relaxed(control + Pool.cPagesInUse) * 4096 }
    /// Pages handed back to the kernel because their slab emptied.
    public var pagesReleased: UInt64 { pz_load64_relaxed(control + Pool.cPagesReleased) }
    /// Allocations refused because the pool limit was reached.
    public var limitHits: UInt64 { pz_load64_relaxed(control + Pool.cLimitHits) }
    public var limitBytes: UInt64 { control[Pool.cLimitPages] * 4096 }

    public func setLimit(bytes: UInt64) { control[Pool.cLimitPages] = bytes / 4096 }

    /// Objects live in a class, and the class's object size.
    public func classUsage(_ c: Int) -> (live: UInt64, size: Int, slabs: UInt64, pagesPerSlab: Int) {
        let w = classWords + c * 8
        return (w[Pool.wLive], Int(w[Pool.wSize]), w[Pool.wSlabs], Int(w[Pool.wPagesPerSlab]))
    }

    @_noLocks
    public func allocatedBytesNow() -> UInt64 {
        var t: UInt64 = 0
        var c = 1
        while c <= Pool.classCount {
            let w = classWords + c * 8
            t += pz_load64_relaxed(w + Pool.wLive) * pz_load64_relaxed(w + Pool.wSize)
            c += 1
        }
        return t
    }

    /// Bytes handed out to objects (sum of class sizes of live objects).
    public var allocatedBytes: UInt64 {
        var t: UInt64 = 0
        for c in 1...Pool.classCount {
            let w = classWords + c * 8
            t += w[Pool.wLive] * w[Pool.wSize]
        }
        return t
    }

    /// All locks of the pool, for fork: taken in lock order.
    public func lockAll() {
        for c in 1...Pool.classCount { pz_mutex_lock(classLocks + c * 16) }
        pz_mutex_lock(frameLockWord)
    }

    public func unlockAll() {
        pz_mutex_unlock(frameLockWord)
        for c in stride(from: Pool.classCount, through: 1, by: -1) { pz_mutex_unlock(classLocks + c * 16) }
    }
}
