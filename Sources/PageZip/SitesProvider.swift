// Allocation sites for `pagezip stats --sites` (/sites and /sites.json on the
// stats socket), in the stats snapshot's shape.
//
// The engine's site reports (SiteReport.swift: libunwind frames captured at
// the mmap interposer, per-site usage found by walking the entry table) are
// computed on the stats thread, which may allocate but takes no engine lock.
// Site 0 collects mappings whose site was not recorded.

import PageZipCore

func currentSites() -> [SiteUsage] {
    siteReports().map { r in
        let frames = r.frames.enumerated().map { i, address in
            SiteFrame(address: UInt64(address), symbol: i < r.symbols.count && r.symbols[i] != "?" ? r.symbols[i] : nil)
        }
        return SiteUsage(id: UInt32(r.id), frames: frames, calls: r.calls, mappedBytes: r.mappedBytes,
                         storedPages: r.storedPages, comprBytes: r.comprBytes)
    }
}
