import CPageZipSys
import PageZipCore
import Testing

@Suite struct PoolTests {
    static func makePool(limit: UInt64 = 0) -> Pool {
        let (res, err) = Reservation.reserve(size: Pool.reservationSize)
        precondition(res != nil, "reserve failed: \(err)")
        let meta = Reservation.reserve(size: UInt(Pool.metadataBytes + 4096)).0!
        return Pool(reservation: res!, metadata: UnsafeMutableRawPointer(bitPattern: meta.base)!, limitBytes: limit)
    }

    @Test func sizeClassesAre16BytesApartAndWasteLittle() {
        #expect(Pool.sizeClass(forLength: 1) == 1)
        #expect(Pool.sizeClass(forLength: 16) == 1)
        #expect(Pool.sizeClass(forLength: 17) == 2)
        #expect(Pool.sizeClass(forLength: 4096) == 256)
        for c in 1...Pool.classCount {
            let (pages, objects) = Pool.geometry(sizeClass: c)
            let waste = Double(pages * 4096 - objects * c * 16) / Double(pages * 4096)
            #expect((1...Pool.maxPagesPerSlab).contains(pages) && objects >= 1)
            #expect(objects <= 4096, "object index must fit 16 bits")
            // Either the 2 % tolerance, or less than one object in a 16-page slab.
            let bound = max(Pool.wasteTolerance, Double(c * 16) / Double(Pool.maxPagesPerSlab * 4096))
            #expect(waste <= bound, "class \(c) wastes \(waste)")
            #expect(Pool.mergedClass(c) >= c && Pool.geometry(sizeClass: Pool.mergedClass(c)) == Pool.geometry(sizeClass: c))
        }
    }

    @Test func objectsKeepTheirBytesAndHandlesAreDistinct() {
        let pool = PoolTests.makePool()
        var live: [(UInt32, Int, UInt8)] = []
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20000 {
            if live.isEmpty || Int.random(in: 0..<3, using: &rng) > 0 {
                let len = Int.random(in: 1...4096, using: &rng)
                guard let h = pool.allocate(length: len) else { Issue.record("allocation failed"); return }
                let tag = UInt8(truncatingIfNeeded: round)
                pool.pointer(h).initializeMemory(as: UInt8.self, repeating: tag, count: len)
                live.append((h, len, tag))
            } else {
                let i = Int.random(in: 0..<live.count, using: &rng)
                let (h, len, tag) = live.remove(at: i)
                let p = pool.pointer(h).assumingMemoryBound(to: UInt8.self)
                for k in 0..<len where p[k] != tag {
                    Issue.record("object \(h) byte \(k) overwritten")
                    return
                }
                pool.free(h)
            }
        }
        #expect(Set(live.map { $0.0 }).count == live.count)
        for (h, _, _) in live { pool.free(h) }
        // Everything freed: at most one cached empty slab per class remains.
        #expect(pool.allocatedBytes == 0)
        #expect(pool.bytesInUse <= UInt64(Pool.classCount * 4 * 4096))
    }

    /// The design target (zsmalloc: 2.2-4.3 %): at most 3 % of compressed
    /// bytes once the pool holds a few hundred MiB.  Small pools pay a fixed
    /// cost of about one partly filled slab per size class in use.
    @Test func overheadStaysUnderThreePercentAtScale() {
        let pool = PoolTests.makePool()
        var stored: UInt64 = 0
        var handles: [UInt32] = []
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let len = Int.random(in: 600...3000, using: &rng)
            handles.append(pool.allocate(length: len)!)
            stored += UInt64(len)
        }
        let overhead = Double(pool.bytesInUse - stored) / Double(stored)
        #expect(overhead < 0.03, "allocator overhead \(overhead)")
        for h in handles { pool.free(h) }
        #expect(pool.allocatedBytes == 0)
    }

    @Test func limitIsEnforcedAndCounted() {
        let pool = PoolTests.makePool(limit: 64 * 4096)
        var n = 0
        while pool.allocate(length: 4096) != nil { n += 1 }
        #expect(n <= 64 && n >= 60)
        #expect(pool.limitHits >= 1)
    }
}
