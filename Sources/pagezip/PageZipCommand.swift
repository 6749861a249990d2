// The `pagezip` command: launch programs with the library, read live stats,
// check the machine, measure.

import ArgumentParser

@main
struct PageZipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pagezip",
        abstract: "Compress a program's cold memory in its own address space.",
        discussion: """
            pagezip preloads libpagezip.so into a program.  Pages the program marks with \
            madvise(MADV_PAGEOUT) (or, with --reclaim auto, pages it leaves untouched) are \
            compressed with LZ4 into an in-process pool and restored byte for byte when touched.

            Examples:
              pagezip run -- python3 app.py
              pagezip run --reclaim auto --cold-age 2m -- memcached -m 2048
              pagezip stats                 # every pagezip process of this user
              pagezip doctor                # can pagezip work here, and if not, why
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, DoctorCommand.self])
}
