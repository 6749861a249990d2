/*
 * cache — a key/value cache with a hot part and a cold part.
 *
 * It fills a cache of fixed-size records (text, counters, pointers and some
 * zero padding, like a real cache), keeps reading a small hot subset, and
 * pages the cold part out with madvise(MADV_PAGEOUT).  Under pagezip the cold
 * part is compressed and RSS falls; every record is then read back and
 * checked byte for byte.
 *
 *   make -C examples
 *   LD_PRELOAD=$PWD/.build/release/libpagezip.so examples/bin/cache [MiB] [hot%]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pagezip.h"

#define RECORD 512u

static const char *words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                              "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"};

/* Record i's bytes are a pure function of i, so they can be checked later. */
static void make_record(uint8_t *r, uint64_t i) {
    memset(r, 0, RECORD);
    int n = snprintf((char *)r, 200, "key:%08llu user=%s region=%s score=%llu ", (unsigned long long)i,
                     words[i % 16], words[(i / 16) % 16], (unsigned long long)(i * 7919 % 100000));
    (void)n;
    uint64_t *nums = (uint64_t *)(r + 200);
    for (int k = 0; k < 16; k++) nums[k] = i * 1000 + (uint64_t)k;       /* counters */
    uint64_t *ptrs = (uint64_t *)(r + 328);
    for (int k = 0; k < 8; k++) ptrs[k] = 0x7f0000000000ull + (i * 64 + (uint64_t)k) * 48; /* pointers */
    /* bytes 392..511 stay zero: padding */
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return res * 4;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 256;
    double hot_share = argc > 2 ? atof(argv[2]) / 100.0 : 0.05;
    size_t bytes = mib << 20, records = bytes / RECORD;
    uint8_t *cache = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cache == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    for (size_t i = 0; i < records; i++) make_record(cache + i * RECORD, i);
    size_t hot_bytes = ((size_t)((double)bytes * hot_share) + 4095) & ~(size_t)4095;

    long rss_full = rss_kib();
    double t0 = now_s();
    /* The cold part: everything after the hot prefix. */
    if (madvise(cache + hot_bytes, bytes - hot_bytes, MADV_PAGEOUT) != 0) perror("madvise");
    double t1 = now_s();
    long rss_cold = rss_kib();
    struct pagezip_stats held = {.size = sizeof held};
    int have = pagezip_get_stats_if_loaded(&held) == 0 && held.active;

    /* Serve the hot set for a while: it stays resident and fast. */
    uint8_t expect[RECORD];
    unsigned long long hot_reads = 0;
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < hot_bytes / RECORD; i += 7) {
            hot_reads += cache[i * RECORD] == 'k';
        }

    /* Read every record back and check it. */
    size_t bad = 0;
    double t2 = now_s();
    for (size_t i = 0; i < records; i++) {
        make_record(expect, i);
        bad += memcmp(expect, cache + i * RECORD, RECORD) != 0;
    }
    double t3 = now_s();

    struct pagezip_stats s = {.size = sizeof s};
    pagezip_get_stats_if_loaded(&s);
    printf("cache: %zu MiB, %zu records, hot %.0f%%\n", mib, records, hot_share * 100);
    printf("rss: %ld MiB full -> %ld MiB after paging out the cold part\n", rss_full >> 10, rss_cold >> 10);
    printf("pageout: %.1f ms for %zu MiB (%.0f ns/page)\n", (t1 - t0) * 1e3, (bytes - hot_bytes) >> 20,
           (t1 - t0) * 1e9 / (double)((bytes - hot_bytes) / 4096));
    printf("verify: %zu records read back in %.1f ms, %zu wrong\n", records, (t3 - t2) * 1e3, bad);
    if (have) {
        printf("pagezip: held %llu pages (%llu zero) = %llu MiB in a pool of %llu MiB (ratio %.1f), %llu rejected\n",
               (unsigned long long)held.stored_pages, (unsigned long long)held.same_pages,
               (unsigned long long)(held.orig_data_size >> 20), (unsigned long long)(held.mem_used_total >> 20),
               held.mem_used_total ? (double)held.orig_data_size / (double)held.mem_used_total : 0.0,
               (unsigned long long)held.reject_compress_poor);
        printf("pagezip: %llu refaults, fault service p50 %llu ns, p99 %llu ns\n", (unsigned long long)s.refaults,
               (unsigned long long)s.fault_p50_ns, (unsigned long long)s.fault_p99_ns);
    }
    else
        printf("pagezip: not loaded (run with LD_PRELOAD=.../libpagezip.so or `pagezip run`)\n");
    (void)hot_reads;
    return bad == 0 ? 0 : 1;
}
