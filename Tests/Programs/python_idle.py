"""A mostly idle Python process holding a large dict of strings: under
PAGEZIP_RECLAIM=auto its RSS falls, and every string reads back intact.

    python_idle.py MIB DEADLINE_S
"""
import hashlib
import sys
import time

from server_common import emit, rss_kib

mib, limit = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + limit
table = {}
total = 0
i = 0
while total < mib << 20:
    s = f"{i:09d} " + "lorem ipsum dolor sit amet " * (3 + i % 40)
    table[f"key-{i}"] = s
    total += len(s)
    i += 1
digest = hashlib.sha256("".join(table.values()).encode()).hexdigest()
full = rss_kib("self")
reached = 0
while time.monotonic() < deadline:
    if rss_kib("self") < full // 2:
        reached = 1
        break
    time.sleep(0.1)  # idle on purpose: this is the idle program under test
idle = rss_kib("self")
intact = hashlib.sha256("".join(table.values()).encode()).hexdigest() == digest
emit(entries=len(table), rss_full_kib=full, rss_idle_kib=idle, reached=reached, intact=intact)
