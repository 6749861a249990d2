import PageZipCore
import Testing

@Suite struct ConfigTests {
    func load(_ env: [String: String], mem: UInt64 = 16 << 30) -> (Config, [String]) {
        Config.load(env: { env[$0] }, memTotalBytes: mem)
    }

    @Test func defaults() {
        let (c, w) = load([:])
        #expect(w.isEmpty)
        #expect(c.enabled && c.logLevel == .warn)
        #expect(c.poolMaxBytes == (16 << 30) / 5)
        #expect(c.rejectAboveBytes == 3072 && c.faultAroundPages == 8)
        #expect(c.reclaimMode == .hints && c.coldAgeSeconds == 120)
    }

    @Test func sizesPercentagesAndDurations() {
        #expect(Config.parseSize("4096") == 4096)
        #expect(Config.parseSize("512K") == 512 << 10)
        #expect(Config.parseSize("64m") == 64 << 20)
        #expect(Config.parseSize("2G") == 2 << 30)
        #expect(Config.parseSize("1.5GiB") == 3 << 29)
        #expect(Config.parseSize("12x") == nil && Config.parseSize("") == nil && Config.parseSize("-1M") == nil)
        #expect(Config.parseDuration("90") == 90 && Config.parseDuration("30s") == 30)
        #expect(Config.parseDuration("2m") == 120 && Config.parseDuration("1h") == 3600)
        #expect(Config.parseDuration("soon") == nil)
        let (c, _) = load(["PAGEZIP_POOL_MAX": "25%", "PAGEZIP_COLD_AGE": "2m", "PAGEZIP_TARGET_RSS": "512M",
                           "PAGEZIP_RECLAIM": "auto"])
        #expect(c.poolMaxBytes == 4 << 30 && c.coldAgeSeconds == 120 && c.targetRSSBytes == 512 << 20)
        #expect(c.reclaimMode == .auto)
    }

    @Test func badValuesWarnOnceEachAndKeepDefaults() {
        let (c, w) = load(["PAGEZIP_POOL_MAX": "lots", "PAGEZIP_LOG": "loud", "PAGEZIP_REJECT_ABOVE": "9999",
                           "PAGEZIP_FAULT_AROUND": "0", "PAGEZIP_RECLAIM": "sometimes", "PAGEZIP_COLD_AGE": "-3",
                           "PAGEZIP_ENABLE": "maybe", "PAGEZIP_SOCKET_DIR": "relative/dir"])
        #expect(w.count == 8)
        #expect(w.allSatisfy { $0.hasPrefix("PAGEZIP_") && $0.contains("using") })
        #expect(w.contains { $0.hasPrefix("PAGEZIP_POOL_MAX=lots is not a size") })
        #expect(c == Config.load(env: { _ in nil }, memTotalBytes: 16 << 30).0)
    }
}
