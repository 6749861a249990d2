// The stats socket's request grammar and limits, and reading answers back.

import PageZipCore
import Testing

@Suite struct StatsProtocolTests {
    func parse(_ s: String, closed: Bool = false) -> StatsRequestParse {
        StatsProtocol.parse(Array(s.utf8), peerClosed: closed)
    }

    @Test func requestsCurlAndPrometheusSend() {
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n") == .serve(.prometheus, headOnly: false))
        #expect(parse("GET /stats.json HTTP/1.0\r\n\r\n") == .serve(.json, headOnly: false))
        #expect(parse("HEAD / HTTP/1.0\r\n\r\n") == .serve(.text, headOnly: true))
        #expect(parse("GET /metrics?name[]=x HTTP/1.1\n\n") == .serve(.prometheus, headOnly: false))
        #expect(parse("GET /sites.json HTTP/1.0\r\n\r\n") == .serve(.sitesJSON, headOnly: false))
    }

    @Test func simpleOneLineRequests() {
        #expect(parse("GET /stats\n") == .serve(.text, headOnly: false))
        #expect(parse("GET /json\r\n") == .serve(.json, headOnly: false))
        // `printf 'GET /sites' | socat - UNIX:...`: no newline, then end of input.
        #expect(parse("GET /sites") == .incomplete)
        #expect(parse("GET /sites", closed: true) == .serve(.sitesText, headOnly: false))
    }

    @Test func incompleteUntilTheEmptyLine() {
        #expect(parse("") == .incomplete)
        #expect(parse("GET /metr") == .incomplete)
        #expect(parse("GET /metrics HTTP/1.1\r\n") == .incomplete)
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        guard case .reject(.badRequest, _) = parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", closed: true) else {
            Issue.record("headers cut off by the peer must be an error")
            return
        }
    }

    @Test func errorsCarryTheRightStatus() {
        func status(_ s: String, closed: Bool = false) -> Int? {
            if case .reject(let st, _) = parse(s, closed: closed) { return st.rawValue }
            return nil
        }
        #expect(status("POST /stats HTTP/1.0\r\n\r\n") == 405)
        #expect(status("DELETE /stats\n") == 405)
        #expect(status("GET /nope HTTP/1.0\r\n\r\n") == 404)
        #expect(status("GET /nope\n") == 404)
        #expect(status("GET /stats HTTP/2.0\r\n\r\n") == 505)
        #expect(status("GET /stats FTP/1.0\r\n\r\n") == 400)
        #expect(status("GET stats\n") == 400)
        #expect(status("get /stats\n") == 400)
        #expect(status("GET  /stats\n") == 400)
        #expect(status("GET /stats HTTP/1.0 extra\n") == 400)
        #expect(status("\n") == 400)
        #expect(status("GET /stats HTTP/1.0\r\nno colon here\r\n\r\n") == 400)
        #expect(status("GET /st\u{0}ats\n") == 400)
        #expect(status("GET /stats\n\u{7F}") == 400)
        #expect(status("GET /caf\u{E9}\n") == 400)
        #expect(status("", closed: true) == 400)
    }

    @Test func sizeLimits() {
        let line = "GET /" + String(repeating: "a", count: StatsProtocol.maxRequestBytes)
        guard case .reject(.payloadTooLarge, _) = parse(line) else { Issue.record("long line"); return }
        var headers = "GET /stats HTTP/1.0\r\n"
        while headers.utf8.count < StatsProtocol.maxRequestBytes { headers += "X-Filler: 0123456789\r\n" }
        guard case .reject(.payloadTooLarge, _) = parse(headers) else { Issue.record("endless headers"); return }
        // Just under the limit is fine.
        var fits = "GET /stats HTTP/1.0\r\n"
        while fits.utf8.count + 30 < StatsProtocol.maxRequestBytes { fits += "X-Filler: 0123456789\r\n" }
        #expect(parse(fits + "\r\n") == .serve(.text, headOnly: false))
    }

    @Test func randomInputNeverCrashesAndAlwaysEnds() {
        var rng = SplitMix64(seed: 42)
        let alphabet = Array("GETHAD /stsjonmricP?1.0\r\n:".utf8)
        for round in 0..<20000 {
            let n = Int(rng.next() % 200)
            let bytes: [UInt8] = round % 2 == 0
                ? (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                : (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            // With the peer gone, every input is either served or rejected.
            if parse(String(decoding: bytes, as: UTF8.self), closed: true) == .incomplete {
                Issue.record("undecided after the peer closed: \(bytes)")
            }
            _ = StatsProtocol.parse(bytes, peerClosed: false)
        }
    }

    @Test func responsesCarryLengthAndStatus() throws {
        let ok = StatsProtocol.response(.ok, contentType: "application/json", body: Array("{}\n".utf8), server: "pagezip/test")
        let text = String(decoding: ok, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(text.contains("Content-Length: 3\r\n"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\n{}\n"))
        let r = try #require(StatsProtocol.parseResponse(ok, peerClosed: false))
        #expect(r.status == 200 && r.body == Array("{}\n".utf8) && r.contentType == "application/json")
        // Not complete until Content-Length bytes are there.
        #expect(StatsProtocol.parseResponse(Array(ok.dropLast()), peerClosed: false) == nil)
        let head = StatsProtocol.response(.ok, contentType: "text/plain", body: Array("abc".utf8), headOnly: true, server: "x")
        #expect(String(decoding: head, as: UTF8.self).hasSuffix("Content-Length: 3\r\nCache-Control: no-store\r\nConnection: close\r\nServer: x\r\n\r\n"))
        let err = try #require(StatsProtocol.parseResponse(StatsProtocol.error(.forbidden, "uid 1001 may not", server: "x"), peerClosed: false))
        #expect(err.status == 403)
        #expect(String(decoding: err.body, as: UTF8.self) == "error: 403 Forbidden: uid 1001 may not\n")
        #expect(StatsProtocol.parseResponse(Array("garbage\r\n\r\n".utf8), peerClosed: true) == nil)
    }
}

@Suite struct StatsSocketPathTests {
    @Test func theDirectoryFollowsTheDocumentedOrder() {
        #expect(StatsSocketPath.directory(configured: "/srv/pz/", xdgRuntimeDir: "/run/user/1000", uid: 1000) == "/srv/pz")
        #expect(StatsSocketPath.directory(configured: nil, xdgRuntimeDir: "/run/user/1000", uid: 1000) == "/run/user/1000/pagezip")
        #expect(StatsSocketPath.directory(configured: nil, xdgRuntimeDir: "relative", uid: 1000) == "/tmp/pagezip-1000")
        #expect(StatsSocketPath.directory(configured: nil, xdgRuntimeDir: nil, uid: 0) == "/tmp/pagezip-0")
        #expect(StatsSocketPath.candidates(configured: nil, xdgRuntimeDir: "/run/user/7", uid: 7) == ["/run/user/7/pagezip", "/tmp/pagezip-7"])
    }

    @Test func onlyPidNamedSocketsCount() {
        #expect(StatsSocketPath.pid(fromName: "123.sock") == 123)
        #expect(StatsSocketPath.pid(fromName: "123.sock.new", pending: true) == 123)
        for bad in ["123.sock.new", "0.sock", "0123.sock", "-1.sock", ".sock", "12a.sock", "99999999999.sock", "123.socket", "123"] {
            #expect(StatsSocketPath.pid(fromName: bad) == nil, "\(bad)")
        }
    }
}
