// The human formats: one process in detail, process groups as a zramctl-like
// table, allocation sites.

public enum StatsText {
    /// Columns of the group table, with what each means (for --help and the docs).
    public static let columnHelp: [(String, String)] = [
        ("PGID", "process group (getpgid): a shell job, or a server and its workers"),
        ("PROCS", "processes of the group that serve stats"),
        ("DATA", "memory held, uncompressed, zero pages included (zram orig_data_size; zswap stored_pages x 4 KiB)"),
        ("COMPR", "compressed size of DATA (zram compr_data_size)"),
        ("TOTAL", "pool memory, allocator overhead included (zram mem_used_total; zswap pool_total_size)"),
        ("ZERO", "held pages that were all zeros: they use no pool memory (zram same_pages)"),
        ("RATIO", "DATA / TOTAL: bytes held per byte of pool memory ('-' while the pool is empty)"),
        ("REFAULTS", "held pages brought back because they were touched (like vmstat zswpin)"),
        ("REFAULT/s", "refaults per second since the previous refresh (pagezip top)"),
        ("REJECTS", "pages left resident: compress poorly (zswap reject_compress_poor) + pool full (zswap reject_alloc_fail) + busy"),
        ("COMMAND", "the group leader's command, else the first process's"),
    ]

    /// The group table; `rates` adds the REFAULT/s column (pagezip top).
    public static func groups(_ groups: [StatsProcessGroup], exactBytes: Bool = false, rates: [Int32: Double]? = nil) -> String {
        var header = ["PGID", "PROCS", "DATA", "COMPR", "TOTAL", "ZERO", "RATIO", "REFAULTS"]
        if rates != nil { header.append("REFAULT/s") }
        header += ["REJECTS", "COMMAND"]
        var rows = [header]
        for g in groups {
            let u = g.usage
            var row = [String(g.pgid), String(g.processes.count), StatsFormat.size(u.origDataBytes, exact: exactBytes),
                       StatsFormat.size(u.comprDataBytes, exact: exactBytes), StatsFormat.size(u.poolBytes, exact: exactBytes),
                       String(u.zeroPages), StatsFormat.ratio(u), String(u[.refaults])]
            if let rates { row.append(StatsFormat.fixed(rates[g.pgid] ?? 0, decimals: 1)) }
            row += [String(u.rejectedPages), printable(g.command)]
            rows.append(row)
        }
        return StatsFormat.table(rows, leftAligned: [header.count - 1])
    }

    /// One process in detail: summary line, every counter with its zswap/zram
    /// name, latencies, the process-group table and the configuration.
    public static func process(_ s: StatsSnapshot, exactBytes: Bool = false) -> String {
        let p = s.process
        let b = s.backend
        let u = s.usage
        var out = "pagezip \(p.libraryVersion) in pid \(p.pid) (\(printable(p.command))), process group \(p.pgid), "
            + "up \(StatsFormat.duration(ns: p.uptimeNs))\n"
        let via = b.access == "device" ? "/dev/userfaultfd" : (b.access == "syscall" ? "userfaultfd(2)" : b.access)
        out += "backend: \(b.name) via \(via), \(b.state), threads \(b.threads), euid \(b.euid), features \(StatsFormat.hex(b.features))\n\n"
        out += StatsFormat.table([
            ["DATA", "COMPR", "TOTAL", "ZERO", "RATIO", "REFAULTS", "REJECTS"],
            [StatsFormat.size(u.origDataBytes, exact: exactBytes), StatsFormat.size(u.comprDataBytes, exact: exactBytes),
             StatsFormat.size(u.poolBytes, exact: exactBytes), String(u.zeroPages), StatsFormat.ratio(u),
             String(u[.refaults]), String(u.rejectedPages)],
        ], leftAligned: [])

        var rows: [[String]] = []
        var section = ""
        for m in StatsCatalog.all {
            if m.section != section {
                section = m.section
                rows.append([section, "", ""])
            }
            rows.append(["  " + m.label, value(m, u, exactBytes: exactBytes), m.kernelName ?? ""])
        }
        out += "\n" + StatsFormat.table(rows, leftAligned: [0, 2])

        out += "\nlatency\n"
        out += StatsFormat.table([
            ["", "p50", "p90", "p99", "p99.9", "samples"],
            latencyRow("  fault service", u.faultLatency),
            latencyRow("  store, per page", u.storeLatency),
        ], leftAligned: [0])

        out += "\nprocess groups charged in this process (16-bit IDs)\n"
        var groupRows = [["  ID", "PGID", "STORED", "COMPR", "LIMIT", "LIMIT HITS", "EVER STORED"]]
        for g in s.groups {
            groupRows.append(["  \(g.id)", g.pgid < 0 ? "overflow" : String(g.pgid), String(g.storedPages),
                              StatsFormat.size(g.comprBytes, exact: exactBytes),
                              g.limitBytes == 0 ? "none" : StatsFormat.size(g.limitBytes, exact: exactBytes),
                              String(g.limitHits), String(g.storedTotal)])
        }
        if s.groups.isEmpty { groupRows.append(["  (none yet)"]) }
        out += StatsFormat.table(groupRows, leftAligned: [0])

        out += "\nconfiguration in force\n"
        out += StatsFormat.table(s.config.map { ["  " + $0.name, describe($0, exactBytes: exactBytes)] }, leftAligned: [0, 1])
        return out
    }

    /// A process name as one line of a table: control characters (a thread
    /// may name itself anything) become "?".
    public static func printable(_ s: String) -> String {
        // C0, DEL and C1 (0x80-0x9F: a terminal may read 0x9B as CSI).
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0x9F) ? "?" : $0 }))
    }

    static func value(_ m: StatsMetric, _ u: StatsUsage, exactBytes: Bool) -> String {
        let v = m.value(u)
        switch m.kind {
        case .gaugeBytes: return StatsFormat.size(v, exact: exactBytes)
        case .counterNanos: return StatsFormat.duration(ns: v)
        default: return String(v)
        }
    }

    static func latencyRow(_ label: String, _ l: StatsLatency) -> [String] {
        guard l.count > 0 else { return [label, "-", "-", "-", "-", "0"] }
        return [label] + [0.5, 0.9, 0.99, 0.999].map { StatsFormat.duration(ns: l.percentile($0)) } + [String(l.count)]
    }

    static func describe(_ e: StatsConfigEntry, exactBytes: Bool) -> String {
        switch e.value {
        case .uint(let n) where e.name.hasSuffix("_bytes"):
            // A limit like reject_above_bytes=3072 reads better exact than as "3K".
            return n == 0 ? "0 (none)" : StatsFormat.size(n, exact: exactBytes || n < 65536)
        case .uint(let n): return String(n)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "yes" : "no"
        case .string(let s): return s
        }
    }

    /// Allocation sites, largest compressed footprint first.
    public static func sites(_ s: StatsSnapshot, exactBytes: Bool = false) -> String {
        let p = s.process
        let out = "allocation sites of pid \(p.pid) (\(printable(p.command))): where its mmap calls came from, and what pagezip holds of that memory\n"
        guard let sites = s.sites, !sites.isEmpty else {
            return out + "  none recorded\n"
        }
        let ordered = sites.sorted { ($0.comprBytes, $0.storedPages, $1.id) > ($1.comprBytes, $1.storedPages, $0.id) }
        var rows = [["SITE", "CALLS", "MAPPED", "STORED", "DATA", "COMPR", "FRAMES (innermost first)"]]
        for site in ordered {
            let frames = site.frames
            if frames.isEmpty {
                rows.append([String(site.id), String(site.calls), StatsFormat.size(site.mappedBytes, exact: exactBytes), String(site.storedPages),
                             StatsFormat.size(site.storedPages &* 4096, exact: exactBytes),
                             StatsFormat.size(site.comprBytes, exact: exactBytes), "(not recorded)"])
            }
            for (k, f) in frames.enumerated() {
                let frame = StatsFormat.hex(f.address) + (f.symbol.map { " " + printable($0) } ?? "")
                if k == 0 {
                    rows.append([String(site.id), String(site.calls), StatsFormat.size(site.mappedBytes, exact: exactBytes), String(site.storedPages),
                                 StatsFormat.size(site.storedPages &* 4096, exact: exactBytes),
                                 StatsFormat.size(site.comprBytes, exact: exactBytes), frame])
                } else {
                    rows.append(["", "", "", "", "", "", frame])
                }
            }
        }
        return out + StatsFormat.table(rows, leftAligned: [6])
    }
}
