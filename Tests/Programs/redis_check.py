"""redis under pagezip auto reclaim: load a dataset, wait until the server's RSS
has fallen, then BGSAVE (a fork whose child reads every key) and take
DEBUG DIGEST before and after.

    redis_check.py PORT PID KEYS DEADLINE_S
"""
import sys
import time

import redis

from server_common import emit, rss_kib, wait_for_port

port, pid, keys, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + limit
wait_for_port(port, deadline)
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
pipe = r.pipeline(transaction=False)
for i in range(keys):
    pipe.set(f"key:{i}", f"value {i} " * (20 + i % 40))
    if i % 10 == 0:
        pipe.hset(f"hash:{i}", mapping={"a": i, "b": f"field {i}" * 5, "c": "x" * (i % 300)})
    if i % 1000 == 999:
        pipe.execute()
pipe.execute()
digest_before = r.execute_command("DEBUG", "DIGEST")
full = rss_kib(pid)
reached = 0
while time.monotonic() < deadline:
    if rss_kib(pid) < full // 2:
        reached = 1
        break
    time.sleep(0.1)  # the server must stay idle for its pages to go cold
idle = rss_kib(pid)
last = r.lastsave()
r.bgsave()
while r.info("persistence")["rdb_bgsave_in_progress"] or r.lastsave() == last:
    if time.monotonic() > deadline + 60:
        raise SystemExit("BGSAVE did not finish")
    time.sleep(0.05)
status = r.info("persistence")["rdb_last_bgsave_status"]
digest_after = r.execute_command("DEBUG", "DIGEST")
emit(rss_full_kib=full, rss_idle_kib=idle, reached=reached, bgsave=status,
     digest_before=digest_before.decode() if isinstance(digest_before, bytes) else digest_before,
     digest_after=digest_after.decode() if isinstance(digest_after, bytes) else digest_after)
