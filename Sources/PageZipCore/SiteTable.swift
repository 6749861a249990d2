// Allocation sites: where the host's mmap calls came from.
//
// The mmap interposer unwinds a few frames (libunwind) and interns them here;
// each mapped range then carries its site's 16-bit ID (SiteRegionMap).  Which
// sites own the cold memory is computed when asked (`pagezip stats --sites`)
// by walking the entry table over each site's ranges: nothing is added to the
// store or fault paths.  Interning takes the table's mutex (host threads,
// never held across anything that can fault).

import CPageZipSys

public struct SiteTable: @unchecked Sendable {
    public static let capacity = 4096
    public static let maxFrames = 6
    static let recordWords = 8       // [0] hash, [1] frame count | calls << 8, [2...7] frames

    private let records: UnsafeMutablePointer<UInt64>
    private let control: UnsafeMutablePointer<UInt64>   // [0] count
    private let lock: UnsafeMutablePointer<UInt32>

    public static var bytes: Int { (capacity + 1) * recordWords * 8 + 128 }

    public init(memory: UnsafeMutableRawPointer) {
        records = memory.bindMemory(to: UInt64.self, capacity: (SiteTable.capacity + 1) * SiteTable.recordWords)
        control = (memory + (SiteTable.capacity + 1) * SiteTable.recordWords * 8).bindMemory(to: UInt64.self, capacity: 8)
        lock = UnsafeMutableRawPointer(control + 8).bindMemory(to: UInt32.self, capacity: 1)
    }

    /// The ID (1...capacity) of this stack of return addresses; 0 when the
    /// table is full or there are no frames.
    @_noLocks
    public func intern(_ frames: UnsafePointer<UInt>, count n: Int) -> UInt16 {
        let k = min(n, SiteTable.maxFrames)
        guard k > 0 else { return 0 }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<k {
            h = (h ^ UInt64(frames[i])) &* 0x0000_0100_0000_01B3
        }
        if h == 0 { h = 1 }
        pz_mutex_lock(lock)
        defer { pz_mutex_unlock(lock) }
        var slot = Int(h % UInt64(SiteTable.capacity))
        for _ in 0..<SiteTable.capacity {
            let r = records + (slot + 1) * SiteTable.recordWords
            if r[0] == 0 {
                r[0] = h
                r[1] = UInt64(k)
                for i in 0..<k { r[2 + i] = UInt64(frames[i]) }
                control[0] += 1
                bump(r)
                return UInt16(slot + 1)
            }
            if r[0] == h && Int(r[1] & 0xFF) == k {
                var same = true
                for i in 0..<k where r[2 + i] != UInt64(frames[i]) { same = false }
                if same {
                    bump(r)
                    return UInt16(slot + 1)
                }
            }
            slot = (slot + 1) % SiteTable.capacity
        }
        return 0
    }

    @_noLocks @inline(__always)
    private func bump(_ r: UnsafeMutablePointer<UInt64>) { r[1] = r[1] &+ (1 << 8) }

    public struct Site: Sendable, Equatable {
        public var id: UInt16
        public var frames: [UInt]
        public var calls: UInt64
    }

    /// Every interned site (racy read, for stats).
    public func sites() -> [Site] {
        var out: [Site] = []
        for slot in 0..<SiteTable.capacity {
            let r = records + (slot + 1) * SiteTable.recordWords
            let h = pz_load64_relaxed(r)
            guard h != 0 else { continue }
            let n = Int(r[1] & 0xFF)
            guard n > 0 && n <= SiteTable.maxFrames else { continue }
            out.append(Site(id: UInt16(slot + 1), frames: (0..<n).map { UInt(r[2 + $0]) }, calls: r[1] >> 8))
        }
        return out
    }

    public func lockForFork() { pz_mutex_lock(lock) }
    public func unlockAfterFork() { pz_mutex_unlock(lock) }
    @_noLocks public func resetLockInChild() { pz_store32(lock, 0) }
}

/// Mapped ranges and the site each came from: sorted, disjoint, not merged.
/// Guarded by the engine's map lock (writers hold it exclusively).
public struct SiteRegionMap: @unchecked Sendable {
    private let starts: UnsafeMutablePointer<UInt>
    private let ends: UnsafeMutablePointer<UInt>
    private let sites: UnsafeMutablePointer<UInt16>
    private let countWord: UnsafeMutablePointer<Int>
    public let capacity: Int

    public static func bytes(capacity: Int) -> Int { 64 + capacity * (2 * MemoryLayout<UInt>.stride + 2) }

    public init(memory: UnsafeMutableRawPointer, capacity: Int) {
        countWord = memory.bindMemory(to: Int.self, capacity: 1)
        starts = (memory + 64).bindMemory(to: UInt.self, capacity: capacity)
        ends = starts + capacity
        sites = UnsafeMutableRawPointer(ends + capacity).bindMemory(to: UInt16.self, capacity: capacity)
        self.capacity = capacity
    }

    public var count: Int { countWord.pointee }
    public subscript(i: Int) -> (start: UInt, end: UInt, site: UInt16) { (starts[i], ends[i], sites[i]) }

    @_noLocks
    private func firstEndingAfter(_ addr: UInt) -> Int {
        var lo = 0
        var hi = countWord.pointee
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ends[mid] <= addr { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Sets [start, end) to `site`, replacing what was there.
    @_noLocks @discardableResult
    public func assign(_ start: UInt, _ end: UInt, site: UInt16) -> Bool {
        guard start < end else { return true }
        _ = remove(start, end)
        let n = countWord.pointee
        guard n < capacity else { return false }
        let i = firstEndingAfter(start)
        var k = n
        while k > i {
            starts[k] = starts[k - 1]
            ends[k] = ends[k - 1]
            sites[k] = sites[k - 1]
            k -= 1
        }
        starts[i] = start
        ends[i] = end
        sites[i] = site
        countWord.pointee = n + 1
        return true
    }

    /// Clears [start, end); the site of a carried range is returned so mremap
    /// can assign it at the new address.
    @_noLocks @discardableResult
    public func remove(_ start: UInt, _ end: UInt) -> UInt16 {
        var i = firstEndingAfter(start)
        var found: UInt16 = 0
        while i < countWord.pointee && starts[i] < end {
            let s = starts[i], e = ends[i], site = sites[i]
            if found == 0 { found = site }
            if s < start && e > end {
                if countWord.pointee < capacity {
                    let n = countWord.pointee
                    var k = n
                    while k > i + 1 {
                        starts[k] = starts[k - 1]
                        ends[k] = ends[k - 1]
                        sites[k] = sites[k - 1]
                        k -= 1
                    }
                    ends[i] = start
                    starts[i + 1] = end
                    ends[i + 1] = e
                    sites[i + 1] = site
                    countWord.pointee = n + 1
                } else {
                    ends[i] = start       // no room: forget the upper part
                }
                return found
            }
            if s < start {
                ends[i] = start
                i += 1
                continue
            }
            if e > end {
                starts[i] = end
                return found
            }
            let n = countWord.pointee
            var k = i
            while k + 1 < n {
                starts[k] = starts[k + 1]
                ends[k] = ends[k + 1]
                sites[k] = sites[k + 1]
                k += 1
            }
            countWord.pointee = n - 1
        }
        return found
    }
}
