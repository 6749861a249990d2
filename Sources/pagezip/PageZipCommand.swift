// The `pagezip` command: launch programs with the library, read live stats,
// check the machine, measure.

import ArgumentParser

@main
struct PageZipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pagezip",
        abstract: "Compress a program's cold memory in its own address space.",
        discussion: """
            pagezip preloads libpagezip.so into a program.  Pages the program leaves untouched \
            for the cold age (auto reclaim, the default of `pagezip run`), and pages it marks with \
            madvise(MADV_PAGEOUT), are compressed with LZ4 into an in-process pool and restored \
            byte for byte when touched.

            Examples:
              pagezip run -- python3 app.py
              pagezip run --cold-age 2m -- memcached -m 2048
              pagezip run --reclaim hints -- ./my-cache      # only what the program marks
              pagezip stats                 # every pagezip process of this user
              pagezip stats 1234 --json     # one process; --prometheus, --sites too
              pagezip top                   # refreshing view, like zramctl + refaults/s
              pagezip doctor                # can pagezip work here, and if not, why
              pagezip bench                 # pagezip vs raw LZ4 vs zram, ~2 min
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, StatsCommand.self, TopCommand.self, DoctorCommand.self, BenchCommand.self])
}
