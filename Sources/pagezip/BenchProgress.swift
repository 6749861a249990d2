// The progress line on stderr: rewritten in place on a terminal, one line per
// step otherwise (CI logs).  The table itself goes to stdout, so
// `pagezip bench > table.txt` keeps the two apart.

import Foundation

final class BenchProgress: @unchecked Sendable {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let started = monotonicNanos()
    private let lock = NSLock()
    private var lineOpen = false

    var elapsedSeconds: Double { Double(monotonicNanos() - started) / 1e9 }

    /// Shows what the bench is doing now, with the time so far.
    func step(_ what: String) {
        let line = "[\(Fmt.minutes(elapsedSeconds))] \(what)"
        lock.lock()
        defer { lock.unlock() }
        if isTerminal {
            // \r, the text, then clear to the end of the line.
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
            lineOpen = true
        } else {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }

    /// A message that must stay on screen (what was done to the machine).
    func note(_ message: String) {
        lock.lock()
        defer { lock.unlock() }
        clearLocked()
        FileHandle.standardError.write(Data("pagezip bench: \(message)\n".utf8))
    }

    /// Removes the progress line before the table is printed.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        clearLocked()
    }

    private func clearLocked() {
        if lineOpen {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            lineOpen = false
        }
    }
}
