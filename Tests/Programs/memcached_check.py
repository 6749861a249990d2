"""memcached under pagezip auto reclaim: fill it, keep a small hot subset busy,
wait until the server's RSS has fallen, then read every item back.

    memcached_check.py PORT PID ITEMS DEADLINE_S
"""
import hashlib
import sys
import time

from pymemcache.client.base import Client

from server_common import emit, rss_kib, wait_for_port

port, pid, items, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + limit
wait_for_port(port, deadline)
c = Client(("127.0.0.1", port), timeout=10)


def value(i):
    # ~2 KiB of text-like bytes, different per item
    return (b"item %08d " % i + hashlib.sha256(b"%d" % i).hexdigest().encode() + b"\n") * 24


for i in range(items):
    c.set(b"k%d" % i, value(i), noreply=False)
full = rss_kib(pid)
hot = range(0, max(1, items // 50))
t0 = time.monotonic()
ops = 0
reached = 0
while time.monotonic() < deadline:
    for i in hot:
        if c.get(b"k%d" % i) != value(i):
            raise SystemExit(f"hot item {i} corrupted")
        ops += 1
    if rss_kib(pid) < full // 2:
        reached = 1
        break
elapsed = time.monotonic() - t0
idle = rss_kib(pid)
bad = sum(1 for i in range(items) if c.get(b"k%d" % i) != value(i))
emit(rss_full_kib=full, rss_idle_kib=idle, reached=reached, bad=bad, hot_ops_per_s=int(ops / max(elapsed, 1e-6)))
