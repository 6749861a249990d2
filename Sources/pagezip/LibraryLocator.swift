// Where libpagezip.so is: --library, $PAGEZIP_LIBRARY, next to this
// executable (a build tree), or ../lib beside it (an install).

import Foundation

enum LibraryLocator {
    static func candidates(explicit: String?) -> [String] {
        var out: [String] = []
        if let explicit { out.append(explicit) }
        if let env = ProcessInfo.processInfo.environment["PAGEZIP_LIBRARY"], !env.isEmpty { out.append(env) }
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
        let dir = exe.deletingLastPathComponent()
        out.append(dir.appendingPathComponent("libpagezip.so").path)
        out.append(dir.deletingLastPathComponent().appendingPathComponent("lib/libpagezip.so").path)
        return out
    }

    /// The absolute path of the library, or nil with the places looked at.
    static func find(explicit: String?) -> (String?, [String]) {
        let c = candidates(explicit: explicit)
        for path in c where FileManager.default.isReadableFile(atPath: path) {
            return (URL(fileURLWithPath: path).standardizedFileURL.path, c)
        }
        return (nil, c)
    }
}
