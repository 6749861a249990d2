// The page table: one Entry per virtual page of the user address space,
// direct-mapped by page number in a sparse reservation.
//
// 2^35 pages x 8 B = 256 GiB of address space, of which only the 4 KiB pages
// that hold entries are ever backed: each backs the entries of 2 MiB of the
// host's memory.  A direct map means entries never move when the host splits,
// trims or remaps a region; mremap moves entries explicitly (EVENT_REMAP).

import CPageZipSys

@frozen
public struct EntryTable: @unchecked Sendable {
    public static var addressLimit: UInt { 1 << 47 }
    public static var reservationSize: UInt { (addressLimit >> 12) * 8 }

    public let words: UnsafeMutablePointer<UInt64>

    public init(base: UnsafeMutableRawPointer) {
        words = base.assumingMemoryBound(to: UInt64.self)
    }

    @inlinable @inline(__always)
    public static func covers(_ addr: UInt) -> Bool { addr < addressLimit }

    @inlinable @inline(__always)
    public func slot(_ addr: UInt) -> UnsafeMutablePointer<UInt64> {
        words + Int(addr >> 12)
    }

    @inlinable @inline(__always)
    public func load(_ addr: UInt) -> Entry {
        Entry(bits: pz_load64(slot(addr)))
    }

    @inlinable @inline(__always)
    public func store(_ addr: UInt, _ e: Entry) {
        pz_store64(slot(addr), e.bits)
    }

    @inlinable @inline(__always)
    public func exchange(_ addr: UInt, _ e: Entry) -> Entry {
        Entry(bits: pz_xchg64(slot(addr), e.bits))
    }

    @inlinable @inline(__always)
    public func compareExchange(_ addr: UInt, expected: Entry, desired: Entry) -> Bool {
        pz_cas64(slot(addr), expected.bits, desired.bits)
    }

    /// Whether the table page holding this address's entry was ever touched;
    /// lets scans skip 2 MiB of host memory per untouched table page.
    @inlinable @inline(__always)
    public func pageIndex(_ addr: UInt) -> UInt { addr >> 21 }
}
