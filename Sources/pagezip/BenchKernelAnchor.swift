// The kernel anchor: the same workload without pagezip, with the kernel's own
// compressed swap taking the MADV_PAGEOUT.  It needs a swap device.
//
//   auto (default)  an active swap device is used as it is; with none, when
//                   run as root with an idle zram0, the bench sets zram0 up
//                   itself (below); otherwise the anchor is skipped, saying why
//   zram            as auto, but failing instead of skipping
//   none            no kernel anchor
//
// A zram0 the bench sets up (BenchManagedZram.swift) is swapped on only while
// a kernel-side child runs, so pagezip's runs see the machine as it was (no
// swap), and is put back when the bench ends, errors or is interrupted.

import ArgumentParser
import Foundation
import Glibc

enum KernelAnchorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, zram, none
}

struct KernelAnchorReport: Codable {
    var status: String                  // "ran" or "skipped"
    var reason: String?                 // why skipped
    var device: String?                 // e.g. /dev/zram0
    var origin: String?                 // "existing swap" or "zram0 set up by the bench"
    var swapMeter: String?              // what "swap device growth" counts
    var actions: [String] = []          // what the bench changed on the machine
    var restored: [String] = []         // what it undid
    var leftAsFound: Bool?
}

final class KernelAnchor: @unchecked Sendable {
    private(set) var report: KernelAnchorReport
    let meter: SwapMeter
    private let managed: ManagedZram?

    var available: Bool { report.status != "skipped" }

    private init(report: KernelAnchorReport, meter: SwapMeter = SwapMeter("none"), managed: ManagedZram? = nil) {
        self.report = report
        self.meter = meter
        self.managed = managed
    }

    static func skipped(_ reason: String) -> KernelAnchor {
        KernelAnchor(report: KernelAnchorReport(status: "skipped", reason: reason))
    }

    /// Decides how to get a kernel anchor, setting zram0 up if that is the way.
    static func prepare(_ choice: KernelAnchorChoice, regionBytes: Int, progress: BenchProgress) throws -> KernelAnchor {
        let zswapOn = readSmallFile("/sys/module/zswap/parameters/enabled") == "Y"
        let active = activeSwapDevices()
        if !active.isEmpty {
            var meter = SwapMeter("none")
            meter.zramDevices = active.compactMap { $0.hasPrefix("/dev/zram") ? String($0.dropFirst(5)) : nil }
            meter.zswap = zswapOn
            var r = KernelAnchorReport(status: "ready", device: active.joined(separator: ", "), origin: "existing swap")
            r.swapMeter = describe(meter, diskOnly: meter.zramDevices.isEmpty && !zswapOn)
            return KernelAnchor(report: r, meter: meter)
        }
        let why: String?
        if geteuid() != 0 {
            why = "no swap device is on, and setting up zram0 needs root"
        } else if !FileManager.default.fileExists(atPath: "/sys/block/zram0") {
            why = "no swap device is on and there is no zram0 (modprobe zram, or turn a swap device on)"
        } else if readSmallFile("/sys/block/zram0/disksize") != "0" {
            why = "no swap device is on and zram0 is in use (disksize set): the bench only sets up an idle zram0"
        } else {
            why = nil
        }
        if let why {
            if choice == .zram { throw BenchError("--kernel-anchor zram: \(why)") }
            return skipped(why + "; pass --kernel-anchor zram as root with an idle zram0, or turn swap on")
        }
        let zram = try ManagedZram.setUp(regionBytes: regionBytes, progress: progress)
        var meter = SwapMeter("zram0")
        meter.zswap = zswapOn
        var r = KernelAnchorReport(status: "ready", device: "/dev/zram0", origin: "zram0 set up by the bench")
        r.swapMeter = describe(meter, diskOnly: false)
        r.actions = zram.actions
        return KernelAnchor(report: r, meter: meter, managed: zram)
    }

    static func describe(_ meter: SwapMeter, diskOnly: Bool) -> String {
        if diskOnly { return "none: the swap device is a disk, its pages hold no RAM" }
        var parts = meter.zramDevices.map { "\($0) mm_stat mem_used_total" }
        if meter.zswap { parts.append("zswap pool (/proc/meminfo Zswap)") }
        return parts.joined(separator: " + ")
    }

    /// Before each kernel-side child: swap on (only for a zram0 the bench set up).
    func beforeKernelRun() throws { try managed?.swapOn() }

    /// After each kernel-side child: swap off again.
    func afterKernelRun() { managed?.swapOff() }

    func markRan() { if report.status == "ready" { report.status = "ran" } }

    /// Undoes the setup now (idempotent) and records what was done.
    func restore() {
        guard let managed else { return }
        BenchCleanup.shared.restoreAll()
        report.restored = managed.restored
        report.leftAsFound = managed.leftAsFound
    }
}

/// Swap devices in use, from /proc/swaps.
func activeSwapDevices() -> [String] {
    (readSmallFile("/proc/swaps") ?? "").split(separator: "\n").dropFirst()
        .compactMap { $0.split(separator: " ").first.map(String.init) }
}
