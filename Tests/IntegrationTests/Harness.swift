// Runs real programs with and without libpagezip.so preloaded.
//
// The library comes from the same build as this test binary (`swift test -c
// release` builds it next to the tests).  C and C++ test programs are compiled
// once per run from Tests/Programs and examples/.

import Foundation
import Testing

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool

    /// `key=value` pairs printed by the test programs.
    func value(_ key: String) -> String? {
        for line in stdout.split(separator: "\n") {
            for field in line.split(separator: " ") where field.hasPrefix("\(key)=") {
                return String(field.dropFirst(key.count + 1))
            }
        }
        return nil
    }

    func int(_ key: String) -> Int? { value(key).flatMap { Int($0) } }

    var pagezipLines: [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("pagezip:") } }
}

enum HarnessError: Error, CustomStringConvertible {
    case missing(String)
    case compile(String)
    var description: String {
        switch self {
        case .missing(let s): return s
        case .compile(let s): return "compile failed: \(s)"
        }
    }
}

enum Harness {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// libpagezip.so from this build (same directory as the test bundle).
    static let library: String = {
        var candidates: [String] = []
        if let exe = Bundle.main.executablePath {
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            for _ in 0..<3 {
                candidates.append(dir.appendingPathComponent("libpagezip.so").path)
                dir = dir.deletingLastPathComponent()
            }
        }
        candidates.append(root.appendingPathComponent(".build/release/libpagezip.so").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates.last!
    }()

    static let workDir: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pagezip-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Readable by the unprivileged test user.
        chmod(dir.path, 0o755)
        return dir
    }()

    /// The built `pagezip-cli`, next to the library of this build.
    static var cli: String {
        URL(fileURLWithPath: library).deletingLastPathComponent().appendingPathComponent("pagezip-cli").path
    }

    static func requireLibrary() throws -> String {
        guard FileManager.default.fileExists(atPath: library) else {
            throw HarnessError.missing("\(library) not found: run `swift build -c release` first")
        }
        return library
    }

    private static let compileLock = NSLock()
    nonisolated(unsafe) private static var compiled: [String: String] = [:]  // guarded by compileLock

    /// Compiles Tests/Programs/<name>.c (or .cpp, or a path under the root) once.
    static func program(_ name: String) throws -> String {
        compileLock.lock()
        defer { compileLock.unlock() }
        if let p = compiled[name] { return p }
        let candidates = ["Tests/Programs/\(name).c", "Tests/Programs/\(name).cpp", "examples/\(name).c", name]
        guard let src = candidates.map({ root.appendingPathComponent($0).path })
            .first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw HarnessError.missing("no source for \(name)")
        }
        let out = workDir.appendingPathComponent(URL(fileURLWithPath: src).deletingPathExtension().lastPathComponent).path
        let cxx = src.hasSuffix(".cpp")
        let args = [cxx ? "c++" : "cc", "-O2", "-pthread", "-Wall", "-I", root.appendingPathComponent("include").path,
                    "-I", root.appendingPathComponent("Tests/Programs").path, "-o", out, src]
        let r = run(["/usr/bin/env"] + args, preload: false, timeout: 120)
        guard r.status == 0 else { throw HarnessError.compile("\(src): \(r.stderr)") }
        compiled[name] = out
        return out
    }

    /// Runs argv; with `preload`, LD_PRELOAD is the library.  `user` runs it
    /// as that user (setpriv), for privilege tests.
    @discardableResult
    static func run(_ argv: [String], preload: Bool, env: [String: String] = [:], user: String? = nil,
                    stdin: String? = nil, timeout: TimeInterval = 120) -> RunResult {
        let p = Process()
        var args = argv
        if let user {
            args = ["/usr/bin/setpriv", "--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--"] + args
        }
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LD_PRELOAD")
        for (k, _) in environment where k.hasPrefix("PAGEZIP_") { environment.removeValue(forKey: k) }
        if preload { environment["LD_PRELOAD"] = library }
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let id = UUID().uuidString
        let outURL = workDir.appendingPathComponent("\(id).out")
        let errURL = workDir.appendingPathComponent("\(id).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        guard let outH = try? FileHandle(forWritingTo: outURL), let errH = try? FileHandle(forWritingTo: errURL) else {
            return RunResult(status: -1, stdout: "", stderr: "cannot create output files", timedOut: false)
        }
        p.standardOutput = outH
        p.standardError = errH
        if let stdin {
            let inPipe = Pipe()
            p.standardInput = inPipe
            inPipe.fileHandleForWriting.write(stdin.data(using: .utf8)!)
            try? inPipe.fileHandleForWriting.close()
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        // The handler must exist before the process can exit.
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try launch(p) } catch {
            return RunResult(status: -1, stdout: "", stderr: "cannot start \(args[0]): \(error)", timedOut: false)
        }
        // A watchdog, not synchronisation: a hung host must fail the test, not CI.
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        try? outH.close()
        try? errH.close()
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return RunResult(status: p.terminationStatus, stdout: out, stderr: err, timedOut: timedOut)
    }

    static var isRoot: Bool { geteuid() == 0 }

    /// The running kernel is at least major.minor (uname -r).
    static func kernelAtLeast(_ major: Int, _ minor: Int) -> Bool {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard parts.count >= 2 else { return false }
        return (parts[0], parts[1]) >= (major, minor)
    }

    /// Starts p with no signal blocked, as from a shell.  A child inherits the
    /// spawning thread's mask, and swift-testing runs tests on pool threads
    /// that block most signals: a server started from one ignored SIGTERM.
    static func launch(_ p: Process) throws {
        var none = sigset_t(), old = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        try p.run()
    }

    /// A local user without rights to /dev/userfaultfd, created if needed.
    static func unprivilegedUser() -> String? {
        let name = "pagezip-test"
        guard isRoot else { return nil }
        if getpwnam(name) == nil {
            let r = run(["/usr/sbin/useradd", "-M", "-s", "/usr/sbin/nologin", name], preload: false)
            guard r.status == 0 else { return nil }
        }
        return name
    }
}
