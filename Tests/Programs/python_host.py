"""A Python host: threads, a large dict, and an mmap paged out and read back."""
import hashlib
import mmap
import threading

m = mmap.mmap(-1, 16 << 20)
for i in range(0, len(m), 4096):
    line = b"page %08d of the python host\n" % (i // 4096)
    m[i:i + len(line)] = line
before = hashlib.sha256(m).hexdigest()
m.madvise(getattr(mmap, "MADV_PAGEOUT", 21))
after = hashlib.sha256(m).hexdigest()

d = {str(i): "v" * (i % 97) for i in range(100000)}
results = [0] * 4


def work(n):
    results[n] = sum(len(v) for v in d.values()) * (n + 1)


threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"intact={before == after} entries={len(d)} results={results}")
