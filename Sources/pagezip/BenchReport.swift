// Everything one `pagezip bench` measured, as the JSON it writes (--json)
// and the table prints.  Keys are snake_case; `version` changes when a field
// changes meaning.

import Foundation

struct BenchReport: Codable {
    var version = 1
    var startedAt: String
    var durationSeconds: Double = 0
    var settings: BenchSettings
    /// PAGEZIP_* variables that configured the pagezip side.
    var pagezipEnvironment: [String]
    var machine: MachineInfo
    var pageLevel: PageLevelReport?
    var endToEnd: EndToEndReport?
    var kernelAnchor: KernelAnchorReport
    var idleOverhead: IdleOverheadReport?
    var svg: String?
    /// Pages and bytes checked in all sections, and how many were wrong.
    var verifiedPages = 0
    var verifiedMismatches = 0

    /// Adds up what every section verified.
    mutating func tallyVerification() {
        verifiedPages = (pageLevel?.verifiedPages ?? 0) + (endToEnd?.verifiedPages ?? 0)
        verifiedMismatches = (pageLevel?.verifiedMismatches ?? 0) + (endToEnd?.verifiedMismatches ?? 0)
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }
}
