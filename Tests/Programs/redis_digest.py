"""Prints DEBUG DIGEST of a redis server once it has loaded its RDB.
    redis_digest.py PORT DEADLINE_S"""
import sys
import time

import redis

from server_common import emit, wait_for_port

port, limit = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + limit
wait_for_port(port, deadline)
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
while r.info("persistence").get("loading"):
    time.sleep(0.05)
d = r.execute_command("DEBUG", "DIGEST")
emit(digest=d.decode() if isinstance(d, bytes) else d, keys=r.dbsize())
