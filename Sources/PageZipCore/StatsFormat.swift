// Number formatting shared by the stats renderers: sizes the way zramctl
// prints them, ratios, durations, hexadecimal, fixed decimals, and column
// alignment — without Foundation.

public enum StatsFormat {
    /// zramctl's style: "0B", "512B", "4K", "36.8M", "1.5G" (powers of 1024,
    /// one decimal unless it is .0).  With `exact`, the plain byte count.
    public static func size(_ bytes: UInt64, exact: Bool = false) -> String {
        if exact || bytes < 1024 { return exact ? String(bytes) : "\(bytes)B" }
        let units: [Character] = ["K", "M", "G", "T", "P", "E"]
        var unit = 0
        var scale: UInt64 = 1024
        while unit < units.count - 1 && bytes / scale >= 1024 {
            scale *= 1024
            unit += 1
        }
        // Tenths, rounded half up, in integers so nothing is lost to Double.
        var tenths = (bytes / scale) * 10 + ((bytes % scale) * 10 + scale / 2) / scale
        if tenths >= 10240 && unit < units.count - 1 {   // 1023.96K rounds to 1024.0K: say 1M
            tenths = 10
            unit += 1
        }
        let whole = tenths / 10
        let frac = tenths % 10
        return frac == 0 ? "\(whole)\(units[unit])" : "\(whole).\(frac)\(units[unit])"
    }

    /// DATA / TOTAL: bytes held per byte of pool memory; nil when nothing is in the pool.
    public static func ratioValue(_ u: StatsUsage) -> Double? {
        guard u.poolBytes > 0 else { return nil }
        return Double(u.origDataBytes) / Double(u.poolBytes)
    }

    /// "3.80", or "-" when the pool is empty (only zero pages, or nothing held).
    public static func ratio(_ u: StatsUsage) -> String {
        guard let r = ratioValue(u) else { return "-" }
        return fixed(r, decimals: 2)
    }

    /// A non-negative value with a fixed number of decimals ("3.80").
    public static func fixed(_ v: Double, decimals: Int) -> String {
        guard v.isFinite, v >= 0, v < 1e15 else { return v.isFinite ? String(v) : "-" }
        var scale: Double = 1
        for _ in 0..<decimals { scale *= 10 }
        let n = UInt64((v * scale).rounded())
        let s = UInt64(scale)
        guard decimals > 0 else { return String(n) }
        let frac = String(n % s)
        return "\(n / s)." + String(repeating: "0", count: decimals - frac.count) + frac
    }

    /// Nanoseconds as "850ns", "4.1µs", "2.3ms", "1.5s".
    public static func duration(ns: UInt64) -> String {
        if ns < 1000 { return "\(ns)ns" }
        if ns < 1_000_000 { return fixed(Double(ns) / 1e3, decimals: 1) + "µs" }
        if ns < 1_000_000_000 { return fixed(Double(ns) / 1e6, decimals: 1) + "ms" }
        return fixed(Double(ns) / 1e9, decimals: 1) + "s"
    }

    public static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// Seconds as a Prometheus sample value.
    public static func seconds(ns: UInt64) -> String {
        let s = ns / 1_000_000_000
        let frac = String(ns % 1_000_000_000)
        return "\(s)." + String(repeating: "0", count: 9 - frac.count) + frac
    }

    /// Lays out rows as columns: the first `leftAligned` columns padded on the
    /// right, the rest on the left (numbers line up), two spaces apart.
    /// Trailing spaces are trimmed.
    public static func table(_ rows: [[String]], leftAligned: Set<Int> = [0]) -> String {
        guard let columns = rows.map(\.count).max(), columns > 0 else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for r in rows {
            for (i, cell) in r.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for r in rows {
            var line = ""
            for (i, cell) in r.enumerated() {
                if i > 0 { line += "  " }
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                line += leftAligned.contains(i) ? cell + pad : pad + cell
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
