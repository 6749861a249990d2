// The stats socket on disk: the per-user directory (0700, ours, not writable
// by others) and "<pid>.sock" (0600), bound under a pending name and renamed
// into place once it listens, so a client never finds a socket that is not
// ready yet.

import CPageZipPreload
import CPageZipSys
import Glibc
import PageZipCore

enum StatsListener {
    enum Outcome {
        /// The listening descriptor (non-blocking, close-on-exec).
        case listening(Int32)
        case failed(String)
        /// exit() has begun: no socket any more.
        case exiting
    }

    static func open(shared: StatsServerShared, directory: String) -> Outcome {
        if let why = prepareDirectory(directory) { return .failed(why) }
        let pid = getpid()
        let path = StatsSocketPath.socket(in: directory, pid: pid)
        let pending = StatsSocketPath.pending(in: directory, pid: pid)
        guard pending.utf8.count <= StatsSocketPath.maxPathBytes else {
            return .failed("the socket path \(pending) is longer than \(StatsSocketPath.maxPathBytes) bytes; set PAGEZIP_SOCKET_DIR to a shorter directory")
        }
        let made = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard made >= 0 else { return .failed("socket(AF_UNIX): \(errnoText())") }
        // High and shielded from the host's close loops and dup2 (fdguard.c).
        let fd = pz_preload_own_fd(made)
        shared.setListenFd(fd)
        func fail(_ what: String) -> Outcome {
            let why = errnoText()
            unlink(pending)
            shared.clearListenFd()
            _ = pz_preload_close_own_fd(fd)
            return .failed("\(what) \(pending): \(why)")
        }
        // A file under our pid's name is left over from a process that had
        // this pid before (or from this process before exec): never alive.
        unlink(pending)
        guard bindUnix(fd, pending) else { return fail("bind") }
        guard chmod(pending, 0o600) == 0 else { return fail("chmod") }
        guard listen(fd, StatsProtocol.listenBacklog) == 0 else { return fail("listen") }
        pz_mutex_lock(shared.lock)
        if pz_load32(shared.closing) != 0 {
            // exit() has begun: do not leave a socket behind.
            pz_mutex_unlock(shared.lock)
            unlink(pending)
            shared.clearListenFd()
            _ = pz_preload_close_own_fd(fd)
            return .exiting
        }
        guard rename(pending, path) == 0 else {
            pz_mutex_unlock(shared.lock)
            return fail("rename into place")
        }
        shared.publish(path, owner: pid)
        pz_mutex_unlock(shared.lock)
        sweepStaleSockets(directory)
        return .listening(fd)
    }

    /// Removes the sockets of processes that are gone: a process that ends
    /// with _exit (forked children often do), a signal or exec runs no exit
    /// handler.  A pid no process has can own nothing here; a process that
    /// later gets that pid makes its socket afresh.
    static func sweepStaleSockets(_ dir: String) {
        guard let d = opendir(dir) else { return }
        defer { closedir(d) }
        var seen = 0
        while let entry = readdir(d), seen < 100_000 {
            seen += 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = StatsSocketPath.pid(fromName: name) ?? StatsSocketPath.pid(fromName: name, pending: true) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + name) }
        }
    }

    /// Creates the directory (0700), or checks that an existing one is a
    /// directory of this user that no one else can write to (where another
    /// user could swap our socket for theirs).  Returns why not, or nil.
    static func prepareDirectory(_ dir: String) -> String? {
        // chmod too: the host's umask may have taken the owner's x bit.
        if mkdir(dir, 0o700) == 0 { return chmod(dir, 0o700) == 0 ? nil : "cannot chmod \(dir): \(errnoText())" }
        let err = errno
        guard err == EEXIST else { return "cannot create \(dir): \(String(cString: strerror(err)))" }
        var st = stat()
        guard lstat(dir, &st) == 0 else { return "cannot inspect \(dir): \(errnoText())" }
        guard st.st_mode & S_IFMT == S_IFDIR else { return "\(dir) is not a directory" }
        guard st.st_uid == geteuid() else { return "\(dir) belongs to uid \(st.st_uid), not to this user (\(geteuid()))" }
        guard st.st_mode & 0o022 == 0 else {
            return "\(dir) is writable by other users (mode \(String(st.st_mode & 0o777, radix: 8))); make it 0700"
        }
        return nil
    }

    static func bindUnix(_ fd: Int32, _ path: String) -> Bool {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { dst in
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            dst.copyBytes(from: bytes)
        }
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}

/// $XDG_RUNTIME_DIR if it is this user's own directory that nobody else can
/// write to, else nil.  A root process that kept a user's XDG_RUNTIME_DIR
/// (su, sudo -E) must not create files in a directory that user controls.
func privateRuntimeDirectory(_ path: String?) -> String? {
    guard let path else { return nil }
    var st = stat()
    guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid(), st.st_mode & 0o022 == 0 else {
        return nil
    }
    return path
}

func errnoText() -> String { String(cString: strerror(errno)) }
