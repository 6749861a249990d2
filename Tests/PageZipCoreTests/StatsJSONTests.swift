// The stats JSON: exact round trips of every field, strict rejection of
// anything else, and a parser that survives arbitrary bytes.

import PageZipCore
import Testing

/// A snapshot with every field set to something distinctive.
func sampleSnapshot(pid: Int32 = 4242, pgid: Int32 = 4240, stored: UInt64 = 300, zero: UInt64 = 100,
                    compr: UInt64 = 309_000, pool: UInt64 = 327_680, refaults: UInt64 = 7, uptimeNs: UInt64 = 1_500_000_000,
                    sites: [SiteUsage]? = nil) -> StatsSnapshot {
    var u = StatsUsage()
    for c in Counter.allCases { u[c] = UInt64(c.rawValue) * 11 + 1 }
    u[.storedPages] = stored
    u[.samePages] = zero
    u[.comprDataSize] = compr
    u[.refaults] = refaults
    u[.rejectCompressPoor] = 2
    u[.rejectAllocFail] = 3
    u[.rejectBusy] = 4
    u.poolBytes = pool
    u.poolAllocatedBytes = 310_000
    u.poolLimitBytes = 1 << 30
    u.poolLimitHits = 5
    u.poolPagesReleased = 6
    u.registeredRegions = 9
    u.groupOverflowAssignments = 1
    u.faultLatency = StatsLatency(buckets: [.init(index: 40, count: 90), .init(index: 44, count: 10)])
    u.storeLatency = StatsLatency(buckets: [.init(index: 50, count: 3)])
    return StatsSnapshot(
        process: StatsProcess(pid: pid, pgid: pgid, uid: 1000, command: "cache \"hot\"\\cold\n", libraryVersion: "0.1.0",
                              uptimeNs: uptimeNs),
        backend: StatsBackend(state: "active", name: "userfaultfd", access: "device", features: 0x1ffff, threads: "running", euid: 1000),
        config: [StatsConfigEntry("pool_max_bytes", .uint(1 << 30)), StatsConfigEntry("cold_age_seconds", .double(120)),
                 StatsConfigEntry("refault_budget_percent", .double(0.2)), StatsConfigEntry("reclaim", .string("hints")),
                 StatsConfigEntry("stats", .bool(true))],
        usage: u,
        groups: [StatsGroupUsage(id: 1, pgid: pgid, storedPages: stored, comprBytes: compr, limitBytes: 0, limitHits: 0, storedTotal: 400),
                 StatsGroupUsage(id: 65535, pgid: -1, storedPages: 0, comprBytes: 0, limitBytes: 0, limitHits: 0, storedTotal: 2)],
        sites: sites)
}

@Suite struct StatsJSONTests {
    @Test func everyFieldSurvivesARoundTrip() throws {
        let sites = [SiteUsage(id: 7, frames: [SiteFrame(address: 0x7fff_dead_beef, symbol: "main+0x1c (cache)"), SiteFrame(address: 0x401000)],
                               calls: 12, mappedBytes: 1 << 20, storedPages: 200, comprBytes: 80_000),
                     SiteUsage(id: 0, frames: [], calls: 0, mappedBytes: 4096, storedPages: 0, comprBytes: 0)]
        for s in [sampleSnapshot(), sampleSnapshot(sites: sites), sampleSnapshot(sites: [])] {
            for pretty in [true, false] {
                let text = StatsJSONCodec.encode(s).rendered(pretty: pretty)
                let back = try StatsJSONCodec.decode(Array(text.utf8))
                #expect(back == s)
            }
        }
    }

    @Test func sixtyFourBitCountersAreExact() throws {
        var s = sampleSnapshot()
        s.usage[.storedTotal] = UInt64.max
        s.usage.poolBytes = UInt64.max - 1
        let back = try StatsJSONCodec.decode(Array(StatsJSONCodec.encode(s).rendered().utf8))
        #expect(back.usage[.storedTotal] == UInt64.max)
        #expect(back.usage.poolBytes == UInt64.max - 1)
    }

    @Test func theDocumentHasAVersionAndTheOperatorsNames() throws {
        let doc = try StatsJSON.parse(StatsJSONCodec.encode(sampleSnapshot()).rendered())
        #expect(doc["version"]?.uint64 == 1)
        let counters = try #require(doc["usage"]?["counters"])
        #expect(counters["stored_pages"]?.uint64 == 300)
        #expect(counters["same_pages"]?.uint64 == 100)
        #expect(counters["compr_data_size"]?.uint64 == 309_000)
        #expect(doc["derived"]?["orig_data_size"]?.uint64 == 300 * 4096)
        #expect(doc["derived"]?["mem_used_total"]?.uint64 == 327_680)
        #expect(doc["derived"]?["allocator_overhead"]?.uint64 == 327_680 - 309_000)
        #expect(doc["usage"]?["pool"]?["pool_limit_hit"]?.uint64 == 5)
        #expect(doc["usage"]?["fault_latency_ns"]?["count"]?.uint64 == 100)
    }

    @Test func wrongShapesAreRejectedWithTheirPath() throws {
        let good = StatsJSONCodec.encode(sampleSnapshot()).rendered()
        let cases: [(String, String, String)] = [
            ("\"version\": 1", "\"version\": 2", "version 2"),
            ("\"version\": 1", "\"version\": \"1\"", "version is not an unsigned"),
            ("\"pid\": 4242", "\"pid\": 4294967296", "process.pid"),
            ("\"stored_pages\": 300", "\"stored_pages\": -300", "usage.counters.stored_pages"),
            ("\"stored_pages\": 300", "\"stored_pages\": 3.5", "usage.counters.stored_pages"),
            ("\"features\": \"0x1ffff\"", "\"features\": \"1ffff\"", "backend.features"),
            ("\"mem_used_total\": 327680", "\"mem_used_totl\": 327680", "usage.pool.mem_used_total is missing"),
            ("\"id\": 65535", "\"id\": 65536", "groups[1].id"),
        ]
        for (from, to, expected) in cases {
            #expect(good.contains(from), "sample lacks \(from)")
            let bad = good.replacingFirst(from, with: to)
            #expect(throws: StatsJSONCodec.DecodeError.self, "\(to)") { try StatsJSONCodec.decode(Array(bad.utf8)) }
            do {
                _ = try StatsJSONCodec.decode(Array(bad.utf8))
            } catch let e as StatsJSONCodec.DecodeError {
                #expect(e.reason.contains(expected), "\(e.reason) for \(to)")
            }
        }
        for notSnapshot in ["[]", "{}", "null", "{\"version\": 1}", "1"] {
            #expect(throws: (any Error).self) { try StatsJSONCodec.decode(Array(notSnapshot.utf8)) }
        }
    }

    @Test func unknownMembersAndMissingCountersAreTolerated() throws {
        var doc = try StatsJSON.parse(StatsJSONCodec.encode(sampleSnapshot()).rendered())
        guard case .object(var members) = doc else { Issue.record("not an object"); return }
        members.append(.init("from_the_future", .array([.null])))
        doc = .object(members)
        let text = doc.rendered().replacingFirst("\"huge_pages\":", with: "\"huge_pages_renamed\":")
        let back = try StatsJSONCodec.decode(Array(text.utf8))
        #expect(back.usage[.hugePages] == 0)
        #expect(back.usage[.storedPages] == 300)
    }

    @Test func theParserFollowsTheGrammar() throws {
        let valid = ["0", "-0", "1.5e-3", "1E+9", "\"\\u00e9\\ud83d\\ude00\\n\"", "[1, [2, [3]], {}]", " {\"a\": {\"b\": null}} ", "true", "false"]
        for v in valid { #expect((try? StatsJSON.parse(v)) != nil, "\(v)") }
        #expect(try StatsJSON.parse("\"\\u00e9\\ud83d\\ude00\"") == .string("é😀"))
        let invalid = ["", "01", "1.", ".5", "-", "1e", "+1", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]",
                       "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "\"tab\there\"", "nul", "tru", "[", "{", "\"abc",
                       "{\"a\":1,\"a\":2}", "1 2", "NaN", "Infinity", String(repeating: "[", count: 40) + String(repeating: "]", count: 40)]
        for v in invalid { #expect(throws: StatsJSONError.self, "\(v)") { try StatsJSON.parse(v) } }
        #expect(throws: StatsJSONError.self) { try StatsJSON.parse([0x22, 0xC3, 0x28, 0x22]) }   // invalid UTF-8
    }

    @Test func arbitraryBytesNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 0x5eed)
        let good = Array(StatsJSONCodec.encode(sampleSnapshot(sites: [])).rendered(pretty: false).utf8)
        var decoded = 0
        for round in 0..<4000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:   // random bytes
                bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:   // a valid document with a few bytes changed
                bytes = good
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 2:   // a valid document cut short
                bytes = Array(good.prefix(Int(rng.next() % UInt64(good.count))))
            default:  // JSON-ish tokens strung together
                let tokens = ["{", "}", "[", "]", ",", ":", "\"version\"", "1", "-1", "1e999", "\"x\"", "null", "true", " "]
                bytes = Array((0..<Int(rng.next() % 60)).map { _ in tokens[Int(rng.next() % UInt64(tokens.count))] }.joined().utf8)
            }
            if (try? StatsJSONCodec.decode(bytes)) != nil { decoded += 1 }
        }
        // Changing a digit of a counter still decodes; the rest must not.
        #expect(decoded < 1000)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = firstRange(of: target) else { return self }
        var s = self
        s.replaceSubrange(r, with: replacement)
        return s
    }
}
