// A sorted set of disjoint half-open address intervals in pagezip's memory.
//
// Used for the registered ranges (exact or smaller than what the kernel has
// registered, never larger), the ranges the host mapped through the interposer,
// and the ranges pagezip must never touch.  Not synchronised: the owner's lock
// (documented where each set lives) guards it.

public struct IntervalSet: @unchecked Sendable {
    private let starts: UnsafeMutablePointer<UInt>
    private let ends: UnsafeMutablePointer<UInt>
    private let countWord: UnsafeMutablePointer<Int>
    public let capacity: Int

    /// Bytes of raw memory needed for `capacity` intervals.
    public static func bytes(capacity: Int) -> Int { 64 + capacity * 2 * MemoryLayout<UInt>.stride }

    public init(memory: UnsafeMutableRawPointer, capacity: Int) {
        countWord = memory.assumingMemoryBound(to: Int.self)
        starts = (memory + 64).assumingMemoryBound(to: UInt.self)
        ends = starts + capacity
        self.capacity = capacity
    }

    public var count: Int { countWord.pointee }

    public subscript(i: Int) -> (start: UInt, end: UInt) { (starts[i], ends[i]) }

    /// Index of the first interval whose end is > addr (== count if none).
    @_noLocks @inline(__always)
    public func firstEndingAfter(_ addr: UInt) -> Int {
        var lo = 0
        var hi = countWord.pointee
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ends[mid] <= addr { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    @_noLocks
    public func contains(_ addr: UInt) -> Bool {
        let i = firstEndingAfter(addr)
        return i < countWord.pointee && starts[i] <= addr
    }

    /// Whether [start, end) lies entirely inside one interval.
    @_noLocks
    public func covers(_ start: UInt, _ end: UInt) -> Bool {
        let i = firstEndingAfter(start)
        return i < countWord.pointee && starts[i] <= start && ends[i] >= end
    }

    @_noLocks
    public func overlaps(_ start: UInt, _ end: UInt) -> Bool {
        let i = firstEndingAfter(start)
        return i < countWord.pointee && starts[i] < end
    }

    /// The interval containing addr.
    @_noLocks
    public func find(_ addr: UInt) -> (start: UInt, end: UInt)? {
        let i = firstEndingAfter(addr)
        if i < countWord.pointee && starts[i] <= addr { return (starts[i], ends[i]) }
        return nil
    }

    /// The end of the gap that starts at `addr` (the next interval's start, or `limit`).
    @_noLocks
    public func nextStart(after addr: UInt, limit: UInt) -> UInt {
        let i = firstEndingAfter(addr)
        if i < countWord.pointee && starts[i] < limit { return max(starts[i], addr) }
        return limit
    }

    /// Adds [start, end), merging with overlapping or adjacent intervals.
    /// Returns false (and changes nothing) when the set is full.
    @_noLocks @discardableResult
    public func insert(_ start: UInt, _ end: UInt) -> Bool {
        guard start < end else { return true }
        let n = countWord.pointee
        // First interval that ends at or after start (adjacent counts).
        var lo = 0
        var hi = n
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ends[mid] < start { lo = mid + 1 } else { hi = mid }
        }
        var j = lo
        var s = start
        var e = end
        while j < n && starts[j] <= end {
            if starts[j] < s { s = starts[j] }
            if ends[j] > e { e = ends[j] }
            j += 1
        }
        let removed = j - lo
        if removed == 0 {
            guard n < capacity else { return false }
            var k = n
            while k > lo {
                starts[k] = starts[k - 1]
                ends[k] = ends[k - 1]
                k -= 1
            }
            starts[lo] = s
            ends[lo] = e
            countWord.pointee = n + 1
            return true
        }
        starts[lo] = s
        ends[lo] = e
        if removed > 1 {
            var k = lo + 1
            while k + removed - 1 < n {
                starts[k] = starts[k + removed - 1]
                ends[k] = ends[k + removed - 1]
                k += 1
            }
            countWord.pointee = n - (removed - 1)
        }
        return true
    }

    /// Removes [start, end).  Returns false when a split would overflow the set;
    /// the set then loses the whole containing interval, which is the safe
    /// direction for every set pagezip keeps (it only ever under-claims).
    @_noLocks @discardableResult
    public func remove(_ start: UInt, _ end: UInt) -> Bool {
        guard start < end else { return true }
        var i = firstEndingAfter(start)
        var ok = true
        while i < countWord.pointee && starts[i] < end {
            let s = starts[i]
            let e = ends[i]
            if s < start && e > end {
                // Split in two.
                if countWord.pointee < capacity {
                    let n = countWord.pointee
                    var k = n
                    while k > i + 1 {
                        starts[k] = starts[k - 1]
                        ends[k] = ends[k - 1]
                        k -= 1
                    }
                    ends[i] = start
                    starts[i + 1] = end
                    ends[i + 1] = e
                    countWord.pointee = n + 1
                    return true
                }
                ok = false
                deleteAt(i)
                continue
            }
            if s < start {
                ends[i] = start
                i += 1
                continue
            }
            if e > end {
                starts[i] = end
                return ok
            }
            deleteAt(i)
        }
        return ok
    }

    @_noLocks
    private func deleteAt(_ i: Int) {
        let n = countWord.pointee
        var k = i
        while k + 1 < n {
            starts[k] = starts[k + 1]
            ends[k] = ends[k + 1]
            k += 1
        }
        countWord.pointee = n - 1
    }

    public func removeAll() { countWord.pointee = 0 }

    /// Total bytes covered.
    public var totalBytes: UInt { sumBytes() }

    @_noLocks
    public func sumBytes() -> UInt {
        var t: UInt = 0
        for i in 0..<countWord.pointee { t += ends[i] - starts[i] }
        return t
    }
}
