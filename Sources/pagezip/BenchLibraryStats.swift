// pagezip's counters as the preloaded library reports them, read inside the
// bench child through the public C API (include/pagezip.h), found with
// dlsym(RTLD_DEFAULT, ...) so the same child runs without the library too.

import Glibc

struct LibraryStats: Codable {
    var active: Bool
    var storedPages: UInt64
    var samePages: UInt64
    var hugePages: UInt64
    var comprDataSize: UInt64
    var memUsedTotal: UInt64
    var storedTotal: UInt64
    var refaults: UInt64
    var faultAroundPages: UInt64
    var faults: UInt64
    var rejectCompressPoor: UInt64
    var rejectBusy: UInt64
    var rejectAllocFail: UInt64
    var poolLimitHit: UInt64
    var decompressFail: UInt64
    var faultP50Ns: UInt64
    var faultP99Ns: UInt64

    /// struct pagezip_stats, version 1: four uint32 then twenty uint64, read
    /// as words so this file does not depend on the C header's module.
    private static let wordCount = 22
    private static let structSize: UInt32 = 176

    /// The counters now, or nil when the library is not loaded.
    static func read() -> LibraryStats? {
        typealias GetStats = @convention(c) (UnsafeMutableRawPointer) -> Int32
        guard let sym = dlsym(nil, "pagezip_get_stats") else { return nil }
        let getStats = unsafeBitCast(sym, to: GetStats.self)
        var w = [UInt64](repeating: 0, count: wordCount)
        let rc = w.withUnsafeMutableBytes { buf -> Int32 in
            buf.storeBytes(of: structSize, toByteOffset: 0, as: UInt32.self)
            return getStats(buf.baseAddress!)
        }
        guard rc == 0 else { return nil }
        // w[0]: size | version << 32; w[1]: active | reserved << 32; then the fields in header order.
        let f = { (i: Int) in w[2 + i] }
        return LibraryStats(
            active: w[1] & 0xFFFF_FFFF == 1,
            storedPages: f(0), samePages: f(1), hugePages: f(2), comprDataSize: f(4), memUsedTotal: f(5),
            storedTotal: f(7), refaults: f(8), faultAroundPages: f(9), faults: f(10),
            rejectCompressPoor: f(11), rejectBusy: f(12), rejectAllocFail: f(13), poolLimitHit: f(14),
            decompressFail: f(15), faultP50Ns: f(18), faultP99Ns: f(19))
    }

    /// pagezip_version() of the loaded library.
    static func version() -> String? {
        typealias Version = @convention(c) () -> UnsafePointer<CChar>?
        guard let sym = dlsym(nil, "pagezip_version") else { return nil }
        return unsafeBitCast(sym, to: Version.self)().map { String(cString: $0) }
    }
}
