// How numbers look in the bench's table: durations with their unit, sizes in
// MiB, ratios with two decimals, columns padded to a width.

import Foundation

enum Fmt {
    /// 34 ns, 1.45 µs, 12.3 ms, 2.10 s
    static func duration(_ ns: Double) -> String {
        if ns.isNaN { return "n/a" }
        if ns < 1_000 { return "\(Int(ns.rounded())) ns" }
        if ns < 1_000_000 { return String(format: "%.2f µs", ns / 1_000) }
        if ns < 1_000_000_000 { return String(format: "%.1f ms", ns / 1_000_000) }
        return String(format: "%.2f s", ns / 1_000_000_000)
    }

    static func mib(_ bytes: Double) -> String {
        String(format: "%.1f MiB", bytes / 1_048_576)
    }

    static func ratio(_ r: Double?) -> String {
        guard let r else { return "n/a" }
        return String(format: r < 10 ? "%.2f" : "%.1f", r)
    }

    static func percent(_ p: Double) -> String { String(format: "%.1f %%", p) }

    static func count(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    /// "2m03s" for a run's duration.
    static func minutes(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
    }
}

/// A plain-text table: a header row and rows, each column left-aligned (the
/// first) or right-aligned (the rest), separated by two spaces.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(indent: String = "  ") -> String {
        let all = [header] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in all {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in all {
            var line = indent
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                line += i == 0 ? cell + pad : "  " + pad + cell
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
