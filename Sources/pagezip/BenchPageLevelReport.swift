// What the page-level section reports: per kind of page, pagezip's codec
// path beside raw LZ4 (median, p99, ratio), and the mix weighted by share.

struct OpComparison: Codable {
    var pagezip: LatencySummary?
    var raw: LatencySummary
    /// pagezip ÷ raw, of the medians and of the p99s.
    var ratioMedian: Double?
    var ratioP99: Double?

    init(pagezip: [Double]?, raw: [Double]) {
        let r = Distribution(raw).summary
        self.raw = r
        if let pagezip, !pagezip.isEmpty {
            let p = Distribution(pagezip).summary
            self.pagezip = p
            ratioMedian = ratio(p.medianNs, r.medianNs)
            ratioP99 = ratio(p.p99Ns, r.p99Ns)
        }
    }
}

struct PageKindResult: Codable {
    var kind: String
    var pages: Int
    var mixShare: Double
    /// Codec.isZeroPage vs memcmp against a page of zeros.
    var zeroCheck: OpComparison
    /// Codec.compress (bounded by the reject size) vs LZ4_compress_default.
    var compress: OpComparison
    /// What pagezip's store path spends per page (zero check, then compress
    /// unless the page is zero) vs LZ4_compress_default.
    var storePath: OpComparison
    /// Codec.decompress vs LZ4_decompress_safe; pagezip's side over the pages
    /// Codec.compress accepted (pages it rejects are never decompressed).
    var decompress: OpComparison
    var pagezipZeroPages: Int
    var pagezipKeptResident: Int
    /// Mean bytes per page: pagezip counts zero pages as 0 and kept pages as
    /// 4096 (they stay in RAM); raw is LZ4's output for every page.
    var pagezipBytesPerPage: Double
    var rawBytesPerPage: Double
}

/// The kinds weighted by their share in the mix: what a page of "typical"
/// memory costs, as a mean.
struct MixWeighted: Codable {
    var storePathNsPerPage: Double
    var rawCompressNsPerPage: Double
    var storeRatio: Double?
    var restoreCodecNsPerPage: Double
    var rawDecompressNsPerPage: Double
    var restoreRatio: Double?
    var pagezipBytesPerPage: Double
    var rawBytesPerPage: Double
}

struct PageLevelReport: Codable {
    var pagesPerKind: Int
    var passes: Int
    var rejectAboveBytes: Int
    var kinds: [PageKindResult]
    var mix: MixWeighted
    var verifiedPages: Int
    var verifiedMismatches: Int
}

extension PageLevelReport {
    /// Means weighted by each kind's share of the mix.  A zero or kept page
    /// costs pagezip no decompression; raw LZ4 decompresses every page.
    static func weighted(_ kinds: [PageKindResult]) -> MixWeighted {
        var m = MixWeighted(storePathNsPerPage: 0, rawCompressNsPerPage: 0, storeRatio: nil,
                            restoreCodecNsPerPage: 0, rawDecompressNsPerPage: 0, restoreRatio: nil,
                            pagezipBytesPerPage: 0, rawBytesPerPage: 0)
        for k in kinds {
            let w = k.mixShare
            m.storePathNsPerPage += w * (k.storePath.pagezip?.meanNs ?? 0)
            m.rawCompressNsPerPage += w * k.compress.raw.meanNs
            let stored = Double(k.pages - k.pagezipZeroPages - k.pagezipKeptResident) / Double(max(k.pages, 1))
            m.restoreCodecNsPerPage += w * stored * (k.decompress.pagezip?.meanNs ?? 0)
            m.rawDecompressNsPerPage += w * k.decompress.raw.meanNs
            m.pagezipBytesPerPage += w * k.pagezipBytesPerPage
            m.rawBytesPerPage += w * k.rawBytesPerPage
        }
        m.storeRatio = ratio(m.storePathNsPerPage, m.rawCompressNsPerPage)
        m.restoreRatio = ratio(m.restoreCodecNsPerPage, m.rawDecompressNsPerPage)
        return m
    }
}
