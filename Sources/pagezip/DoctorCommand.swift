// `pagezip doctor`: can pagezip work on this machine, for this user — and if
// not, exactly what to change.

import ArgumentParser
import CPageZipSys
import Foundation
import PageZipCore

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the kernel, userfaultfd rights, seccomp and the library.",
        discussion: """
            Runs the same userfaultfd probe the library runs at start-up, as the current user, \
            and reports each finding with the fix.  Exit status 0 when pagezip can compress \
            here, 1 when it would fall back to pass-through.
            """)

    @Flag(help: "Print the findings as JSON.")
    var json = false
    @Option(help: "The libpagezip.so to check (default: next to this command).")
    var library: String?

    struct Check: Codable {
        var name: String
        var status: String      // ok, info, warn, fail
        var detail: String
        var fix: String?
    }

    func run() throws {
        let checks = DoctorCommand.gather(library: library)
        let usable = !checks.contains { $0.status == "fail" }
        if json {
            struct Report: Codable { var version = 1; var usable: Bool; var checks: [Check] }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(Report(usable: usable, checks: checks)), as: UTF8.self))
        } else {
            let width = checks.map(\.name.count).max() ?? 10
            for c in checks {
                let mark = ["ok": "ok  ", "info": "info", "warn": "WARN", "fail": "FAIL"][c.status] ?? c.status
                print("\(mark)  \(c.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(c.detail)")
                if let fix = c.fix { print("      \(String(repeating: " ", count: width))  fix: \(fix)") }
            }
            print(usable ? "\npagezip can compress here (as \(userName()))."
                         : "\npagezip would run programs unchanged here (as \(userName())): see FAIL above.")
        }
        if !usable { throw ExitCode(1) }
    }

    static func gather(library: String?) -> [Check] {
        var checks: [Check] = []
        let release = kernelRelease()
        let parts = release.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        let kernelOK = parts.count >= 2 && (parts[0] > 6 || (parts[0] == 6 && parts[1] >= 8))
        checks.append(Check(name: "kernel", status: kernelOK ? "ok" : "fail",
                            detail: "Linux \(release) (UFFDIO_MOVE needs 6.8 or newer)",
                            fix: kernelOK ? nil : "run a kernel of 6.8 or newer"))

        let dev = "/dev/userfaultfd"
        if let attrs = try? FileManager.default.attributesOfItem(atPath: dev) {
            let perms = (attrs[.posixPermissions] as? Int) ?? 0
            let owner = (attrs[.ownerAccountName] as? String) ?? "?"
            let group = (attrs[.groupOwnerAccountName] as? String) ?? "?"
            let canOpen = access(dev, R_OK | W_OK) == 0
            checks.append(Check(name: "/dev/userfaultfd", status: canOpen ? "ok" : "info",
                                detail: "mode \(String(perms, radix: 8)) \(owner):\(group); this user \(canOpen ? "can" : "cannot") open it",
                                fix: nil))
        } else {
            checks.append(Check(name: "/dev/userfaultfd", status: "info", detail: "absent (Linux < 6.1)", fix: nil))
        }
        let sysctl = (try? String(contentsOfFile: "/proc/sys/vm/unprivileged_userfaultfd", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        checks.append(Check(name: "vm.unprivileged_userfaultfd", status: "info", detail: sysctl, fix: nil))
        let seccomp = statusField("Seccomp") ?? "?"
        checks.append(Check(name: "seccomp", status: seccomp == "0" ? "ok" : "info",
                            detail: ["0": "none", "1": "strict", "2": "filter"][seccomp].map { "mode \(seccomp) (\($0))" } ?? seccomp,
                            fix: nil))

        let probe = UserfaultfdProbe.run()
        switch probe.access {
        case .device:
            checks.append(Check(name: "kernel-mode faults", status: "ok", detail: "allowed (via /dev/userfaultfd)", fix: nil))
        case .syscall:
            checks.append(Check(name: "kernel-mode faults", status: "ok",
                                detail: "allowed (userfaultfd(2): \(geteuid() == 0 ? "root" : "vm.unprivileged_userfaultfd=1 or CAP_SYS_PTRACE"))", fix: nil))
        case .userModeOnly, .blocked:
            let problem = probe.problem(kernelRelease: release) ?? "unknown"
            let fix = problem.components(separatedBy: "; fix: ").dropFirst().first
            checks.append(Check(name: "kernel-mode faults", status: "fail",
                                detail: problem.components(separatedBy: "; fix: ").first ?? problem, fix: fix))
        }
        if probe.access == .device || probe.access == .syscall {
            checks.append(Check(name: "UFFDIO_MOVE", status: probe.hasMove ? "ok" : "fail",
                                detail: probe.hasMove ? "available: pages are taken away atomically" : "missing",
                                fix: probe.hasMove ? nil : "run Linux 6.8 or newer"))
            checks.append(Check(name: "access signal", status: "info",
                                detail: probe.hasWriteProtectAsync
                                    ? "auto reclaim: writes from userfaultfd write-protect (async) + PAGEMAP_SCAN, reads from refaults"
                                    : "auto reclaim: age and refaults only (write-protect async needs Linux 6.7)",
                                fix: nil))
            checks.append(Check(name: "DAMON", status: "info", detail: damonDetail(), fix: nil))
            checks.append(Check(name: "EVENT_FORK", status: "info",
                                detail: probe.hasEventFork ? "offered (not needed: children re-register on their own)"
                                                           : "not offered without CAP_SYS_PTRACE (not needed)", fix: nil))
        }
        let thp = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        checks.append(Check(name: "transparent huge pages", status: "info", detail: thp, fix: nil))
        let swaps = ((try? String(contentsOfFile: "/proc/swaps", encoding: .utf8)) ?? "")
            .split(separator: "\n").dropFirst().map { String($0.split(separator: " ").first ?? "") }
        let zram = FileManager.default.fileExists(atPath: "/sys/block/zram0")
        let zswap = (try? String(contentsOfFile: "/sys/module/zswap/parameters/enabled", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        checks.append(Check(name: "kernel swap", status: "info",
                            detail: "\(swaps.isEmpty ? "no swap device" : "swap on " + swaps.joined(separator: ", "))"
                                + "; zram \(zram ? "available" : "absent"); zswap enabled=\(zswap ?? "?") (bench uses them as the kernel anchor)",
                            fix: nil))

        let (lib, looked) = LibraryLocator.find(explicit: library)
        if let lib {
            let (selfContained, exports) = libraryShape(lib)
            checks.append(Check(name: "library", status: selfContained ? "ok" : "warn",
                                detail: "\(lib): \(selfContained ? "self-contained" : "needs the Swift runtime"), \(exports) exported symbols",
                                fix: selfContained ? nil : "rebuild with `swift build -c release` (static Swift runtime)"))
        } else {
            checks.append(Check(name: "library", status: "warn", detail: "libpagezip.so not found in \(looked.joined(separator: ", "))",
                                fix: "build it with `swift build -c release` or pass --library"))
        }
        return checks
    }

    /// DAMON's per-process mode (vaddr) would be the best access signal,
    /// but needs root and a kernel built with it; the physical mode is
    /// machine-wide.  pagezip does not use it yet; say what this machine has.
    static func damonDetail() -> String {
        let fm = FileManager.default
        guard fm.fileExists(atPath: "/sys/kernel/mm/damon/admin") else {
            return "not in this kernel (pagezip uses write tracking and refaults instead)"
        }
        return "present (root only); not used: pagezip needs its per-process mode (vaddr), absent from the kernels measured, and paddr is machine-wide"
    }

    static func libraryShape(_ path: String) -> (Bool, Int) {
        let ldd = shell(["/usr/bin/ldd", path])
        let nm = shell(["/usr/bin/nm", "-D", "--defined-only", path])
        let exports = nm.split(separator: "\n").filter { $0.split(separator: " ").count == 3 && $0.contains(" T ") }.count
        return (!ldd.contains("libswift"), exports)
    }

    static func shell(_ argv: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func statusField(_ name: String) -> String? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("\(name):") {
            return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}

func kernelRelease() -> String { unameFields().release }

/// uname(2)'s release ("6.18.44") and version ("#1 SMP ...") fields.
func unameFields() -> (release: String, version: String) {
    var u = utsname()
    uname(&u)
    func field<T>(_ v: inout T) -> String {
        withUnsafeBytes(of: &v) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
    return (field(&u.release), field(&u.version))
}

func userName() -> String {
    if let pw = getpwuid(geteuid()) { return String(cString: pw.pointee.pw_name) }
    return "uid \(geteuid())"
}
