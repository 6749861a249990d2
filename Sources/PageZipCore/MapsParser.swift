// Parses /proc/self/maps without allocating: the text is read in chunks into
// caller-provided memory and each line becomes a `Mapping` record.

import CPageZipSys

@frozen
public struct Mapping: Equatable, Sendable {
    @frozen public enum Kind: UInt8, Sendable {
        case anonymous      // no path
        case heap           // [heap]
        case stack          // [stack]
        case anonNamed      // [anon:name] (PR_SET_VMA_ANON_NAME)
        case special        // [vdso], [vvar], [vsyscall], ...
        case file
    }
    public var start: UInt
    public var end: UInt
    public var readable: Bool
    public var writable: Bool
    public var executable: Bool
    public var privateMapping: Bool
    public var kind: Kind

    public init(start: UInt, end: UInt, readable: Bool, writable: Bool, executable: Bool, privateMapping: Bool, kind: Kind) {
        self.start = start
        self.end = end
        self.readable = readable
        self.writable = writable
        self.executable = executable
        self.privateMapping = privateMapping
        self.kind = kind
    }

    /// Private, anonymous (or the brk heap or a named anonymous region), read-write.
    @inlinable
    public var isPrivateAnonymousRW: Bool {
        readable && writable && privateMapping && (kind == .anonymous || kind == .heap || kind == .anonNamed)
    }
}

public struct MapsParser {
    /// Parses one line (without the newline).  Returns nil for malformed lines.
    @_noLocks
    public static func parseLine(_ p: UnsafePointer<UInt8>, _ n: Int) -> Mapping? {
        var i = 0
        guard let start = hex(p, n, &i), i < n, p[i] == 45 else { return nil }   // '-'
        i += 1
        guard let end = hex(p, n, &i), i + 5 <= n, p[i] == 32 else { return nil }
        i += 1
        let r = p[i] == 114, w = p[i + 1] == 119, x = p[i + 2] == 120, priv = p[i + 3] == 112
        i += 4
        // offset, dev, inode
        var fields = 0
        var inodeNonZero = false
        while i < n && fields < 3 {
            while i < n && p[i] == 32 { i += 1 }
            let fieldStart = i
            while i < n && p[i] != 32 { i += 1 }
            fields += 1
            if fields == 3 {
                var k = fieldStart
                while k < i {
                    if p[k] != 48 { inodeNonZero = true }
                    k += 1
                }
            }
        }
        while i < n && p[i] == 32 { i += 1 }
        let kind = kind(name: p + i, length: n - i, inodeNonZero: inodeNonZero)
        return Mapping(start: start, end: end, readable: r, writable: w, executable: x, privateMapping: priv, kind: kind)
    }

    /// What a mapping is, from its name (the pathname column of
    /// /proc/self/maps, or PROCMAP_QUERY's vma_name) and whether it has an inode.
    @_noLocks
    public static func kind(name p: UnsafePointer<UInt8>, length n: Int, inodeNonZero: Bool) -> Mapping.Kind {
        guard n > 0 else { return inodeNonZero ? .file : .anonymous }
        if p[0] == 47 { return .file }                                    // '/'
        guard p[0] == 91 else { return .file }                            // not '['
        if n >= 6 && p[1] == 104 && p[2] == 101 && p[3] == 97 && p[4] == 112 && p[5] == 93 { return .heap }     // [heap]
        if n >= 7 && p[1] == 115 && p[2] == 116 && p[3] == 97 && p[4] == 99 && p[5] == 107 { return .stack }    // [stack
        if n >= 6 && p[1] == 97 && p[2] == 110 && p[3] == 111 && p[4] == 110 && p[5] == 58 { return .anonNamed } // [anon:
        return .special
    }

    @_noLocks @inline(__always)
    static func hex(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> UInt? {
        var v: UInt = 0
        var digits = 0
        while i < n {
            let c = p[i]
            let d: UInt
            if c >= 48 && c <= 57 { d = UInt(c - 48) }
            else if c >= 97 && c <= 102 { d = UInt(c - 87) }
            else if c >= 65 && c <= 70 { d = UInt(c - 55) }
            else { break }
            v = v << 4 | d
            digits += 1
            i += 1
        }
        return digits > 0 ? v : nil
    }

    /// Reads /proc/self/maps into `out` (capacity records) using `buffer`
    /// (bufferSize bytes, at least 8 KiB) as scratch.  Returns the number of
    /// mappings, or -errno.  Stops at capacity.
    @_noLocks
    public static func read(into out: UnsafeMutablePointer<Mapping>, capacity: Int,
                            buffer: UnsafeMutablePointer<UInt8>, bufferSize: Int) -> Int {
        let path: StaticString = "/proc/self/maps"
        let fd = pz_sys_open(UnsafeRawPointer(path.utf8Start).assumingMemoryBound(to: CChar.self),
                             0o2000000 /* O_CLOEXEC */, 0)
        if fd < 0 { return Int(fd) }
        var count = 0
        var filled = 0
        var eof = false
        while !eof && count < capacity {
            let n = pz_sys_read(Int32(fd), buffer + filled, bufferSize - filled)
            if n == -4 { continue }            // EINTR
            if n <= 0 { eof = true } else { filled += n }
            var lineStart = 0
            var k = 0
            while k < filled && count < capacity {
                if buffer[k] == 10 {
                    if let m = parseLine(buffer + lineStart, k - lineStart) {
                        out[count] = m
                        count += 1
                    }
                    lineStart = k + 1
                }
                k += 1
            }
            if eof && lineStart < filled && count < capacity {
                if let m = parseLine(buffer + lineStart, filled - lineStart) {
                    out[count] = m
                    count += 1
                }
                lineStart = filled
            }
            // Keep the partial line.
            let rest = filled - lineStart
            if rest > 0 && lineStart > 0 {
                var j = 0
                while j < rest {
                    buffer[j] = buffer[lineStart + j]
                    j += 1
                }
            }
            filled = rest
            if filled == bufferSize { filled = 0 }   // absurd line: drop it
        }
        _ = pz_sys_close(Int32(fd))
        return count
    }
}
