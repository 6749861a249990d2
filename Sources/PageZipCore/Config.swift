// Configuration from PAGEZIP_* environment variables.
//
// Like mimalloc's option table: every option has a name, a default and a
// parser; a bad value produces one warning that names the variable, the value,
// what was expected and the default used instead, and never stops the host.

public struct Config: Sendable, Equatable {
    public enum ReclaimMode: String, Sendable, Equatable { case hints, auto }

    /// PAGEZIP_ENABLE: 0 turns pagezip into a pass-through.
    public var enabled = true
    /// PAGEZIP_LOG
    public var logLevel = LogLevel.warn
    /// PAGEZIP_POOL_MAX: pool limit in bytes (0 = none); default 20 % of RAM, zswap's max_pool_percent.
    public var poolMaxBytes: UInt64 = 0
    /// PAGEZIP_ACCEPT_THRESHOLD: after hitting the pool limit, accept again below this % of it (zswap's accept_threshold_percent).
    public var acceptThresholdPercent: Int = 90
    /// PAGEZIP_GROUP_POOL_MAX: pool limit per process group (memcg memory.zswap.max), 0 = none.
    public var groupPoolMaxBytes: UInt64 = 0
    /// PAGEZIP_REJECT_ABOVE: compressed sizes above this stay resident (reject_compress_poor).
    public var rejectAboveBytes: Int = 3072
    /// PAGEZIP_FAULT_AROUND: at most this many pages restored per fault on sequential access.
    public var faultAroundPages: Int = 8
    /// PAGEZIP_RECLAIM: hints (only MADV_PAGEOUT/MADV_COLD) or auto (cold pages found by pagezip).
    public var reclaimMode = ReclaimMode.hints
    /// PAGEZIP_COLD_AGE: seconds a page must stay untouched before auto reclaim takes it.
    public var coldAgeSeconds: Double = 120
    /// PAGEZIP_TARGET_RSS: compress coldest first until RSS is under this (0 = none).
    public var targetRSSBytes: UInt64 = 0
    /// PAGEZIP_RECLAIM_CPU: share of one core the reclaimer may use, percent.
    public var reclaimCPUPercent: Double = 5
    /// PAGEZIP_REFAULT_BUDGET: refaults per minute allowed, as % of the stored pages.
    public var refaultBudgetPercent: Double = 0.2
    /// PAGEZIP_TRACK_WRITES: in auto reclaim, learn which pages are written
    /// (userfaultfd write-protect, async, plus PAGEMAP_SCAN) where the kernel can.
    public var trackWrites = true
    /// PAGEZIP_STATS: serve stats on a Unix socket.
    public var statsEnabled = true
    /// PAGEZIP_SITES: record the call sites of the host's mmap calls (libunwind).
    public var sitesEnabled = true
    /// PAGEZIP_SOCKET_DIR
    public var socketDir: String? = nil

    public init() {}

    public static let variables: [(name: String, help: String)] = [
        ("PAGEZIP_ENABLE", "1 (default) or 0: 0 makes pagezip a pass-through"),
        ("PAGEZIP_LOG", "quiet | error | warn (default) | info | debug"),
        ("PAGEZIP_POOL_MAX", "pool limit: bytes with K/M/G suffix, or % of RAM (default 20%); 0 = none"),
        ("PAGEZIP_ACCEPT_THRESHOLD", "after a pool-limit hit, store again once the pool is below this % of the limit (default 90)"),
        ("PAGEZIP_GROUP_POOL_MAX", "pool limit per process group, bytes with K/M/G (default none)"),
        ("PAGEZIP_REJECT_ABOVE", "keep pages resident whose compressed size exceeds this many bytes (64-4095, default 3072)"),
        ("PAGEZIP_FAULT_AROUND", "pages restored per fault on sequential access (1-64, default 8)"),
        ("PAGEZIP_RECLAIM", "hints (default: only MADV_PAGEOUT/MADV_COLD) | auto (compress cold pages on its own)"),
        ("PAGEZIP_COLD_AGE", "seconds untouched before auto reclaim takes a page; s/m suffix (default 120s)"),
        ("PAGEZIP_TARGET_RSS", "compress coldest first until RSS is under this; K/M/G (default none)"),
        ("PAGEZIP_RECLAIM_CPU", "% of one core the reclaimer may use (default 5)"),
        ("PAGEZIP_REFAULT_BUDGET", "refaults per minute allowed, % of stored pages (default 0.2)"),
        ("PAGEZIP_TRACK_WRITES", "1 (default) or 0: auto reclaim tracks writes (userfaultfd write-protect + PAGEMAP_SCAN, Linux >= 6.7)"),
        ("PAGEZIP_STATS", "1 (default) or 0: serve live stats on a Unix socket"),
        ("PAGEZIP_SITES", "1 (default) or 0: record where the program's mmap calls come from (pagezip stats --sites)"),
        ("PAGEZIP_SOCKET_DIR", "directory for stats sockets (default $XDG_RUNTIME_DIR/pagezip or /tmp/pagezip-$UID)"),
    ]

    /// Reads the options through `env`; returns the configuration and one
    /// warning line (without the "pagezip: " prefix) per bad value.
    public static func load(env: (String) -> String?, memTotalBytes: UInt64) -> (Config, [String]) {
        var c = Config()
        var warnings: [String] = []
        c.poolMaxBytes = memTotalBytes / 5

        func bad(_ name: String, _ value: String, _ expected: String, _ fallback: String) {
            warnings.append("\(name)=\(value) is not \(expected); using \(fallback)")
        }

        if let v = env("PAGEZIP_ENABLE") {
            if let b = parseBool(v) { c.enabled = b } else { bad("PAGEZIP_ENABLE", v, "0 or 1", "1") }
        }
        if let v = env("PAGEZIP_LOG") {
            if let l = LogLevel(name: v) { c.logLevel = l } else { bad("PAGEZIP_LOG", v, "quiet, error, warn, info or debug", "warn") }
        }
        if let v = env("PAGEZIP_POOL_MAX") {
            if let pct = parsePercent(v) {
                c.poolMaxBytes = UInt64(Double(memTotalBytes) * pct / 100)
            } else if let b = parseSize(v) {
                c.poolMaxBytes = b
            } else {
                bad("PAGEZIP_POOL_MAX", v, "a size (512M, 2G) or a percentage of RAM (25%)", "20%")
            }
        }
        if let v = env("PAGEZIP_ACCEPT_THRESHOLD") {
            if let n = Int(v.trimmingSuffix("%")), (0...100).contains(n) { c.acceptThresholdPercent = n }
            else { bad("PAGEZIP_ACCEPT_THRESHOLD", v, "a percentage from 0 to 100", "90") }
        }
        if let v = env("PAGEZIP_GROUP_POOL_MAX") {
            if let b = parseSize(v) { c.groupPoolMaxBytes = b } else { bad("PAGEZIP_GROUP_POOL_MAX", v, "a size (256M, 1G)", "no limit") }
        }
        if let v = env("PAGEZIP_REJECT_ABOVE") {
            if let n = Int(v), (64...4095).contains(n) { c.rejectAboveBytes = n }
            else { bad("PAGEZIP_REJECT_ABOVE", v, "a byte count from 64 to 4095", "3072") }
        }
        if let v = env("PAGEZIP_FAULT_AROUND") {
            if let n = Int(v), (1...64).contains(n) { c.faultAroundPages = n }
            else { bad("PAGEZIP_FAULT_AROUND", v, "a page count from 1 to 64", "8") }
        }
        if let v = env("PAGEZIP_RECLAIM") {
            if let m = ReclaimMode(rawValue: v.lowercased()) { c.reclaimMode = m } else { bad("PAGEZIP_RECLAIM", v, "auto or hints", "hints") }
        }
        if let v = env("PAGEZIP_COLD_AGE") {
            if let s = parseDuration(v), s > 0 { c.coldAgeSeconds = s } else { bad("PAGEZIP_COLD_AGE", v, "a duration (90, 30s, 2m)", "120s") }
        }
        if let v = env("PAGEZIP_TARGET_RSS") {
            if let b = parseSize(v) { c.targetRSSBytes = b } else { bad("PAGEZIP_TARGET_RSS", v, "a size (512M, 2G)", "none") }
        }
        if let v = env("PAGEZIP_RECLAIM_CPU") {
            if let d = Double(v.trimmingSuffix("%")), d > 0, d <= 100 { c.reclaimCPUPercent = d }
            else { bad("PAGEZIP_RECLAIM_CPU", v, "a percentage of one core (0-100]", "5") }
        }
        if let v = env("PAGEZIP_REFAULT_BUDGET") {
            if let d = Double(v.trimmingSuffix("%")), d >= 0 { c.refaultBudgetPercent = d }
            else { bad("PAGEZIP_REFAULT_BUDGET", v, "a percentage", "0.2") }
        }
        if let v = env("PAGEZIP_TRACK_WRITES") {
            if let b = parseBool(v) { c.trackWrites = b } else { bad("PAGEZIP_TRACK_WRITES", v, "0 or 1", "1") }
        }
        if let v = env("PAGEZIP_STATS") {
            if let b = parseBool(v) { c.statsEnabled = b } else { bad("PAGEZIP_STATS", v, "0 or 1", "1") }
        }
        if let v = env("PAGEZIP_SITES") {
            if let b = parseBool(v) { c.sitesEnabled = b } else { bad("PAGEZIP_SITES", v, "0 or 1", "1") }
        }
        if let v = env("PAGEZIP_SOCKET_DIR"), !v.isEmpty {
            if v.hasPrefix("/") { c.socketDir = v } else { bad("PAGEZIP_SOCKET_DIR", v, "an absolute path", "the default") }
        }
        return (c, warnings)
    }

    public static func parseBool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: return nil
        }
    }

    /// "4096", "512K", "64M", "2G", "1T", "1.5G", with optional "B"/"iB"; powers of 1024.
    public static func parseSize(_ raw: String) -> UInt64? {
        var s = raw.trimmingCharacters()
        guard !s.isEmpty else { return nil }
        if s.uppercased().hasSuffix("IB") { s.removeLast(2) } else if s.uppercased().hasSuffix("B") { s.removeLast() }
        var mult: Double = 1
        if let last = s.last {
            switch last {
            case "k", "K": mult = 1024
            case "m", "M": mult = 1_048_576
            case "g", "G": mult = 1_073_741_824
            case "t", "T": mult = 1_099_511_627_776
            default: break
            }
            if mult != 1 { s.removeLast() }
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), let d = Double(s), d >= 0, d * mult < 1.8e19 else {
            return nil
        }
        return UInt64(d * mult)
    }

    /// "25%" -> 25
    public static func parsePercent(_ s: String) -> Double? {
        let t = s.trimmingCharacters()
        guard t.hasSuffix("%"), let d = Double(t.dropLast()), d >= 0, d <= 100 else { return nil }
        return d
    }

    /// "90", "30s", "2m", "1h", "1.5m" -> seconds
    public static func parseDuration(_ raw: String) -> Double? {
        var s = raw.trimmingCharacters().lowercased()
        var mult: Double = 1
        if s.hasSuffix("ms") {
            mult = 0.001
            s.removeLast(2)
        } else if let last = s.last, "smh".contains(last) {
            mult = last == "s" ? 1 : (last == "m" ? 60 : 3600)
            s.removeLast()
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), let d = Double(s), d >= 0 else { return nil }
        return d * mult
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }

    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
