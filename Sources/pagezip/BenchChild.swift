// `pagezip bench --child e2e|cpu ...`: the processes `pagezip bench` starts
// and measures.  Hidden from help: the parent decides whether the library is
// preloaded, the child only does the work and prints one JSON object.

import ArgumentParser
import Foundation

struct BenchChildOptions: ParsableArguments {
    enum Task: String, ExpressibleByArgument { case e2e, cpu }

    @Option(help: "e2e: the end-to-end workload; cpu: the CPU-bound program.")
    var child: Task?
    @Option(help: "pagezip or kernel (e2e).")
    var side = "pagezip"
    @Option(help: "Region size in bytes (e2e).")
    var regionBytes = 8 << 20
    @Option(help: "Seed of the page mix (e2e).")
    var seed: UInt64 = 1
    @Option(help: "Swap-side memory to meter: zram0, zswap, zram0,zswap or none (e2e).")
    var swapMeter = "none"
    @Option(help: "Units of work (cpu).")
    var units = 1

    /// The arguments that make `pagezip bench` run as this child.
    static func argv(_ task: Task, _ args: [String]) -> [String] {
        [BenchSpawn.selfPath, "bench", "--child", task.rawValue] + args
    }

    func run(_ task: Task) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data: Data
        switch task {
        case .e2e:
            let result = try EndToEndChild.run(side: side, regionBytes: regionBytes, seed: seed,
                                               meter: SwapMeter(swapMeter))
            data = try encoder.encode(result)
        case .cpu:
            data = try encoder.encode(["checksum": CPUBoundChild.run(units: units)])
        }
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
