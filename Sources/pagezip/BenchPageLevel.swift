// Page level: pagezip's codec path against raw LZ4 on the same pages, per
// kind of page.
//
// Every call on every page is timed alone (CLOCK_MONOTONIC around the call,
// minus the timer's own cost), pagezip's call and the raw call back to back
// on the same page.  A pass walks more pages than the caches hold, so the
// first call on a page brings it in and the others find it there: which side
// goes first alternates per pass, so neither always pays.  Every compressed
// page is decompressed again and compared byte for byte with the original,
// and the two zero checks must agree.

import CLZ4
import Glibc
import PageZipCore

/// Keeps the optimiser from hoisting a pure call on an unchanged page out of
/// a repetition loop.
@_optimize(none)
func opaque(_ p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer { p }

enum PageLevelBench {
    /// Repetitions of the zero check per sample: one check of a non-zero page
    /// takes a few ns, below the timer's resolution.
    static let zeroCheckReps = 8

    static func run(_ settings: BenchSettings, timerOverhead: Double, progress: BenchProgress) -> PageLevelReport {
        var kinds: [PageKindResult] = []
        var verified = 0
        var mismatches = 0
        for kind in PageKind.allCases {
            progress.step("page level: \(kind.name) (\(settings.pagesPerKind) pages × \(settings.pageLevelPasses) passes)")
            let (result, v, m) = measure(kind, settings, timerOverhead)
            kinds.append(result)
            verified += v
            mismatches += m
        }
        return PageLevelReport(pagesPerKind: settings.pagesPerKind, passes: settings.pageLevelPasses,
                               rejectAboveBytes: settings.rejectAboveBytes, kinds: kinds,
                               mix: PageLevelReport.weighted(kinds), verifiedPages: verified, verifiedMismatches: mismatches)
    }

    /// Buffers for one kind: the pages, each side's compressed output, scratch.
    struct Buffers {
        let n: Int
        let bound = Int(LZ4_compressBound(4096))
        let pages: UnsafeMutableRawPointer
        let pagezipOut: UnsafeMutableRawPointer
        let rawOut: UnsafeMutableRawPointer
        let back: UnsafeMutableRawPointer
        let zeros: UnsafeMutableRawPointer
        let state: UnsafeMutableRawPointer

        init(pages n: Int) {
            self.n = n
            pages = .allocate(byteCount: n * 4096, alignment: 4096)
            pagezipOut = .allocate(byteCount: n * 4096, alignment: 64)
            rawOut = .allocate(byteCount: n * bound, alignment: 64)
            back = .allocate(byteCount: 4096, alignment: 4096)
            zeros = .allocate(byteCount: 4096, alignment: 4096)
            zeros.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
            state = .allocate(byteCount: Codec.stateBytes, alignment: 64)
        }

        func page(_ i: Int) -> UnsafeMutableRawPointer { pages + i * 4096 }

        func free() {
            for p in [pages, pagezipOut, rawOut, back, zeros, state] { p.deallocate() }
        }
    }

    static func measure(_ kind: PageKind, _ s: BenchSettings, _ overhead: Double) -> (PageKindResult, Int, Int) {
        let b = Buffers(pages: s.pagesPerKind)
        defer { b.free() }
        let mix = PageMix(seed: s.seed ^ UInt64(kind.rawValue + 1) << 56)
        for i in 0..<b.n { PageMix.fill(b.page(i), kind: kind, seed: mix.pageSeed(i)) }

        var zcPagezip: [Double] = [], zcRaw: [Double] = []
        var cPagezip: [Double] = [], cRaw: [Double] = []
        var store: [Double] = []
        var dPagezip: [Double] = [], dRaw: [Double] = []
        var pagezipLen = [Int](repeating: 0, count: b.n)
        var rawLen = [Int](repeating: 0, count: b.n)
        var isZero = [Bool](repeating: false, count: b.n)
        var verified = 0
        var mismatches = 0
        let reps = Double(zeroCheckReps)

        for pass in 0..<s.pageLevelPasses {
            let pagezipFirst = pass % 2 == 0
            for i in 0..<b.n {
                let p = b.page(i)
                let zOut = b.pagezipOut + i * 4096
                let rOut = b.rawOut + i * b.bound
                var zc = 0.0, zr = 0.0, cz = 0.0, cr = 0.0, dz = 0.0, dr = 0.0
                var memcmpSaysZero = false

                func pagezipStore() {
                    var zero = false
                    let t0 = monotonicNanos()
                    for _ in 0..<zeroCheckReps { zero = Codec.isZeroPage(opaque(p)) }
                    let t1 = monotonicNanos()
                    pagezipLen[i] = Codec.compress(p, into: zOut, limit: s.rejectAboveBytes, state: b.state)
                    let t2 = monotonicNanos()
                    isZero[i] = zero
                    zc = max(0, (Double(t1 - t0) - overhead) / reps)
                    cz = max(0, Double(t2 - t1) - overhead)
                }
                func rawStore() {
                    var differs: Int32 = 0
                    let t0 = monotonicNanos()
                    for _ in 0..<zeroCheckReps { differs |= memcmp(opaque(p), b.zeros, 4096) }
                    let t1 = monotonicNanos()
                    rawLen[i] = Int(LZ4_compress_default(p.assumingMemoryBound(to: CChar.self),
                                                         rOut.assumingMemoryBound(to: CChar.self), 4096, Int32(b.bound)))
                    let t2 = monotonicNanos()
                    memcmpSaysZero = differs == 0   // used, so the calls are not optimised away
                    zr = max(0, (Double(t1 - t0) - overhead) / reps)
                    cr = max(0, Double(t2 - t1) - overhead)
                }
                func pagezipRestore() {
                    guard pagezipLen[i] > 0 else { return }
                    let t0 = monotonicNanos()
                    let ok = Codec.decompress(zOut, length: pagezipLen[i], into: b.back)
                    let t1 = monotonicNanos()
                    dz = max(0, Double(t1 - t0) - overhead)
                    verified += 1
                    if !ok || memcmp(b.back, p, 4096) != 0 { mismatches += 1 }
                }
                func rawRestore() {
                    let t0 = monotonicNanos()
                    let n = LZ4_decompress_safe(rOut.assumingMemoryBound(to: CChar.self),
                                                b.back.assumingMemoryBound(to: CChar.self), Int32(rawLen[i]), 4096)
                    let t1 = monotonicNanos()
                    dr = max(0, Double(t1 - t0) - overhead)
                    verified += 1
                    if n != 4096 || memcmp(b.back, p, 4096) != 0 { mismatches += 1 }
                }

                if pagezipFirst { pagezipStore(); rawStore() } else { rawStore(); pagezipStore() }
                if pagezipFirst { pagezipRestore(); rawRestore() } else { rawRestore(); pagezipRestore() }
                if isZero[i] != memcmpSaysZero { mismatches += 1 }   // the two zero checks must agree

                zcPagezip.append(zc)
                zcRaw.append(zr)
                cPagezip.append(cz)
                cRaw.append(cr)
                store.append(zc + (isZero[i] ? 0 : cz))
                if pagezipLen[i] > 0 { dPagezip.append(dz) }
                dRaw.append(dr)
            }
        }

        let zeroPages = isZero.filter { $0 }.count
        let kept = (0..<b.n).filter { !isZero[$0] && pagezipLen[$0] == 0 }.count
        let pagezipBytes = (0..<b.n).reduce(0) { sum, i in
            sum + (isZero[i] ? 0 : (pagezipLen[i] == 0 ? 4096 : pagezipLen[i]))
        }
        let share = Double(PageMix.sharesPer20.first { $0.0 == kind }?.1 ?? 0) / 20
        let result = PageKindResult(
            kind: kind.name, pages: b.n, mixShare: share,
            zeroCheck: OpComparison(pagezip: zcPagezip, raw: zcRaw),
            compress: OpComparison(pagezip: cPagezip, raw: cRaw),
            storePath: OpComparison(pagezip: store, raw: cRaw),
            decompress: OpComparison(pagezip: dPagezip, raw: dRaw),
            pagezipZeroPages: zeroPages, pagezipKeptResident: kept,
            pagezipBytesPerPage: Double(pagezipBytes) / Double(b.n),
            rawBytesPerPage: Double(rawLen.reduce(0, +)) / Double(b.n))
        return (result, verified, mismatches)
    }
}
