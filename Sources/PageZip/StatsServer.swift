// The stats server's life cycle: when its thread starts, what a forked child
// does with the parent's socket, and removing the socket at exit.
//
// The server renders text with Swift strings, so it is a pthread (pagezip's
// fault handler and store worker are raw clones glibc does not know about,
// which may not allocate).  Creating a pthread is not free for the host:
// glibc switches stdio and malloc to locked mode for good, and the kernel
// refuses unshare(CLONE_NEWUSER) to a multi-threaded process.  Measured on
// the development VM (glibc 2.36): a getc() loop over 200 MB took 5.5-5.9 s
// with one extra pthread instead of 0.9-1.2 s, and `unshare -U true` failed
// with EINVAL.  So the thread starts on first use — when the program first
// pages something out — never at load time, and it then waits
// `startDelayNs` before it touches the file system, so a short-lived process
// never creates a socket.
//
// Like any thread the program did not create, it also takes part in glibc's
// set*id broadcast: a program that drops privileges with a per-thread
// capset() between set*id() calls (setpriv does) then aborts in glibc,
// because the threads' results differ (measured: `setpriv --reuid=...`
// under pagezip with a stats thread from boot).  Programs drop privileges
// before they page anything out, so starting on first use keeps them safe.
//
// pthread_create and pthread_atfork allocate, so they run only where malloc
// is usable: never in the engine's fork-child handler (it runs before the
// allocator's own), never on a raw thread.
//
// Entry points for the engine:
//   statsServerStartAtBoot()       end of a successful boot: no thread, no
//                                  file system; maps the shared words and the
//                                  stack, notes $XDG_RUNTIME_DIR, registers
//                                  the exit handler.
//   statsServerStartOnFirstUse()   from a host thread once pagezip is in use
//                                  (after ensureStarted() in the page-out and
//                                  cold-hint entry points; with auto reclaim,
//                                  from the first waiting call after its first
//                                  store: statshook.c).
//                                  Idempotent: one atomic load after the first call.
//   statsServerAfterForkInChild()  optional, from the engine's fork-child
//                                  handler: closes the parent's descriptors
//                                  without unlinking its socket; allocation-free.
// The child's own server is started by a pthread_atfork child handler this
// file registers on first use: registered after the allocator's, it runs
// after malloc works again in the child.

import CPageZipPreload
import CPageZipSys
import Glibc
import PageZipCore

enum StatsServerTiming {
    /// How long the thread waits before it creates the directory and socket.
    static let startDelayNs: UInt64 = 200_000_000
    static let stackSize = 512 << 10
}

/// Words the server thread shares with the fork and exit handlers, in one
/// page from a raw mmap (never the host's heap: the fork child reads it while
/// only one thread exists).  Descriptors are stored plus one, so that 0 means
/// none; a slot is cleared before its descriptor is closed, so a recorded
/// descriptor is always one of ours.
struct StatsServerShared {
    let words: UnsafeMutablePointer<UInt32>

    private static let wLock = 0            // pz_mutex: publishing vs. unlinking at exit
    private static let wStarted = 16        // 0 not started, 1 thread started
    private static let wClosing = 17        // 1 once the exit handler ran
    private static let wPublished = 18      // 1 while <pid>.sock is ours to unlink
    private static let wListenFd = 19
    private static let wOwnerPid = 20       // the process the published socket belongs to
    private static let wConnections = 64    // maxConnections slots
    private static let pathOffset = 2048    // bytes
    static let bytes = 4096

    init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt32.self, capacity: StatsServerShared.bytes / 4)
    }

    var lock: UnsafeMutablePointer<UInt32> { words + StatsServerShared.wLock }
    var started: UnsafeMutablePointer<UInt32> { words + StatsServerShared.wStarted }
    var closing: UnsafeMutablePointer<UInt32> { words + StatsServerShared.wClosing }

    func setListenFd(_ fd: Int32) { pz_store32(words + StatsServerShared.wListenFd, UInt32(bitPattern: fd) &+ 1) }
    func clearListenFd() { pz_store32(words + StatsServerShared.wListenFd, 0) }

    /// Records an accepted connection: its slot, or nil when every slot is taken.
    func recordConnection(_ fd: Int32) -> Int? {
        for i in 0..<StatsProtocol.maxConnections where pz_cas32(words + StatsServerShared.wConnections + i, 0, UInt32(bitPattern: fd) &+ 1) {
            return i
        }
        return nil
    }

    func clearConnection(_ slot: Int) { pz_store32(words + StatsServerShared.wConnections + slot, 0) }

    /// Marks `path` as this process's socket (lock held).
    func publish(_ path: String, owner: Int32) {
        let dst = UnsafeMutableRawPointer(words) + StatsServerShared.pathOffset
        let n = min(path.utf8.count, StatsServerShared.bytes - StatsServerShared.pathOffset - 1)
        var p = path
        p.withUTF8 { src in dst.copyMemory(from: src.baseAddress!, byteCount: n) }
        dst.storeBytes(of: 0, toByteOffset: n, as: UInt8.self)
        pz_store32(words + StatsServerShared.wOwnerPid, UInt32(bitPattern: owner))
        pz_store32(words + StatsServerShared.wPublished, 1)
    }

    /// The process whose thread serves (set before the thread starts, so
    /// exit can tell a child that ran no atfork handler from the server's
    /// own process).
    func setOwner(_ pid: Int32) { pz_store32(words + StatsServerShared.wOwnerPid, UInt32(bitPattern: pid)) }

    func ownedBy(_ pid: Int32) -> Bool {
        Int32(bitPattern: pz_load32(words + StatsServerShared.wOwnerPid)) == pid
    }

    /// Unlinks the published socket if this process owns it (lock held).
    func unpublish() {
        guard pz_load32(words + StatsServerShared.wPublished) == 1,
              Int32(bitPattern: pz_load32(words + StatsServerShared.wOwnerPid)) == getpid() else { return }
        let path = (UnsafeMutableRawPointer(words) + StatsServerShared.pathOffset).assumingMemoryBound(to: CChar.self)
        unlink(path)
        pz_store32(words + StatsServerShared.wPublished, 0)
    }

    /// In a fork child (one thread): close the parent's descriptors and
    /// forget its socket without unlinking it.  `started` is kept: it tells
    /// the child whether its parent served stats.  Raw system calls and
    /// stores only, so it may run before the allocator works in the child.
    @_noLocks
    func dropParentDescriptors() {
        let listen = pz_load32(words + StatsServerShared.wListenFd)
        if listen != 0 { _ = pz_preload_close_own_fd(Int32(bitPattern: listen &- 1)) }
        for i in 0..<StatsProtocol.maxConnections {
            let v = pz_load32(words + StatsServerShared.wConnections + i)
            if v != 0 { _ = pz_preload_close_own_fd(Int32(bitPattern: v &- 1)) }
            pz_store32(words + StatsServerShared.wConnections + i, 0)
        }
        pz_store32(words + StatsServerShared.wLock, 0)
        pz_store32(words + StatsServerShared.wClosing, 0)
        pz_store32(words + StatsServerShared.wPublished, 0)
        pz_store32(words + StatsServerShared.wListenFd, 0)
        pz_store32(words + StatsServerShared.wOwnerPid, 0)
    }
}

/// Set once at boot, before any pagezip thread exists.
nonisolated(unsafe) private var statsShared: StatsServerShared?
nonisolated(unsafe) private var statsStack: UnsafeMutableRawPointer?
nonisolated(unsafe) private var statsXdgRuntimeDir: String?
/// The directory in use; written by the stats thread only.
nonisolated(unsafe) var statsDirectory = ""

func statsServerStartAtBoot() {
    guard bootConfig.statsEnabled, statsShared == nil else { return }
    statsXdgRuntimeDir = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) }
    // One mapping: the shared words, a guard page, the thread's stack.
    // MAP_NORESERVE: untouched stack pages cost nothing.
    let total = StatsServerShared.bytes + 4096 + StatsServerTiming.stackSize
    let r = pz_sys_mmap(0, total, 0x1 | 0x2, 0x02 | 0x20 | 0x4000, -1, 0)
    guard r > 0 || r < -4095, let base = UnsafeMutableRawPointer(bitPattern: r) else {
        statsLog("live stats are off: cannot map \(total) bytes")
        return
    }
    _ = pz_sys_madvise(UInt(bitPattern: base), total, 16)   // MADV_DONTDUMP
    _ = pz_sys_mprotect(UInt(bitPattern: base) + UInt(StatsServerShared.bytes), 4096, 0)
    // Never to be stored: glibc reads the stats thread's descriptor (top of
    // this stack) in a fork child before anything can fault it back, and the
    // exit and fork handlers read the words.  `excluded` has no lock: boot
    // fills it before any pagezip thread runs, so only then (hints mode; with
    // auto reclaim its thread already runs here — see the report).
    if let e = engineStorage, pz_load32(e.pointee.word(.started)) == 0, e.pointee.reclaim == nil {
        e.pointee.excluded.insert(UInt(bitPattern: base), UInt(bitPattern: base) + UInt(total))
    }
    statsShared = StatsServerShared(memory: base)
    statsStack = base + StatsServerShared.bytes + 4096
    atexit { statsServerAtExit() }
}

nonisolated(unsafe) private var statsForkHandlerRegistered = false

func statsServerStartOnFirstUse() {
    guard let shared = statsShared, let stack = statsStack else { return }
    guard pz_load32(shared.started) == 0 else { return }
    // Before the flag: a fork right after it must find the handler that
    // clears it in the child.  (Two racing first uses may both register;
    // the handler is idempotent.)
    if !statsForkHandlerRegistered {
        statsForkHandlerRegistered = true
        pthread_atfork(nil, nil) { statsServerForkChild() }
    }
    guard pz_cas32(shared.started, 0, 1) else { return }
    shared.setOwner(getpid())
    let err = pz_thread_start({ _ in statsServerMain() }, nil, stack, StatsServerTiming.stackSize)
    if err != 0 { statsLog("live stats are off: cannot start the stats thread (errno \(err))") }
}

/// Auto reclaim stored its first pages: a host thread in a waiting call
/// (statshook.c) brings us here.
@_cdecl("pz_engine_stats_wanted")
public func statsServerWanted() {
    statsServerStartOnFirstUse()
}

@_noLocks
func statsServerAfterForkInChild() {
    guard let shared = statsShared else { return }
    shared.dropParentDescriptors()
}

/// The child handler registered on first use.  A child of a process that
/// served stats serves its own, but not from this handler: a thread made
/// here would exist while the child drops privileges or execs.  It starts
/// like the parent's did, on the child's first page-out or (auto reclaim)
/// in its first waiting call (the parent's thread does not exist here, so
/// its stack is free for ours).
private func statsServerForkChild() {
    guard let shared = statsShared else { return }
    shared.dropParentDescriptors()
    let parentServed = pz_load32(shared.started) != 0
    pz_store32(shared.started, 0)
    if parentServed && bootConfig.reclaimMode == .auto { pz_preload_want_stats_again() }
}

/// Removes this process's socket.  Runs from exit(); a socket left by
/// _exit, a signal or exec is stale, and `pagezip stats` removes it.
private func statsServerAtExit() {
    guard let shared = statsShared, pz_load32(shared.started) != 0 else { return }
    // A child made by _Fork() or a raw clone ran no atfork handler: the lock
    // may be its parent's, held forever here.  It never owns a socket.
    guard shared.ownedBy(getpid()) else { return }
    pz_mutex_lock(shared.lock)
    pz_store32(shared.closing, 1)
    shared.unpublish()
    pz_mutex_unlock(shared.lock)
}

/// The thread never returns: when the socket cannot be made (the directory
/// is not there yet, or belongs to the user the process was before it
/// dropped privileges) it tries again, doubling the wait up to a minute.
private func statsServerMain() {
    pz_preload_mark_internal_thread()
    let name: StaticString = "pagezip-stats"
    pz_set_thread_name(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self))
    let shared = statsShared.unsafelyUnwrapped   // set before the thread starts
    sleepFully(StatsServerTiming.startDelayNs)
    var retryNs: UInt64 = 1_000_000_000
    var logged = false
    while true {
        // The user now, not at boot: a daemon may have dropped privileges.
        statsDirectory = StatsSocketPath.directory(configured: bootConfig.socketDir,
                                                   xdgRuntimeDir: privateRuntimeDirectory(statsXdgRuntimeDir), uid: geteuid())
        switch StatsListener.open(shared: shared, directory: statsDirectory) {
        case .listening(let fd):
            var loop = StatsEventLoop(listenFd: fd, shared: shared)
            loop.run()
        case .failed(let why):
            if !logged { statsLog("live stats are off for now: \(why); retrying") }
            logged = true
        case .exiting:
            break
        }
        sleepFully(retryNs)
        retryNs = min(retryNs * 2, 60_000_000_000)
    }
}

/// nanosleep until `ns` have passed, whatever interrupts it (glibc's
/// set*id signal reaches this thread too).
private func sleepFully(_ ns: UInt64) {
    let end = pz_now_ns() + ns
    var now = pz_now_ns()
    while now < end {
        pz_sys_sleep_ns(end - now)
        now = pz_now_ns()
    }
}

/// One line on stderr at PAGEZIP_LOG=info or more: live stats are optional,
/// so their problems never speak up at the default level.
func statsLog(_ message: String) {
    if bootConfig.logLevel >= .info { writeStderr("pagezip: \(message)\n") }
}
