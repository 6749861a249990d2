// Process-group accounting through compact 16-bit IDs.
//
// Every stored page's entry carries a 16-bit ID into this table instead of a
// pointer (memcg's swap_cgroup: 2 bytes a page).  A record holds the group's
// process-group ID, pages and compressed bytes, and its pool limit.  IDs are
// handed out once per process group and reused only after the group's last
// charged page is gone; when all are in use a shared overflow ID absorbs the
// rest and `overflowAssignments` counts it.  Record fields are atomics, read
// without locks on the hot paths; the ID map is guarded by its mutex (taken
// once per store batch, never by the fault handler).

import CPageZipSys

public struct GroupTable: @unchecked Sendable {
    public static let maxID: UInt16 = 0xFFFE
    public static let overflowID: UInt16 = 0xFFFF
    public static let recordWords = 8
    static let hashSlots = 8192

    // record words
    static let rPgid = 0          // pgid + 1 (0 = unused)
    static let rPages = 1
    static let rComprBytes = 2
    static let rLimitBytes = 3
    static let rLimitHits = 4
    static let rStoredTotal = 5

    public static func bytes(capacity: Int) -> Int {
        (capacity + 1) * recordWords * 8 + hashSlots * 4 + 64
    }

    private let records: UnsafeMutablePointer<UInt64>
    private let hash: UnsafeMutablePointer<UInt32>   // slot -> id + 1
    private let control: UnsafeMutablePointer<UInt64> // [0] next id, [1] overflow assignments
    private let lock: UnsafeMutablePointer<UInt32>
    public let capacity: Int

    /// `capacity` IDs (at most 65534; smaller in tests), overflow ID after them.
    public init(memory: UnsafeMutableRawPointer, capacity: Int = Int(GroupTable.maxID)) {
        self.capacity = min(capacity, Int(GroupTable.maxID))
        records = memory.bindMemory(to: UInt64.self, capacity: (Int(GroupTable.overflowID) + 1) * GroupTable.recordWords)
        let hashStart = memory + (Int(GroupTable.overflowID) + 1) * GroupTable.recordWords * 8
        hash = hashStart.bindMemory(to: UInt32.self, capacity: GroupTable.hashSlots)
        control = (hashStart + GroupTable.hashSlots * 4).bindMemory(to: UInt64.self, capacity: 4)
        lock = (hashStart + GroupTable.hashSlots * 4 + 32).bindMemory(to: UInt32.self, capacity: 1)
        if control[0] == 0 { control[0] = 1 }
    }

    public static func memoryBytes() -> Int {
        (Int(overflowID) + 1) * recordWords * 8 + hashSlots * 4 + 64
    }

    @inline(__always)
    private func record(_ id: UInt16) -> UnsafeMutablePointer<UInt64> {
        records + Int(id) * GroupTable.recordWords
    }

    /// The ID charged for `pgid`, assigning one if needed.
    @_noLocks
    public func id(for pgid: Int32, defaultLimit: UInt64) -> UInt16 {
        pz_mutex_lock(lock)
        defer { pz_mutex_unlock(lock) }
        let key = UInt64(UInt32(bitPattern: pgid)) + 1
        var slot = Int(UInt32(bitPattern: pgid) &* 2654435761) & (GroupTable.hashSlots - 1)
        var firstTomb = -1
        for _ in 0..<GroupTable.hashSlots {
            let v = hash[slot]
            if v == 0 { break }
            if v == UInt32.max {
                if firstTomb < 0 { firstTomb = slot }
            } else if record(UInt16(v - 1))[GroupTable.rPgid] == key {
                return UInt16(v - 1)
            }
            slot = (slot + 1) & (GroupTable.hashSlots - 1)
        }
        guard let id = takeFreeID() else {
            _ = pz_add64(control + 1, 1)
            let r = record(GroupTable.overflowID)
            r[GroupTable.rPgid] = 0
            return GroupTable.overflowID
        }
        let r = record(id)
        r[GroupTable.rPgid] = key
        pz_store64(r + GroupTable.rLimitBytes, defaultLimit)
        hash[firstTomb >= 0 ? firstTomb : slot] = UInt32(id) + 1
        return id
    }

    /// A fresh ID, or one whose group has no pages left (its old mapping is
    /// removed).  Guarded by the map lock.
    @_noLocks
    private func takeFreeID() -> UInt16? {
        let next = control[0]
        if next <= UInt64(capacity) {
            control[0] = next + 1
            return UInt16(next)
        }
        for i in 1...capacity {
            let id = UInt16(i)
            let r = record(id)
            if pz_load64(r + GroupTable.rPages) == 0 {
                unmap(pgidKey: r[GroupTable.rPgid])
                for w in 0..<GroupTable.recordWords { pz_store64(r + w, 0) }
                return id
            }
        }
        return nil
    }

    @_noLocks
    private func unmap(pgidKey key: UInt64) {
        guard key != 0 else { return }
        var slot = Int(UInt32(truncatingIfNeeded: key - 1) &* 2654435761) & (GroupTable.hashSlots - 1)
        for _ in 0..<GroupTable.hashSlots {
            let v = hash[slot]
            if v == 0 { return }
            if v != UInt32.max && record(UInt16(v - 1))[GroupTable.rPgid] == key {
                hash[slot] = UInt32.max
                return
            }
            slot = (slot + 1) & (GroupTable.hashSlots - 1)
        }
    }

    @_noLocks @inline(__always)
    public func charge(_ id: UInt16, bytes: UInt64) {
        let r = record(id)
        _ = pz_add64(r + GroupTable.rPages, 1)
        _ = pz_add64(r + GroupTable.rComprBytes, bytes)
        _ = pz_add64(r + GroupTable.rStoredTotal, 1)
    }

    @_noLocks @inline(__always)
    public func uncharge(_ id: UInt16, bytes: UInt64) {
        let r = record(id)
        _ = pz_sub64(r + GroupTable.rPages, 1)
        _ = pz_sub64(r + GroupTable.rComprBytes, bytes)
    }

    /// Undoes the stored-total half of `charge` (a page put back, not newly stored).
    @_noLocks @inline(__always)
    public func unchargeStoredTotal(_ id: UInt16) {
        _ = pz_sub64(record(id) + GroupTable.rStoredTotal, 1)
    }

    /// Whether adding `bytes` keeps the group under its pool limit (0 = none).
    @_noLocks
    public func admits(_ id: UInt16, bytes: UInt64) -> Bool {
        let r = record(id)
        let limit = pz_load64_relaxed(r + GroupTable.rLimitBytes)
        if limit == 0 { return true }
        if pz_load64_relaxed(r + GroupTable.rComprBytes) + bytes <= limit { return true }
        _ = pz_add64(r + GroupTable.rLimitHits, 1)
        return false
    }

    public struct Usage: Sendable, Equatable {
        public var id: UInt16
        public var pgid: Int32
        public var pages: UInt64
        public var comprBytes: UInt64
        public var limitBytes: UInt64
        public var limitHits: UInt64
        public var storedTotal: UInt64
    }

    /// Groups with pages or history, for stats.
    public func usage() -> [Usage] {
        var out: [Usage] = []
        let last = Int(min(control[0], UInt64(capacity) + 1))
        var ids = Array(1..<max(last, 1)).map { UInt16($0) }
        ids.append(GroupTable.overflowID)
        for id in ids {
            let r = record(id)
            let key = pz_load64(r + GroupTable.rPgid)
            let pages = pz_load64(r + GroupTable.rPages)
            let total = pz_load64(r + GroupTable.rStoredTotal)
            if key == 0 && pages == 0 && total == 0 { continue }
            out.append(Usage(id: id, pgid: key == 0 ? -1 : Int32(bitPattern: UInt32(truncatingIfNeeded: key - 1)),
                             pages: pages, comprBytes: pz_load64(r + GroupTable.rComprBytes),
                             limitBytes: pz_load64(r + GroupTable.rLimitBytes),
                             limitHits: pz_load64(r + GroupTable.rLimitHits), storedTotal: total))
        }
        return out
    }

    public var overflowAssignments: UInt64 { pz_load64_relaxed(control + 1) }

    public func lockForFork() { pz_mutex_lock(lock) }
    public func unlockAfterFork() { pz_mutex_unlock(lock) }
}
