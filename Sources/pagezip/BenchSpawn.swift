// Starting the bench's child processes with posix_spawn: precise to time
// (no Foundation machinery between the clock reads and the process), with the
// environment spelled out (LD_PRELOAD set or removed),
// and registered with BenchCleanup so Ctrl-C never leaves one behind.

import Foundation
import Glibc

enum BenchSpawn {
    /// This process's environment without LD_PRELOAD, plus LD_PRELOAD=library
    /// when given: the only difference between the sides.  PAGEZIP_* settings
    /// the user exported reach the pagezip side (the report lists them).
    static func environment(preload library: String?) -> [String] {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "LD_PRELOAD")
        if let library {
            env["LD_PRELOAD"] = library
        } else {
            for key in env.keys where key.hasPrefix("PAGEZIP_") { env.removeValue(forKey: key) }
        }
        return env.map { "\($0.key)=\($0.value)" }.sorted()
    }

    /// The PAGEZIP_* settings in force for the pagezip side.
    static var pagezipSettings: [String] {
        ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("PAGEZIP_") }
            .map { "\($0.key)=\($0.value)" }.sorted()
    }

    /// argv and envp as C arrays, built once so a timed loop only spawns.
    final class Prepared {
        let path: String
        let argv: [UnsafeMutablePointer<CChar>?]
        let envp: [UnsafeMutablePointer<CChar>?]

        init(_ args: [String], env: [String]) {
            path = args[0]
            argv = args.map { strdup($0) } + [nil]
            envp = env.map { strdup($0) } + [nil]
        }

        deinit {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
    }

    /// Starts a prepared command; stdout/stderr go to the given files (or
    /// /dev/null).  Signals the bench ignores are reset to their defaults.
    static func start(_ cmd: Prepared, stdout: String = "/dev/null", stderr: String = "/dev/null") throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = cmd.argv.withUnsafeBufferPointer { argv in
            cmd.envp.withUnsafeBufferPointer { envp in
                posix_spawn(&pid, cmd.path, &actions, &attr, argv.baseAddress!, envp.baseAddress!)
            }
        }
        guard rc == 0 else { throw BenchError("cannot start \(cmd.path): \(String(cString: strerror(rc)))") }
        BenchCleanup.shared.childStarted(pid)
        return pid
    }

    /// Waits for a child; returns its exit status, or 128 + signal.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        BenchCleanup.shared.childEnded(pid)
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// This executable, for re-running it as a bench child.
    static var selfPath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
