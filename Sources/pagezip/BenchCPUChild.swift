// The CPU-bound program of the idle-overhead test: allocates, fills and sorts
// arrays of random sizes (small ones from malloc's heap, large ones from its
// internal mmap), so the library's interposers and start-up are on the path,
// but nothing is ever paged out.  The checksum proves both sides did the same
// work.

import PageZipCore

enum CPUBoundChild {
    /// Arrays per unit of work: about 0.1 s on the development VM.
    static let arraysPerUnit = 6

    static func run(units: Int) -> UInt64 {
        var rng = SplitMix64(seed: 7)
        var checksum: UInt64 = 0
        for _ in 0..<units * arraysPerUnit {
            let n = 1000 + rng.below(200_000)
            var a = [UInt64]()
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(rng.next()) }
            a.sort()
            checksum = checksum &* 31 &+ a[n / 2]
        }
        return checksum
    }
}
