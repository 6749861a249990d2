import Glibc
import PageZipCore
import Testing

@Suite struct PageMixTests {
    let mix = PageMix(seed: 42)

    func withPages(_ count: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: count * 4096, alignment: 4096)
        defer { p.deallocate() }
        body(p)
    }

    @Test func sharesAreExactOverEveryBlockOfTwenty() {
        var counts: [PageKind: Int] = [:]
        for i in 0..<2000 { counts[mix.kind(ofPage: i), default: 0] += 1 }
        for (kind, per20) in PageMix.sharesPer20 {
            #expect(counts[kind] == per20 * 100, "\(kind.name)")
        }
    }

    @Test func aPageIsAFunctionOfSeedAndIndex() {
        withPages(3) { p in
            mix.fill(p, index: 7)
            mix.fill(p + 4096, index: 7)
            PageMix(seed: 43).fill(p + 8192, index: 7)
            #expect(memcmp(p, p + 4096, 4096) == 0)
            #expect(mix.mismatchedBytes(p, index: 7, scratch: p + 8192) == 0)
            p.storeBytes(of: ~p.load(fromByteOffset: 100, as: UInt8.self), toByteOffset: 100, as: UInt8.self)
            #expect(mix.mismatchedBytes(p, index: 7, scratch: p + 8192) == 1)
        }
    }

    @Test func eachKindCompressesTheWayItsNameSays() {
        let state = UnsafeMutableRawPointer.allocate(byteCount: Codec.stateBytes, alignment: 64)
        let out = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 64)
        defer { state.deallocate(); out.deallocate() }
        withPages(1) { p in
            for seed in UInt64(1)...8 {
                PageMix.fill(p, kind: .zero, seed: seed)
                #expect(Codec.isZeroPage(p))
                PageMix.fill(p, kind: .random, seed: seed)
                #expect(Codec.compress(p, into: out, limit: 3072, state: state) == 0)
                PageMix.fill(p, kind: .text, seed: seed)
                let text = Codec.compress(p, into: out, limit: 3072, state: state)
                #expect(text > 0 && text < 2600, "text page \(seed): \(text) B")
                PageMix.fill(p, kind: .pointerHeap, seed: seed)
                #expect(Codec.compress(p, into: out, limit: 3072, state: state) > 0, "heap page \(seed)")
                PageMix.fill(p, kind: .partlyFilled, seed: seed)
                #expect(!Codec.isZeroPage(p) && p.load(fromByteOffset: 4095, as: UInt8.self) == 0)
            }
        }
    }
}
