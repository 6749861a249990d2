// What a process's paged-out memory costs outside its RSS: the growth of the
// kernel's compressed swap (zram's mm_stat, zswap's line in /proc/meminfo).
// Read by the end-to-end child before and after MADV_PAGEOUT.

import Foundation

/// Which swap-side memory counters apply, as passed to the child:
/// "zram0", "zswap", "zram0,zswap" or "none".
struct SwapMeter {
    var zramDevices: [String] = []
    var zswap = false

    init(_ spec: String) {
        for part in spec.split(separator: ",") {
            if part == "zswap" { zswap = true } else if part != "none" { zramDevices.append(String(part)) }
        }
    }

    var spec: String {
        let parts = zramDevices + (zswap ? ["zswap"] : [])
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }

    struct Reading: Codable {
        /// zram: compressed bytes and memory used, zsmalloc overhead included.
        var zramComprBytes: Int = 0
        var zramMemUsedBytes: Int = 0
        /// zram: same-filled (zero) pages, and pages stored uncompressed.
        var zramSamePages: Int = 0
        var zramHugePages: Int = 0
        /// zswap's pool (/proc/meminfo "Zswap:").
        var zswapBytes: Int = 0

        /// Memory the swap side holds.
        var heldBytes: Int { zramMemUsedBytes + zswapBytes }

        static func - (a: Reading, b: Reading) -> Reading {
            Reading(zramComprBytes: a.zramComprBytes - b.zramComprBytes,
                    zramMemUsedBytes: a.zramMemUsedBytes - b.zramMemUsedBytes,
                    zramSamePages: a.zramSamePages - b.zramSamePages,
                    zramHugePages: a.zramHugePages - b.zramHugePages,
                    zswapBytes: a.zswapBytes - b.zswapBytes)
        }
    }

    func read() -> Reading {
        var r = Reading()
        for dev in zramDevices {
            // orig_data_size compr_data_size mem_used_total mem_limit mem_used_max
            // same_pages pages_compacted huge_pages huge_pages_since
            let fields = (readSmallFile("/sys/block/\(dev)/mm_stat") ?? "").split(separator: " ").compactMap { Int($0) }
            if fields.count >= 8 {
                r.zramComprBytes += fields[1]
                r.zramMemUsedBytes += fields[2]
                r.zramSamePages += fields[5]
                r.zramHugePages += fields[7]
            }
        }
        if zswap, let kb = meminfoKiB("Zswap") { r.zswapBytes = kb * 1024 }
        return r
    }
}

/// A /proc/meminfo field in KiB.
func meminfoKiB(_ name: String) -> Int? {
    guard let text = readSmallFile("/proc/meminfo") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("\(name):") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
    return nil
}

/// A small /proc or /sys file, trimmed; nil when it cannot be read.
func readSmallFile(_ path: String) -> String? {
    (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
}
