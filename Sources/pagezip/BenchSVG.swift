// The picture: first-touch (refault) latency distributions of pagezip and the
// kernel, sequential and random order, as hand-written SVG.
//
// Two panels share a logarithmic time axis.  Left, the CDF (share of touches
// at or below a time): where the bulk sits.  Right, the tail on a log scale
// (share of touches slower than a time, 1 - CDF): where p99 and p99.9 sit,
// which a linear CDF squeezes into its top pixel.

import Foundation

enum LatencySVG {
    static let width = 1000.0
    static let height = 450.0
    static let panelWidth = 380.0
    static let panelHeight = 300.0
    static let top = 60.0
    static let lefts = [100.0, 590.0]
    /// The tail panel goes down to 1 - CDF = 0.0001 (p99.99).
    static let tailDecades = 4.0

    static func colour(_ curve: LatencyCurve) -> String { curve.side == "pagezip" ? "#1f6fb4" : "#d9711c" }
    static func dash(_ curve: LatencyCurve) -> String { curve.order == "random" ? "7 4" : "none" }

    static func render(_ curves: [LatencyCurve], title: String) -> String {
        let present = curves.filter { !$0.sortedNs.isEmpty }
        let lo = max(10, present.map { $0.sortedNs[$0.sortedNs.count / 1000] }.min() ?? 100)
        let hi = max(lo * 10, present.map { $0.sortedNs.last! }.max() ?? 100_000)
        let xMin = floor(log10(lo)), xMax = ceil(log10(hi))

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>

        """
        svg += text(width / 2, 24, title, size: 15)
        for (panel, left) in lefts.enumerated() {
            let isTail = panel == 1
            let bottom = top + panelHeight
            func x(_ ns: Double) -> Double { left + (log10(max(ns, 1)) - xMin) / (xMax - xMin) * panelWidth }
            func y(_ share: Double) -> Double {
                isTail ? top - log10(max(share, 1e-9)) / tailDecades * panelHeight : top + (1 - share) * panelHeight
            }
            svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#888\"/>\n"
            svg += text(left + panelWidth / 2, top - 10,
                        isTail ? "tail: share of touches slower than t (log)" : "CDF: share of touches done within t")
            // Time axis: decades labelled, 2x and 5x ticked.
            var decade = xMin
            while decade <= xMax {
                let ns = pow(10, decade)
                svg += line(x(ns), top, x(ns), bottom, colour: "#ddd")
                svg += text(x(ns), bottom + 16, axisLabel(ns))
                for m in [2.0, 5.0] where decade < xMax { svg += line(x(ns * m), bottom, x(ns * m), bottom - 5, colour: "#888") }
                decade += 1
            }
            svg += text(left + panelWidth / 2, bottom + 34, "t, first touch of a paged-out page")
            // Share axis.
            let ticks: [(Double, String)] = isTail
                ? [(1, "1"), (0.1, "0.1"), (0.01, "0.01 (p99)"), (0.001, "0.001 (p99.9)"), (0.0001, "0.0001")]
                : [(0, "0"), (0.25, "0.25"), (0.5, "0.5 (median)"), (0.75, "0.75"), (1, "1")]
            for (share, label) in ticks {
                svg += line(left, y(share), left + panelWidth, y(share), colour: "#eee")
                svg += text(left - 6, y(share) + 4, label, anchor: "end", size: 10)
            }
            for c in present {
                svg += "<path d=\"\(path(c, x: x, y: y, tail: isTail))\" fill=\"none\" stroke=\"\(colour(c))\" "
                    + "stroke-width=\"1.8\" stroke-dasharray=\"\(dash(c))\"/>\n"
            }
        }
        // Legend, one row under the panels.
        var lx = lefts[0]
        let ly = top + panelHeight + 62
        for c in present {
            svg += line(lx, ly, lx + 30, ly, colour: colour(c), width: 2, dash: dash(c))
            svg += text(lx + 36, ly + 4, c.label, anchor: "start")
            lx += 220
        }
        return svg + "</svg>\n"
    }

    /// The curve through about 400 quantiles, dense in the tail.
    static func path(_ c: LatencyCurve, x: (Double) -> Double, y: (Double) -> Double, tail: Bool) -> String {
        let n = c.sortedNs.count
        let quantiles = Array(stride(from: 0.0, through: 0.99, by: 0.0025)) + Array(stride(from: 0.99, through: 1.0, by: 0.00005))
        var d = ""
        var lastRank = -1
        for q in quantiles {
            let rank = min(n - 1, Int(q * Double(n - 1)))
            if rank == lastRank { continue }
            lastRank = rank
            let share = Double(rank + 1) / Double(n)
            let py = tail ? y(max(1 - share, 1e-4)) : y(share)
            d += (d.isEmpty ? "M" : " L") + String(format: "%.1f %.1f", x(c.sortedNs[rank]), py)
        }
        return d
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, colour: String,
                     width: Double = 1, dash: String = "none") -> String {
        String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" ", x1, y1, x2, y2)
            + "stroke=\"\(colour)\" stroke-width=\"\(width)\" stroke-dasharray=\"\(dash)\"/>\n"
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "middle", size: Int = 12) -> String {
        String(format: "<text x=\"%.1f\" y=\"%.1f\" ", x, y)
            + "text-anchor=\"\(anchor)\" font-size=\"\(size)\">\(escape(s))</text>\n"
    }

    static func axisLabel(_ ns: Double) -> String {
        if ns >= 1_000_000 { return "\(Int(ns / 1_000_000)) ms" }
        if ns >= 1_000 { return "\(Int(ns / 1_000)) µs" }
        return "\(Int(ns)) ns"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
