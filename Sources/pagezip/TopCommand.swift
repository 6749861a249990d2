// `pagezip top`: every pagezip process group of this user, refreshed.

import ArgumentParser
import Foundation
import PageZipCore

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Watch pagezip's process groups, refreshed every second.",
        discussion: """
            One line per process group of this user's pagezip processes (as `pagezip stats` \
            without a PID), redrawn every --interval seconds; q or Ctrl-C quits.  Columns, as \
            zramctl names them where it has them:

            \(helpList(StatsText.columnHelp))

            REFAULT/s is measured on each process's own clock between two refreshes; in the \
            first frame (and for a process that just appeared) it is the average since the \
            process started.  When the output is not a terminal, frames are printed one after \
            another, separated by an empty line (--iterations 1 prints one frame and exits).

            Examples:
              pagezip top
              pagezip top --interval 5
              pagezip top --iterations 1 --bytes   # one frame, exact byte counts, for scripts
            """)

    @Option(help: ArgumentHelp("Seconds between refreshes.", valueName: "seconds"))
    var interval: Double = 1

    @Option(help: "Stop after this many frames.")
    var iterations: Int?

    @Flag(help: "Print sizes as exact byte counts.")
    var bytes = false

    @Option(help: "Look for sockets only in this directory.")
    var socketDir: String?

    @Option(help: ArgumentHelp("Give each process this many seconds to answer.", valueName: "seconds"))
    var timeout: Double = 1

    func validate() throws {
        if !(interval >= 0.1 && interval <= 3600) { throw ValidationError("--interval takes 0.1 to 3600 seconds") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if !(timeout > 0 && timeout <= 60) { throw ValidationError("--timeout takes more than 0 and at most 60 seconds") }
    }

    func run() throws {
        let dirs = StatsClient.directories(explicit: socketDir)
        let screen = TopScreen()
        defer { screen.restore() }
        var rates = StatsRefaultRates()
        var frames = 0
        while !screen.stopRequested {
            let endpoints = StatsClient.discover(in: dirs)
            let (snapshots, failures) = StatsClient.snapshots(endpoints, timeout: timeout)
            let groups = StatsAggregation.byProcessGroup(snapshots)
            let frame = render(groups, rates: rates.update(snapshots), processes: snapshots.count, failures: failures, dirs: dirs)
            screen.draw(frame, first: frames == 0)
            frames += 1
            if let iterations, frames >= iterations { break }
            if screen.waitForQuit(seconds: interval) { break }
        }
    }

    func render(_ groups: [StatsProcessGroup], rates: [Int32: Double], processes: Int,
                failures: [(StatsEndpoint, Error)], dirs: [String]) -> String {
        var total = StatsUsage()
        for g in groups { total.add(g.usage) }
        let clock = Date().formatted(date: .omitted, time: .standard)
        var out = "pagezip top - \(processes) process\(processes == 1 ? "" : "es") in \(groups.count) group\(groups.count == 1 ? "" : "s"), "
            + "every \(StatsFormat.fixed(interval, decimals: 1))s - \(clock)\n"
        out += "held \(StatsFormat.size(total.origDataBytes, exact: bytes)) in \(StatsFormat.size(total.poolBytes, exact: bytes)) "
            + "of pool (ratio \(StatsFormat.ratio(total))), \(total.zeroPages) zero pages, "
            + "\(StatsFormat.fixed(rates.values.reduce(0, +), decimals: 1)) refaults/s\n\n"
        if groups.isEmpty {
            out += "no pagezip process of this user serves stats (looked in \(dirs.joined(separator: ", ")))\n"
        } else {
            out += StatsText.groups(groups, exactBytes: bytes, rates: rates)
        }
        for (e, err) in failures { out += "pid \(e.pid): \(StatsText.printable(String(describing: err)))\n" }
        return out
    }
}
