// `pagezip stats [PID]`: one process in detail, or every pagezip process of
// this user summed by process group.

import ArgumentParser
import Foundation
import PageZipCore

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show what pagezip holds: one process, or every process of this user by process group.",
        discussion: """
            Each process running under pagezip serves its stats on a Unix socket, <pid>.sock, in \
            $PAGEZIP_SOCKET_DIR, else $XDG_RUNTIME_DIR/pagezip, else /tmp/pagezip-$UID (directory \
            0700, socket 0600; other users are refused, root may read anyone's).  The server starts \
            0.2 s after the process first pages something out.  Sockets of processes that are gone \
            are removed when this command finds them.

            With a PID: that process in detail — every counter next to the zswap or zram name \
            operators know, fault and store latency, its process-group table and the \
            configuration in force.  Without: one line per process group:

            \(helpList(StatsText.columnHelp.filter { $0.0 != "REFAULT/s" }))

            Counters and their kernel names (stored_pages etc. as in /sys/kernel/debug/zswap, \
            orig_data_size etc. as in /sys/block/zram0/mm_stat):
            \(StatsCatalog.curated.filter { $0.kernelName != nil }.map { "  \($0.label): \($0.kernelName!)" }.joined(separator: "\n"))

            --json prints the same data as JSON ("version": 1; per process: process, backend, \
            config, usage.counters, usage.pool, latency histograms, groups); --prometheus prints \
            Prometheus text (pagezip_*_bytes gauges, pagezip_*_total counters; summed output is \
            labelled pgid="...").  The socket speaks HTTP/1.0, so this works too:
              curl --unix-socket /tmp/pagezip-$UID/<pid>.sock http://localhost/metrics
            Paths: /stats (text), /stats.json, /metrics, /sites, /sites.json.

            Examples:
              pagezip stats                     # every process group of this user
              pagezip stats 4242                # one process in detail
              pagezip stats --json 4242 | jq .usage.counters.stored_pages
              pagezip stats --sites 4242        # where the held memory was allocated
            """)

    @Argument(help: "The process to show (default: every pagezip process of this user, by process group).")
    var pid: Int32?

    @Flag(help: "Print JSON (schema version 1).")
    var json = false

    @Flag(help: "Print Prometheus text exposition.")
    var prometheus = false

    @Flag(help: "Show the allocation sites of PID's held memory (needs PID).")
    var sites = false

    @Flag(help: "Print sizes as exact byte counts (like zramctl --bytes).")
    var bytes = false

    @Option(help: "Look for sockets only in this directory.")
    var socketDir: String?

    @Option(help: ArgumentHelp("With PID: wait up to this many seconds for its stats socket to appear.", valueName: "seconds"))
    var wait: Double = 0

    @Option(help: ArgumentHelp("Give each process this many seconds to answer.", valueName: "seconds"))
    var timeout: Double = 2

    func validate() throws {
        if json && prometheus { throw ValidationError("choose one of --json and --prometheus") }
        if sites && pid == nil { throw ValidationError("--sites needs a PID") }
        if sites && prometheus { throw ValidationError("--sites prints text or JSON, not Prometheus") }
        if wait > 0 && pid == nil { throw ValidationError("--wait needs a PID") }
        if wait < 0 || wait > 3600 { throw ValidationError("--wait takes 0 to 3600 seconds") }
        if !(timeout > 0 && timeout <= 600) { throw ValidationError("--timeout takes more than 0 and at most 600 seconds") }
        if let pid, pid <= 0 { throw ValidationError("PID must be a positive process ID") }
    }

    func run() throws {
        let dirs = StatsClient.directories(explicit: socketDir)
        if let pid {
            try showOne(pid, dirs)
        } else {
            try showAll(dirs)
        }
    }

    func showOne(_ pid: Int32, _ dirs: [String]) throws {
        let found = wait > 0 ? StatsClient.waitForEndpoint(pid: pid, in: dirs, seconds: wait) : StatsClient.endpoint(pid: pid, in: dirs)
        guard let endpoint = found else { throw failure(StatsClientError.noSocket(pid: pid, dirs: dirs)) }
        do {
            if prometheus {
                let r = try StatsClient.request(endpoint, StatsRoute.prometheus.rawValue, timeout: timeout)
                FileHandle.standardOutput.write(Data(r.body))
                return
            }
            let s = try StatsClient.snapshot(endpoint, sites: sites, timeout: timeout)
            if json {
                print(StatsJSONCodec.encode(s).rendered(), terminator: "")
            } else if sites {
                print(StatsText.sites(s, exactBytes: bytes), terminator: "")
            } else {
                print(StatsText.process(s, exactBytes: bytes), terminator: "")
            }
        } catch let e as StatsClientError {
            if case .connect(_, let err) = e, err == ECONNREFUSED, StatsClient.isStale(path: endpoint.path, pid: pid) {
                unlink(endpoint.path)
                throw failure("pid \(pid) has exited; removed the socket it left behind (\(endpoint.path))")
            }
            throw failure(e)
        }
    }

    func showAll(_ dirs: [String]) throws {
        let endpoints = StatsClient.discover(in: dirs)
        let (snapshots, failures) = StatsClient.snapshots(endpoints, timeout: timeout)
        for (e, err) in failures { warn("pid \(e.pid): \(err)") }
        let groups = StatsAggregation.byProcessGroup(snapshots)
        if json {
            let doc = StatsJSON.object([
                .init("version", .uint(UInt64(StatsSnapshot.schemaVersion))),
                .init("process_groups", .array(groups.map { g in
                    .object([
                        .init("pgid", .int(Int64(g.pgid))),
                        .init("command", .string(g.command)),
                        .init("pids", .array(g.processes.map { .int(Int64($0.pid)) })),
                        .init("usage", StatsJSONCodec.encode(g.usage)),
                        .init("derived", StatsJSONCodec.derived(g.usage)),
                    ])
                })),
                .init("processes", .array(snapshots.map(StatsJSONCodec.encode))),
            ])
            print(doc.rendered(), terminator: "")
        } else if prometheus {
            print(StatsPrometheus.render(groups: groups), terminator: "")
        } else {
            if groups.isEmpty {
                print("no pagezip process of this user serves stats (looked in \(dirs.joined(separator: ", ")))")
            } else {
                print(StatsText.groups(groups, exactBytes: bytes), terminator: "")
            }
            // Only when every default directory was searched: with --socket-dir,
            // a process may well serve stats somewhere else.
            let quiet = socketDir == nil ? StatsClient.quietProcesses(excluding: Set(endpoints.map(\.pid))) : []
            if !quiet.isEmpty {
                print("\npagezip is loaded but no stats socket was found for: "
                      + quiet.map { "\($0.pid) (\(StatsText.printable($0.command)))" }.joined(separator: ", ")
                      + "\n(nothing paged out yet, pass-through, PAGEZIP_STATS=0, or another PAGEZIP_SOCKET_DIR)")
            }
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// Says what went wrong on stderr; exit status 1.
    func failure(_ e: Any) -> ExitCode {
        warn("\(e)")
        return ExitCode(1)
    }
}

/// "  NAME      text" lines wrapped at 78 columns with a hanging indent, so
/// --help keeps its columns (ArgumentParser re-wraps only longer lines).
func helpList(_ items: [(String, String)]) -> String {
    let indent = 12
    var lines: [String] = []
    for (name, text) in items {
        var line = "  " + name.padding(toLength: indent - 2, withPad: " ", startingAt: 0)
        var lineHasWords = false
        for word in text.split(separator: " ") {
            if lineHasWords && line.count + 1 + word.count > 78 {
                lines.append(line)
                line = String(repeating: " ", count: indent)
                lineHasWords = false
            }
            line += (lineHasWords ? " " : "") + word
            lineHasWords = true
        }
        lines.append(line)
    }
    return lines.joined(separator: "\n")
}
