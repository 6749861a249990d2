// The terminal side of `pagezip top`: redraws in place on a terminal (the
// alternate screen, like top), frames one after another otherwise; reads
// single keys without Enter; stops on q, Ctrl-C or SIGTERM and always puts
// the terminal back as it found it.

import Foundation

/// Set from the signal handler: a plain word, written once, read by the loop.
nonisolated(unsafe) private var topStopRequested: Int32 = 0

final class TopScreen {
    let interactive: Bool
    private var savedTerminal = termios()
    private var rawMode = false
    private var previousInt = sigaction()
    private var previousTerm = sigaction()

    init() {
        interactive = isatty(STDOUT_FILENO) == 1
        topStopRequested = 0
        // No SA_RESTART: the wait below returns at once with EINTR.
        var sa = sigaction()
        sa.__sigaction_handler.sa_handler = { _ in topStopRequested = 1 }
        sigemptyset(&sa.sa_mask)
        sa.sa_flags = 0
        sigaction(SIGINT, &sa, &previousInt)
        sigaction(SIGTERM, &sa, &previousTerm)
        if interactive && isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &savedTerminal) == 0 {
            var raw = savedTerminal
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
            withUnsafeMutableBytes(of: &raw.c_cc) { cc in
                cc[Int(VMIN)] = 0
                cc[Int(VTIME)] = 0
            }
            rawMode = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0
        }
        if interactive { write("\u{1B}[?1049h\u{1B}[?25l") }   // alternate screen, hide the cursor
    }

    /// Puts the terminal and the signal handlers back.
    func restore() {
        if interactive { write("\u{1B}[?25h\u{1B}[?1049l") }
        if rawMode { tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminal) }
        rawMode = false
        sigaction(SIGINT, &previousInt, nil)
        sigaction(SIGTERM, &previousTerm, nil)
    }

    func draw(_ frame: String, first: Bool) {
        if interactive {
            write("\u{1B}[H\u{1B}[2J" + frame)
        } else {
            write((first ? "" : "\n") + frame)
        }
    }

    var stopRequested: Bool { topStopRequested != 0 }

    /// Waits up to `seconds`; true when the user asked to quit (q, Ctrl-C).
    func waitForQuit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !stopRequested {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var p = pollfd(fd: rawMode ? STDIN_FILENO : -1, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, Int32(left * 1000) + 1)
            if n > 0 && p.revents & Int16(POLLIN) != 0 {
                var c: UInt8 = 0
                if read(STDIN_FILENO, &c, 1) == 1 && (c == UInt8(ascii: "q") || c == UInt8(ascii: "Q")) { return true }
            }
        }
        return true
    }

    private func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }
}
