// `pagezip bench --smoke`: it completes, writes JSON of the documented shape,
// and every byte it paged out came back.  No speed is asserted here: speed
// targets live in the bench's own output.

import Foundation
import Testing

@Suite(.serialized) struct BenchSmokeTests {
    @Test func smokeRunCompletesAndVerifiesEveryByte() throws {
        _ = try Harness.requireLibrary()
        let json = Harness.workDir.appendingPathComponent("bench-smoke.json").path
        let svg = Harness.workDir.appendingPathComponent("bench-smoke.svg").path
        let r = Harness.run([Harness.cli, "bench", "--smoke", "--no-kernel", "--json", json, "--svg", svg],
                            preload: false, timeout: 120)
        #expect(!r.timedOut)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")

        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["version"] as? Int == 1)
        #expect(report["verified_mismatches"] as? Int == 0)
        #expect((report["verified_pages"] as? Int ?? 0) > 0)

        let e2e = try #require(report["end_to_end"] as? [String: Any])
        #expect(e2e["verified_mismatches"] as? Int == 0)
        #expect((e2e["verified_pages"] as? Int ?? 0) > 0, "the end-to-end child checked its pages")
        #expect(e2e["pagezip"] is [String: Any])

        let pageLevel = try #require(report["page_level"] as? [String: Any])
        let kinds = (pageLevel["kinds"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(Set(kinds) == ["zero", "text", "pointer_heap", "numeric", "random", "partly_filled"])
        #expect(pageLevel["verified_mismatches"] as? Int == 0)

        let anchor = try #require(report["kernel_anchor"] as? [String: Any])
        #expect(anchor["status"] as? String == "skipped", "--no-kernel never touches the machine's swap")
        #expect(report["idle_overhead"] is [String: Any])
        #expect(FileManager.default.fileExists(atPath: svg))
        #expect(r.stdout.contains("PAGE LEVEL") && r.stdout.contains("END TO END"), "\(r.stdout)")
    }

    @Test func helpExplainsTheSectionsAndRatios() {
        let r = Harness.run([Harness.cli, "bench", "--help"], preload: false, timeout: 30)
        #expect(r.status == 0)
        for word in ["PAGE LEVEL", "END TO END", "KERNEL ANCHOR", "IDLE OVERHEAD", "pagezip ÷"] {
            #expect(r.stdout.contains(word), "\(word) in --help")
        }
    }
}
