import PageZipCore
import Testing

@Suite struct HistogramTests {
    @Test func bucketsAreMonotonicAndPercentilesBracketTheTruth() {
        var last = -1
        for v: UInt64 in [0, 1, 2, 3, 4, 5, 7, 8, 100, 1000, 4095, 4096, 1 << 20, 1 << 40] {
            let b = Histogram.bucket(v)
            #expect(b >= last)
            #expect(Histogram.lowerBound(b) <= v && v < Histogram.lowerBound(b + 1), "value \(v)")
            last = b
        }
        let mem = UnsafeMutableRawPointer.allocate(byteCount: Histogram.bytes, alignment: 64)
        mem.initializeMemory(as: UInt8.self, repeating: 0, count: Histogram.bytes)
        let h = Histogram(memory: mem)
        for v in 1...1000 { h.record(UInt64(v) * 1000) }
        #expect(h.count == 1000)
        let p50 = h.percentile(0.5), p99 = h.percentile(0.99)
        #expect(p50 >= 500_000 && p50 <= 500_000 * 6 / 5, "p50 \(p50)")
        #expect(p99 >= 990_000 && p99 <= 990_000 * 6 / 5, "p99 \(p99)")
    }
}

@Suite struct GroupTableTests {
    func makeTable(capacity: Int) -> GroupTable {
        let bytes = GroupTable.memoryBytes()
        let mem = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        mem.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return GroupTable(memory: mem, capacity: capacity)
    }

    @Test func idsAreStablePerGroupAndReusedOnlyWhenEmpty() {
        let t = makeTable(capacity: 3)
        let a = t.id(for: 100, defaultLimit: 0)
        #expect(t.id(for: 100, defaultLimit: 0) == a)
        let b = t.id(for: 200, defaultLimit: 0)
        let c = t.id(for: 300, defaultLimit: 0)
        #expect(Set([a, b, c]).count == 3)
        t.charge(a, bytes: 10)
        t.charge(b, bytes: 10)
        t.charge(c, bytes: 10)
        // All three IDs hold pages: a fourth group shares the overflow ID.
        #expect(t.id(for: 400, defaultLimit: 0) == GroupTable.overflowID)
        #expect(t.overflowAssignments == 1)
        // Group 200's last page goes: its ID may now serve a new group.
        t.uncharge(b, bytes: 10)
        let d = t.id(for: 500, defaultLimit: 0)
        #expect(d == b)
        #expect(t.id(for: 100, defaultLimit: 0) == a)
        #expect(t.usage().first { $0.id == a }?.pages == 1)
    }

    @Test func groupLimit() {
        let t = makeTable(capacity: 8)
        let a = t.id(for: 1, defaultLimit: 1000)
        #expect(t.admits(a, bytes: 600))
        t.charge(a, bytes: 600)
        #expect(!t.admits(a, bytes: 600))
        #expect(t.usage().first { $0.id == a }?.limitHits == 1)
    }
}
