import PageZipCore
import Testing

@Suite struct MapsParserTests {
    func parse(_ line: String) -> Mapping? {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { MapsParser.parseLine($0.baseAddress!, $0.count) }
    }

    @Test func kindsAndPermissions() {
        let anon = parse("7f1c2c000000-7f1c2c021000 rw-p 00000000 00:00 0 ")!
        #expect(anon.start == 0x7f1c2c000000 && anon.end == 0x7f1c2c021000)
        #expect(anon.kind == .anonymous && anon.isPrivateAnonymousRW)
        #expect(parse("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]")!.kind == .heap)
        #expect(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0                          [stack]")!.kind == .stack)
        #expect(parse("7ffd1000-7ffd2000 r-xp 00000000 00:00 0                          [vdso]")!.kind == .special)
        #expect(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0   [anon:jemalloc]")!.isPrivateAnonymousRW)
        let file = parse("7f00-8f00 rw-p 00001000 fe:01 123456   /usr/lib/x86_64-linux-gnu/libc.so.6")!
        #expect(file.kind == .file && !file.isPrivateAnonymousRW)
        let shared = parse("1000-2000 rw-s 00000000 00:05 42   /dev/zero (deleted)")!
        #expect(!shared.isPrivateAnonymousRW)
        let guardPage = parse("1000-2000 ---p 00000000 00:00 0 ")!
        #expect(!guardPage.readable && !guardPage.writable && !guardPage.isPrivateAnonymousRW)
        #expect(parse("garbage") == nil)
    }

    @Test func readsThisProcess() {
        let cap = 8192
        let out = UnsafeMutablePointer<Mapping>.allocate(capacity: cap)
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: 8192)
        let n = MapsParser.read(into: out, capacity: cap, buffer: buf, bufferSize: 8192)
        #expect(n > 5)
        var prevEnd: UInt = 0
        for i in 0..<n {
            #expect(out[i].start < out[i].end && out[i].start >= prevEnd)
            prevEnd = out[i].end
        }
        #expect((0..<n).contains { out[i: $0].kind == .stack })
    }
}

extension UnsafeMutablePointer where Pointee == Mapping {
    subscript(i i: Int) -> Mapping { self[i] }
}
