// What the end-to-end section reports: one summary per side (pagezip, kernel),
// the ratios between them, and the curves the picture draws.

struct SideSummary: Codable {
    var side: String
    var runs: Int
    var regionBytes: Int
    /// After the first MADV_PAGEOUT (medians over runs): RSS growth over the
    /// child's baseline, plus what the swap side grew by.
    var heldBytes: Double
    var rssGrowthBytes: Double
    var swapDeviceGrowthBytes: Double
    var rssFilledBytes: Double
    var rssAfterPageoutBytes: Double
    /// region ÷ held
    var compressionRatio: Double?
    /// pagezip: compr_data_size and mem_used_total; kernel: zram's growth of the same two.
    var compressedBytes: Double?
    var poolBytes: Double?
    var allocatorOverheadPercent: Double?
    /// Pages held as zero pages; pages that did not compress (pagezip keeps
    /// them resident, zram stores them uncompressed as "huge" pages).
    var zeroPages: Double?
    var incompressiblePages: Double?
    var pageoutNsPerPage: Double
    var pageoutNsPerPageEachRound: [Double]
    var firstTouchSequential: LatencySummary
    var firstTouchRandom: LatencySummary
    var firstTouchSequentialMedianByKind: [String: Double]
    var firstTouchRandomMedianByKind: [String: Double]
    var verifiedPages: Int
    var mismatchedPages: Int
    var mismatchedBytes: Int
}

/// pagezip ÷ kernel; below 1 means pagezip uses less memory or time.
struct EndToEndRatios: Codable {
    var heldBytes: Double?
    var pageoutNsPerPage: Double?
    var sequentialMedian: Double?
    var sequentialP99: Double?
    var sequentialP999: Double?
    var sequentialMean: Double?
    var randomMedian: Double?
    var randomP99: Double?
    var randomP999: Double?
    var randomMean: Double?
}

struct EndToEndReport: Codable {
    /// pagezip_version() as the preloaded library reported it.
    var libraryVersion: String?
    var regionBytes: Int
    var pages: Int
    var runOrder: [String]
    var pagezip: SideSummary
    var kernel: SideSummary?
    var kernelSkippedReason: String?
    var ratiosPagezipOverKernel: EndToEndRatios?
    var verifiedPages: Int
    var verifiedMismatches: Int
    var notes: [String]
}

/// Sorted first-touch samples of one side and order, for the picture.
struct LatencyCurve {
    var label: String
    var side: String
    var order: String
    var sortedNs: [Double]
}
