// Auto reclaim on programs nobody here wrote: memcached and redis from
// Debian's packages and a Python process, launched through `pagezip run`.
// Small sizes and a 2 s cold age keep CI fast; examples/reclaim-scenarios.py
// runs the full-size versions.

import Foundation
import Testing

enum Servers {
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts a server in the background; the caller stops it.
    static func start(_ argv: [String], env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LD_PRELOAD")
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try Harness.launch(p)
        return p
    }

    /// SIGTERM, then SIGKILL if the server has not exited 30 s later (a
    /// watchdog, not synchronisation: a stuck server must not hang CI).
    static func stop(_ p: Process) {
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        guard p.isRunning else { return }
        kill(p.processIdentifier, SIGTERM)
        if done.wait(timeout: .now() + 30) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
    }

    static func python(_ script: String, _ args: [String], env: [String: String] = [:], preload: Bool = false) -> RunResult {
        Harness.run(["/usr/bin/env", "python3", Harness.root.appendingPathComponent("Tests/Programs/\(script)").path] + args,
                    preload: preload, env: env, timeout: 300)
    }

    static func require(_ tool: String) throws {
        let r = Harness.run(["/usr/bin/env", "sh", "-c", "command -v \(tool)"], preload: false)
        try #require(r.status == 0, "\(tool) is not installed: `make setup` installs it")
    }

    static func requirePython(_ module: String) throws {
        let r = Harness.run(["/usr/bin/env", "python3", "-c", "import \(module)"], preload: false)
        try #require(r.status == 0, "python3 module \(module) is missing: `make setup` installs it")
    }
}

@Suite(.serialized) struct RealServerTests {
    // A 2 s cold age with the fleet-wide 0.2 %/min refault budget backs off
    // for minutes; a looser budget keeps CI fast without changing what is proven.
    let reclaim = ["--reclaim", "auto", "--cold-age", "2s", "--refault-budget", "10"]

    @Test func memcachedShrinksAndEveryItemReadsBack() throws {
        try Servers.require("memcached")
        try Servers.requirePython("pymemcache")
        _ = try Harness.requireLibrary()
        let port = Servers.freePort()
        let server = try Servers.start([Harness.cli, "run"] + reclaim + ["--", "/usr/bin/memcached", "-p", "\(port)",
                                       "-l", "127.0.0.1", "-U", "0", "-m", "256", "-u", "root"])
        defer { Servers.stop(server) }
        let r = Servers.python("memcached_check.py", ["\(port)", "\(server.processIdentifier)", "40000", "90"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("bad") == 0, "\(r.stdout)")
        #expect(r.int("reached") == 1, "RSS never halved: \(r.stdout)")
        let full = try #require(r.int("rss_full_kib")), idle = try #require(r.int("rss_idle_kib"))
        #expect(idle < full / 2)
    }

    @Test func redisBGSAVEOfAReclaimedDatasetIsIdentical() throws {
        try Servers.require("redis-server")
        try Servers.requirePython("redis")
        let dir = Harness.workDir.appendingPathComponent("redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = Servers.freePort()
        let common = ["--save", "", "--appendonly", "no", "--dir", dir.path, "--dbfilename", "dump.rdb",
                      "--enable-debug-command", "yes", "--daemonize", "no", "--bind", "127.0.0.1"]
        let server = try Servers.start([Harness.cli, "run"] + reclaim + ["--", "/usr/bin/redis-server", "--port", "\(port)"] + common)
        let r = Servers.python("redis_check.py", ["\(port)", "\(server.processIdentifier)", "60000", "90"])
        Servers.stop(server)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.int("reached") == 1, "RSS never halved: \(r.stdout)")
        #expect(r.value("bgsave") == "ok")
        let before = try #require(r.value("digest_before"))
        #expect(r.value("digest_after") == before)
        // The RDB the forked child wrote, loaded by a redis without pagezip.
        let plainPort = Servers.freePort()
        let plain = try Servers.start(["/usr/bin/redis-server", "--port", "\(plainPort)"] + common)
        defer { Servers.stop(plain) }
        let d = Servers.python("redis_digest.py", ["\(plainPort)", "60"])
        #expect(d.status == 0, "\(d.stderr)")
        #expect(d.value("digest") == before, "RDB written under pagezip differs: \(d.stdout)")
    }

    @Test func anIdlePythonProcessShrinksAndItsStringsStayIntact() throws {
        let r = Servers.python("python_idle.py", ["64", "90"],
                               env: ["PAGEZIP_RECLAIM": "auto", "PAGEZIP_COLD_AGE": "2s", "PAGEZIP_REFAULT_BUDGET": "10"],
                               preload: true)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.value("intact") == "True")
        #expect(r.int("reached") == 1, "RSS never halved: \(r.stdout)")
    }
}
