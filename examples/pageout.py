#!/usr/bin/env python3
"""pageout.py - page out a Python buffer and read it back.

Fills an anonymous mmap with text-like records, pages it out with
mmap.madvise(MADV_PAGEOUT) (which pagezip compresses when preloaded), shows
the process's RSS before and after, and checks every byte on the way back.

    LD_PRELOAD=$PWD/.build/release/libpagezip.so python3 examples/pageout.py [MiB]
"""
import hashlib
import mmap
import sys

MADV_PAGEOUT = getattr(mmap, "MADV_PAGEOUT", 21)  # Python < 3.12 may lack the name


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 >> 20


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    buf = mmap.mmap(-1, mib << 20)
    record = 0
    for off in range(0, len(buf), 128):
        line = b"record %09d value=%012d tag=python\n" % (record, record * 31)
        buf[off:off + len(line)] = line
        record += 1
    digest = hashlib.sha256(buf).hexdigest()
    before = rss_mib()
    buf.madvise(MADV_PAGEOUT)
    after = rss_mib()
    ok = hashlib.sha256(buf).hexdigest() == digest
    print(f"pageout.py: {mib} MiB buffer, RSS {before} MiB -> {after} MiB after MADV_PAGEOUT")
    print(f"pageout.py: {record} records read back {'intact' if ok else 'CORRUPTED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
