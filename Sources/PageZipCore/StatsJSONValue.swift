// A minimal JSON value with a strict parser and a writer, enough for the
// stats documents (no Foundation in the library).
//
// The parser takes untrusted bytes (whatever answered on a stats socket) and
// must never crash or run away: input size and nesting depth are bounded,
// every index is checked, numbers are kept as their validated literal text
// (so a 64-bit counter survives exactly), strings must be valid UTF-8, and
// anything that is not RFC 8259 JSON is an error.

public enum StatsJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A validated JSON number literal, e.g. "18446744073709551615" or "-1.5e3".
    case number(String)
    case string(String)
    case array([StatsJSON])
    /// Members in document order; keys are unique.
    case object([Member])

    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: StatsJSON
        public init(_ key: String, _ value: StatsJSON) {
            self.key = key
            self.value = value
        }
    }

    public static let maxInputBytes = 64 << 20
    public static let maxDepth = 32

    public static func uint(_ v: UInt64) -> StatsJSON { .number(String(v)) }
    public static func int(_ v: Int64) -> StatsJSON { .number(String(v)) }
    /// Non-finite values have no JSON form; they are written as 0.
    public static func double(_ v: Double) -> StatsJSON { .number(v.isFinite ? String(v) : "0") }

    // MARK: typed access (nil when absent or of another type)

    public subscript(_ key: String) -> StatsJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var uint64: UInt64? {
        guard case .number(let t) = self else { return nil }
        return UInt64(t)
    }

    public var int64: Int64? {
        guard case .number(let t) = self else { return nil }
        return Int64(t)
    }

    public var double: Double? {
        guard case .number(let t) = self else { return nil }
        return Double(t)
    }

    public var string: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    public var bool: Bool? {
        guard case .bool(let b) = self else { return nil }
        return b
    }

    public var array: [StatsJSON]? {
        guard case .array(let a) = self else { return nil }
        return a
    }

    public var members: [Member]? {
        guard case .object(let m) = self else { return nil }
        return m
    }
}

public struct StatsJSONError: Error, Equatable, CustomStringConvertible, Sendable {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

// MARK: parsing

extension StatsJSON {
    /// Parses one JSON value (surrounding whitespace allowed, nothing else).
    public static func parse(_ bytes: [UInt8]) throws(StatsJSONError) -> StatsJSON {
        guard bytes.count <= maxInputBytes else {
            throw StatsJSONError(offset: 0, reason: "document larger than \(maxInputBytes) bytes")
        }
        var p = StatsJSONParser(bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.atEnd else { throw p.error("trailing characters after the value") }
        return v
    }

    public static func parse(_ text: String) throws(StatsJSONError) -> StatsJSON {
        try parse(Array(text.utf8))
    }
}

private struct StatsJSONParser {
    let b: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { b = bytes }

    var atEnd: Bool { i >= b.count }

    func error(_ reason: String) -> StatsJSONError { StatsJSONError(offset: i, reason: reason) }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    mutating func value(depth: Int) throws(StatsJSONError) -> StatsJSON {
        guard depth < StatsJSON.maxDepth else { throw error("nested deeper than \(StatsJSON.maxDepth)") }
        guard i < b.count else { throw error("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(StatsJSONError) {
        let n = word.utf8CodeUnitCount
        guard b.count - i >= n else { throw error("unexpected end of input") }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { throw error("unknown literal") }
        i += n
    }

    mutating func object(depth: Int) throws(StatsJSONError) -> StatsJSON {
        i += 1
        var members: [StatsJSON.Member] = []
        skipSpace()
        if i < b.count && b[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try string()
            if members.contains(where: { $0.key == key }) { throw error("duplicate member \"\(key)\"") }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
            i += 1
            skipSpace()
            members.append(StatsJSON.Member(key, try value(depth: depth + 1)))
            skipSpace()
            guard i < b.count else { throw error("unexpected end of input") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
            i += 1
            return .object(members)
        }
    }

    mutating func array(depth: Int) throws(StatsJSONError) -> StatsJSON {
        i += 1
        var items: [StatsJSON] = []
        skipSpace()
        if i < b.count && b[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard i < b.count else { throw error("unexpected end of input") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
            i += 1
            return .array(items)
        }
    }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func number() throws(StatsJSONError) -> String {
        let start = i
        func digit(_ at: Int) -> Bool { at < b.count && b[at] >= UInt8(ascii: "0") && b[at] <= UInt8(ascii: "9") }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { throw error("expected a digit") }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while digit(i) { i += 1 }
        }
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { throw error("expected a digit after '.'") }
            while digit(i) { i += 1 }
        }
        if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            i += 1
            if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
            guard digit(i) else { throw error("expected a digit in the exponent") }
            while digit(i) { i += 1 }
        }
        guard i - start <= 64 else { throw error("number literal too long") }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    mutating func string() throws(StatsJSONError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw error("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                break
            }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < b.count else { throw error("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard b.count - i >= 2, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid code point") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw error("unknown escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    mutating func hex4() throws(StatsJSONError) -> UInt32 {
        guard b.count - i >= 4 else { throw error("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("bad hex digit in \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}

// MARK: writing

extension StatsJSON {
    /// The document as text; `pretty` indents by two spaces per level.
    public func rendered(pretty: Bool = true) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        if pretty { out += "\n" }
        return out
    }

    private func write(into out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let v): out += v ? "true" : "false"
        case .number(let t): out += t
        case .string(let s): StatsJSON.writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            // Arrays of scalars stay on one line: histogram buckets, pid lists.
            let flat = !pretty || items.allSatisfy { $0.isScalar || $0.isFlatArray }
            out += "["
            for (k, v) in items.enumerated() {
                if k > 0 { out += flat && pretty ? ", " : "," }
                if !flat { StatsJSON.newline(&out, indent + 1) }
                v.write(into: &out, pretty: pretty && !flat, indent: indent + 1)
            }
            if !flat { StatsJSON.newline(&out, indent) }
            out += "]"
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            out += "{"
            for (k, m) in members.enumerated() {
                if k > 0 { out += "," }
                if pretty { StatsJSON.newline(&out, indent + 1) }
                StatsJSON.writeString(m.key, into: &out)
                out += pretty ? ": " : ":"
                m.value.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { StatsJSON.newline(&out, indent) }
            out += "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private var isFlatArray: Bool {
        guard case .array(let a) = self else { return false }
        return a.allSatisfy { $0.isScalar }
    }

    private static func newline(_ out: inout String, _ indent: Int) {
        out += "\n"
        out += String(repeating: "  ", count: indent)
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
