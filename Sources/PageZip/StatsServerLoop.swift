// The stats server's event loop: one thread, non-blocking sockets, poll(2).
//
// Up to StatsProtocol.maxConnections connections are served at once, each
// with its own buffer and deadline, so a slow or silent client delays nobody
// (more clients wait in the listen backlog).  Every read is bounded
// (maxRequestBytes), every connection is closed at its deadline
// (requestTimeoutNs to ask, as long again to take the answer), bad input
// gets an error answer and a closed connection, and sends use MSG_NOSIGNAL
// so a vanished client is an EPIPE here instead of a SIGPIPE for the host.
// Peers of another user are refused (SO_PEERCRED; root may read anyone's).
//
// The loop reads the engine only through StatsProvider (relaxed atomic
// loads); it never takes the map lock or a pool lock.

import CPageZipPreload
import CPageZipSys
import Glibc
import PageZipCore

struct StatsConnection {
    let fd: Int32
    /// Its slot in StatsServerShared (for the fork child).
    let slot: Int
    /// Reading: requestTimeoutNs from accept.  Answering: as long again from
    /// the moment the answer is ready, so a slow render is not cut off.
    var deadline: UInt64
    var input: [UInt8] = []
    var output: [UInt8] = []
    var sent = 0
    var answering: Bool { !output.isEmpty }
}

/// struct ucred (hidden behind _GNU_SOURCE in Swift's Glibc module).
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

typealias Accept4Function = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

struct StatsEventLoop {
    let listenFd: Int32
    let shared: StatsServerShared
    var connections: [StatsConnection] = []
    /// After EMFILE and friends, stop accepting for a moment instead of spinning.
    var acceptPausedUntil: UInt64 = 0
    let accept4: Accept4Function?
    let serverName = "pagezip/" + String(describing: pagezipVersion)
    var scratch = [UInt8](repeating: 0, count: StatsProtocol.maxRequestBytes + 1)

    init(listenFd: Int32, shared: StatsServerShared) {
        self.listenFd = listenFd
        self.shared = shared
        // accept4 is hidden from Swift's Glibc module; RTLD_DEFAULT is a null handle.
        accept4 = dlsym(nil, "accept4").map { unsafeBitCast($0, to: Accept4Function.self) }
    }

    mutating func run() -> Never {
        var fds: [pollfd] = []
        while true {
            let now = pz_now_ns()
            let canAccept = connections.count < StatsProtocol.maxConnections && now >= acceptPausedUntil
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: canAccept ? listenFd : -1, events: Int16(POLLIN), revents: 0))
            for c in connections {
                fds.append(pollfd(fd: c.fd, events: Int16(c.answering ? POLLOUT : POLLIN), revents: 0))
            }
            var wake = connections.map(\.deadline).min()
            if acceptPausedUntil > now { wake = min(wake ?? UInt64.max, acceptPausedUntil) }
            let timeoutMs: Int32 = wake.map { $0 <= now ? 0 : Int32(min(($0 - now + 999_999) / 1_000_000, 60_000)) } ?? -1
            let n = poll(&fds, nfds_t(fds.count), timeoutMs)
            if n < 0 {
                if errno != EINTR { pz_sys_sleep_ns(100_000_000) }
                continue
            }
            // Descending, so removing connection i keeps the others' indices.
            var i = connections.count - 1
            while i >= 0 {
                let events = fds[i + 1].revents
                if events != 0 { service(i, events) }
                i -= 1
            }
            expire(now: pz_now_ns())
            if fds[0].revents != 0 { acceptAll() }
        }
    }

    // MARK: accepting

    mutating func acceptAll() {
        while connections.count < StatsProtocol.maxConnections {
            let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            var fd: Int32
            if let accept4 {
                fd = accept4(listenFd, nil, nil, flags)
            } else {
                fd = accept(listenFd, nil, nil)
                if fd >= 0 {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(fd, F_SETFL, O_NONBLOCK)
                }
            }
            if fd < 0 {
                let err = errno
                if err == EINTR || err == ECONNABORTED || err == EPROTO { continue }
                if err != EAGAIN && err != EWOULDBLOCK {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the host may need its descriptors back.
                    acceptPausedUntil = pz_now_ns() + 100_000_000
                }
                return
            }
            fd = pz_preload_own_fd(fd)
            guard let slot = shared.recordConnection(fd) else {
                _ = pz_preload_close_own_fd(fd)
                continue
            }
            if let refusal = refusal(fd) {
                sendOnce(fd, StatsProtocol.error(.forbidden, refusal, server: serverName))
                closeConnection(fd, slot: slot)
                continue
            }
            connections.append(StatsConnection(fd: fd, slot: slot, deadline: pz_now_ns() + StatsProtocol.requestTimeoutNs))
        }
    }

    /// Why this peer may not read our stats, or nil: same user, or root.
    func refusal(_ fd: Int32) -> String? {
        var cred = PeerCredentials()
        var len = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0,
              len == socklen_t(MemoryLayout<PeerCredentials>.size) else {
            return "the peer's credentials are unknown"
        }
        let me = geteuid()
        if cred.uid == me || cred.uid == 0 { return nil }
        return "uid \(cred.uid) may not read the stats of a process of uid \(me)"
    }

    // MARK: serving

    mutating func service(_ i: Int, _ events: Int16) {
        if connections[i].answering {
            flush(i)
        } else {
            readRequest(i)
        }
    }

    mutating func readRequest(_ i: Int) {
        let fd = connections[i].fd
        var peerClosed = false
        let room = StatsProtocol.maxRequestBytes + 1 - connections[i].input.count
        let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, room, Int32(MSG_DONTWAIT)) }
        if n > 0 {
            connections[i].input.append(contentsOf: scratch[0..<n])
        } else if n == 0 {
            peerClosed = true
        } else {
            let err = errno
            if err == EAGAIN || err == EWOULDBLOCK || err == EINTR { return }
            drop(i)
            return
        }
        switch StatsProtocol.parse(connections[i].input, peerClosed: peerClosed) {
        case .incomplete:
            return
        case .serve(let route, let headOnly):
            connections[i].output = answer(route, headOnly: headOnly)
        case .reject(let status, let why):
            connections[i].output = StatsProtocol.error(status, why, server: serverName)
        }
        connections[i].deadline = pz_now_ns() + StatsProtocol.requestTimeoutNs
        flush(i)
    }

    func answer(_ route: StatsRoute, headOnly: Bool) -> [UInt8] {
        let snapshot = currentStatsSnapshot(includeSites: route.includesSites)
        let body: String
        switch route {
        case .text: body = StatsText.process(snapshot)
        case .json, .sitesJSON: body = StatsJSONCodec.encode(snapshot).rendered()
        case .prometheus: body = StatsPrometheus.render(snapshot)
        case .sitesText: body = StatsText.sites(snapshot)
        }
        return StatsProtocol.response(.ok, contentType: route.contentType, body: Array(body.utf8), headOnly: headOnly,
                                      server: serverName)
    }

    mutating func flush(_ i: Int) {
        let fd = connections[i].fd
        while connections[i].sent < connections[i].output.count {
            let sent = connections[i].sent
            let n = connections[i].output.withUnsafeBytes { out in
                send(fd, out.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n > 0 {
                connections[i].sent += n
                continue
            }
            let err = errno
            if n < 0 && err == EINTR { continue }
            if n < 0 && (err == EAGAIN || err == EWOULDBLOCK) { return }   // wait for POLLOUT
            break                                                          // EPIPE, ECONNRESET: gone
        }
        drop(i)
    }

    /// Connections past their deadline: a last word if they never finished
    /// asking, then closed.
    mutating func expire(now: UInt64) {
        var i = connections.count - 1
        while i >= 0 {
            if connections[i].deadline <= now {
                if !connections[i].answering {
                    sendOnce(connections[i].fd, StatsProtocol.error(.requestTimeout, "the request took longer than 2 s", server: serverName))
                }
                drop(i)
            }
            i -= 1
        }
    }

    mutating func drop(_ i: Int) {
        let c = connections.remove(at: i)
        closeConnection(c.fd, slot: c.slot)
    }

    /// One non-blocking attempt; whatever does not fit is lost.
    func sendOnce(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
    }

    /// Shut down (so the client sees the end even if a forked child inherited
    /// the descriptor), read what the client still sent (unread data would
    /// turn its end of the answer into ECONNRESET), and close.
    func closeConnection(_ fd: Int32, slot: Int) {
        _ = shutdown(fd, Int32(SHUT_WR))
        var drained = 0
        var sink = [UInt8](repeating: 0, count: 4096)
        while drained < 64 << 10 {
            let n = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
            drained += n
        }
        _ = shutdown(fd, Int32(SHUT_RDWR))
        shared.clearConnection(slot)
        _ = pz_preload_close_own_fd(fd)
    }
}
