// Overhead when idle: what preloading the library costs a program that never
// pages anything out.  Start-up of /bin/true, and the run time of a CPU-bound
// program, each with and without LD_PRELOAD, runs alternating.

import Foundation

struct IdleComparison: Codable {
    var program: String
    var runs: Int
    var without: LatencySummary
    var with: LatencySummary
    /// with ÷ without, of the medians; and the difference of the medians.
    var ratioMedian: Double?
    var deltaMedianNs: Double
}

struct IdleOverheadReport: Codable {
    var startup: IdleComparison
    var cpuBound: IdleComparison
    /// Both sides of the CPU-bound program computed the same checksum.
    var cpuBoundChecksumsMatch: Bool
}

enum IdleOverheadBench {
    static func run(_ s: BenchSettings, library: String, progress: BenchProgress) throws -> IdleOverheadReport {
        let truePath = FileManager.default.isExecutableFile(atPath: "/bin/true") ? "/bin/true" : "/usr/bin/true"
        progress.step("idle overhead: \(truePath) start-up, \(s.startupRuns) runs with and without the library")
        let (startup, _) = try compare([truePath], runs: s.startupRuns, library: library, label: truePath)

        progress.step("idle overhead: CPU-bound program, \(s.cpuRuns) runs with and without the library")
        let cpuArgs = BenchChildOptions.argv(.cpu, ["--units", String(s.cpuWorkUnits)])
        let (cpu, outputs) = try compare(cpuArgs, runs: s.cpuRuns, library: library,
                                         label: "CPU-bound (\(s.cpuWorkUnits) units)", keepOutput: true)
        return IdleOverheadReport(startup: startup, cpuBound: cpu, cpuBoundChecksumsMatch: outputs.count == 1)
    }

    /// Runs argv `runs` times each without and with the library, alternating
    /// (ABBA) so drift (frequency, caches, other load) hits both sides alike.
    /// Returns the comparison and, with `keepOutput`, the distinct stdouts.
    static func compare(_ argv: [String], runs: Int, library: String, label: String,
                        keepOutput: Bool = false) throws -> (IdleComparison, Set<String>) {
        let plain = BenchSpawn.Prepared(argv, env: BenchSpawn.environment(preload: nil))
        let preloaded = BenchSpawn.Prepared(argv, env: BenchSpawn.environment(preload: library))
        let out = BenchCleanup.shared.tempFile(
            FileManager.default.temporaryDirectory.appendingPathComponent("pagezip-bench-\(getpid())-idle.out").path)
        defer { BenchCleanup.shared.removeTempFile(out) }
        var without: [Double] = []
        var with: [Double] = []
        var outputs: Set<String> = []
        for i in 0..<runs {
            for usePreload in (i % 2 == 0 ? [false, true] : [true, false]) {
                let t0 = monotonicNanos()
                let pid = try BenchSpawn.start(usePreload ? preloaded : plain, stdout: keepOutput ? out : "/dev/null")
                let status = BenchSpawn.wait(pid)
                let ns = Double(monotonicNanos() - t0)
                guard status == 0 else {
                    throw BenchError("\(label) exited with status \(status) \(usePreload ? "with" : "without") the library")
                }
                if keepOutput { outputs.insert(readSmallFile(out) ?? "") }
                if usePreload { with.append(ns) } else { without.append(ns) }
            }
        }
        let a = Distribution(without).summary
        let b = Distribution(with).summary
        let comparison = IdleComparison(program: label, runs: runs, without: a, with: b,
                                        ratioMedian: ratio(b.medianNs, a.medianNs), deltaMedianNs: b.medianNs - a.medianNs)
        return (comparison, outputs)
    }
}
