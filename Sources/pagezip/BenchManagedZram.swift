// zram0 as the bench sets it up for the kernel anchor and puts it back:
// lz4, a disksize, mkswap; swapon/swapoff around each kernel-side run; then
// swapoff, reset, the original algorithm written back, and a check.  A
// marker file in /run lets the next bench undo a setup whose bench was killed.

import Foundation
import Glibc

/// zram0, set up by the bench for its kernel anchor and put back afterwards.
final class ManagedZram: @unchecked Sendable {
    static let sys = "/sys/block/zram0"
    static let marker = "/run/pagezip-bench-zram0"

    let originalAlgorithm: String
    private(set) var actions: [String] = []
    private(set) var restored: [String] = []
    private(set) var leftAsFound: Bool?
    private var isOn = false
    private var undone = false

    private init(originalAlgorithm: String) { self.originalAlgorithm = originalAlgorithm }

    /// The algorithm zram0 uses now: the bracketed one in comp_algorithm.
    static func currentAlgorithm() -> String {
        let s = readSmallFile("\(sys)/comp_algorithm") ?? ""
        if let open = s.firstIndex(of: "["), let close = s.firstIndex(of: "]"), open < close {
            return String(s[s.index(after: open)..<close])
        }
        return s
    }

    static func setUp(regionBytes: Int, progress: BenchProgress) throws -> ManagedZram {
        let z = ManagedZram(originalAlgorithm: currentAlgorithm())
        try BenchCleanup.shared.locked {
            // Undo first, so a failure half-way is undone too.
            BenchCleanup.shared.onRestore { z.undo() }
            try "pid \(getpid())\nalgorithm \(z.originalAlgorithm)\n".write(toFile: marker, atomically: true, encoding: .utf8)
            let algorithms = readSmallFile("\(sys)/comp_algorithm") ?? ""
            if algorithms.split(separator: " ").contains(where: { $0.trimmingCharacters(in: CharacterSet(charactersIn: "[]")) == "lz4" }) {
                try writeSysfs("\(sys)/comp_algorithm", "lz4")
                z.actions.append("zram0 comp_algorithm lz4 (was \(z.originalAlgorithm))")
            } else {
                z.actions.append("zram0 keeps \(z.originalAlgorithm) (this kernel's zram has no lz4)")
            }
            let disksize = max(2 * regionBytes, 64 << 20)
            try writeSysfs("\(sys)/disksize", String(disksize))
            z.actions.append("zram0 disksize \(disksize >> 20) MiB")
            try runTool(["/usr/sbin/mkswap", "/dev/zram0"], what: "mkswap")
            z.actions.append("mkswap /dev/zram0")
            z.actions.append("swapon /dev/zram0 only while a kernel-side run is going, swapoff after each")
        }
        progress.note("kernel anchor: set up zram0 (\(z.actions.prefix(2).joined(separator: ", "))); it is reset when the bench ends")
        return z
    }

    func swapOn() throws {
        try BenchCleanup.shared.locked {
            guard !isOn else { return }
            try runTool(["/usr/sbin/swapon", "/dev/zram0"], what: "swapon")
            isOn = true
        }
    }

    func swapOff() {
        BenchCleanup.shared.locked {
            guard isOn else { return }
            try? runTool(["/usr/sbin/swapoff", "/dev/zram0"], what: "swapoff")
            isOn = activeSwapDevices().contains("/dev/zram0")
        }
    }

    /// swapoff, reset, original algorithm back, marker removed; then checks.
    func undo() {
        guard !undone else { return }
        undone = true
        restored = ManagedZram.resetZram0(originalAlgorithm: originalAlgorithm)
        leftAsFound = !activeSwapDevices().contains("/dev/zram0")
            && readSmallFile("\(ManagedZram.sys)/disksize") == "0"
            && ManagedZram.currentAlgorithm() == originalAlgorithm
        restored.append(leftAsFound == true ? "checked: no swap on zram0, disksize 0, algorithm \(originalAlgorithm)"
                                            : "CHECK FAILED: zram0 is not as it was; see /proc/swaps and \(ManagedZram.sys)")
    }

    static func resetZram0(originalAlgorithm: String) -> [String] {
        var done: [String] = []
        if activeSwapDevices().contains("/dev/zram0") {
            _ = try? runTool(["/usr/sbin/swapoff", "/dev/zram0"], what: "swapoff")
            done.append("swapoff /dev/zram0")
        }
        if (try? writeSysfs("\(sys)/reset", "1")) != nil { done.append("zram0 reset") }
        if currentAlgorithm() != originalAlgorithm, (try? writeSysfs("\(sys)/comp_algorithm", originalAlgorithm)) != nil {
            done.append("zram0 comp_algorithm \(originalAlgorithm)")
        }
        try? FileManager.default.removeItem(atPath: marker)
        return done
    }

    /// A bench killed with SIGKILL leaves its marker: undo its setup.
    /// Returns what was done, or nil when there was nothing to do.
    static func recoverStale() -> String? {
        guard let text = readSmallFile(marker) else { return nil }
        var pid: pid_t = 0
        var algorithm = "lzo-rle"
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, f[0] == "pid" { pid = pid_t(f[1]) ?? 0 }
            if f.count == 2, f[0] == "algorithm" { algorithm = String(f[1]) }
        }
        // Still running (and still a bench, not a reused pid): not ours to touch.
        if pid > 0 && kill(pid, 0) == 0, (readSmallFile("/proc/\(pid)/cmdline") ?? "").contains("bench") { return nil }
        let done = resetZram0(originalAlgorithm: algorithm)
        return "zram0 was left set up by an interrupted bench (pid \(pid)): \(done.joined(separator: ", "))"
    }
}

func writeSysfs(_ path: String, _ value: String) throws {
    let fd = open(path, O_WRONLY)
    guard fd >= 0 else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let n = value.withCString { write(fd, $0, strlen($0)) }
    guard n >= 0 else { throw BenchError("writing \(value) to \(path): \(String(cString: strerror(errno)))") }
}

/// Runs a system tool quietly; throws with its stderr when it fails.
func runTool(_ argv: [String], what: String) throws {
    let err = BenchCleanup.shared.tempFile(
        FileManager.default.temporaryDirectory.appendingPathComponent("pagezip-bench-\(getpid())-\(what).err").path)
    defer { BenchCleanup.shared.removeTempFile(err) }
    let cmd = BenchSpawn.Prepared(argv, env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"])
    let status = BenchSpawn.wait(try BenchSpawn.start(cmd, stderr: err))
    guard status == 0 else {
        throw BenchError("\(argv.joined(separator: " ")) failed (status \(status)): \(readSmallFile(err) ?? "")")
    }
}
