// Per-site usage, computed when `pagezip stats --sites` asks: the ranges each
// allocation site mapped, and how much of them pagezip holds, found by
// walking the entry table.  Runs on the stats thread (it may allocate); it
// reads the engine's sets without the map lock, so every value is bounded and
// a torn read only skews one report.

import CPageZipPreload
import PageZipCore

struct SiteReport: Sendable {
    var id: UInt16
    var frames: [UInt]
    var symbols: [String]       // "function+0x1f (library)" per frame, "?" when unknown
    var calls: UInt64           // mmap calls from this site
    var mappedBytes: UInt64     // bytes of its ranges still mapped
    var storedPages: UInt64     // of which held by pagezip
    var comprBytes: UInt64      // their compressed bytes
}

func siteReports() -> [SiteReport] {
    guard let e = engineStorage else { return [] }
    let map = e.pointee.siteRegions
    let reg = e.pointee.registered
    var bySite: [UInt16: (mapped: UInt64, pages: UInt64, bytes: UInt64)] = [:]
    var budget = 64 << 20                           // pages walked per report, at most
    let n = min(map.count, map.capacity)
    for i in 0..<n {
        let r = map[i]
        guard r.start < r.end, r.end <= EntryTable.addressLimit else { continue }
        var acc = bySite[r.site] ?? (0, 0, 0)
        acc.mapped += UInt64(r.end - r.start)
        // Only registered stretches can hold pages.
        var k = reg.firstEndingAfter(r.start)
        while k < min(reg.count, reg.capacity) && budget > 0 {
            let iv = reg[k]
            if iv.start >= r.end { break }
            var p = max(iv.start, r.start) & ~4095
            let stop = min(iv.end, r.end)
            while p < stop && budget > 0 {
                let ent = e.pointee.entries.load(p)
                if ent.isStored {
                    acc.pages += 1
                    acc.bytes += UInt64(ent.objectLength)
                }
                p += 4096
                budget -= 1
            }
            k += 1
        }
        bySite[r.site] = acc
    }
    var out: [SiteReport] = []
    for site in e.pointee.sites.sites() {
        let acc = bySite[site.id] ?? (0, 0, 0)
        out.append(SiteReport(id: site.id, frames: site.frames, symbols: site.frames.map(symbolize), calls: site.calls,
                              mappedBytes: acc.mapped, storedPages: acc.pages, comprBytes: acc.bytes))
    }
    if let unknown = bySite[0], unknown.mapped > 0 {
        out.append(SiteReport(id: 0, frames: [], symbols: ["(not recorded)"], calls: 0,
                              mappedBytes: unknown.mapped, storedPages: unknown.pages, comprBytes: unknown.bytes))
    }
    return out.sorted { ($0.comprBytes, $0.mappedBytes) > ($1.comprBytes, $1.mappedBytes) }
}

/// "symbol+0xoff (library)" for a return address, via dladdr.
func symbolize(_ address: UInt) -> String {
    var buf = [CChar](repeating: 0, count: 512)
    guard pz_preload_symbolize(address, &buf, buf.count) == 0 else { return "?" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
