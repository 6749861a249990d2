// Programs nobody here wrote run under the library with identical output.

import Foundation
import Testing

@Suite(.serialized) struct HostProgramTests {
    func sameOutput(_ argv: [String], env: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) {
        let plain = Harness.run(argv, preload: false, env: env)
        let pz = Harness.run(argv, preload: true, env: env)
        #expect(plain.status == 0, "the program itself fails: \(plain.stderr)", sourceLocation: sourceLocation)
        #expect(plain.status == pz.status, "exit status differs: \(plain.status) vs \(pz.status)\n\(pz.stderr)", sourceLocation: sourceLocation)
        #expect(plain.stdout == pz.stdout, "stdout differs for \(argv)", sourceLocation: sourceLocation)
        #expect(pz.pagezipLines.isEmpty, "pagezip printed: \(pz.stderr)", sourceLocation: sourceLocation)
        #expect(!pz.timedOut, sourceLocation: sourceLocation)
    }

    @Test func python3WithThreadsAndAPagedOutBuffer() throws {
        let script = Harness.root.appendingPathComponent("Tests/Programs/python_host.py").path
        sameOutput(["/usr/bin/env", "python3", script])
        let r = Harness.run(["/usr/bin/env", "python3", script], preload: true)
        #expect(r.stdout.contains("intact=True"), "\(r.stdout) \(r.stderr)")
    }

    @Test func thePythonExample() throws {
        let r = Harness.run(["/usr/bin/env", "python3", Harness.root.appendingPathComponent("examples/pageout.py").path, "32"],
                            preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("read back intact"), "\(r.stdout)")
    }

    @Test func coreutilsAndFriends() throws {
        sameOutput(["/bin/ls", "-la", "/usr/lib", "/usr/bin"])
        sameOutput(["/usr/bin/sort", "-r", Harness.root.appendingPathComponent("Package.swift").path])
        sameOutput(["/bin/sh", "-c", "seq 1 20000 | gzip -c | gzip -dc | md5sum; echo done"])
    }

    @Test func aCppProgramWithThreads() throws {
        sameOutput([try Harness.program("cpp_host")])
    }

    @Test func aSwiftProgram() throws {
        // A Swift host keeps its own runtime: pagezip's statically linked one is hidden.
        let src = Harness.root.appendingPathComponent("Tests/Programs/swift_host.swift").path
        let exe = Harness.workDir.appendingPathComponent("swift_host").path
        let build = Harness.run(["/usr/bin/env", "swiftc", "-O", "-o", exe, src], preload: false, timeout: 300)
        try #require(build.status == 0, "\(build.stderr)")
        sameOutput([exe])
    }

    @Test func signalDispositionsAreUntouched() throws {
        sameOutput([try Harness.program("signals")])
    }
}
