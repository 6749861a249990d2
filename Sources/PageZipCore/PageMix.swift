// Synthetic pages that look like a real process's anonymous memory, for
// benchmarks and tests.
//
// A page's content is a pure function of (seed, page index): a benchmark fills
// a region once and later verifies every byte by regenerating the expected page
// instead of keeping a copy (a copy would double the memory it measures).
//
// The mix follows what zswap/zram studies report for swapped-out memory: many
// zero pages, text and pointer-heavy heap that compress 2-4x, numeric arrays
// that compress less, a share that does not compress at all, and pages a
// program only partly used.  Kinds are assigned by shuffling a fixed table per
// block of 20 pages, so the shares are exact over every 20 pages yet kinds
// are spread the way a fragmented heap spreads them.

/// One kind of page in the mix.
public enum PageKind: Int, CaseIterable, Sendable {
    case zero, text, pointerHeap, numeric, random, partlyFilled

    /// Stable name used in reports and JSON.
    public var name: String {
        switch self {
        case .zero: return "zero"
        case .text: return "text"
        case .pointerHeap: return "pointer_heap"
        case .numeric: return "numeric"
        case .random: return "random"
        case .partlyFilled: return "partly_filled"
        }
    }
}

/// SplitMix64: tiny, fast and good enough to make page content; seeded per page.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound (bound > 0); the tiny modulo bias does not matter here.
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

public struct PageMix: Sendable {
    public static let pageSize = 4096
    /// Pages of each kind per block of 20: 15 % zero, 25 % text, 25 % heap,
    /// 15 % numeric, 10 % random, 10 % partly filled.
    public static let sharesPer20: [(PageKind, Int)] = [
        (.zero, 3), (.text, 5), (.pointerHeap, 5), (.numeric, 3), (.random, 2), (.partlyFilled, 2),
    ]
    static let blockPages = 20
    static let blockTable: [PageKind] = sharesPer20.flatMap { Array(repeating: $0.0, count: $0.1) }

    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// The kind of page `index` in this mix.
    public func kind(ofPage index: Int) -> PageKind {
        let block = index / PageMix.blockPages
        var rng = SplitMix64(seed: seed ^ 0xB10C_0000_0000_0000 ^ UInt64(block) &* 0x2545_F491_4F6C_DD1D)
        // Fisher-Yates over 20 slots; only as far as the slot we need.
        var slots = (0..<PageMix.blockPages).map { $0 }
        let want = index % PageMix.blockPages
        for i in 0...want {
            let j = i + rng.below(PageMix.blockPages - i)
            slots.swapAt(i, j)
        }
        return PageMix.blockTable[slots[want]]
    }

    /// Writes page `index` of this mix: all 4096 bytes, zeros included, so a
    /// zero page is resident like a real one.
    public func fill(_ page: UnsafeMutableRawPointer, index: Int) {
        PageMix.fill(page, kind: kind(ofPage: index), seed: pageSeed(index))
    }

    /// Number of bytes of `page` that differ from page `index` of this mix.
    /// `scratch` is one page of caller memory.
    public func mismatchedBytes(_ page: UnsafeRawPointer, index: Int, scratch: UnsafeMutableRawPointer) -> Int {
        fill(scratch, index: index)
        if memcmpPage(page, scratch) { return 0 }
        var n = 0
        for i in 0..<PageMix.pageSize where page.load(fromByteOffset: i, as: UInt8.self)
            != scratch.load(fromByteOffset: i, as: UInt8.self) { n += 1 }
        return n
    }

    /// The seed of one page's content: page-local, so any page can be rebuilt alone.
    public func pageSeed(_ index: Int) -> UInt64 {
        var r = SplitMix64(seed: seed &+ UInt64(index) &* 0xD6E8_FEB8_6659_FD93)
        return r.next()
    }

    /// Writes one page of `kind` from `seed`.
    public static func fill(_ page: UnsafeMutableRawPointer, kind: PageKind, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        switch kind {
        case .zero:
            page.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
        case .text:
            var w = ByteWriter(page, limit: pageSize)
            if rng.below(2) == 0 { TextPages.prose(&w, &rng) } else { TextPages.records(&w, &rng) }
        case .pointerHeap:
            var w = ByteWriter(page, limit: pageSize)
            HeapPages.chunks(&w, &rng)
        case .numeric:
            NumericPages.array(page, &rng)
        case .random:
            for i in stride(from: 0, to: pageSize, by: 8) {
                page.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self)
            }
        case .partlyFilled:
            // A heap page whose tail was never used: 1/16 to 7/8 of it holds data.
            let used = 256 * (1 + rng.below(14))
            var w = ByteWriter(page, limit: used)
            HeapPages.chunks(&w, &rng)
            (page + used).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize - used)
        }
    }

    @inline(__always)
    private func memcmpPage(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Bool {
        var i = 0
        while i < PageMix.pageSize {
            if a.load(fromByteOffset: i, as: SIMD8<UInt64>.self) != b.load(fromByteOffset: i, as: SIMD8<UInt64>.self) {
                return false
            }
            i += 64
        }
        return true
    }
}

/// Appends bytes to a page, silently dropping what does not fit: generators
/// write until `full`, so every byte below the limit is defined.
struct ByteWriter {
    let base: UnsafeMutableRawPointer
    let limit: Int
    var at = 0

    init(_ base: UnsafeMutableRawPointer, limit: Int) {
        self.base = base
        self.limit = limit
    }

    var full: Bool { at >= limit }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        if at < limit {
            base.storeBytes(of: b, toByteOffset: at, as: UInt8.self)
            at += 1
        }
    }

    mutating func bytes(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        if at + n <= limit {
            (base + at).copyMemory(from: s.utf8Start, byteCount: n)
            at += n
        } else {
            for i in 0..<n { byte(s.utf8Start[i]) }
        }
    }

    mutating func word64(_ v: UInt64) {
        if at + 8 <= limit {
            base.storeBytes(of: v, toByteOffset: at, as: UInt64.self)
            at += 8
        } else {
            for i in 0..<8 { byte(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }
    }

    /// `count` lower-case letters, eight from each random number.
    mutating func letters(_ count: Int, _ rng: inout SplitMix64) {
        var left = count
        while left > 0 {
            var r = rng.next()
            for _ in 0..<min(left, 8) {
                byte(97 + UInt8(truncatingIfNeeded: r) % 26)
                r >>= 8
            }
            left -= 8
        }
    }

    /// Writes a non-negative integer in decimal.
    mutating func decimal(_ v: Int) {
        var divisor = 1
        while divisor <= v / 10 { divisor *= 10 }
        repeat {
            byte(UInt8(48 + (v / divisor) % 10))
            divisor /= 10
        } while divisor > 0
    }
}

/// Text the way it sits in a heap: prose (documents, messages) and
/// JSON-like records (caches, parsed payloads).
enum TextPages {
    static let words: [StaticString] = [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
        "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they",
        "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more",
        "when", "will", "would", "who", "so", "no", "memory", "page", "process", "kernel", "request",
        "server", "value", "system", "time", "data", "user", "file", "error", "network", "cache", "table",
        "number", "people", "between", "during", "without", "however", "another", "because", "through",
        "government", "important", "development", "information", "following", "different", "available",
        "compressed", "allocation", "performance", "configuration", "application", "transaction",
    ]
    static let names: [StaticString] = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
        "oscar", "peggy", "trent", "victor", "walter",
    ]

    static func prose(_ w: inout ByteWriter, _ rng: inout SplitMix64) {
        var wordsInSentence = 0
        while !w.full {
            let word = words[rng.below(words.count)]
            if wordsInSentence == 0 {                              // capitalise a sentence's first word
                let p = word.utf8Start
                w.byte(p[0] & ~0x20)
                for i in 1..<word.utf8CodeUnitCount { w.byte(p[i]) }
            } else {
                w.bytes(word)
            }
            wordsInSentence += 1
            if rng.below(23) == 0 {
                w.byte(32)
                w.decimal(rng.below(10_000))
            }
            if wordsInSentence > 6 && rng.below(9) == 0 {
                w.byte(46)                                         // "."
                w.byte(rng.below(5) == 0 ? 10 : 32)                // newline or space
                wordsInSentence = 0
            } else {
                if rng.below(12) == 0 { w.byte(44) }               // ","
                w.byte(32)
            }
        }
    }

    static func records(_ w: inout ByteWriter, _ rng: inout SplitMix64) {
        var id = 100_000 + rng.below(900_000)
        while !w.full {
            w.bytes("{\"id\":")
            w.decimal(id)
            w.bytes(",\"user\":\"")
            w.bytes(names[rng.below(names.count)])
            w.bytes("\",\"status\":\"")
            w.bytes(rng.below(4) == 0 ? "error" : "ok")
            w.bytes("\",\"latency_ms\":")
            w.decimal(rng.below(2000))
            w.bytes(",\"path\":\"/api/v1/")
            w.bytes(words[48 + rng.below(words.count - 48)])
            w.bytes("\"}\n")
            id += 1 + rng.below(3)
        }
    }
}

/// malloc'd objects: chunk headers, pointers into one heap, small integers,
/// short strings, padding.
enum HeapPages {
    /// Every page of a process shares the heap's high address bits.
    static let heapBase: UInt64 = 0x0000_55D4_3A20_0000

    static func pointer(_ rng: inout SplitMix64) -> UInt64 {
        rng.below(5) == 0 ? 0 : heapBase &+ (rng.next() % (64 << 20)) & ~15
    }

    static func chunks(_ w: inout ByteWriter, _ rng: inout SplitMix64) {
        while !w.full {
            switch rng.below(3) {
            case 0:   // list node: size|inuse, next, prev, key, value
                w.word64(0x31)
                w.word64(pointer(&rng))
                w.word64(pointer(&rng))
                w.word64(UInt64(rng.below(100_000)))
                w.word64(pointer(&rng))
                w.word64(0)
            case 1:   // tree node: size|inuse, left, right, parent, color|key, value, pad
                w.word64(0x41)
                w.word64(pointer(&rng))
                w.word64(pointer(&rng))
                w.word64(pointer(&rng))
                w.word64(UInt64(rng.below(2)) << 63 | UInt64(rng.below(1 << 20)))
                w.word64(pointer(&rng))
                w.word64(0)
                w.word64(0)
            default:  // string object: size|inuse, refcount, length, then bytes
                let length = 8 + rng.below(40)
                let chunk = (24 + length + 15) & ~15
                w.word64(UInt64(chunk) | 1)
                w.word64(UInt64(1 + rng.below(4)))
                w.word64(UInt64(length))
                w.letters(length, &rng)
                for _ in 0..<(chunk - 24 - length) { w.byte(0) }
            }
        }
    }
}

/// Arrays of numbers: small integers (counts, indices), drifting counters,
/// prices and timestamps.  LZ4 finds little to match in most of them, so a
/// good part of this kind compresses poorly, as real numeric data does.
enum NumericPages {
    static func array(_ page: UnsafeMutableRawPointer, _ rng: inout SplitMix64) {
        switch rng.below(4) {
        case 0:   // Int64 counts below 4096: six zero bytes in every eight
            for i in stride(from: 0, to: PageMix.pageSize, by: 8) {
                page.storeBytes(of: Int64(rng.below(4096)), toByteOffset: i, as: Int64.self)
            }
        case 1:   // Int32 counters that drift upwards
            var v = Int32(rng.below(1 << 20))
            for i in stride(from: 0, to: PageMix.pageSize, by: 4) {
                v &+= Int32(rng.below(16))
                page.storeBytes(of: v, toByteOffset: i, as: Int32.self)
            }
        case 2:   // Float64 prices, rounded to cents: noisy low mantissa bits
            var price = 50.0 + Double(rng.below(5000)) / 10
            for i in stride(from: 0, to: PageMix.pageSize, by: 8) {
                price += Double(rng.below(201) - 100) / 100
                page.storeBytes(of: (price * 100).rounded() / 100, toByteOffset: i, as: Double.self)
            }
        default:  // Int64 timestamps in microseconds, ~1 ms apart with jitter
            var t: Int64 = 1_700_000_000_000_000 + Int64(rng.below(1 << 30))
            for i in stride(from: 0, to: PageMix.pageSize, by: 8) {
                t += 1000 + Int64(rng.below(64))
                page.storeBytes(of: t, toByteOffset: i, as: Int64.self)
            }
        }
    }
}
