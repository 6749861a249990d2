// Leaving the machine as the bench found it, also on Ctrl-C, SIGTERM and
// SIGHUP: kill the running child, remove its output files, then undo what
// the kernel anchor changed (swapoff, reset zram0).  Errors thrown by the bench reach the same restore
// through `defer` in BenchCommand.
//
// Signals are taken with Dispatch sources, so the restore runs on an ordinary
// thread (it spawns swapoff; a signal handler could not).  Every change to
// the machine happens under `lock`; the interrupt path takes the same lock,
// so it never restores half-way through a swapon, and it exits while holding
// it, so the main thread cannot carry on afterwards.

import Dispatch
import Foundation
import Glibc

final class BenchCleanup: @unchecked Sendable {
    static let shared = BenchCleanup()

    /// Recursive: an undo step spawns swapoff, which registers its child.
    private let lock = NSRecursiveLock()
    private var children: Set<pid_t> = []
    private var tempFiles: Set<String> = []
    private var restorers: [() -> Void] = []
    private var sources: [DispatchSourceSignal] = []

    /// Catches SIGINT, SIGTERM and SIGHUP from now on.
    func install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.interrupted(by: sig) }
            source.resume()
            sources.append(source)
        }
    }

    func childStarted(_ pid: pid_t) { locked { _ = children.insert(pid) } }
    func childEnded(_ pid: pid_t) { locked { _ = children.remove(pid) } }

    /// A temporary file path that an interrupt must remove.
    func tempFile(_ path: String) -> String {
        locked { _ = tempFiles.insert(path) }
        return path
    }

    /// Removes a temporary file now.
    func removeTempFile(_ path: String) {
        locked {
            unlink(path)
            _ = tempFiles.remove(path)
        }
    }

    /// Runs a change to the machine so that an interrupt waits for it.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Registers an undo step; `restoreAll` runs them newest first.
    func onRestore(_ undo: @escaping () -> Void) { locked { restorers.append(undo) } }

    /// Runs every registered undo step once.
    func restoreAll() {
        locked {
            while let undo = restorers.popLast() { undo() }
        }
    }

    private func interrupted(by sig: Int32) {
        lock.lock()   // held until exit
        FileHandle.standardError.write(Data("\r\u{1B}[K\npagezip bench: interrupted; cleaning up\n".utf8))
        for pid in children {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        children.removeAll()
        for path in tempFiles { unlink(path) }
        while let undo = restorers.popLast() { undo() }
        exit(128 + sig)
    }
}
