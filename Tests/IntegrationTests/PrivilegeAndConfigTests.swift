// Without rights to serve kernel-mode faults, or with a bad configuration,
// the host runs unchanged and pagezip says why in one line.

import Foundation
import Testing

@Suite(.serialized) struct PrivilegeAndConfigTests {
    @Test(.enabled(if: Harness.isRoot)) func unprivilegedUserGetsPassThroughAndOneLine() throws {
        let user = try #require(Harness.unprivilegedUser())
        let prog = try Harness.program("zeropages")
        let plain = Harness.run([prog], preload: false, user: user)
        let pz = Harness.run([prog], preload: true, user: user)
        #expect(pz.status == 0 && plain.status == 0, "\(pz.stderr)")
        #expect(pz.stdout == plain.stdout, "output changed")
        #expect(pz.value("active") == "0", "\(pz.stdout)")
        let lines = pz.stderr.split(separator: "\n")
        #expect(lines.count == 1, "exactly one line: \(pz.stderr)")
        let line = String(lines.first ?? "")
        #expect(line.hasPrefix("pagezip: not compressing: this user may not handle kernel-mode page faults"))
        #expect(line.contains("/dev/userfaultfd") && line.contains("vm.unprivileged_userfaultfd=1"), "names the fix")
        #expect(line.contains("runs unchanged"))
    }

    @Test func disabledByEnvironment() throws {
        let r = Harness.run([try Harness.program("zeropages")], preload: true, env: ["PAGEZIP_ENABLE": "0"])
        #expect(r.status == 0)
        #expect(r.value("active") == "0")
        #expect(r.stderr.isEmpty)
    }

    @Test func badValuesWarnOnceAndTheProgramRuns() throws {
        let r = Harness.run([try Harness.program("zeropages")], preload: true,
                            env: ["PAGEZIP_POOL_MAX": "lots", "PAGEZIP_FAULT_AROUND": "1000"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.value("active") == "1")
        #expect(r.pagezipLines.count == 2, "\(r.stderr)")
        #expect(r.stderr.contains("pagezip: PAGEZIP_POOL_MAX=lots is not a size"))
        #expect(r.stderr.contains("pagezip: PAGEZIP_FAULT_AROUND=1000 is not a page count from 1 to 64; using 8"))
    }

    @Test func quietLogSilencesEverything() throws {
        let user = Harness.unprivilegedUser()
        let r = Harness.run([try Harness.program("zeropages")], preload: true,
                            env: ["PAGEZIP_LOG": "quiet", "PAGEZIP_POOL_MAX": "lots"], user: user)
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
    }
}
