import PageZipCore
import Testing

/// IntervalSet against a page-granular model under random inserts and removes.
@Suite struct IntervalSetTests {
    func makeSet(capacity: Int) -> IntervalSet {
        let mem = UnsafeMutableRawPointer.allocate(byteCount: IntervalSet.bytes(capacity: capacity), alignment: 64)
        mem.initializeMemory(as: UInt8.self, repeating: 0, count: IntervalSet.bytes(capacity: capacity))
        return IntervalSet(memory: mem, capacity: capacity)
    }

    @Test func mergesAdjacentAndOverlapping() {
        let s = makeSet(capacity: 16)
        s.insert(0x1000, 0x3000)
        s.insert(0x3000, 0x4000)
        s.insert(0x8000, 0x9000)
        s.insert(0x2000, 0x8800)
        #expect(s.count == 1)
        #expect(s[0].start == 0x1000 && s[0].end == 0x9000)
    }

    @Test func removeSplitsAndTrims() {
        let s = makeSet(capacity: 16)
        s.insert(0x1000, 0x9000)
        s.remove(0x3000, 0x4000)
        #expect(s.count == 2)
        #expect(s.covers(0x1000, 0x3000) && s.covers(0x4000, 0x9000))
        #expect(!s.contains(0x3000) && s.contains(0x2fff) && s.contains(0x4000))
        s.remove(0x0, 0x2000)
        #expect(s[0].start == 0x2000)
        #expect(s.nextStart(after: 0x3000, limit: 0x10000) == 0x4000)
        #expect(s.find(0x5000)?.end == 0x9000)
    }

    @Test func fullSetUnderClaimsInsteadOfFailingOpen() {
        let s = makeSet(capacity: 2)
        #expect(s.insert(0x1000, 0x2000))
        #expect(s.insert(0x5000, 0x6000))
        #expect(!s.insert(0x9000, 0xA000))          // no room: refused, nothing claimed
        #expect(!s.contains(0x9000))
        s.insert(0x10000, 0x20000)                   // no room either
        s.remove(0x1000, 0x2000)
        #expect(s.insert(0x10000, 0x20000))
        #expect(!s.remove(0x12000, 0x13000))         // split impossible: drops the interval
        #expect(!s.contains(0x11000))                // ...so it never over-claims
    }

    @Test func matchesModelUnderRandomOperations() {
        var rng = SystemRandomNumberGenerator()
        let s = makeSet(capacity: 4096)
        var model = [Bool](repeating: false, count: 512)
        for _ in 0..<5000 {
            let a = Int.random(in: 0..<512, using: &rng)
            let b = min(512, a + Int.random(in: 1...40, using: &rng))
            if Bool.random(using: &rng) {
                s.insert(UInt(a) << 12, UInt(b) << 12)
                for i in a..<b { model[i] = true }
            } else {
                s.remove(UInt(a) << 12, UInt(b) << 12)
                for i in a..<b { model[i] = false }
            }
        }
        for i in 0..<512 { #expect(s.contains(UInt(i) << 12) == model[i], "page \(i)") }
        var prevEnd: UInt = 0
        for i in 0..<s.count {
            #expect(s[i].start < s[i].end)
            #expect(i == 0 || s[i].start > prevEnd, "intervals must be disjoint and not adjacent")
            prevEnd = s[i].end
        }
        #expect(s.totalBytes == UInt(model.filter { $0 }.count) << 12)
    }
}
