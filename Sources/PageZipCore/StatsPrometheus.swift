// Prometheus text exposition (format 0.0.4): one process as its stats socket
// serves it at /metrics, or process groups as `pagezip stats --prometheus`
// prints them (every sample labelled pgid="...").
//
// Names end in _bytes, _seconds or _total as Prometheus asks; HELP names the
// zswap/zram counterpart.  Label sets per metric are bounded: the
// process-group table contributes at most `maxGroupSeries` groups, the rest
// summed under pgid="other".

public enum StatsPrometheus {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    public static let maxGroupSeries = 32

    /// One process: every metric unlabelled, plus the process-group table.
    public static func render(_ s: StatsSnapshot) -> String {
        var out = ""
        let p = s.process
        let b = s.backend
        family(&out, "pagezip_info", "gauge", "Always 1; the labels describe the process and how pagezip runs in it.")
        sample(&out, "pagezip_info", labels([("version", p.libraryVersion), ("pid", String(p.pid)), ("pgid", String(p.pgid)),
                                             ("command", p.command), ("state", b.state), ("backend", b.name),
                                             ("access", b.access), ("threads", b.threads)]), "1")
        family(&out, "pagezip_active", "gauge", "1 when pagezip compresses in this process, 0 in pass-through.")
        sample(&out, "pagezip_active", "", b.state == "active" ? "1" : "0")
        family(&out, "pagezip_uptime_seconds", "gauge", "Seconds since pagezip started in this process.")
        sample(&out, "pagezip_uptime_seconds", "", StatsFormat.seconds(ns: p.uptimeNs))
        usageFamilies(&out, [("", s.usage)])
        groupTable(&out, s.groups)
        config(&out, s.config)
        return out
    }

    /// Process groups across processes (`pagezip stats --prometheus`).
    public static func render(groups: [StatsProcessGroup]) -> String {
        var out = ""
        let series = groups.map { (labels([("pgid", String($0.pgid))]), $0.usage) }
        family(&out, "pagezip_group_processes", "gauge", "Processes of the process group that serve stats.")
        for g in groups {
            sample(&out, "pagezip_group_processes", labels([("pgid", String(g.pgid)), ("command", g.command)]),
                   String(g.processes.count))
        }
        usageFamilies(&out, series)
        return out
    }

    /// The catalogue and the latency summaries, one sample per label set.
    static func usageFamilies(_ out: inout String, _ series: [(String, StatsUsage)]) {
        for m in StatsCatalog.all {
            let type: String
            switch m.kind {
            case .gaugePages, .gaugeBytes, .gaugeCount: type = "gauge"
            case .counter, .counterNanos: type = "counter"
            }
            family(&out, m.prometheusName, type, m.help)
            for (l, u) in series {
                let v = m.value(u)
                sample(&out, m.prometheusName, l, m.kind == .counterNanos ? StatsFormat.seconds(ns: v) : String(v))
            }
        }
        summary(&out, "pagezip_fault_latency_seconds", "Time to serve a userfaultfd fault (decompress and map the page).",
                series.map { ($0.0, $0.1.faultLatency, Optional($0.1[.faultNanos])) })
        summary(&out, "pagezip_store_latency_seconds", "Time to store one page (move, zero check, LZ4, pool), per batch average.",
                series.map { ($0.0, $0.1.storeLatency, nil) })
    }

    static func summary(_ out: inout String, _ name: String, _ help: String, _ series: [(String, StatsLatency, UInt64?)]) {
        family(&out, name, "summary", help)
        for (l, lat, sumNs) in series {
            for q in [0.5, 0.9, 0.99, 0.999] {
                let ql = labelPair("quantile", String(q))
                let all = l.isEmpty ? "{\(ql)}" : String(l.dropLast()) + ",\(ql)}"
                // An empty summary's quantiles are NaN, as Prometheus client libraries write them.
                sample(&out, name, all, lat.count == 0 ? "NaN" : StatsFormat.seconds(ns: lat.percentile(q)))
            }
            if let sumNs { sample(&out, name + "_sum", l, StatsFormat.seconds(ns: sumNs)) }
            sample(&out, name + "_count", l, String(lat.count))
        }
    }

    /// The process-group table of one process, bounded in label sets.
    static func groupTable(_ out: inout String, _ groups: [StatsGroupUsage]) {
        let ordered = groups.sorted { ($0.storedPages, $1.pgid) > ($1.storedPages, $0.pgid) }
        var shown = Array(ordered.prefix(maxGroupSeries))
        if ordered.count > maxGroupSeries {
            var other = StatsGroupUsage(id: 0, pgid: -2, storedPages: 0, comprBytes: 0, limitBytes: 0, limitHits: 0, storedTotal: 0)
            for g in ordered.dropFirst(maxGroupSeries) {
                other.storedPages &+= g.storedPages
                other.comprBytes &+= g.comprBytes
                other.limitHits &+= g.limitHits
                other.storedTotal &+= g.storedTotal
            }
            shown.append(other)
        }
        func pgidLabel(_ g: StatsGroupUsage) -> String {
            labels([("pgid", g.pgid == -2 ? "other" : (g.pgid < 0 ? "overflow" : String(g.pgid)))])
        }
        let families: [(String, String, String, (StatsGroupUsage) -> UInt64)] = [
            ("pagezip_group_stored_pages", "gauge", "Pages held for the process group (zero pages included).", { $0.storedPages }),
            ("pagezip_group_compr_data_size_bytes", "gauge", "Compressed bytes held for the process group.", { $0.comprBytes }),
            ("pagezip_group_pool_limit_bytes", "gauge", "The process group's pool limit; 0 means none.", { $0.limitBytes }),
            ("pagezip_group_pool_limit_hit_total", "counter", "Pages the process group's pool limit refused.", { $0.limitHits }),
            ("pagezip_group_stored_pages_total", "counter", "Pages ever stored for the process group.", { $0.storedTotal }),
        ]
        for (name, type, help, value) in families {
            family(&out, name, type, help)
            for g in shown { sample(&out, name, pgidLabel(g), String(value(g))) }
        }
    }

    /// Numeric options as one gauge each; the others as labels of an info metric.
    static func config(_ out: inout String, _ entries: [StatsConfigEntry]) {
        family(&out, "pagezip_config", "gauge", "Numeric configuration in force, one sample per option.")
        var text: [(String, String)] = []
        for e in entries {
            switch e.value {
            case .uint(let n): sample(&out, "pagezip_config", labels([("option", e.name)]), String(n))
            case .double(let d): sample(&out, "pagezip_config", labels([("option", e.name)]), d.isFinite ? String(d) : "NaN")
            case .bool(let b): sample(&out, "pagezip_config", labels([("option", e.name)]), b ? "1" : "0")
            case .string(let s): text.append((e.name, s))
            }
        }
        family(&out, "pagezip_config_info", "gauge", "Always 1; the labels are the configuration options that are words.")
        sample(&out, "pagezip_config_info", labels(text), "1")
    }

    static func family(_ out: inout String, _ name: String, _ type: String, _ help: String) {
        out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    static func sample(_ out: inout String, _ name: String, _ labels: String, _ value: String) {
        out += name + labels + " " + value + "\n"
    }

    /// `{a="1",b="2"}`, or "" for none.  Label names are [a-zA-Z_][a-zA-Z0-9_]*.
    static func labels(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "{" + pairs.map { labelPair($0.0, $0.1) }.joined(separator: ",") + "}"
    }

    static func labelPair(_ name: String, _ value: String) -> String {
        var n = ""
        for (i, u) in name.unicodeScalars.enumerated() {
            let ok = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || u == "_" || (i > 0 && u >= "0" && u <= "9")
            n.unicodeScalars.append(ok ? u : "_")
        }
        var v = ""
        for u in value.unicodeScalars {
            switch u {
            case "\\": v += "\\\\"
            case "\"": v += "\\\""
            case "\n": v += "\\n"
            default: v.unicodeScalars.append(u)
            }
        }
        return "\(n.isEmpty ? "_" : n)=\"\(v)\""
    }

    static func escapeHelp(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
