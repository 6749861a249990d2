// Why LD_PRELOAD would not load into a program: static linking, set-user-ID
// (secure execution ignores LD_PRELOAD), another architecture.

import Foundation

struct ExecutableInspector {
    enum Finding: Equatable {
        case notFound
        case notExecutable
        case script(interpreter: String)
        case staticBinary
        case setuid
        case foreignArchitecture(String)
    }

    /// Resolves a command name like execvp(3) does.
    static func resolve(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Reasons the library will not load into `path` (empty if it will).
    static func inspect(_ path: String) -> [Finding] {
        guard let fh = FileHandle(forReadingAtPath: path) else { return [.notExecutable] }
        defer { try? fh.close() }
        let head = (try? fh.read(upToCount: 4096)) ?? Data()
        var findings: [Finding] = []
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path),
           let perms = attrs[.posixPermissions] as? Int, perms & 0o6000 != 0 {
            let owner = (attrs[.ownerAccountID] as? NSNumber)?.uint32Value ?? 0
            if owner != geteuid() { findings.append(.setuid) }
        }
        if head.starts(with: [0x23, 0x21]) {   // "#!"
            let line = String(decoding: head.prefix { $0 != 0x0A }.dropFirst(2), as: UTF8.self)
            findings.append(.script(interpreter: line.trimmingCharacters(in: .whitespaces)))
            return findings
        }
        guard head.count >= 64, head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else { return findings }
        let elfClass = head[4]
        let machine = UInt16(head[18]) | UInt16(head[19]) << 8
        if elfClass != 2 || machine != 62 {
            findings.append(.foreignArchitecture(elfClass == 1 ? "32-bit" : "machine \(machine)"))
            return findings
        }
        // Program headers: look for PT_INTERP (3).
        func u64(_ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(head[o + $1]) << (8 * $1) } }
        func u16(_ o: Int) -> Int { Int(head[o]) | Int(head[o + 1]) << 8 }
        let phoff = u64(32), phentsize = u16(54), phnum = u16(56)
        var hasInterp = false
        var data = head
        if phoff + phentsize * phnum > data.count {
            try? fh.seek(toOffset: 0)
            data = (try? fh.read(upToCount: phoff + phentsize * phnum)) ?? head
        }
        for i in 0..<phnum {
            let o = phoff + i * phentsize
            guard o + 4 <= data.count else { break }
            let type = Int(data[o]) | Int(data[o + 1]) << 8 | Int(data[o + 2]) << 16 | Int(data[o + 3]) << 24
            if type == 3 { hasInterp = true }
        }
        if !hasInterp { findings.append(.staticBinary) }
        return findings
    }
}
