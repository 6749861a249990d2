// A snapshot as JSON (schema version 1) and back.
//
//   {"version": 1,
//    "process": {"pid", "pgid", "uid", "command", "library_version", "uptime_ns"},
//    "backend": {"state", "name", "access", "features", "threads", "euid"},
//    "config":  {"pool_max_bytes": ..., "reclaim": "hints", ...},
//    "usage":   {"counters": {"stored_pages": ..., one member per engine counter},
//                "pool": {"mem_used_total", "allocated_bytes", "limit_bytes", "pool_limit_hit", "pages_released"},
//                "registered_regions", "group_overflow_assignments",
//                "fault_latency_ns": {"count", "p50", "p90", "p99", "p999", "buckets": [[index, count], ...]},
//                "store_latency_ns": {...}},
//    "derived": {"orig_data_size", "compr_data_size", "mem_used_total", "allocator_overhead", "ratio"},
//    "groups":  [{"id", "pgid", "stored_pages", "compr_data_size", "limit_bytes", "limit_hits", "stored_total"}],
//    "sites":   [{"id", "frames": [{"address": "0x...", "symbol"}], "calls", "mapped_bytes", "stored_pages", "compr_data_size"}]}
//
// Decoding is strict about shape and types (a wrong type anywhere rejects the
// document) and lenient about content that may legitimately differ between a
// library and a command of different builds: unknown members are ignored,
// a counter the library does not know reads as 0.  "derived" and the
// percentiles are recomputed from the rest, never read back.

public enum StatsJSONCodec {
    public struct DecodeError: Error, Equatable, CustomStringConvertible, Sendable {
        public var reason: String
        public var description: String { "not a pagezip stats document: \(reason)" }
    }

    // MARK: encoding

    public static func encode(_ s: StatsSnapshot) -> StatsJSON {
        var doc: [StatsJSON.Member] = [
            .init("version", .uint(UInt64(StatsSnapshot.schemaVersion))),
            .init("process", encode(s.process)),
            .init("backend", encode(s.backend)),
            .init("config", .object(s.config.map { .init($0.name, encode($0.value)) })),
            .init("usage", encode(s.usage)),
            .init("derived", derived(s.usage)),
            .init("groups", .array(s.groups.map(encode))),
        ]
        if let sites = s.sites { doc.append(.init("sites", .array(sites.map(encode)))) }
        return .object(doc)
    }

    static func encode(_ p: StatsProcess) -> StatsJSON {
        .object([
            .init("pid", .int(Int64(p.pid))),
            .init("pgid", .int(Int64(p.pgid))),
            .init("uid", .uint(UInt64(p.uid))),
            .init("command", .string(p.command)),
            .init("library_version", .string(p.libraryVersion)),
            .init("uptime_ns", .uint(p.uptimeNs)),
        ])
    }

    static func encode(_ b: StatsBackend) -> StatsJSON {
        .object([
            .init("state", .string(b.state)),
            .init("name", .string(b.name)),
            .init("access", .string(b.access)),
            .init("features", .string(StatsFormat.hex(b.features))),
            .init("threads", .string(b.threads)),
            .init("euid", .uint(UInt64(b.euid))),
        ])
    }

    static func encode(_ v: StatsValue) -> StatsJSON {
        switch v {
        case .uint(let n): return .uint(n)
        case .double(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        }
    }

    public static func encode(_ u: StatsUsage) -> StatsJSON {
        .object([
            .init("counters", .object(Counter.allCases.map { .init($0.name, .uint(u[$0])) })),
            .init("pool", .object([
                .init("mem_used_total", .uint(u.poolBytes)),
                .init("allocated_bytes", .uint(u.poolAllocatedBytes)),
                .init("limit_bytes", .uint(u.poolLimitBytes)),
                .init("pool_limit_hit", .uint(u.poolLimitHits)),
                .init("pages_released", .uint(u.poolPagesReleased)),
            ])),
            .init("registered_regions", .uint(u.registeredRegions)),
            .init("group_overflow_assignments", .uint(u.groupOverflowAssignments)),
            .init("fault_latency_ns", encode(u.faultLatency)),
            .init("store_latency_ns", encode(u.storeLatency)),
        ])
    }

    static func encode(_ l: StatsLatency) -> StatsJSON {
        .object([
            .init("count", .uint(l.count)),
            .init("p50", .uint(l.percentile(0.5))),
            .init("p90", .uint(l.percentile(0.9))),
            .init("p99", .uint(l.percentile(0.99))),
            .init("p999", .uint(l.percentile(0.999))),
            .init("buckets", .array(l.buckets.map { .array([.uint(UInt64($0.index)), .uint($0.count)]) })),
        ])
    }

    /// Convenience values for readers of the JSON; ignored when decoding.
    public static func derived(_ u: StatsUsage) -> StatsJSON {
        .object([
            .init("orig_data_size", .uint(u.origDataBytes)),
            .init("compr_data_size", .uint(u.comprDataBytes)),
            .init("mem_used_total", .uint(u.poolBytes)),
            .init("allocator_overhead", .uint(u.allocatorOverheadBytes)),
            .init("same_pages", .uint(u.zeroPages)),
            .init("ratio", StatsFormat.ratioValue(u).map { .double($0) } ?? .null),
        ])
    }

    static func encode(_ g: StatsGroupUsage) -> StatsJSON {
        .object([
            .init("id", .uint(UInt64(g.id))),
            .init("pgid", .int(Int64(g.pgid))),
            .init("stored_pages", .uint(g.storedPages)),
            .init("compr_data_size", .uint(g.comprBytes)),
            .init("limit_bytes", .uint(g.limitBytes)),
            .init("limit_hits", .uint(g.limitHits)),
            .init("stored_total", .uint(g.storedTotal)),
        ])
    }

    static func encode(_ s: SiteUsage) -> StatsJSON {
        .object([
            .init("id", .uint(UInt64(s.id))),
            .init("frames", .array(s.frames.map { f in
                var m: [StatsJSON.Member] = [.init("address", .string(StatsFormat.hex(f.address)))]
                if let sym = f.symbol { m.append(.init("symbol", .string(sym))) }
                return .object(m)
            })),
            .init("calls", .uint(s.calls)),
            .init("mapped_bytes", .uint(s.mappedBytes)),
            .init("stored_pages", .uint(s.storedPages)),
            .init("compr_data_size", .uint(s.comprBytes)),
        ])
    }

    // MARK: decoding

    public static func decode(_ bytes: [UInt8]) throws -> StatsSnapshot {
        try decode(try StatsJSON.parse(bytes))
    }

    public static func decode(_ doc: StatsJSON) throws(DecodeError) -> StatsSnapshot {
        var r = Reader(path: "")
        guard doc.members != nil else { throw DecodeError(reason: "the document is not an object") }
        let version = try r.uint(doc, "version")
        guard version == UInt64(StatsSnapshot.schemaVersion) else {
            throw DecodeError(reason: "version \(version) (this pagezip reads version \(StatsSnapshot.schemaVersion))")
        }
        let p = try r.object(doc, "process")
        var pr = Reader(path: "process.")
        let process = StatsProcess(
            pid: try pr.int32(p, "pid"), pgid: try pr.int32(p, "pgid"), uid: try pr.uint32(p, "uid"),
            command: try pr.string(p, "command"), libraryVersion: try pr.string(p, "library_version"),
            uptimeNs: try pr.uint(p, "uptime_ns"))
        let b = try r.object(doc, "backend")
        var br = Reader(path: "backend.")
        let backend = StatsBackend(
            state: try br.string(b, "state"), name: try br.string(b, "name"), access: try br.string(b, "access"),
            features: try br.hex(b, "features"), threads: try br.string(b, "threads"), euid: try br.uint32(b, "euid"))
        var config: [StatsConfigEntry] = []
        for m in try r.object(doc, "config").members ?? [] {
            config.append(StatsConfigEntry(m.key, try r.value(m.value, "config." + m.key)))
        }
        let usage = try decodeUsage(try r.object(doc, "usage"))
        var groups: [StatsGroupUsage] = []
        for (k, g) in try r.array(doc, "groups").enumerated() {
            var gr = Reader(path: "groups[\(k)].")
            guard let id = UInt16(exactly: try gr.uint(g, "id")) else { throw gr.fail("id", "is not a 16-bit ID") }
            groups.append(StatsGroupUsage(
                id: id, pgid: try gr.int32(g, "pgid"), storedPages: try gr.uint(g, "stored_pages"),
                comprBytes: try gr.uint(g, "compr_data_size"), limitBytes: try gr.uint(g, "limit_bytes"),
                limitHits: try gr.uint(g, "limit_hits"), storedTotal: try gr.uint(g, "stored_total")))
        }
        var sites: [SiteUsage]? = nil
        if doc["sites"] != nil {
            sites = []
            for (k, s) in try r.array(doc, "sites").enumerated() {
                var sr = Reader(path: "sites[\(k)].")
                var frames: [SiteFrame] = []
                for (j, f) in try sr.array(s, "frames").enumerated() {
                    var fr = Reader(path: "sites[\(k)].frames[\(j)].")
                    let symbol: String? = f["symbol"] == nil ? nil : try fr.string(f, "symbol")
                    frames.append(SiteFrame(address: try fr.hex(f, "address"), symbol: symbol))
                }
                guard let id = UInt32(exactly: try sr.uint(s, "id")) else { throw sr.fail("id", "is out of range") }
                sites?.append(SiteUsage(id: id, frames: frames, calls: try sr.uint(s, "calls"),
                                        mappedBytes: try sr.uint(s, "mapped_bytes"),
                                        storedPages: try sr.uint(s, "stored_pages"),
                                        comprBytes: try sr.uint(s, "compr_data_size")))
            }
        }
        return StatsSnapshot(process: process, backend: backend, config: config, usage: usage, groups: groups, sites: sites)
    }

    public static func decodeUsage(_ u: StatsJSON) throws(DecodeError) -> StatsUsage {
        var r = Reader(path: "usage.")
        var usage = StatsUsage()
        let counters = try r.object(u, "counters")
        for c in Counter.allCases where counters[c.name] != nil {
            var cr = Reader(path: "usage.counters.")
            usage[c] = try cr.uint(counters, c.name)
        }
        let pool = try r.object(u, "pool")
        var pr = Reader(path: "usage.pool.")
        usage.poolBytes = try pr.uint(pool, "mem_used_total")
        usage.poolAllocatedBytes = try pr.uint(pool, "allocated_bytes")
        usage.poolLimitBytes = try pr.uint(pool, "limit_bytes")
        usage.poolLimitHits = try pr.uint(pool, "pool_limit_hit")
        usage.poolPagesReleased = try pr.uint(pool, "pages_released")
        usage.registeredRegions = try r.uint(u, "registered_regions")
        usage.groupOverflowAssignments = try r.uint(u, "group_overflow_assignments")
        usage.faultLatency = try decodeLatency(try r.object(u, "fault_latency_ns"), "usage.fault_latency_ns.")
        usage.storeLatency = try decodeLatency(try r.object(u, "store_latency_ns"), "usage.store_latency_ns.")
        return usage
    }

    static func decodeLatency(_ l: StatsJSON, _ path: String) throws(DecodeError) -> StatsLatency {
        var r = Reader(path: path)
        var buckets: [StatsLatency.Bucket] = []
        for (k, pair) in try r.array(l, "buckets").enumerated() {
            guard let a = pair.array, a.count == 2, let index = a[0].uint64, let count = a[1].uint64,
                  index < UInt64(Histogram.buckets) else {
                throw DecodeError(reason: "\(path)buckets[\(k)] is not an [index, count] pair")
            }
            buckets.append(.init(index: Int(index), count: count))
        }
        return StatsLatency(buckets: buckets)
    }

    /// Typed member access that names the offending member in its error.
    struct Reader {
        var path: String

        func fail(_ key: String, _ what: String) -> DecodeError { DecodeError(reason: "\(path)\(key) \(what)") }

        func member(_ o: StatsJSON, _ key: String) throws(DecodeError) -> StatsJSON {
            guard o.members != nil else { throw DecodeError(reason: "\(path.isEmpty ? "document" : path) is not an object") }
            guard let v = o[key] else { throw fail(key, "is missing") }
            return v
        }

        mutating func uint(_ o: StatsJSON, _ key: String) throws(DecodeError) -> UInt64 {
            guard let v = try member(o, key).uint64 else { throw fail(key, "is not an unsigned 64-bit integer") }
            return v
        }

        mutating func uint32(_ o: StatsJSON, _ key: String) throws(DecodeError) -> UInt32 {
            guard let v = UInt32(exactly: try uint(o, key)) else { throw fail(key, "is not a 32-bit unsigned integer") }
            return v
        }

        mutating func int32(_ o: StatsJSON, _ key: String) throws(DecodeError) -> Int32 {
            guard let v = try member(o, key).int64, let n = Int32(exactly: v) else { throw fail(key, "is not a 32-bit integer") }
            return n
        }

        mutating func string(_ o: StatsJSON, _ key: String) throws(DecodeError) -> String {
            guard let v = try member(o, key).string else { throw fail(key, "is not a string") }
            return v
        }

        mutating func hex(_ o: StatsJSON, _ key: String) throws(DecodeError) -> UInt64 {
            let s = try string(o, key)
            guard s.hasPrefix("0x"), s.count > 2, s.count <= 18, let v = UInt64(s.dropFirst(2), radix: 16) else {
                throw fail(key, "is not a hexadecimal \"0x...\" string")
            }
            return v
        }

        mutating func object(_ o: StatsJSON, _ key: String) throws(DecodeError) -> StatsJSON {
            let v = try member(o, key)
            guard v.members != nil else { throw fail(key, "is not an object") }
            return v
        }

        mutating func array(_ o: StatsJSON, _ key: String) throws(DecodeError) -> [StatsJSON] {
            guard let v = try member(o, key).array else { throw fail(key, "is not an array") }
            return v
        }

        func value(_ v: StatsJSON, _ name: String) throws(DecodeError) -> StatsValue {
            switch v {
            case .bool(let b): return .bool(b)
            case .string(let s): return .string(s)
            case .number(let t):
                if let n = UInt64(t) { return .uint(n) }
                if let d = Double(t), d.isFinite { return .double(d) }
                throw DecodeError(reason: "\(name) is not a representable number")
            default:
                throw DecodeError(reason: "\(name) is not a number, string or boolean")
            }
        }
    }
}
