// How much the bench measures: three presets (default, quick, smoke) and
// the options that override them.  The default is sized for about two
// minutes on a 2-core machine; smoke for a few seconds in CI.

struct BenchSettings: Codable {
    var mode: String
    var seed: UInt64 = 0x5EED_0FBA_6E21_9A1D
    /// Page level: pages generated per kind, and passes over them.
    var pagesPerKind: Int
    var pageLevelPasses: Int
    /// End to end: the region each child fills, pages out and touches.
    var regionBytes: Int
    /// End-to-end runs per side (pagezip, kernel), alternating.
    var endToEndRunsPerSide: Int
    /// Idle overhead: runs of /bin/true and of the CPU-bound child, per side.
    var startupRuns: Int
    var cpuRuns: Int
    /// Units of work the CPU-bound child does (about 0.1 s each here).
    var cpuWorkUnits: Int
    /// Pages above this compressed size stay resident (pagezip's default).
    var rejectAboveBytes: Int = 3072

    static func preset(_ mode: String) -> BenchSettings {
        switch mode {
        case "smoke":
            return BenchSettings(mode: mode, pagesPerKind: 32, pageLevelPasses: 1, regionBytes: 4 << 20,
                                 endToEndRunsPerSide: 1, startupRuns: 5, cpuRuns: 1, cpuWorkUnits: 1)
        case "quick":
            return BenchSettings(mode: mode, pagesPerKind: 512, pageLevelPasses: 3, regionBytes: 64 << 20,
                                 endToEndRunsPerSide: 2, startupRuns: 100, cpuRuns: 3, cpuWorkUnits: 2)
        default:
            return BenchSettings(mode: "default", pagesPerKind: 4096, pageLevelPasses: 6, regionBytes: 256 << 20,
                                 endToEndRunsPerSide: 10, startupRuns: 1000, cpuRuns: 9, cpuWorkUnits: 5)
        }
    }

    var regionPages: Int { regionBytes / 4096 }
}
