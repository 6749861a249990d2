#!/usr/bin/env python3
"""reclaim_scenarios.py - pagezip's auto reclaim on memcached, redis and Python.

For each program this starts two copies side by side: one under
`pagezip run --cold-age AGE` (auto reclaim on) and a plain baseline.  Both get
the same deterministic data (a mix of compressible JSON-like text and random
bytes), then sit idle past the cold age while a small hot subset (5 % of the
keys) is read continuously.  The hot reads alternate between the two copies in
short slices, so both see the same machine noise.  Afterwards every item is
checked:

  memcached  every item read back and compared byte for byte with the data
  redis      BGSAVE, DEBUG DIGEST, each RDB reloaded into a plain redis-server
             and digested, every value read back and compared
  python     a sha256 over the whole dict at creation equals one at the end

Once a second it samples each server's RSS (/proc/PID/status), its CPU
(/proc/PID/stat) and `pagezip stats PID --json`, and prints a table: RSS before
and after reclaim, pool size, stored and zero pages, refaults per minute in the
steady phase, the reclaimer's CPU share, hot-subset throughput with and without
pagezip, and the identity checks.  Exits 1 if any identity check fails.

    python3 examples/reclaim_scenarios.py --json out.json --svg out.svg
    python3 examples/reclaim_scenarios.py --small            # about a minute
    python3 examples/reclaim_scenarios.py --only redis --cold-age 60s --idle 150

Needs memcached, redis-server, and the pymemcache and redis packages.  The
pagezip CLI is found at ../.build/release/pagezip next to this file, or given
with --pagezip PATH or $PAGEZIP_CLI.
"""
import argparse
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PROGRAMS = ("memcached", "redis", "python")
FULL_SIZE_MIB = {"memcached": 400, "redis": 300, "python": 300}
SMALL_SIZE_MIB = 16
HOT_FRACTION = 0.05
PAGE = 4096
MIB = 1 << 20
SLICE_S = 0.25            # one hot-read slice; the two copies take turns
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- data

def make_corpus(seed, size=2 * MIB):
    """JSON-like records with Zipf-distributed words: compresses like a real cache's text."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(3000)]
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    cities = words[:40]
    plans = ("free", "basic", "pro", "team", "enterprise")
    lines, total = [], 0
    while total < size:
        note = " ".join(rng.choices(words, weights, k=rng.randint(4, 20)))
        line = ('{"id":%d,"user":"%s%d","city":"%s","plan":"%s","visits":%d,'
                '"last":"2024-%02d-%02dT%02d:%02d:%02dZ","note":"%s"}\n' % (
                    rng.randrange(10 ** 7), rng.choice(words), rng.randrange(1000),
                    rng.choice(cities), rng.choice(plans), rng.randrange(5000),
                    rng.randint(1, 12), rng.randint(1, 28), rng.randrange(24),
                    rng.randrange(60), rng.randrange(60), note))
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


class Dataset:
    """Value i is a pure function of (seed, i), so the checker regenerates instead of storing."""

    def __init__(self, seed):
        self.seed = seed
        self.corpus = make_corpus(seed)

    def mix(self, i):
        digest = hashlib.blake2b(b"%d/%d" % (self.seed, i), digest_size=8).digest()
        return int.from_bytes(digest, "little")

    def value(self, i, size):
        x = self.mix(i)
        if x % 4 == 0:  # a quarter random: LZ4 cannot shrink these, as in real caches (images, ciphertext)
            return hashlib.shake_256(b"r%d/%d" % (self.seed, i)).digest(size)
        head = b"#%d|" % i
        off = (x >> 8) % (len(self.corpus) - size)
        return head + self.corpus[off:off + size - len(head)]

    def hot_indices(self, n):
        count = max(1, int(n * HOT_FRACTION))
        return sorted(random.Random(self.seed + 1).sample(range(n), count))


# ---------------------------------------------------------------- processes

class Children:
    """Every process we start, each in its own session so a whole group can be killed."""

    def __init__(self):
        self.procs = []

    def spawn(self, argv, log_path=None, pipes=False, env=None):
        out = open(log_path, "wb") if log_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                argv, start_new_session=True, env=env,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else out,
                stderr=out, bufsize=0)
        finally:
            if log_path:
                out.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc, grace=5.0):
        if proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may hold helpers (redis' BGSAVE child) even after the leader exited.
        signal_group(proc.pid, signal.SIGKILL)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()

    def stop_all(self):
        for proc in reversed(self.procs):
            self.stop(proc)
        self.procs.clear()


def signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pid {proc.pid} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


class LineChannel:
    """Line protocol over a child's pipes, with timeouts (a wedged child must not hang the run)."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")

    def receive(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"pid {self.proc.pid}: no answer within {timeout:.0f} s")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError(f"pid {self.proc.pid} exited (status {self.proc.wait()})")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def ask(self, line, timeout):
        self.send(line)
        return self.receive(timeout)


# ---------------------------------------------------------------- measurements

def read_rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def read_cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Fields 14 and 15 (utime, stime) are the 12th and 13th after the ")" that ends comm.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def read_pagezip_threads_cpu(pid):
    """CPU seconds of the library's own threads (pagezip-reclaim, -store, -fault, -stats).

    reclaim_cpu_ns is the reclaimer's own account; compression runs on pagezip-store and
    restores on pagezip-fault, so their sum is the library's whole background cost.
    """
    total, found = 0.0, False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm.startswith("pagezip-"):
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            found = True
    return total if found else None


def pagezip_stats(cli, pid, socket_dir):
    """The live stats JSON, or None while the process serves none (before its first store)."""
    argv = [cli, "stats", str(pid), "--json", "--socket-dir", socket_dir, "--timeout", "2"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=5)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout)
    except ValueError:
        return None


def stats_summary(doc):
    counters, pool, derived = doc["usage"]["counters"], doc["usage"]["pool"], doc["derived"]
    return {
        "stored_pages": counters["stored_pages"],
        "same_pages": counters["same_pages"],
        "refaults": counters["refaults"],
        "faults": counters["faults"],
        "reclaim_cpu_ns": counters["reclaim_cpu_ns"],
        "reclaim_backoffs": counters["reclaim_backoffs"],
        "reject_compress_poor": counters["reject_compress_poor"],
        "pool_bytes": pool["mem_used_total"],
        "orig_data_size": derived["orig_data_size"],
        "ratio": derived["ratio"],
        "uptime_ns": doc["process"]["uptime_ns"],
        "effective_cold_age_s": doc["config"]["cold_age_seconds"],
    }


class Sampler(threading.Thread):
    """Once a second: both copies' RSS and CPU, and the pagezip copy's stats."""

    def __init__(self, cli, socket_dir, pids, t0):
        super().__init__(daemon=True)
        self.cli, self.socket_dir, self.pids, self.t0 = cli, socket_dir, pids, t0
        self.samples = []
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        next_at = time.monotonic()
        while not self.halt.is_set():
            self.take()
            next_at += 1.0
            self.halt.wait(max(0.0, next_at - time.monotonic()))

    def take(self):
        sample = {"t": round(time.monotonic() - self.t0, 3)}
        for role, pid in self.pids.items():
            sample[f"rss_{role}"] = read_rss_bytes(pid)
            sample[f"cpu_{role}"] = read_cpu_seconds(pid)
        sample["cpu_pagezip_threads"] = read_pagezip_threads_cpu(self.pids["pagezip"])
        doc = pagezip_stats(self.cli, self.pids["pagezip"], self.socket_dir)
        if doc:
            sample.update(stats_summary(doc))
        with self.lock:
            self.samples.append(sample)
        return sample

    def latest(self):
        with self.lock:
            return self.samples[-1] if self.samples else {}

    def stop(self):
        self.halt.set()
        self.join()
        self.take()  # a final sample exactly at the end of the phase


# ---------------------------------------------------------------- scenarios

class Scenario:
    """One program, two copies ("pagezip" and "baseline").  Subclasses say how to fill, read and check."""

    name = "?"

    def __init__(self, opts, children, workdir, dataset):
        self.opts, self.children, self.workdir, self.data = opts, children, workdir, dataset
        self.size_mib = opts.size_mib or (SMALL_SIZE_MIB if opts.small else FULL_SIZE_MIB[self.name])
        self.procs = {}
        self.identity = {}
        self.socket_dir = os.path.join(workdir, "sockets")
        os.makedirs(self.socket_dir, exist_ok=True)

    def wrap(self, role, argv):
        if role == "baseline":
            return argv
        return [self.opts.pagezip, "run", "--cold-age", f"{self.opts.cold_age_s:g}s",
                "--socket-dir", self.socket_dir, "--"] + argv

    def role_dir(self, role):
        path = os.path.join(self.workdir, role)
        os.makedirs(path, exist_ok=True)
        return path

    def pids(self):
        return {role: proc.pid for role, proc in self.procs.items()}

    def next_hot_keys(self, role):
        """The next batch of the hot subset for this copy, round robin."""
        at = self.cursor[role]
        self.cursor[role] = (at + self.BATCH) % len(self.hot)
        return self.hot[at:at + self.BATCH] or self.hot[:self.BATCH]

    def check_alive(self):
        for role, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} ({role}) exited with status {proc.returncode}")

    # Subclasses implement these.
    def start(self):
        raise NotImplementedError

    def fill(self):
        raise NotImplementedError

    def hot_slice(self, role, seconds):
        """Read the hot subset for about `seconds`; returns (operations, elapsed seconds)."""
        raise NotImplementedError

    def verify(self):
        raise NotImplementedError

    def working_set_pages(self):
        raise NotImplementedError


def deadline_loop(seconds, step):
    """Run step() until `seconds` have passed; returns (operations, elapsed)."""
    ops, start = 0, time.monotonic()
    end = start + seconds
    while True:
        ops += step()
        now = time.monotonic()
        if now >= end:
            return ops, now - start


class MemcachedScenario(Scenario):
    name = "memcached"
    VALUE_SIZE = 4096
    BATCH = 16

    def start(self):
        from pymemcache.client.base import Client
        self.count = self.size_mib * MIB // self.VALUE_SIZE
        self.hot = [self.key(i) for i in self.data.hot_indices(self.count)]
        self.cursor = {}
        self.clients = {}
        for role in ("pagezip", "baseline"):
            port = free_port()
            argv = ["memcached", "-m", "1024", "-p", str(port), "-U", "0", "-t", "2", "-l", "127.0.0.1"]
            if os.geteuid() == 0:
                argv += ["-u", "root"]  # memcached refuses to run as root without it
            self.procs[role] = self.children.spawn(
                self.wrap(role, argv), log_path=os.path.join(self.role_dir(role), "memcached.log"))
            wait_for_port(port, self.procs[role])
            self.clients[role] = Client(("127.0.0.1", port), default_noreply=False,
                                        connect_timeout=10, timeout=60)
            self.cursor[role] = 0

    @staticmethod
    def key(i):
        return "mc:%07d" % i

    def fill(self):
        for lo in range(0, self.count, 64):
            batch = {self.key(i): self.data.value(i, self.VALUE_SIZE)
                     for i in range(lo, min(lo + 64, self.count))}
            for role, client in self.clients.items():
                failed = client.set_many(batch)
                if failed:
                    raise RuntimeError(f"memcached ({role}) refused {len(failed)} sets")

    def hot_slice(self, role, seconds):
        client = self.clients[role]

        def step():
            return len(client.get_many(self.next_hot_keys(role)))
        return deadline_loop(seconds, step)

    def working_set_pages(self):
        return len(self.hot) * self.VALUE_SIZE / PAGE

    def verify(self):
        for role, client in self.clients.items():
            mismatched = missing = 0
            for lo in range(0, self.count, 100):
                keys = [self.key(i) for i in range(lo, min(lo + 100, self.count))]
                got = client.get_many(keys)
                for i, key in enumerate(keys, lo):
                    if key not in got:
                        missing += 1
                    elif got[key] != self.data.value(i, self.VALUE_SIZE):
                        mismatched += 1
            self.identity[f"{role}_items_checked"] = self.count
            self.identity[f"{role}_mismatched"] = mismatched
            self.identity[f"{role}_missing"] = missing
        self.identity["ok"] = all(self.identity[f"{r}_{k}"] == 0
                                  for r in self.clients for k in ("mismatched", "missing"))
        self.identity["summary"] = (
            f"{self.count} items: pagezip {self.identity['pagezip_mismatched']} wrong / "
            f"{self.identity['pagezip_missing']} missing, baseline "
            f"{self.identity['baseline_mismatched']} / {self.identity['baseline_missing']}")


class RedisScenario(Scenario):
    name = "redis"
    VALUE_SIZE = 4000        # a 4000-byte sds fits jemalloc's 4 KiB class; 4096 would take 5 KiB
    HASH_FIELDS = 64
    FIELD_SIZE = 480
    HASH_INDEX_BASE = 10 ** 8
    BATCH = 16

    def server_argv(self, port, directory):
        # DEBUG is off by default since Redis 7; "local" allows it from 127.0.0.1 only.
        return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", directory, "--enable-debug-command", "local"]

    def start(self):
        import redis
        total = self.size_mib * MIB
        self.string_count = int(total * 0.9) // self.VALUE_SIZE
        self.hash_count = max(1, int(total * 0.1) // (self.HASH_FIELDS * self.FIELD_SIZE))
        self.hot = [self.key(i) for i in self.data.hot_indices(self.string_count)]
        self.cursor, self.clients = {}, {}
        for role in ("pagezip", "baseline"):
            port = free_port()
            argv = self.server_argv(port, self.role_dir(role))
            self.procs[role] = self.children.spawn(
                self.wrap(role, argv), log_path=os.path.join(self.role_dir(role), "redis.log"))
            wait_for_port(port, self.procs[role])
            self.clients[role] = redis.Redis(host="127.0.0.1", port=port, socket_timeout=120)
            self.cursor[role] = 0

    @staticmethod
    def key(i):
        return "str:%07d" % i

    @staticmethod
    def hash_key(h):
        return "hash:%05d" % h

    def hash_fields(self, h):
        base = self.HASH_INDEX_BASE + h * self.HASH_FIELDS
        return {b"f%02d" % j: self.data.value(base + j, self.FIELD_SIZE) for j in range(self.HASH_FIELDS)}

    def fill(self):
        for lo in range(0, self.string_count, 64):
            items = [(self.key(i), self.data.value(i, self.VALUE_SIZE))
                     for i in range(lo, min(lo + 64, self.string_count))]
            for client in self.clients.values():
                pipe = client.pipeline(transaction=False)
                for key, value in items:
                    pipe.set(key, value)
                pipe.execute()
        for h in range(self.hash_count):
            fields = self.hash_fields(h)
            for client in self.clients.values():
                client.hset(self.hash_key(h), mapping=fields)

    def hot_slice(self, role, seconds):
        client = self.clients[role]

        def step():
            pipe = client.pipeline(transaction=False)
            for key in self.next_hot_keys(role):
                pipe.get(key)
            return sum(1 for v in pipe.execute() if v is not None)
        return deadline_loop(seconds, step)

    def working_set_pages(self):
        return len(self.hot) * self.VALUE_SIZE / PAGE

    def bgsave(self, client):
        """"ok" once the BGSAVE child has finished and LASTSAVE moved, else what went wrong."""
        before = client.lastsave()
        client.bgsave()  # forks before replying, so "in progress" is already set when we poll
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            info = client.info("persistence")
            if not info["rdb_bgsave_in_progress"]:
                status = info["rdb_last_bgsave_status"]
                return status if client.lastsave() != before else f"{status}, but LASTSAVE unchanged"
            time.sleep(0.1)
        raise RuntimeError("BGSAVE did not finish within 300 s")

    def reload_digest(self, rdb_path):
        """Digest of an RDB as a plain redis-server loads it: proves what the fork child wrote."""
        import redis
        directory = tempfile.mkdtemp(dir=self.workdir, prefix="reload-")
        shutil.copy(rdb_path, os.path.join(directory, "dump.rdb"))
        port = free_port()
        proc = self.children.spawn(self.server_argv(port, directory) + ["--dbfilename", "dump.rdb"],
                                   log_path=os.path.join(directory, "redis.log"))
        try:
            wait_for_port(port, proc, timeout=120)
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=120)
            while client.info("persistence")["loading"]:
                time.sleep(0.1)
            digest = client.execute_command("DEBUG", "DIGEST")
            keys = client.dbsize()
            client.close()
            return digest.decode() if isinstance(digest, bytes) else digest, keys
        finally:
            self.children.stop(proc)
            self.children.procs.remove(proc)
            shutil.rmtree(directory, ignore_errors=True)

    def read_back(self, client):
        wrong = 0
        for lo in range(0, self.string_count, 100):
            pipe = client.pipeline(transaction=False)
            indices = range(lo, min(lo + 100, self.string_count))
            for i in indices:
                pipe.get(self.key(i))
            wrong += sum(1 for i, v in zip(indices, pipe.execute())
                         if v != self.data.value(i, self.VALUE_SIZE))
        for h in range(self.hash_count):
            if client.hgetall(self.hash_key(h)) != self.hash_fields(h):
                wrong += 1
        return wrong

    def verify(self):
        ident = self.identity
        # BGSAVE first: the fork child reads every page while most are still compressed in the parent.
        for role, client in self.clients.items():
            ident[f"{role}_bgsave"] = self.bgsave(client)
        for role, client in self.clients.items():
            digest = client.execute_command("DEBUG", "DIGEST")
            ident[f"{role}_digest"] = digest.decode() if isinstance(digest, bytes) else digest
            rdb = os.path.join(self.role_dir(role), "dump.rdb")
            with open(rdb, "rb") as f:
                ident[f"{role}_rdb_sha256"] = hashlib.sha256(f.read()).hexdigest()
            ident[f"{role}_rdb_bytes"] = os.path.getsize(rdb)
            ident[f"{role}_rdb_reload_digest"], ident[f"{role}_rdb_reload_keys"] = self.reload_digest(rdb)
            ident[f"{role}_keys"] = client.dbsize()
            ident[f"{role}_values_wrong"] = self.read_back(client)
        base = ident["baseline_digest"]
        ident["rdb_sha256_equal"] = ident["pagezip_rdb_sha256"] == ident["baseline_rdb_sha256"]
        ident["ok"] = (ident["pagezip_bgsave"] == "ok" and ident["baseline_bgsave"] == "ok"
                       and ident["pagezip_digest"] == base
                       and ident["pagezip_rdb_reload_digest"] == base
                       and ident["baseline_rdb_reload_digest"] == base
                       and ident["pagezip_values_wrong"] == 0 and ident["baseline_values_wrong"] == 0)
        ident["summary"] = (
            f"DEBUG DIGEST {'equal' if ident['pagezip_digest'] == base else 'DIFFERENT'} "
            f"({base[:12]}...); RDB reloaded: pagezip "
            f"{'equal' if ident['pagezip_rdb_reload_digest'] == base else 'DIFFERENT'}, baseline "
            f"{'equal' if ident['baseline_rdb_reload_digest'] == base else 'DIFFERENT'}; "
            f"values wrong {ident['pagezip_values_wrong']}/{ident['baseline_values_wrong']}; "
            f"raw RDB sha256 {'equal' if ident['rdb_sha256_equal'] else 'differs'}")


class PythonScenario(Scenario):
    name = "python"

    def start(self):
        self.channels = {}
        for role in ("pagezip", "baseline"):
            argv = [sys.executable, os.path.abspath(__file__), "--python-child",
                    "--size-mib", str(self.size_mib), "--seed", str(self.opts.seed)]
            self.procs[role] = self.children.spawn(
                self.wrap(role, argv), pipes=True, log_path=os.path.join(self.role_dir(role), "python.log"))
            self.channels[role] = LineChannel(self.procs[role])

    def fill(self):
        self.ready = {}
        for role, channel in self.channels.items():
            words = channel.receive(timeout=600).split()
            if words[0] != "ready":
                raise RuntimeError(f"python child ({role}) said {words!r}")
            self.ready[role] = {"checksum": words[1], "entries": int(words[2]), "hot_bytes": int(words[3])}

    def hot_slice(self, role, seconds):
        ops, elapsed = self.channels[role].ask(f"slice {seconds}", timeout=60).split()[1:3]
        return int(ops), float(elapsed)

    def working_set_pages(self):
        return self.ready["pagezip"]["hot_bytes"] / PAGE

    def verify(self):
        ident = self.identity
        for role, channel in self.channels.items():
            ident[f"{role}_checksum_created"] = self.ready[role]["checksum"]
            ident[f"{role}_checksum_end"] = channel.ask("verify", timeout=600).split()[1]
            ident[f"{role}_entries"] = self.ready[role]["entries"]
        ident["ok"] = (ident["pagezip_checksum_end"] == ident["pagezip_checksum_created"]
                       == ident["baseline_checksum_created"] == ident["baseline_checksum_end"])
        ident["summary"] = (f"sha256 {ident['pagezip_checksum_end'][:16]}... at end "
                            f"{'==' if ident['ok'] else '!='} at creation and baseline "
                            f"({ident['pagezip_entries']} entries)")


SCENARIOS = {"memcached": MemcachedScenario, "redis": RedisScenario, "python": PythonScenario}


# ---------------------------------------------------------------- the Python child

def python_child(size_mib, seed):
    """Holds a dict of strings and serves "slice SECONDS" / "verify" on stdin (run under or without pagezip)."""
    data = Dataset(seed)
    entries = size_mib * MIB // 4096
    table, digest = {}, hashlib.sha256()
    for i in range(entries):
        size = 2048 + data.mix(i) % 4097      # 2-6 KiB: glibc malloc, not pymalloc's arenas
        key = "py:%07d" % i
        value = data.value(i, size).decode("latin-1")
        table[key] = value
        digest.update(key.encode() + b"=" + value.encode("latin-1"))
    hot = ["py:%07d" % i for i in data.hot_indices(entries)]
    hot_bytes = sum(len(table[k]) for k in hot)
    out = sys.stdout
    out.write(f"ready {digest.hexdigest()} {entries} {hot_bytes}\n")
    out.flush()
    sink = 0
    while True:
        # Idle like an event loop, in select(): pagezip starts its stats thread from such a
        # waiting call (a process that only ever blocks in read(2) never serves stats).
        if not select.select([sys.stdin], [], [], 1.0)[0]:
            continue
        line = sys.stdin.readline()
        if not line:
            break
        words = line.split() or [""]
        if words[0] == "slice":
            ops, start = 0, time.monotonic()
            end = start + float(words[1])
            while time.monotonic() < end:
                for key in hot:
                    sink += table[key].count("\x00")  # count() reads every byte of the value
                ops += len(hot)
            out.write(f"ops {ops} {time.monotonic() - start:.6f} {sink & 1}\n")
        elif words[0] == "verify":
            check = hashlib.sha256()
            for key, value in table.items():
                check.update(key.encode() + b"=" + value.encode("latin-1"))
            out.write(f"checksum {check.hexdigest()}\n")
        out.flush()
    return 0


# ---------------------------------------------------------------- running a scenario

def progress(text, end="\n"):
    print(text, end=end, flush=True)


class Phase:
    """Prints "name: what ... 12.3 s" around a block and records when it ended."""

    def __init__(self, scenario_name, what):
        self.label = f"{scenario_name}: {what}"

    def __enter__(self):
        self.start = time.monotonic()
        self.line_open = True
        progress(f"{self.label} ...", end=" ")
        return self

    def note(self, text):
        """A line in the middle of the phase; the phase's own line is closed first."""
        if self.line_open:
            progress("")
            self.line_open = False
        progress(text)

    def __exit__(self, kind, value, tb):
        self.end = time.monotonic()
        outcome = f"{self.end - self.start:.1f} s" if kind is None else "failed"
        progress(outcome if self.line_open else f"{self.label} ... {outcome}")
        return False


def idle_phase(scn, sampler, seconds, t0, phase):
    """Alternate hot-read slices between the two copies until the idle phase is over."""
    slices = []
    end = time.monotonic() + seconds
    next_report = time.monotonic() + 30
    turn = 0
    while time.monotonic() < end:
        # Swap who goes first every round, so neither copy always reads right after the other.
        order = ("pagezip", "baseline") if turn % 2 == 0 else ("baseline", "pagezip")
        for role in order:
            started = time.monotonic() - t0
            ops, elapsed = scn.hot_slice(role, SLICE_S)
            slices.append({"t": round(started, 3), "role": role, "ops": ops, "s": round(elapsed, 4)})
        turn += 1
        scn.check_alive()
        if time.monotonic() >= next_report:
            next_report += 30
            s = sampler.latest()
            phase.note(f"    {s.get('t', 0):6.0f} s  RSS pagezip {mib(s.get('rss_pagezip')):>7} "
                       f"baseline {mib(s.get('rss_baseline')):>7}  pool {mib(s.get('pool_bytes')):>7}  "
                       f"stored {s.get('stored_pages', '-')}  refaults {s.get('refaults', '-')}")
    return slices


def print_log_tails(scn, lines=10):
    for role in scn.procs:
        directory = scn.role_dir(role)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".log"):
                with open(os.path.join(directory, name), errors="replace") as f:
                    tail = f.readlines()[-lines:]
                if tail:
                    progress(f"--- {scn.name} ({role}) {name}, last lines:\n" + "".join(tail).rstrip())


def run_scenario(cls, opts, children):
    workdir = tempfile.mkdtemp(prefix=f"reclaim-{cls.name}-")
    scn = cls(opts, children, workdir, Dataset(opts.seed))
    t0 = time.monotonic()
    sampler = None
    try:
        with Phase(cls.name, "starting both copies"):
            scn.start()
        # No waiting for the stats socket here: pagezip opens it only after its first store,
        # so the sampler simply records samples without stats until then.
        sampler = Sampler(opts.pagezip, scn.socket_dir, scn.pids(), t0)
        sampler.start()
        with Phase(cls.name, f"filling {scn.size_mib} MiB into each copy") as fill:
            scn.fill()
        at_fill = sampler.take()
        with Phase(cls.name, f"idle {opts.idle:g} s (cold age {opts.cold_age_s:g} s), "
                             "hot reads alternating") as idle:
            slices = idle_phase(scn, sampler, opts.idle, t0, idle)
        at_idle_end = sampler.take()
        with Phase(cls.name, "verifying") as check:
            scn.verify()
        sampler.stop()
        scn.check_alive()
        # The samples taken right at the phase ends define them, so the figures line up with the series.
        phases = {"fill_end": at_fill["t"], "idle_end": at_idle_end["t"], "verify_end": check.end - t0,
                  "fill_seconds": fill.end - fill.start, "verify_seconds": check.end - check.start}
        if not any("stored_pages" in sample for sample in sampler.samples):
            progress(f"{cls.name}: warning: pid {scn.pids()['pagezip']} never served pagezip stats")
        result = analyse(scn, sampler.samples, slices, phases, at_fill, at_idle_end, opts)
        progress(f"{cls.name}: identity {'OK' if scn.identity.get('ok') else 'FAILED'}: "
                 f"{scn.identity.get('summary', '')}")
        return result
    except Exception as error:  # one program failing must not hide the others' figures
        what = f"{type(error).__name__}: {error}".rstrip(": ")
        progress(f"\n{cls.name}: ERROR: {what}")
        print_log_tails(scn)  # the work directory with the logs goes away below
        return {"program": cls.name, "error": what, "identity": {"ok": False},
                "series": sampler.samples if sampler else []}
    finally:
        if sampler and sampler.is_alive():
            sampler.halt.set()
            sampler.join()
        for proc in scn.procs.values():
            children.stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- analysis

def steady_start(samples, fill_end, idle_end, cold_age):
    """When reclaim has settled: stored pages within 95 % of their end-of-idle value.

    Returns (start, settled): never less than a sixth of the idle phase (at least 5 s) is
    left to measure in, and settled is False when that floor had to be applied.
    """
    shortest = max(5.0, (idle_end - fill_end) / 6)
    latest = idle_end - shortest
    idle = [s for s in samples if fill_end <= s["t"] <= idle_end and "stored_pages" in s]
    if not idle or not idle[-1]["stored_pages"]:
        return latest, False
    final = idle[-1]["stored_pages"]
    for s in idle:
        if s["t"] >= fill_end + cold_age and s["stored_pages"] >= 0.95 * final:
            return min(s["t"], latest), s["t"] <= latest
    return latest, False


def nearest(samples, t):
    return min(samples, key=lambda s: abs(s["t"] - t))


def rate_per_s(samples, key, start, end, clock="t"):
    """Growth of a counter per second between the samples nearest to start and end.

    Only samples that have the counter count: the stats socket opens after the first store,
    so a window starting at the fill's end starts at the first sample with stats.
    """
    having = [s for s in samples if s.get(key) is not None and start - 1.5 <= s["t"] <= end + 1.5]
    if len(having) < 2:
        return None
    a, b = nearest(having, start), nearest(having, end)
    if a is b:
        return None
    if clock == "uptime_ns" and a.get("uptime_ns") and b.get("uptime_ns"):
        seconds = (b["uptime_ns"] - a["uptime_ns"]) / 1e9
    else:
        seconds = b["t"] - a["t"]
    return (b[key] - a[key]) / seconds if seconds > 0 else None


def throughput(slices, role, start, end):
    chosen = [s for s in slices if s["role"] == role and start <= s["t"] and s["t"] + s["s"] <= end]
    seconds = sum(s["s"] for s in chosen)
    return (sum(s["ops"] for s in chosen) / seconds if seconds else None), seconds


def analyse(scn, samples, slices, phases, at_fill, at_idle_end, opts):
    fill_end, idle_end = phases["fill_end"], phases["idle_end"]
    steady, settled = steady_start(samples, fill_end, idle_end, opts.cold_age_s)
    phases["steady_start"] = steady
    ws_pages = scn.working_set_pages()
    stored = at_idle_end.get("stored_pages") or 0
    refault_rate = rate_per_s(samples, "refaults", steady, idle_end)
    refaults_per_min = refault_rate * 60 if refault_rate is not None else None
    pre_end = min(fill_end + opts.cold_age_s, idle_end)
    with_pz, with_s = throughput(slices, "pagezip", steady, idle_end)
    without, without_s = throughput(slices, "baseline", steady, idle_end)
    pre_with, _ = throughput(slices, "pagezip", fill_end, pre_end)
    pre_without, _ = throughput(slices, "baseline", fill_end, pre_end)
    return {
        "program": scn.name,
        "size_mib": scn.size_mib,
        "phases": {k: round(v, 2) for k, v in phases.items()},
        "rss_after_fill": {"pagezip": at_fill.get("rss_pagezip"), "baseline": at_fill.get("rss_baseline")},
        "rss_end_of_idle": {"pagezip": at_idle_end.get("rss_pagezip"),
                            "baseline": at_idle_end.get("rss_baseline")},
        "pool_bytes": at_idle_end.get("pool_bytes"),
        "orig_data_size": at_idle_end.get("orig_data_size"),
        "ratio": at_idle_end.get("ratio"),
        "stored_pages": stored,
        "same_pages": at_idle_end.get("same_pages"),
        "reject_compress_poor": at_idle_end.get("reject_compress_poor"),
        "reclaim_backoffs": at_idle_end.get("reclaim_backoffs"),
        "refaults_total_at_idle_end": at_idle_end.get("refaults"),
        "working_set_pages": ws_pages,
        "steady_seconds": idle_end - steady,
        "reclaim_settled_before_steady": settled,
        "refaults_per_min_steady": refaults_per_min,
        "refaults_pct_of_working_set_per_min": (100 * refaults_per_min / ws_pages
                                                if refaults_per_min is not None and ws_pages else None),
        "refaults_pct_of_stored_per_min": (100 * refaults_per_min / stored
                                           if refaults_per_min is not None and stored else None),
        "reclaim_cpu_pct_idle": pct(rate_per_s(samples, "reclaim_cpu_ns", fill_end, idle_end, "uptime_ns"), 1e9),
        "reclaim_cpu_pct_steady": pct(rate_per_s(samples, "reclaim_cpu_ns", steady, idle_end, "uptime_ns"), 1e9),
        "pagezip_threads_cpu_pct_idle": pct(rate_per_s(samples, "cpu_pagezip_threads", fill_end, idle_end), 1),
        "pagezip_threads_cpu_pct_steady": pct(rate_per_s(samples, "cpu_pagezip_threads", steady, idle_end), 1),
        "process_cpu_pct_idle": {r: pct(rate_per_s(samples, f"cpu_{r}", fill_end, idle_end), 1)
                                 for r in ("pagezip", "baseline")},
        "process_cpu_pct_steady": {r: pct(rate_per_s(samples, f"cpu_{r}", steady, idle_end), 1)
                                   for r in ("pagezip", "baseline")},
        "hot_ops_per_s_steady": {"pagezip": with_pz, "baseline": without,
                                 "ratio": with_pz / without if with_pz and without else None,
                                 "measured_seconds": {"pagezip": with_s, "baseline": without_s}},
        "hot_ops_per_s_before_reclaim": {"pagezip": pre_with, "baseline": pre_without,
                                         "ratio": pre_with / pre_without if pre_with and pre_without else None},
        "identity": scn.identity,
        "series": samples,
        "slices": slices,
    }


def pct(rate, unit):
    return 100 * rate / unit if rate is not None else None


# ---------------------------------------------------------------- output

def mib(n):
    return "-" if n is None else f"{n / MIB:.0f} MiB"


def fmt(x, spec="{:.1f}", unit=""):
    return "-" if x is None else spec.format(x) + unit


def table_rows(r):
    if "error" in r:
        return {"error": r["error"][:60]}
    hot, pre = r["hot_ops_per_s_steady"], r["hot_ops_per_s_before_reclaim"]
    cpu = r["process_cpu_pct_steady"]
    rss_f, rss_e = r["rss_after_fill"], r["rss_end_of_idle"]
    ratio = r["ratio"]
    return {
        "data per copy": f"{r['size_mib']} MiB",
        "RSS after fill  (pagezip / base)": f"{mib(rss_f['pagezip'])} / {mib(rss_f['baseline'])}",
        "RSS end of idle (pagezip / base)": f"{mib(rss_e['pagezip'])} / {mib(rss_e['baseline'])}",
        "pool (already inside RSS)": mib(r["pool_bytes"]),
        "held data / ratio": f"{mib(r['orig_data_size'])} / {fmt(ratio, '{:.2f}')}",
        "stored pages / zero pages": f"{r['stored_pages']} / {r['same_pages']}",
        "working set (hot pages)": f"{r['working_set_pages']:.0f}",
        "steady phase": (f"last {r['steady_seconds']:.0f} s of idle"
                         + ("" if r["reclaim_settled_before_steady"] else " (unsettled)")),
        "refaults/min (steady)": fmt(r["refaults_per_min_steady"], "{:.0f}"),
        "  % of working set / min": fmt(r["refaults_pct_of_working_set_per_min"], "{:.2f}", " %"),
        "  % of stored pages / min": fmt(r["refaults_pct_of_stored_per_min"], "{:.3f}", " %"),
        "reclaimer CPU idle / steady (stats)": (f"{fmt(r['reclaim_cpu_pct_idle'], '{:.2f}')} / "
                                        f"{fmt(r['reclaim_cpu_pct_steady'], '{:.2f}', ' %')}"),
        "pagezip-* threads CPU idle / steady": (f"{fmt(r['pagezip_threads_cpu_pct_idle'], '{:.2f}')} / "
                                                f"{fmt(r['pagezip_threads_cpu_pct_steady'], '{:.2f}', ' %')}"),
        "process CPU steady (pz / base)": f"{fmt(cpu['pagezip'], '{:.1f}')} / {fmt(cpu['baseline'], '{:.1f}', ' %')}",
        "hot ops/s with pagezip": fmt(hot["pagezip"], "{:,.0f}"),
        "hot ops/s without": fmt(hot["baseline"], "{:,.0f}"),
        "ratio with / without (steady)": fmt(hot["ratio"], "{:.3f}"),
        "  same, before reclaim (noise)": fmt(pre["ratio"], "{:.3f}"),
        "identity": "OK" if r["identity"].get("ok") else "FAILED",
    }


def print_table(results):
    rows = [table_rows(r) for r in results]
    labels = []
    for row in rows:
        labels += [k for k in row if k not in labels]
    width0 = max(len(k) for k in labels)
    widths = [max([len(r["program"])] + [len(row.get(k, "")) for k in labels]) for r, row in zip(results, rows)]
    print()
    print(" " * width0 + "  " + "  ".join(r["program"].rjust(w) for r, w in zip(results, widths)))
    for k in labels:
        print(k.ljust(width0) + "  " + "  ".join(row.get(k, "").rjust(w) for row, w in zip(rows, widths)))
    print()
    print("RSS includes the pool: pagezip's pool lives in the process, so RSS + pool would count it twice.")
    print("CPU shares are % of one core; refaults/min are pages restored per minute during the steady phase.")
    for r in results:
        print(f"{r['program']}: identity {'OK' if r['identity'].get('ok') else 'FAILED'}: "
              f"{r['identity'].get('summary', r.get('error', ''))}")
        if r["program"] == "redis" and "pagezip_rdb_sha256" in r["identity"]:
            ident = r["identity"]
            print(f"  RDB sha256 pagezip  {ident['pagezip_rdb_sha256']} ({ident['pagezip_rdb_bytes']} bytes)")
            print(f"  RDB sha256 baseline {ident['baseline_rdb_sha256']} ({ident['baseline_rdb_bytes']} bytes)")
            if not ident["rdb_sha256_equal"]:
                print("  (raw RDB files of two redis processes differ even with identical data: the ctime and"
                      " used-mem aux fields, and key order from each process's random hash seed; the"
                      " reload digests above compare their contents)")


def nice_step(span, target_ticks=6):
    raw = span / target_ticks
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * magnitude:
            return m * magnitude
    return 10 * magnitude


def svg_panel(r, top, width, height):
    """One program's RSS with and without pagezip (and the pool) against time."""
    left, right, bottom_pad = 70, 20, 40
    x0, x1, y0, y1 = left, width - right, top + 30, top + height - bottom_pad
    series = [s for s in r["series"] if s.get("rss_pagezip") is not None]
    out = [f'<text x="{left}" y="{top + 18}" font-size="15" font-weight="bold">{r["program"]}'
           f' ({r.get("size_mib", "?")} MiB of data)</text>']
    if not series:
        return out + [f'<text x="{left}" y="{top + 60}">no samples</text>']
    t_max = max(s["t"] for s in series) or 1
    peak = max(max(s.get("rss_pagezip") or 0, s.get("rss_baseline") or 0) for s in series) / MIB
    y_step = nice_step(peak * 1.1, 5) if peak else 1
    y_max = y_step * max(1, -(-peak * 1.1 // y_step))
    sx = lambda t: x0 + (x1 - x0) * t / t_max
    sy = lambda v: y1 - (y1 - y0) * v / y_max
    out.append(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" stroke="#999"/>')
    v = 0
    while v <= y_max + 1e-9:
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{sy(v) + 4:.1f}" font-size="11" text-anchor="end">{v:g}</text>')
        v += y_step
    tstep = nice_step(t_max, 8)
    t = 0
    while t <= t_max + 1e-9:
        out.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{y1}" y2="{y1 + 4}" stroke="#333"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{y1 + 16}" font-size="11" text-anchor="middle">{t:g}</text>')
        t += tstep
    out.append(f'<text x="{(x0 + x1) / 2}" y="{y1 + 32}" font-size="12" text-anchor="middle">'
               f'seconds since start</text>')
    out.append(f'<text x="{x0 - 48}" y="{(y0 + y1) / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 {x0 - 48} {(y0 + y1) / 2})">RSS, MiB</text>')
    phases = r.get("phases", {})
    marks = [("fill end", phases.get("fill_end")), ("steady", phases.get("steady_start")),
             ("idle end", phases.get("idle_end"))]
    if phases.get("fill_end") is not None:
        marks.insert(1, ("cold age", phases["fill_end"] + r.get("cold_age_s", 0)))
    for i, (label, t) in enumerate(marks):
        if t is None or t > t_max:
            continue
        out.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{y0}" y2="{y1}" stroke="#bbb" '
                   f'stroke-dasharray="2,3"/>')
        # Staggered, and right-aligned near the right edge, so neighbouring marks stay readable.
        near_edge = sx(t) > x1 - 60
        anchor, dx = ("end", -3) if near_edge else ("start", 3)
        out.append(f'<text x="{sx(t) + dx:.1f}" y="{y0 + 12 + 12 * (i % 2)}" font-size="10" fill="#777" '
                   f'text-anchor="{anchor}">{label}</text>')

    def polyline(key, colour, dash="", stroke_width=2):
        pts = " ".join(f"{sx(s['t']):.1f},{sy(s[key] / MIB):.1f}" for s in series if s.get(key) is not None)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return (f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                f'stroke-width="{stroke_width}"{extra}/>')
    out.append(polyline("rss_baseline", "#888", "6,4"))
    out.append(polyline("rss_pagezip", "#1f6fd1"))
    out.append(polyline("pool_bytes", "#e07b00", "", 1.5))
    legend = [("#1f6fd1", "", "RSS with pagezip"), ("#888", "6,4", "RSS without"),
              ("#e07b00", "", "pagezip pool (part of RSS)")]
    lx, y = x1 - 520, top + 14   # one row beside the panel title, clear of the curves
    for colour, dash, label in legend:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"{extra}/>')
        out.append(f'<text x="{lx + 30}" y="{y + 4}" font-size="11">{label}</text>')
        lx += 40 + 6.5 * len(label)
    return out


def write_svg(path, results, cold_age_s):
    width, panel_h = 900, 300
    height = panel_h * len(results) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="24" font-size="17" text-anchor="middle">pagezip auto reclaim: '
             f'RSS over time, cold age {cold_age_s:g} s</text>']
    for i, r in enumerate(results):
        parts += svg_panel(dict(r, cold_age_s=cold_age_s), 40 + i * panel_h, width, panel_h)
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


# ---------------------------------------------------------------- main

def parse_duration(text):
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30s, 2m, 90)")
    return float(match[1]) * {"s": 1, None: 1, "m": 60, "h": 3600}[match[2]]


def default_cli():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("PAGEZIP_CLI") or os.path.join(here, "..", ".build", "release", "pagezip")


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run memcached, redis-server and a Python dict under pagezip's auto reclaim "
                    "next to plain copies, and report memory, refaults, CPU, throughput and identity.",
        epilog="Example: python3 examples/reclaim_scenarios.py --json out.json --svg out.svg")
    p.add_argument("--cold-age", default=None, type=parse_duration,
                   help="cold age passed to pagezip run (default 30s here so a run takes minutes; "
                        "the library's own default is 120 s)")
    p.add_argument("--size-mib", type=int, default=None,
                   help="data per program copy (default memcached 400, redis 300, python 300)")
    p.add_argument("--idle", type=float, default=None,
                   help="seconds of idle phase after the fill, hot reads running (default 90)")
    p.add_argument("--small", action="store_true",
                   help=f"quick check: {SMALL_SIZE_MIB} MiB per program, cold age 3 s, idle 15 s")
    p.add_argument("--only", choices=PROGRAMS, action="append", help="run only this program (repeatable)")
    p.add_argument("--seed", type=int, default=1, help="data seed (default 1)")
    p.add_argument("--json", metavar="FILE", help="write every figure and the time series here")
    p.add_argument("--svg", metavar="FILE", help="draw RSS over time here")
    p.add_argument("--pagezip", default=default_cli(),
                   help="the pagezip CLI (default $PAGEZIP_CLI or ../.build/release/pagezip from this file)")
    p.add_argument("--python-child", action="store_true", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    opts.cold_age_s = opts.cold_age if opts.cold_age is not None else (3.0 if opts.small else 30.0)
    if opts.idle is None:
        opts.idle = 15.0 if opts.small else 90.0
    return opts


def preflight(opts):
    problems = []
    if not os.access(opts.pagezip, os.X_OK):
        problems.append(f"pagezip CLI not found at {opts.pagezip} (use --pagezip or $PAGEZIP_CLI)")
    programs = opts.only or PROGRAMS
    for tool, needed in (("memcached", "memcached"), ("redis-server", "redis")):
        if needed in programs and not shutil.which(tool):
            problems.append(f"{tool} not on PATH")
    for module, needed in (("pymemcache", "memcached"), ("redis", "redis")):
        if needed in programs:
            try:
                __import__(module)
            except ImportError:
                problems.append(f"python package {module} missing (pip install {module})")
    if opts.idle < opts.cold_age_s + 15:
        progress(f"warning: idle {opts.idle:g} s leaves little time after the cold age "
                 f"({opts.cold_age_s:g} s) for reclaim to settle")
    return problems


def main(argv):
    opts = parse_args(argv)
    if opts.python_child:
        return python_child(opts.size_mib, opts.seed)
    problems = preflight(opts)
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    opts.pagezip = os.path.abspath(opts.pagezip)
    # SIGTERM must unwind through the finally blocks like Ctrl-C does, so the servers die with us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    children = Children()
    results = []
    started = time.monotonic()
    try:
        for name in PROGRAMS:
            if opts.only and name not in opts.only:
                continue
            results.append(run_scenario(SCENARIOS[name], opts, children))
    finally:
        children.stop_all()
    print_table(results)
    print(f"total {time.monotonic() - started:.0f} s; cold age {opts.cold_age_s:g} s, idle {opts.idle:g} s, "
          f"hot reads in {SLICE_S:g} s slices alternating between the two copies")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"cold_age_s": opts.cold_age_s, "idle_s": opts.idle, "seed": opts.seed,
                       "hot_fraction": HOT_FRACTION, "slice_s": SLICE_S, "results": results}, f, indent=1)
    if opts.svg:
        write_svg(opts.svg, results, opts.cold_age_s)
    return 0 if results and all(r["identity"].get("ok") for r in results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # the finally blocks have already stopped every child
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
