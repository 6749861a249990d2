// Formats one log line into fixed memory and writes it to stderr in one
// write(2): usable from pagezip's threads while the host holds malloc's locks.
// Every line starts with "pagezip: " (jemalloc's one-prefix convention).

import CPageZipSys

public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case quiet = 0, error, warn, info, debug

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public init?(name: String) {
        switch name.lowercased() {
        case "quiet", "off", "none", "0": self = .quiet
        case "error": self = .error
        case "warn", "warning": self = .warn
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }
}

public struct LineWriter {
    public static let capacity = 512
    private let buf: UnsafeMutablePointer<UInt8>
    private var len: Int

    /// `memory` must hold `capacity` bytes.
    @_noLocks
    public init(memory: UnsafeMutableRawPointer) {
        buf = memory.assumingMemoryBound(to: UInt8.self)
        len = 0
        append("pagezip: ")
    }

    @_noLocks
    public mutating func append(_ s: StaticString) {
        let p = s.utf8Start
        let n = s.utf8CodeUnitCount
        var i = 0
        while i < n && len < LineWriter.capacity - 1 {
            buf[len] = p[i]
            len += 1
            i += 1
        }
    }

    /// Appends a NUL-terminated C string.
    @_noLocks
    public mutating func append(cString p: UnsafePointer<CChar>) {
        var i = 0
        while p[i] != 0 && len < LineWriter.capacity - 1 {
            buf[len] = UInt8(bitPattern: p[i])
            len += 1
            i += 1
        }
    }

    @_noLocks
    public mutating func append(_ v: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = withUnsafeMutableBytes(of: &digits) { d -> Int in
            var n = v
            var k = 0
            repeat {
                d[k] = UInt8(48 + n % 10)
                n /= 10
                k += 1
            } while n > 0
            return k
        }
        withUnsafeBytes(of: &digits) { d in
            var k = count
            while k > 0 && len < LineWriter.capacity - 1 {
                k -= 1
                buf[len] = d[k]
                len += 1
            }
        }
    }

    @_noLocks
    public mutating func append(int v: Int) {
        if v < 0 {
            append("-")
            append(UInt64(-v))
        } else {
            append(UInt64(v))
        }
    }

    @_noLocks
    public mutating func appendHex(_ v: UInt) {
        append("0x")
        var started = false
        var shift = 60
        while shift >= 0 {
            let d = Int((v >> UInt(shift)) & 0xF)
            if d != 0 || started || shift == 0 {
                started = true
                if len < LineWriter.capacity - 1 {
                    buf[len] = d < 10 ? UInt8(48 + d) : UInt8(87 + d)
                    len += 1
                }
            }
            shift -= 4
        }
    }

    /// Appends the newline and writes the line to fd 2.
    @_noLocks
    public mutating func flush() {
        buf[len] = 10
        len += 1
        pz_write_stderr(UnsafeRawPointer(buf).assumingMemoryBound(to: CChar.self), len)
        len = 0
    }
}
