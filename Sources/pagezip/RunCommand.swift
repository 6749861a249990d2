// `pagezip run -- CMD ARGS...`: exec CMD with libpagezip.so preloaded.

import ArgumentParser
import Foundation
import PageZipCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program with pagezip preloaded.",
        discussion: """
            Prepends the library to LD_PRELOAD, turns the options below into PAGEZIP_* \
            variables (which the program's children inherit), and replaces itself with the \
            program, so its exit status, signals and terminal are the program's own.

            Examples:
              pagezip run -- ./my-program --flag 'an argument with spaces'
              pagezip run --pool-max 1G --log info -- python3 app.py
              pagezip run --cold-age 30s --target-rss 512M -- memcached -m 2048
              pagezip run --reclaim hints -- ./my-program    # only what it marks with madvise
            """)

    @Option(help: "Pool limit: a size (1G, 512M) or a share of RAM (25%). Default 20% of RAM.")
    var poolMax: String?
    @Option(help: "After a pool-limit hit, store again once the pool is below this % of the limit.")
    var acceptThreshold: String?
    @Option(help: "Pool limit per process group (like memory.zswap.max).")
    var groupPoolMax: String?
    @Option(help: "Keep pages resident whose compressed size exceeds this many bytes (64-4095).")
    var rejectAbove: String?
    @Option(help: "Pages restored per fault on sequential access (1-64).")
    var faultAround: String?
    @Option(help: "auto (the default here): also compress pages left untouched for the cold age; hints: only what the program marks with MADV_PAGEOUT/MADV_COLD.")
    var reclaim: String?
    @Option(help: "How long a page must stay untouched before auto reclaim takes it (90, 30s, 2m).")
    var coldAge: String?
    @Option(help: "Compress coldest first until RSS is under this size.")
    var targetRss: String?
    @Option(help: "Share of one core the reclaimer may use, in percent.")
    var reclaimCpu: String?
    @Option(help: "Refaults per minute auto reclaim tolerates, as % of the working set (default 0.2); above it the cold age doubles.")
    var refaultBudget: String?
    @Option(help: "quiet, error, warn, info or debug.")
    var log: String?
    @Flag(inversion: .prefixedNo, help: "Serve live stats on a Unix socket.")
    var stats: Bool = true
    @Option(help: "Directory for the stats sockets.")
    var socketDir: String?
    @Option(help: "The libpagezip.so to preload (default: next to this command).")
    var library: String?

    @Argument(parsing: .captureForPassthrough, help: "The program and its arguments (after --).")
    var command: [String] = []

    func validate() throws {
        if command == ["--help"] || command == ["-h"] { throw CleanExit.helpRequest(self) }
        let cmd = command.first == "--" ? Array(command.dropFirst()) : command
        guard !cmd.isEmpty else { throw ValidationError("name the program to run after --, e.g. `pagezip run -- python3 app.py`") }
        // Check every option value with the library's own parser, so a typo
        // fails here instead of becoming a warning in the program's output.
        var env: [String: String] = [:]
        for (k, v) in pagezipEnvironment() { env[k] = v }
        let (_, warnings) = Config.load(env: { env[$0] }, memTotalBytes: 1 << 34)
        if var w = warnings.first {
            // "PAGEZIP_POOL_MAX=lots is not ..." -> "--pool-max lots is not ..."
            if let eq = w.firstIndex(of: "="), w.hasPrefix("PAGEZIP_") {
                let option = "--" + w[w.index(w.startIndex, offsetBy: 8)..<eq].lowercased().replacingOccurrences(of: "_", with: "-")
                w = option + " " + w[w.index(after: eq)...]
            }
            throw ValidationError(w.replacingOccurrences(of: "; using", with: " (default:") + ")")
        }
    }

    func pagezipEnvironment() -> [(String, String)] {
        var e: [(String, String)] = []
        func add(_ k: String, _ v: String?) { if let v { e.append((k, v)) } }
        add("PAGEZIP_POOL_MAX", poolMax)
        add("PAGEZIP_ACCEPT_THRESHOLD", acceptThreshold)
        add("PAGEZIP_GROUP_POOL_MAX", groupPoolMax)
        add("PAGEZIP_REJECT_ABOVE", rejectAbove)
        add("PAGEZIP_FAULT_AROUND", faultAround)
        // A launcher is asked to save memory on its own: auto, unless told otherwise.
        add("PAGEZIP_RECLAIM", reclaim ?? (ProcessInfo.processInfo.environment["PAGEZIP_RECLAIM"] == nil ? "auto" : nil))
        add("PAGEZIP_COLD_AGE", coldAge)
        add("PAGEZIP_TARGET_RSS", targetRss)
        add("PAGEZIP_RECLAIM_CPU", reclaimCpu)
        add("PAGEZIP_REFAULT_BUDGET", refaultBudget)
        add("PAGEZIP_LOG", log)
        add("PAGEZIP_SOCKET_DIR", socketDir)
        if !stats { e.append(("PAGEZIP_STATS", "0")) }
        return e
    }

    func run() throws {
        let cmd = command.first == "--" ? Array(command.dropFirst()) : command
        let (found, looked) = LibraryLocator.find(explicit: library)
        guard let lib = found else {
            warn("cannot find libpagezip.so (looked in: \(looked.joined(separator: ", "))); build it with `swift build -c release` or pass --library")
            throw ExitCode(127)
        }
        guard let exe = ExecutableInspector.resolve(cmd[0]) else {
            warn("\(cmd[0]): command not found")
            throw ExitCode(127)
        }
        for finding in ExecutableInspector.inspect(exe) {
            switch finding {
            case .staticBinary:
                warn("warning: \(exe) is statically linked: LD_PRELOAD cannot load pagezip into it (static binaries and Go programs bypass libc); it runs without pagezip")
            case .setuid:
                warn("warning: \(exe) is set-user-ID or set-group-ID: the loader ignores LD_PRELOAD for it; it runs without pagezip")
            case .foreignArchitecture(let arch):
                warn("warning: \(exe) is \(arch): the loader will refuse the x86-64 library; it runs without pagezip")
            case .notExecutable, .notFound, .script:
                break
            }
        }
        setenv("LD_PRELOAD", preloadValue(adding: lib), 1)
        for (k, v) in pagezipEnvironment() { setenv(k, v, 1) }
        var argv = cmd.map { strdup($0) }
        argv.append(nil)
        execv(exe, &argv)
        let err = errno
        warn("cannot execute \(exe): \(String(cString: strerror(err)))")
        throw ExitCode(err == ENOENT ? 127 : 126)
    }

    /// LD_PRELOAD with the library first, without duplicating it.
    func preloadValue(adding lib: String) -> String {
        let current = ProcessInfo.processInfo.environment["LD_PRELOAD"] ?? ""
        let others = current.split(whereSeparator: { $0 == ":" || $0 == " " }).map(String.init).filter { $0 != lib }
        return ([lib] + others).joined(separator: ":")
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("pagezip: \(message)\n".utf8))
}
