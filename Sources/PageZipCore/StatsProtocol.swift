// The stats socket's request/response protocol: a strict subset of HTTP/1.0,
// so `curl --unix-socket` and Prometheus (through any Unix-socket proxy) work
// as clients, and so does `printf 'GET /stats\n' | socat - UNIX:...`.
//
//   request      = request-line [headers CRLF]
//   request-line = method SP target [SP version] CRLF     (LF alone is accepted)
//   method       = "GET" | "HEAD"
//   target       = path ["?" query]                       (query ignored)
//   version      = "HTTP/1.0" | "HTTP/1.1"                 (with a version, headers
//                                                          follow, ended by an empty line)
//   path         = "/" | "/stats" | "/stats.json" | "/json" | "/metrics"
//                | "/sites" | "/sites.json"
//
// Every response is HTTP/1.0 with Content-Length and Connection: close; one
// request per connection.  Limits: the whole request (line and headers) at
// most `maxRequestBytes`; only printable ASCII, space, tab, CR and LF (any
// other byte is "binary input": 400); a connection has `requestTimeoutNs`
// from accept to finish asking (else 408 and closed), and as long again to
// take the answer.

public enum StatsRoute: String, CaseIterable, Sendable {
    case text = "/stats"
    case json = "/stats.json"
    case prometheus = "/metrics"
    case sitesText = "/sites"
    case sitesJSON = "/sites.json"

    public var contentType: String {
        switch self {
        case .text, .sitesText: return "text/plain; charset=utf-8"
        case .json, .sitesJSON: return "application/json"
        case .prometheus: return StatsPrometheus.contentType
        }
    }

    public var includesSites: Bool { self == .sitesText || self == .sitesJSON }

    /// The route for a request path ("/" and "/json" are aliases).
    public init?(path: String) {
        switch path {
        case "/": self = .text
        case "/json": self = .json
        default: self.init(rawValue: path)
        }
    }
}

public enum StatsStatus: Int, Sendable {
    case ok = 200
    case badRequest = 400
    case forbidden = 403
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    case payloadTooLarge = 413
    case serviceUnavailable = 503
    case versionNotSupported = 505

    public var reason: String {
        switch self {
        case .ok: return "OK"
        case .badRequest: return "Bad Request"
        case .forbidden: return "Forbidden"
        case .notFound: return "Not Found"
        case .methodNotAllowed: return "Method Not Allowed"
        case .requestTimeout: return "Request Timeout"
        case .payloadTooLarge: return "Request Too Large"
        case .serviceUnavailable: return "Service Unavailable"
        case .versionNotSupported: return "HTTP Version Not Supported"
        }
    }
}

/// What the server does with the bytes received so far.
public enum StatsRequestParse: Equatable, Sendable {
    /// Wait for more (unless the peer closed its side: then it is malformed).
    case incomplete
    /// Serve this route (HEAD: headers only).
    case serve(StatsRoute, headOnly: Bool)
    /// Answer with this error and close.
    case reject(StatsStatus, String)
}

public enum StatsProtocol {
    public static let maxRequestBytes = 4096
    public static let requestTimeoutNs: UInt64 = 2_000_000_000
    /// Connections served at once; more wait in the listen backlog.
    public static let maxConnections = 16
    public static let listenBacklog: Int32 = 128

    /// Judges a request from its first bytes.  `peerClosed`: the peer shut
    /// down its sending side, so no more bytes will come (a request line
    /// without its final LF is then accepted as complete).
    public static func parse(_ bytes: [UInt8], peerClosed: Bool = false) -> StatsRequestParse {
        for c in bytes where !(c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c < 0x7F)) {
            return .reject(.badRequest, "binary input: only printable ASCII is accepted")
        }
        if bytes.count > maxRequestBytes {
            return .reject(.payloadTooLarge, "requests are limited to \(maxRequestBytes) bytes")
        }
        guard var lineEnd = bytes.firstIndex(of: 0x0A) else {
            if peerClosed && !bytes.isEmpty {
                let line = bytes.last == 0x0D ? bytes.dropLast() : bytes[...]
                return requestLine(line, complete: true)
            }
            if bytes.count >= maxRequestBytes { return .reject(.payloadTooLarge, "request line longer than \(maxRequestBytes) bytes") }
            return peerClosed ? .reject(.badRequest, "empty request") : .incomplete
        }
        var line = bytes[..<lineEnd]
        if line.last == 0x0D { line = line.dropLast() }
        switch requestLine(line, complete: false) {
        case .reject(let status, let why): return .reject(status, why)
        case .serve(let route, let head):
            // A simple request: no version, no headers.
            return .serve(route, headOnly: head)
        case .incomplete:
            // A versioned request: headers follow, up to an empty line.
            while true {
                let start = lineEnd + 1
                guard let next = bytes[start...].firstIndex(of: 0x0A) else {
                    if bytes.count >= maxRequestBytes { return .reject(.payloadTooLarge, "headers longer than \(maxRequestBytes) bytes") }
                    return peerClosed ? .reject(.badRequest, "headers not terminated by an empty line") : .incomplete
                }
                var header = bytes[start..<next]
                if header.last == 0x0D { header = header.dropLast() }
                if header.isEmpty { break }
                if !header.contains(UInt8(ascii: ":")) { return .reject(.badRequest, "malformed header line") }
                lineEnd = next
            }
            return finish(line)
        }
    }

    /// Parses a request line.  `.incomplete` here means "valid, with a
    /// version: read the headers" (complete: true treats it as final).
    static func requestLine(_ line: ArraySlice<UInt8>, complete: Bool) -> StatsRequestParse {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            return .reject(.badRequest, "expected 'GET /path' or 'GET /path HTTP/1.0'")
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        guard method.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return .reject(.badRequest, "malformed method")
        }
        guard method == "GET" || method == "HEAD" else { return .reject(.methodNotAllowed, "only GET and HEAD are served") }
        guard parts[1].first == UInt8(ascii: "/") else { return .reject(.badRequest, "the target must start with '/'") }
        if parts.count == 3 {
            let version = String(decoding: parts[2], as: UTF8.self)
            guard version.hasPrefix("HTTP/") else { return .reject(.badRequest, "malformed version") }
            guard version == "HTTP/1.0" || version == "HTTP/1.1" else {
                return .reject(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are served")
            }
            if !complete { return .incomplete }
            return .reject(.badRequest, "headers not terminated by an empty line")
        }
        return route(parts[1], head: method == "HEAD")
    }

    static func finish(_ line: ArraySlice<UInt8>) -> StatsRequestParse {
        let parts = line.split(separator: 0x20)
        return route(parts[1], head: parts[0].elementsEqual("HEAD".utf8))
    }

    static func route(_ target: ArraySlice<UInt8>, head: Bool) -> StatsRequestParse {
        let path = target.split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false).first ?? target
        let p = String(decoding: path, as: UTF8.self)
        guard let r = StatsRoute(path: p) else {
            return .reject(.notFound, "no such path; try " + StatsRoute.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return .serve(r, headOnly: head)
    }

    // MARK: responses

    public static func response(_ status: StatsStatus, contentType: String, body: [UInt8], headOnly: Bool = false,
                                server: String) -> [UInt8] {
        var head = "HTTP/1.0 \(status.rawValue) \(status.reason)\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Cache-Control: no-store\r\n"
        head += "Connection: close\r\n"
        head += "Server: \(server)\r\n\r\n"
        var out = Array(head.utf8)
        if !headOnly { out += body }
        return out
    }

    /// An error answer: the reason as one line of text.
    public static func error(_ status: StatsStatus, _ why: String, server: String) -> [UInt8] {
        response(status, contentType: "text/plain; charset=utf-8",
                 body: Array("error: \(status.rawValue) \(status.reason): \(why)\n".utf8), server: server)
    }

    // MARK: reading a response (the client side)

    public struct Response: Equatable, Sendable {
        public var status: Int
        public var contentType: String?
        public var body: [UInt8]
    }

    /// Parses a complete response; nil while `bytes` is not one yet (or is
    /// not HTTP).  With `peerClosed`, a missing Content-Length means "to the end".
    public static func parseResponse(_ bytes: [UInt8], peerClosed: Bool) -> Response? {
        let crlf2: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        guard bytes.count >= 4, let headEnd = (0...(bytes.count - 4)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(crlf2) }) else {
            return nil
        }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let first = lines.first else { return nil }
        let statusParts = first.split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else { return nil }
        var length: Int? = nil
        var type: String? = nil
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: ":") else { continue }
            let name = l[..<colon].lowercased()
            let value = String(l[l.index(after: colon)...].drop(while: { $0 == " " }))
            if name == "content-length" { length = Int(value) }
            if name == "content-type" { type = value }
        }
        let bodyStart = headEnd + 4
        if let length {
            guard length >= 0, bytes.count - bodyStart >= length else { return nil }
            return Response(status: status, contentType: type, body: Array(bytes[bodyStart..<(bodyStart + length)]))
        }
        return peerClosed ? Response(status: status, contentType: type, body: Array(bytes[bodyStart...])) : nil
    }
}
