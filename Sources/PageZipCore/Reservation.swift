// Address space pagezip takes for itself, straight from the kernel.
//
// Everything the engine touches while serving a fault lives in reservations
// made here with raw mmap(2): the entry table, the pool, bookkeeping, thread
// stacks.  None of it is ever tracked, registered or compressed, so the fault
// handler can never fault on its own data.

import CPageZipSys

@frozen
public struct Reservation: Sendable {
    public let base: UInt
    public let size: UInt

    public init(base: UInt, size: UInt) {
        self.base = base
        self.size = size
    }

    /// Reserves `size` bytes of private anonymous memory, read-write, with no
    /// commit charge (MAP_NORESERVE): untouched pages cost nothing.
    /// Returns nil with the kernel's errno when the address space is not there
    /// (RLIMIT_AS, vm.overcommit_memory=2).
    public static func reserve(size: UInt, hugePages: Bool = false) -> (Reservation?, Int32) {
        let prot: Int32 = 0x1 | 0x2                       // PROT_READ | PROT_WRITE
        let flags: Int32 = 0x02 | 0x20 | 0x4000           // MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
        let r = pz_sys_mmap(0, Int(size), prot, flags, -1, 0)
        if r < 0 && r > -4096 { return (nil, Int32(-r)) }
        let base = UInt(bitPattern: r)
        if !hugePages { _ = pz_sys_madvise(base, Int(size), 15) }  // MADV_NOHUGEPAGE
        _ = pz_sys_madvise(base, Int(size), 16)                     // MADV_DONTDUMP: keep core dumps small
        return (Reservation(base: base, size: size), 0)
    }

    @inlinable public func contains(_ addr: UInt) -> Bool { addr >= base && addr - base < size }

    @inlinable public func overlaps(_ start: UInt, _ end: UInt) -> Bool { start < base + size && end > base }

    @inlinable public var end: UInt { base + size }

    /// Gives the physical pages of [addr, addr+len) back to the kernel.
    @_noLocks
    public static func discard(_ addr: UInt, _ len: UInt) {
        _ = pz_sys_madvise(addr, Int(len), 4)   // MADV_DONTNEED
    }
}

/// Carves aligned pieces out of one reservation at start-up.
public struct BumpCarver {
    private var next: UInt
    private let limit: UInt

    public init(_ r: Reservation) {
        next = r.base
        limit = r.base + r.size
    }

    public mutating func take(_ bytes: UInt, align: UInt = 4096) -> UnsafeMutableRawPointer? {
        let start = (next + align - 1) & ~(align - 1)
        guard start + bytes <= limit else { return nil }
        next = start + bytes
        return UnsafeMutableRawPointer(bitPattern: start)
    }

    public var used: UInt { next }
}
