import Glibc
import PageZipCore
import Testing

@Suite struct CodecTests {
    func page(_ fill: (Int) -> UInt8) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        for i in 0..<4096 { p.storeBytes(of: fill(i), toByteOffset: i, as: UInt8.self) }
        return p
    }

    @Test func zeroCheckFindsASingleByte() {
        let p = page { _ in 0 }
        #expect(Codec.isZeroPage(p))
        for offset in [0, 1, 63, 64, 127, 128, 2048, 4095] {
            p.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self)
            #expect(!Codec.isZeroPage(p), "offset \(offset)")
            p.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
        }
    }

    @Test func roundTripsAndRejectsIncompressible() {
        let state = UnsafeMutableRawPointer.allocate(byteCount: Codec.stateBytes, alignment: 64)
        let out = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 64)
        let back = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        let text = page { i in Array("the quick brown fox jumps over the lazy dog ".utf8)[i % 44] }
        let n = Codec.compress(text, into: out, limit: 3072, state: state)
        #expect(n > 0 && n < 400)
        #expect(Codec.decompress(out, length: n, into: back))
        #expect(memcmp(text, back, 4096) == 0)
        // Corrupt input is refused, not decoded into garbage.
        out.storeBytes(of: 0xFF, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: 0xFF, toByteOffset: 1, as: UInt8.self)
        #expect(!Codec.decompress(out, length: n, into: back) || memcmp(text, back, 4096) != 0)
        var rng = SystemRandomNumberGenerator()
        let random = page { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(Codec.compress(random, into: out, limit: 3072, state: state) == 0)
    }
}
