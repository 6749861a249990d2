// Thousands of random and malformed requests against a live process's stats
// socket: each gets an error answer or a closed connection, the server keeps
// answering real requests with exact numbers, slow clients are cut off at
// their deadline, and every byte the process paged out reads back intact.

import Foundation
import Glibc
import Testing

@Suite(.serialized) struct StatsFuzzTests {
    @Test func malformedRequestsLeaveTheServerAndTheDataIntact() throws {
        let dir = StatsFixture.socketDir("fuzz")
        let prog = try LiveProgram([try Harness.program("statsprobe"), "256", "64"], socketDir: dir)
        defer { prog.stop() }
        let held = try prog.fields(try prog.line(startingWith: "proc "))
        let pid = try #require(held["pid"])
        let stored = try #require(held["stored_pages"])
        let zero = try #require(held["same_pages"])
        _ = try prog.line(startingWith: "ready")
        #expect(StatsFixture.cli(["stats", "--socket-dir", dir, "--wait", "60", pid]).status == 0)
        let socket = "\(dir)/\(pid).sock"

        // Silent clients that never finish their request hold connections
        // open the whole time; the server must serve everyone else meanwhile.
        var slow: [Int32] = []
        for k in 0..<40 {
            guard let fd = RawStatsClient.connect(socket) else { continue }
            RawStatsClient.sendAll(fd, Array((k % 2 == 0 ? "GET /stats HTTP/1.0\r\nX-Slow: " : "GET /sta").utf8))
            slow.append(fd)
        }
        #expect(slow.count == 40)

        var rng = FuzzRandom(seed: 0xF0CC)
        var outcomes: [String: Int] = [:]
        var problems: [String] = []
        for round in 0..<3000 {
            let (name, request, chunks, expected) = FuzzCase.make(round: round, &rng)
            let reply = RawStatsClient.exchange(socket, request, chunks: chunks)
            let outcome = reply.status.map { "\($0)" } ?? (reply.bytes.isEmpty ? "closed" : "garbage")
            outcomes["\(name) \(outcome)", default: 0] += 1
            if reply.timedOut || !reply.connected || outcome == "garbage" || !expected.contains(outcome) {
                problems.append("round \(round) \(name): \(outcome), timed out \(reply.timedOut), connected \(reply.connected), "
                                + "sent \(request.prefix(60)), got \(reply.text.prefix(120))")
            }
            if round % 100 == 99 {
                // A real request in between: exact numbers, every time.
                let ok = RawStatsClient.exchange(socket, Array("GET /stats.json HTTP/1.1\r\nHost: x\r\n\r\n".utf8), halfClose: false)
                if ok.status != 200 || !ok.text.contains("\"stored_pages\": \(stored),") || !ok.text.contains("\"same_pages\": \(zero),") {
                    problems.append("round \(round): a valid request got \(ok.status.map(String.init) ?? "nothing")")
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(5))")
        // Every kind of case was tried.
        #expect(Set(outcomes.keys.map { $0.split(separator: " ")[0] }).count == FuzzCase.kinds, "\(outcomes)")

        // The silent clients are cut off at their deadline: 408, then the end.
        for fd in slow {
            let r = RawStatsClient.read(fd, watchdog: 30)
            #expect(!r.timedOut && (r.status == 408 || r.bytes.isEmpty), "\(r.text.prefix(80))")
            close(fd)
        }

        let prom = RawStatsClient.exchange(socket, Array("GET /metrics\n".utf8))
        #expect(prom.status == 200 && prom.text.contains("\npagezip_stored_pages \(stored)\n"))
        prog.send("\n")
        #expect(try prog.line(startingWith: "verified pid=").contains("intact=ok"))
        prog.send("\n")
        #expect(prog.finish() == 0, "\(prog.stderr)")
        #expect(prog.pagezipLines.isEmpty, "\(prog.stderr)")
    }
}

/// One fuzz request: a kind, the bytes, in how many writes, and the outcomes
/// that are right for it ("400", "closed", ...).
enum FuzzCase {
    static let kinds = 14

    static func make(round: Int, _ rng: inout FuzzRandom) -> (String, [UInt8], Int, Set<String>) {
        let printable = Array(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~".utf8)
        func randomText(_ n: Int) -> [UInt8] { (0..<n).map { _ in printable[rng.below(printable.count)] } }
        switch round % kinds {
        case 0:   // random bytes, almost surely not text
            var b = (0..<(8 + rng.below(500))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            b[rng.below(b.count)] = 0
            return ("binary", b, 1 + rng.below(3), ["400"])
        case 1:   // printable garbage on one line
            return ("garbage", randomText(1 + rng.below(300)) + [0x0A], 1, ["400", "404", "405"])
        case 2:   // a request line longer than the limit
            return ("long-line", Array("GET /".utf8) + randomText(4100 + rng.below(20000)), 1 + rng.below(4), ["413", "closed"])
        case 3:   // a megabyte: the server stops reading, answers, closes
            return ("megabyte", [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20), 1, ["413", "closed"])
        case 4:   // headers without end
            var r = Array("GET /stats HTTP/1.0\r\n".utf8)
            while r.count < 5000 { r += Array("X-Filler-\(rng.below(1000)): ".utf8) + randomText(40) + [0x0D, 0x0A] }
            return ("endless-headers", r, 1 + rng.below(8), ["413", "closed"])
        case 5:   // wrong method, path or version
            let lines = ["POST /stats HTTP/1.0", "GET /etc/passwd HTTP/1.0", "GET /stats HTTP/9.9", "GET /../../stats",
                         "PUT / HTTP/1.1", "GET /metrics HTTP/1.0 extra", "get /stats", "GET\t/stats", "GET /stats.json?x=\u{7E}"]
            let l = lines[rng.below(lines.count)]
            let expected: Set<String> = l.hasPrefix("GET /stats.json?") ? ["200"] : ["400", "404", "405", "505"]
            return ("bad-line", Array((l + "\r\n\r\n").utf8), 1, expected)
        case 6:   // a valid request cut short, then the client's side closed
            let full = Array("GET /stats.json HTTP/1.0\r\nHost: x\r\n\r\n".utf8)
            return ("truncated", Array(full.prefix(1 + rng.below(full.count - 5))), 1, ["200", "400", "404", "505"])
        case 7:   // connect and say nothing
            return ("silent-close", [], 1, ["400", "closed"])
        case 8:   // NUL and DEL inside an otherwise fine request
            var r = Array("GET /stats HTTP/1.0\r\n\r\n".utf8)
            r[1 + rng.below(r.count - 2)] = rng.below(2) == 0 ? 0 : 0x7F
            return ("control", r, 1, ["400"])
        case 9:   // empty lines only
            return ("newlines", [UInt8](repeating: 0x0A, count: 1 + rng.below(3000)), 1, ["400", "413"])
        case 10:  // headers that are not headers
            return ("no-colon", Array("GET /stats HTTP/1.1\r\nthis is not a header\r\n\r\n".utf8), 1, ["400"])
        case 11:  // a fine request, one byte per write
            return ("trickle", Array("GET /metrics HTTP/1.0\r\n\r\n".utf8), 26, ["200"])
        case 12:  // HEAD, and a simple request ending at the end of input
            return ("head", Array((rng.below(2) == 0 ? "HEAD /stats HTTP/1.0\r\n\r\n" : "GET /stats").utf8), 1, ["200"])
        default:  // UTF-8 and other bytes above 0x7F
            return ("utf8", Array("GET /caf\u{E9}/\u{1F600} HTTP/1.0\r\n\r\n".utf8), 1, ["400"])
        }
    }
}

/// SplitMix64: deterministic, so a failing round can be replayed.
struct FuzzRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
