// Talking to stats sockets: finding them, asking one, waiting for one to
// appear, and removing those whose process is gone.  Shared by `pagezip
// stats` and `pagezip top`.

import Foundation
import PageZipCore

struct StatsEndpoint: Equatable {
    var pid: Int32
    var path: String
}

enum StatsClientError: Error, CustomStringConvertible {
    case noSocket(pid: Int32, dirs: [String])
    case connect(path: String, errno: Int32)
    case refused(pid: Int32, message: String)
    case http(pid: Int32, status: Int, message: String)
    case timeout(pid: Int32)
    case malformed(pid: Int32, reason: String)

    var description: String {
        switch self {
        case .noSocket(let pid, let dirs):
            return "no stats socket for pid \(pid) in \(dirs.joined(separator: ", ")) (is it running under pagezip, "
                + "and has it paged anything out? the server starts 0.2 s after the first page-out; --wait waits for it)"
        case .connect(let path, let e):
            return "cannot connect to \(path): \(String(cString: strerror(e)))"
        case .refused(let pid, let m):
            return "pid \(pid) refused the connection: \(m)"
        case .http(let pid, let status, let m):
            return "pid \(pid) answered \(status): \(m)"
        case .timeout(let pid):
            return "pid \(pid) did not answer in time"
        case .malformed(let pid, let reason):
            return "pid \(pid) sent an answer this command cannot read: \(reason)"
        }
    }
}

enum StatsClient {
    /// The directories to look in: --socket-dir alone if given, else every
    /// place a process of this user may have used.
    static func directories(explicit: String?) -> [String] {
        if let explicit { return [explicit] }
        let env = ProcessInfo.processInfo.environment
        return StatsSocketPath.candidates(configured: env["PAGEZIP_SOCKET_DIR"], xdgRuntimeDir: env["XDG_RUNTIME_DIR"],
                                          uid: geteuid())
    }

    /// Sockets of live processes, ascending by pid.  Sockets of processes
    /// that are gone are removed on the way.
    static func discover(in dirs: [String]) -> [StatsEndpoint] {
        var found: [StatsEndpoint] = []
        for dir in dirs {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names {
                let path = dir + "/" + name
                if let pid = StatsSocketPath.pid(fromName: name) {
                    if isStale(path: path, pid: pid) {
                        unlink(path)
                    } else if !found.contains(where: { $0.pid == pid }) {
                        found.append(StatsEndpoint(pid: pid, path: path))
                    }
                } else if let pid = StatsSocketPath.pid(fromName: name, pending: true), !processExists(pid) {
                    unlink(path)
                }
            }
        }
        return found.sorted { $0.pid < $1.pid }
    }

    static func endpoint(pid: Int32, in dirs: [String]) -> StatsEndpoint? {
        for dir in dirs {
            let path = StatsSocketPath.socket(in: dir, pid: pid)
            if access(path, F_OK) == 0 { return StatsEndpoint(pid: pid, path: path) }
        }
        return nil
    }

    /// Waits up to `seconds` for pid's socket to appear (inotify on the
    /// directories, so it returns as soon as the server renames its socket
    /// into place); nil when it did not, or the process ended.
    static func waitForEndpoint(pid: Int32, in dirs: [String], seconds: Double) -> StatsEndpoint? {
        let deadline = Date().addingTimeInterval(seconds)
        let ino = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        defer { if ino >= 0 { close(ino) } }
        var watched: Set<String> = []
        while true {
            // Watch each directory, or its parent while it does not exist yet.
            if ino >= 0 {
                for dir in dirs {
                    let target = FileManager.default.fileExists(atPath: dir) ? dir : (dir as NSString).deletingLastPathComponent
                    if !watched.contains(target),
                       inotify_add_watch(ino, target, UInt32(IN_CREATE | IN_MOVED_TO | IN_ATTRIB)) >= 0 {
                        watched.insert(target)
                    }
                }
            }
            if let e = endpoint(pid: pid, in: dirs) { return e }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 || !processExists(pid) { return nil }
            // Woken by a directory event; the short cap only notices a process that exits.
            var p = pollfd(fd: ino, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, ino >= 0 ? 1 : 0, Int32(min(left, 0.25) * 1000) + 1)
            if ino >= 0 {
                var buf = [UInt8](repeating: 0, count: 4096)
                while read(ino, &buf, buf.count) > 0 {}
            }
        }
    }

    /// One request, answered in full or an error; bounded by `timeout`.
    static func request(_ endpoint: StatsEndpoint, _ path: String, timeout: Double) throws -> StatsProtocol.Response {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StatsClientError.connect(path: endpoint.path, errno: errno) }
        defer { close(fd) }
        // SO_SNDTIMEO also bounds connect() on a Unix socket whose backlog is full.
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(endpoint.path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw StatsClientError.connect(path: endpoint.path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let e = errno
            if e == EAGAIN || e == EINPROGRESS { throw StatsClientError.timeout(pid: endpoint.pid) }
            throw StatsClientError.connect(path: endpoint.path, errno: e)
        }
        let req = Array("GET \(path) HTTP/1.0\r\nUser-Agent: pagezip-cli\r\n\r\n".utf8)
        var sent = 0
        while sent < req.count {
            let n = req.withUnsafeBytes { send(fd, $0.baseAddress! + sent, req.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw StatsClientError.timeout(pid: endpoint.pid) }
            break   // the server may have refused us before reading: read its answer
        }
        let deadline = Date().addingTimeInterval(timeout)
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            if let r = StatsProtocol.parseResponse(data, peerClosed: false) { return try check(r, endpoint) }
            if deadline.timeIntervalSinceNow <= 0 { throw StatsClientError.timeout(pid: endpoint.pid) }
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 {
                data += buf[0..<n]
                if data.count > 256 << 20 { throw StatsClientError.malformed(pid: endpoint.pid, reason: "answer larger than 256 MiB") }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw StatsClientError.timeout(pid: endpoint.pid) }
            // End of stream (or reset after the answer).
            if let r = StatsProtocol.parseResponse(data, peerClosed: true) { return try check(r, endpoint) }
            throw StatsClientError.malformed(pid: endpoint.pid, reason: data.isEmpty ? "connection closed without an answer" : "not an HTTP answer")
        }
    }

    private static func check(_ r: StatsProtocol.Response, _ e: StatsEndpoint) throws -> StatsProtocol.Response {
        if r.status == 200 { return r }
        let message = String(decoding: r.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if r.status == 403 { throw StatsClientError.refused(pid: e.pid, message: message) }
        throw StatsClientError.http(pid: e.pid, status: r.status, message: message)
    }

    /// A process's snapshot (`sites` adds its allocation sites).
    static func snapshot(_ endpoint: StatsEndpoint, sites: Bool = false, timeout: Double) throws -> StatsSnapshot {
        let r = try request(endpoint, sites ? StatsRoute.sitesJSON.rawValue : StatsRoute.json.rawValue, timeout: timeout)
        do {
            return try StatsJSONCodec.decode(r.body)
        } catch {
            throw StatsClientError.malformed(pid: endpoint.pid, reason: "\(error)")
        }
    }

    /// Snapshots of every endpoint that answers; the others with their error.
    static func snapshots(_ endpoints: [StatsEndpoint], timeout: Double) -> ([StatsSnapshot], [(StatsEndpoint, Error)]) {
        var ok: [StatsSnapshot] = []
        var failed: [(StatsEndpoint, Error)] = []
        for e in endpoints {
            do {
                ok.append(try snapshot(e, timeout: timeout))
            } catch StatsClientError.connect(_, let err) where err == ECONNREFUSED || err == ENOENT {
                // Exited between discovery and now: not an error.
                continue
            } catch {
                failed.append((e, error))
            }
        }
        return (ok, failed)
    }

    // MARK: stale sockets

    static func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    /// A socket is stale when its process is gone, or when nothing listens on
    /// it and it is older than the process now holding its pid.
    static func isStale(path: String, pid: Int32) -> Bool {
        if !processExists(pid) { return true }
        guard let started = processStartTime(pid) else { return false }
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        let modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        guard modified + 1 < started else { return false }
        // Probe: a listening server accepts; a leftover file refuses.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc != 0 && errno == ECONNREFUSED
    }

    /// When a process started, in seconds since the epoch (/proc/PID/stat
    /// field 22 and /proc/stat btime).
    static func processStartTime(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }   // field 22 overall
        guard let procStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = procStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let btime = Double(line.dropFirst(6)) else { return nil }
        return btime + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    // MARK: processes without a socket

    /// This user's processes that have libpagezip.so loaded but serve no
    /// stats (nothing paged out yet, pass-through, or PAGEZIP_STATS=0).
    static func quietProcesses(excluding served: Set<Int32>) -> [(pid: Int32, command: String)] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let me = geteuid()
        var out: [(Int32, String)] = []
        for name in entries {
            guard let pid = Int32(name), pid != getpid(), !served.contains(pid) else { continue }
            var st = stat()
            guard stat("/proc/\(name)", &st) == 0, st.st_uid == me else { continue }
            guard let maps = try? String(contentsOfFile: "/proc/\(name)/maps", encoding: .utf8),
                  maps.contains("/libpagezip.so") else { continue }
            let comm = (try? String(contentsOfFile: "/proc/\(name)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            out.append((pid, comm))
        }
        return out.sorted { $0.0 < $1.0 }
    }
}
