// One 8-byte entry per page that pagezip holds.
//
// Layout (bit 0 is the least significant):
//   0-1   state: 0 empty, 1 stored, 2 storing (page parked in a staging slot)
//   2     raw: the pool object is the page itself, uncompressed (zram's huge page)
//   3     hot: the page refaulted soon after it was stored (reclaim history)
//   4-15  compressed length in bytes; 0 with state stored means a zero page
//   16-31 group ID: index into the group table, not a pointer
//   32-63 pool handle (object offset / 16), or the staging slot while storing

@frozen
public struct Entry: Equatable, Sendable {
    public var bits: UInt64

    @inlinable @inline(__always) public init(bits: UInt64) { self.bits = bits }

    public static var empty: Entry { Entry(bits: 0) }

    @frozen public enum State: UInt64, Sendable {
        case empty = 0
        case stored = 1
        case storing = 2
    }

    @inlinable @inline(__always)
    public static func stored(handle: UInt32, length: Int, group: UInt16, raw: Bool = false, hot: Bool = false) -> Entry {
        var b: UInt64 = State.stored.rawValue
        if raw { b |= 1 << 2 }
        if hot { b |= 1 << 3 }
        b |= UInt64(length & 0xFFF) << 4
        b |= UInt64(group) << 16
        b |= UInt64(handle) << 32
        return Entry(bits: b)
    }

    @inlinable @inline(__always)
    public static func zero(group: UInt16, hot: Bool = false) -> Entry {
        stored(handle: 0, length: 0, group: group, hot: hot)
    }

    @inlinable @inline(__always)
    public static func storing(slot: UInt32, group: UInt16, hot: Bool = false) -> Entry {
        var b: UInt64 = State.storing.rawValue
        if hot { b |= 1 << 3 }
        b |= UInt64(group) << 16
        b |= UInt64(slot) << 32
        return Entry(bits: b)
    }

    public var state: State { State(rawValue: bits & 3) ?? .empty }
    @inlinable @inline(__always) public var isEmpty: Bool { bits & 3 == 0 }
    @inlinable @inline(__always) public var isStored: Bool { bits & 3 == 1 }
    @inlinable @inline(__always) public var isStoring: Bool { bits & 3 == 2 }
    @inlinable @inline(__always) public var isRaw: Bool { bits & (1 << 2) != 0 }
    @inlinable @inline(__always) public var isHot: Bool { bits & (1 << 3) != 0 }
    @inlinable @inline(__always) public var length: Int { Int((bits >> 4) & 0xFFF) }
    @inlinable @inline(__always) public var isZeroPage: Bool { isStored && !isRaw && length == 0 }
    @inlinable @inline(__always) public var group: UInt16 { UInt16(truncatingIfNeeded: bits >> 16) }
    @inlinable @inline(__always) public var handle: UInt32 { UInt32(truncatingIfNeeded: bits >> 32) }
    @inlinable @inline(__always) public var slot: UInt32 { handle }

    /// Bytes of the page's content held in the pool object.
    @inlinable @inline(__always) public var objectLength: Int { isRaw ? 4096 : length }
}
