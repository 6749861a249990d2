// The codec path for one page: zero check, then LZ4.
//
// Zero pages are found first and never reach the compressor (zswap's
// same-filled pages).  Compression is bounded by the "compresses poorly" limit:
// LZ4 gives up as soon as the output would exceed it, so an incompressible page
// costs a fraction of a full compression.

import CPageZipSys

public enum Codec {
    /// Bytes of per-thread LZ4 state the compressor needs.
    public static var stateBytes: Int { Int(pz_lz4_state_size()) }

    /// True when all 4096 bytes are zero.  ORs 512 bytes into one word per
    /// step (the loop vectorises to plain ORs) and tests once per step, so a
    /// non-zero page usually stops after the first 512 bytes.
    @_noLocks
    public static func isZeroPage(_ page: UnsafeRawPointer) -> Bool {
        let words = page.assumingMemoryBound(to: UInt64.self)
        var block = 0
        while block < 512 {
            var acc: UInt64 = 0
            for i in 0..<64 { acc |= words[block + i] }
            if acc != 0 { return false }
            block += 64
        }
        return true
    }

    /// Compresses one page into `dst`; returns the compressed length, or 0 when
    /// the result would exceed `limit` bytes.
    @_noLocks
    public static func compress(_ page: UnsafeRawPointer, into dst: UnsafeMutableRawPointer,
                                limit: Int, state: UnsafeMutableRawPointer) -> Int {
        Int(pz_lz4_compress(state, page, dst, 4096, Int32(limit)))
    }

    /// Decompresses one page; false when the data is corrupt or not one page.
    @_noLocks
    public static func decompress(_ src: UnsafeRawPointer, length: Int, into page: UnsafeMutableRawPointer) -> Bool {
        pz_lz4_decompress(src, page, Int32(length), 4096) == 4096
    }
}
