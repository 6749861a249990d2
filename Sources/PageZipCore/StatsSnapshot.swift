// One process's stats at one moment, as the stats server reports them and the
// `pagezip` command reads them back (or the sum over a process group).
//
// Plain values only: the library fills a snapshot from the engine's atomics,
// the renderers (StatsText, StatsJSONCodec, StatsPrometheus) take it from
// there, so the library and the command print exactly the same thing.

public struct StatsSnapshot: Equatable, Sendable {
    /// The "version" field of the JSON document.
    public static let schemaVersion = 1

    public var process: StatsProcess
    public var backend: StatsBackend
    /// The configuration in force, in a fixed order (name, value).
    public var config: [StatsConfigEntry]
    public var usage: StatsUsage
    /// The process-group table: pages charged per group (16-bit IDs).
    public var groups: [StatsGroupUsage]
    /// Allocation sites; nil unless asked for (`/sites`).
    public var sites: [SiteUsage]?

    public init(process: StatsProcess, backend: StatsBackend, config: [StatsConfigEntry], usage: StatsUsage,
                groups: [StatsGroupUsage], sites: [SiteUsage]? = nil) {
        self.process = process
        self.backend = backend
        self.config = config
        self.usage = usage
        self.groups = groups
        self.sites = sites
    }
}

public struct StatsProcess: Equatable, Sendable {
    public var pid: Int32
    public var pgid: Int32
    public var uid: UInt32
    /// The main thread's name (/proc/self/comm).
    public var command: String
    public var libraryVersion: String
    /// Nanoseconds since the library booted in this process (a forked child
    /// keeps its parent's clock, like its counters).
    public var uptimeNs: UInt64

    public init(pid: Int32, pgid: Int32, uid: UInt32, command: String, libraryVersion: String, uptimeNs: UInt64) {
        self.pid = pid
        self.pgid = pgid
        self.uid = uid
        self.command = command
        self.libraryVersion = libraryVersion
        self.uptimeNs = uptimeNs
    }
}

/// How pagezip restores pages here, and with which rights.
public struct StatsBackend: Equatable, Sendable {
    /// "active" (compressing) or "passthrough" (the program runs unchanged).
    public var state: String
    /// "userfaultfd"
    public var name: String
    /// How the userfaultfd was opened: "device" (/dev/userfaultfd, file
    /// permissions decide) or "syscall" (root, CAP_SYS_PTRACE or
    /// vm.unprivileged_userfaultfd=1); "none" in pass-through.
    public var access: String
    /// UFFD_FEATURE_* bits the kernel granted.
    public var features: UInt64
    /// pagezip's own threads: "not started" (nothing paged out yet), "running", "failed".
    public var threads: String
    /// The effective user ID the process runs as.
    public var euid: UInt32

    public init(state: String, name: String, access: String, features: UInt64, threads: String, euid: UInt32) {
        self.state = state
        self.name = name
        self.access = access
        self.features = features
        self.threads = threads
        self.euid = euid
    }
}

/// A configuration value: what a PAGEZIP_* variable resolved to.
public enum StatsValue: Equatable, Sendable {
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)
}

public struct StatsConfigEntry: Equatable, Sendable {
    public var name: String
    public var value: StatsValue

    public init(_ name: String, _ value: StatsValue) {
        self.name = name
        self.value = value
    }
}

/// One record of the process-group table.
public struct StatsGroupUsage: Equatable, Sendable {
    /// The 16-bit ID entries carry (65535: the shared overflow ID).
    public var id: UInt16
    /// The process group, or -1 for the overflow ID.
    public var pgid: Int32
    /// Pages held for the group, zero pages included.
    public var storedPages: UInt64
    public var comprBytes: UInt64
    /// The group's pool limit (0 = none), and how often it refused a page.
    public var limitBytes: UInt64
    public var limitHits: UInt64
    /// Pages ever stored for the group.
    public var storedTotal: UInt64

    public init(id: UInt16, pgid: Int32, storedPages: UInt64, comprBytes: UInt64, limitBytes: UInt64,
                limitHits: UInt64, storedTotal: UInt64) {
        self.id = id
        self.pgid = pgid
        self.storedPages = storedPages
        self.comprBytes = comprBytes
        self.limitBytes = limitBytes
        self.limitHits = limitHits
        self.storedTotal = storedTotal
    }
}

/// Where memory was allocated (a call stack captured at mmap time) and what
/// pagezip holds of it.
public struct SiteUsage: Equatable, Sendable {
    public var id: UInt32
    /// Innermost frame first.
    public var frames: [SiteFrame]
    /// mmap calls made from this site.
    public var calls: UInt64
    /// Bytes of this site's mappings still mapped (uncompressed, resident or not).
    public var mappedBytes: UInt64
    public var storedPages: UInt64
    public var comprBytes: UInt64

    public init(id: UInt32, frames: [SiteFrame], calls: UInt64, mappedBytes: UInt64, storedPages: UInt64, comprBytes: UInt64) {
        self.id = id
        self.frames = frames
        self.calls = calls
        self.mappedBytes = mappedBytes
        self.storedPages = storedPages
        self.comprBytes = comprBytes
    }
}

public struct SiteFrame: Equatable, Sendable {
    public var address: UInt64
    /// "function+0x1c" when a symbol is known.
    public var symbol: String?

    public init(address: UInt64, symbol: String? = nil) {
        self.address = address
        self.symbol = symbol
    }
}
