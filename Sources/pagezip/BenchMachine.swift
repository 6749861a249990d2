// The machine a bench ran on, so two reports can be told apart: CPU, cores,
// memory, kernel, library versions, and the settings that change results
// (transparent huge pages, zswap, swap devices, the timer's own cost).

import CLZ4
import Foundation
import Glibc

struct MachineInfo: Codable {
    var cpuModel: String
    var cores: Int
    var memoryBytes: Int
    var kernel: String
    var kernelBuild: String
    var pagezipCommandVersion: String
    /// pagezip_version() as the preloaded library reported it in a child.
    var pagezipLibraryVersion: String?
    var library: String
    var lz4Version: String
    var transparentHugepages: String
    var zswapEnabled: String
    var swapDevicesAtStart: [String]
    var timerOverheadNs: Double
    /// 1-minute load average when the bench started and ended: other work on
    /// the machine skews every timing, so the report says when there was some.
    var loadAverageAtStart: Double
    var loadAverageAtEnd: Double?

    static func gather(library: String, timerOverhead: Double) -> MachineInfo {
        let kernel = unameFields()
        let cpu = (readSmallFile("/proc/cpuinfo") ?? "").split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
        let thp = readSmallFile("/sys/kernel/mm/transparent_hugepage/enabled") ?? "?"
        return MachineInfo(
            cpuModel: cpu ?? "unknown",
            cores: sysconf(Int32(_SC_NPROCESSORS_ONLN)),
            memoryBytes: (meminfoKiB("MemTotal") ?? 0) * 1024,
            kernel: kernel.release,
            kernelBuild: kernel.version,
            pagezipCommandVersion: PageZipCommand.configuration.version,
            library: library,
            lz4Version: String(cString: LZ4_versionString()),
            transparentHugepages: thp.split(separator: " ").first { $0.hasPrefix("[") }
                .map { String($0.dropFirst().dropLast()) } ?? thp,
            zswapEnabled: readSmallFile("/sys/module/zswap/parameters/enabled") ?? "?",
            swapDevicesAtStart: activeSwapDevices(),
            timerOverheadNs: timerOverhead,
            loadAverageAtStart: loadAverage())
    }

    static func loadAverage() -> Double {
        Double((readSmallFile("/proc/loadavg") ?? "").split(separator: " ").first ?? "") ?? 0
    }

    /// A warning when other work was running: nil on a quiet machine.
    var busyWarning: String? {
        let worst = max(loadAverageAtStart, loadAverageAtEnd ?? 0)
        guard worst > 0.5 * Double(cores) else { return nil }
        return String(format: "the machine was busy (load average %.1f on %d cores): other work skews these timings", worst, cores)
    }

    /// One line for the top of the table.
    var line: String {
        "\(cpuModel), \(cores) cores, \(String(format: "%.1f", Double(memoryBytes) / 1_073_741_824)) GiB RAM; "
            + "Linux \(kernel); pagezip \(pagezipCommandVersion) (library \(pagezipLibraryVersion ?? "?")), liblz4 \(lz4Version)"
    }
}
