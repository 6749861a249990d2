"""Helpers for the real-server checks: wait for a port, read a process's RSS."""
import socket
import time


def wait_for_port(port, deadline):
    """Returns once something accepts on 127.0.0.1:port (or raises at the deadline)."""
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on port {port}")
            time.sleep(0.05)


def rss_kib(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * 4


def emit(**kv):
    print(" ".join(f"{k}={v}" for k, v in kv.items()), flush=True)
