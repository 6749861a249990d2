// Where stats sockets live, shared by the library (which creates them) and
// the command (which finds them).
//
// One directory per user: $PAGEZIP_SOCKET_DIR, else $XDG_RUNTIME_DIR/pagezip,
// else /tmp/pagezip-$UID.  The directory is 0700 and owned by the user; in it
// each process has "<pid>.sock" (0600).  A socket is bound under
// "<pid>.sock.new" and renamed into place once it listens, so a "<pid>.sock"
// that refuses connections belongs to a process that is gone.

public enum StatsSocketPath {
    public static let suffix = ".sock"
    public static let pendingSuffix = ".sock.new"
    /// sockaddr_un.sun_path holds 108 bytes, NUL included.
    public static let maxPathBytes = 107

    /// The directory this process uses.
    public static func directory(configured: String?, xdgRuntimeDir: String?, uid: UInt32) -> String {
        if let c = configured, c.hasPrefix("/") { return trimmed(c) }
        if let x = xdgRuntimeDir, x.hasPrefix("/") { return trimmed(x) + "/pagezip" }
        return "/tmp/pagezip-\(uid)"
    }

    /// Every directory a process of this user may have used, in the order the
    /// command looks at them (a process started from cron has no XDG_RUNTIME_DIR).
    public static func candidates(configured: String?, xdgRuntimeDir: String?, uid: UInt32) -> [String] {
        var dirs: [String] = []
        for d in [configured.map { trimmed($0) }, xdgRuntimeDir.map { trimmed($0) + "/pagezip" }, "/tmp/pagezip-\(uid)"] {
            if let d, d.hasPrefix("/"), !dirs.contains(d) { dirs.append(d) }
        }
        return dirs
    }

    public static func socket(in dir: String, pid: Int32) -> String { "\(dir)/\(pid)\(suffix)" }
    public static func pending(in dir: String, pid: Int32) -> String { "\(dir)/\(pid)\(pendingSuffix)" }

    /// The pid a directory entry is named after: "123.sock" -> 123 (also
    /// "123.sock.new" with `pending`); nil for anything else.
    public static func pid(fromName name: String, pending: Bool = false) -> Int32? {
        let s = pending ? pendingSuffix : suffix
        guard name.hasSuffix(s) else { return nil }
        let digits = name.dropLast(s.count)
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }),
              digits.first != "0", let pid = Int32(digits), pid > 0 else { return nil }
        return pid
    }

    static func trimmed(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }
}
