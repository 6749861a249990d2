/* Shared helpers of the integration test programs: every program checks every
 * byte it wrote and exits non-zero on any mismatch. */
#ifndef PZ_TEST_COMMON_H
#define PZ_TEST_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagezip.h"

#define PAGE 4096u

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* pagezip keeps a page on a 64 MiB boundary resident (glibc's arena headers
 * live there and a fork child touches them before any handler runs). */
#define ARENA_ALIGN ((uintptr_t)64 << 20)
static inline size_t boundary_pages(const void *p, size_t len) {
    uintptr_t a = (uintptr_t)p, first = (a + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    return first >= a + len ? 0 : (a + len - 1 - first) / ARENA_ALIGN + 1;
}

/* Fresh private anonymous pages; below 64 MiB they avoid a 64 MiB boundary,
 * so tests can expect every page to be stored. */
static inline uint8_t *map_pages(size_t pages) {
    size_t len = pages * PAGE;
    size_t span = len + PAGE < ARENA_ALIGN ? len + ARENA_ALIGN : len;
    uint8_t *r = mmap(0, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED, "mmap: %s", strerror(errno));
    if (span == len) return r;
    uint8_t *p = r;
    if (boundary_pages(p, len) != 0) p = (uint8_t *)(((uintptr_t)p + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1)) + PAGE;
    if (p > r) munmap(r, (size_t)(p - r));
    munmap(p + len, (size_t)(r + span - (p + len)));
    return p;
}

/* A deterministic, moderately compressible byte for (page, offset, version). */
static inline uint8_t pattern(size_t page, size_t off, uint32_t version) {
    uint32_t x = (uint32_t)(page * 2654435761u) ^ (uint32_t)(off / 16) ^ (version * 40503u);
    return (uint8_t)(x ^ (x >> 11));
}

static inline void fill_page(uint8_t *pg, size_t page, uint32_t version) {
    for (size_t off = 0; off < PAGE; off++) pg[off] = pattern(page, off, version);
}

static inline size_t count_mismatch(const uint8_t *pg, size_t page, uint32_t version) {
    size_t bad = 0;
    for (size_t off = 0; off < PAGE; off++) bad += pg[off] != pattern(page, off, version);
    return bad;
}

static inline struct pagezip_stats stats(void) {
    struct pagezip_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    pagezip_get_stats_if_loaded(&s);
    return s;
}

/* madvise(MADV_PAGEOUT), which pagezip turns into a store when preloaded. */
static inline void pageout(void *p, size_t len) {
    CHECK(madvise(p, len, MADV_PAGEOUT) == 0, "madvise(MADV_PAGEOUT): %s", strerror(errno));
}

static inline long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (long)(sysconf(_SC_PAGESIZE) / 1024);
}

/* Prints the counters the test harness asserts on. */
static inline void print_stats(const char *label) {
    struct pagezip_stats s = stats();
    printf("%s active=%u stored_pages=%lu same_pages=%lu stored_total=%lu refaults=%lu "
           "compr_data_size=%lu mem_used_total=%lu reject_compress_poor=%lu reject_busy=%lu dropped_pages=%lu\n",
           label, s.active, (unsigned long)s.stored_pages, (unsigned long)s.same_pages,
           (unsigned long)s.stored_total, (unsigned long)s.refaults, (unsigned long)s.compr_data_size,
           (unsigned long)s.mem_used_total, (unsigned long)s.reject_compress_poor,
           (unsigned long)s.reject_busy, (unsigned long)s.dropped_pages);
}
#endif
