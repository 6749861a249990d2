// A Swift host with its own (dynamic) Swift runtime, threads, generics,
// dynamic casts and a crash handler of its own.
import Dispatch
import Glibc

protocol Shape { var area: Double { get } }
struct Square: Shape { let side: Double; var area: Double { side * side } }
struct Circle: Shape { let r: Double; var area: Double { 3.0 * r * r } }

var shapes: [any Shape] = []
for i in 0..<10000 { shapes.append(i % 2 == 0 ? Square(side: Double(i % 10)) : Circle(r: Double(i % 7))) }
let squares = shapes.compactMap { $0 as? Square }.count
var dict: [String: Int] = [:]
for i in 0..<50000 { dict["k\(i)"] = i }
let group = DispatchGroup()
let lock = NSLockLike()
var total = 0
for t in 0..<4 {
    DispatchQueue.global().async(group: group) {
        let s = dict.values.reduce(0, +) * (t + 1)
        lock.withLock { total += s }
    }
}
group.wait()
let buf = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 4096)
for i in 0..<(8 << 20) { buf.storeBytes(of: UInt8(truncatingIfNeeded: i / 4096 + i % 5), toByteOffset: i, as: UInt8.self) }
madvise(buf, 8 << 20, 21)
var sum: UInt64 = 0
for i in 0..<(8 << 20) { sum = sum &* 31 &+ UInt64(buf.load(fromByteOffset: i, as: UInt8.self)) }
print("shapes=\(shapes.count) squares=\(squares) dict=\(dict.count) total=\(total) sum=\(sum) \(String(describing: type(of: shapes)))")

final class NSLockLike: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    func withLock(_ body: () -> Void) { pthread_mutex_lock(&m); body(); pthread_mutex_unlock(&m) }
}
