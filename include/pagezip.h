/*
 * pagezip.h — the C API of libpagezip.so for programs that want to call it.
 *
 * Most programs need nothing from here: madvise(MADV_PAGEOUT) and
 * madvise(MADV_COLD) already reach pagezip when the library is preloaded.
 * This header adds: page out a range and learn how many pages were stored,
 * read the counters, and ask whether pagezip is active.
 *
 * Every function is declared weak, so a program that includes this header
 * links and runs without the library; the pagezip_*_if_loaded() helpers return
 * -ENOSYS (or 0) when it is not preloaded:
 *
 *     long n = pagezip_pageout_if_loaded(buf, len);   // pages stored, or -ENOSYS
 *
 * Build with -ldl is not needed; no link-time dependency is created.
 */
#ifndef PAGEZIP_H
#define PAGEZIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PAGEZIP_STATS_VERSION 1

/* Counters of one process.  Names follow zswap and zram.  `size` is set by
 * the caller to sizeof(struct pagezip_stats); newer libraries append fields. */
struct pagezip_stats {
    uint32_t size;
    uint32_t version;
    uint32_t active;              /* 1: compressing; 0: pass-through */
    uint32_t reserved;
    uint64_t stored_pages;        /* pages held now, zero pages included */
    uint64_t same_pages;          /* zero pages held (no pool memory) */
    uint64_t huge_pages;          /* pages held uncompressed */
    uint64_t orig_data_size;      /* bytes of memory held: stored_pages * 4096 */
    uint64_t compr_data_size;     /* bytes of compressed data */
    uint64_t mem_used_total;      /* bytes of pool memory, allocator overhead included */
    uint64_t pool_limit;          /* bytes; 0 = none */
    uint64_t stored_total;        /* pages ever stored */
    uint64_t refaults;            /* held pages brought back by a fault */
    uint64_t fault_around_pages;  /* of which restored ahead of the faulting page */
    uint64_t faults;              /* faults served */
    uint64_t reject_compress_poor;
    uint64_t reject_busy;         /* shared (after fork), pinned or KSM pages */
    uint64_t reject_alloc_fail;
    uint64_t pool_limit_hit;
    uint64_t decompress_fail;
    uint64_t dropped_pages;       /* held pages freed by munmap/madvise */
    uint64_t registered_bytes;    /* bytes under userfaultfd */
    uint64_t fault_p50_ns;        /* fault service time, median */
    uint64_t fault_p99_ns;
    uint64_t pages_compacted;     /* pool pages freed by compaction (zram's pages_compacted) */
};

/* Stores [addr, addr+len) now (addr page-aligned).  Returns the number of
 * pages stored (zero pages included), or -errno. */
long pagezip_pageout(void *addr, size_t len) __attribute__((weak));

/* Fills *stats up to stats->size bytes.  Returns 0, or -errno. */
int pagezip_get_stats(struct pagezip_stats *stats) __attribute__((weak));

/* Compacts the pool now (like malloc_trim): moves objects out of sparse
 * slabs and returns emptied pages to the kernel.  Returns the pages freed,
 * or -errno.  The store worker also does this on its own when idle. */
long pagezip_compact(void) __attribute__((weak));

/* 1 when pagezip compresses in this process, 0 when it passes through. */
int pagezip_active(void) __attribute__((weak));

/* The library's version, e.g. "0.1.0". */
const char *pagezip_version(void) __attribute__((weak));

#ifndef ENOSYS
#define PAGEZIP_ENOSYS 38
#else
#define PAGEZIP_ENOSYS ENOSYS
#endif

static inline long pagezip_pageout_if_loaded(void *addr, size_t len) {
    return pagezip_pageout ? pagezip_pageout(addr, len) : -PAGEZIP_ENOSYS;
}

static inline int pagezip_get_stats_if_loaded(struct pagezip_stats *stats) {
    return pagezip_get_stats ? pagezip_get_stats(stats) : -PAGEZIP_ENOSYS;
}

static inline long pagezip_compact_if_loaded(void) {
    return pagezip_compact ? pagezip_compact() : -PAGEZIP_ENOSYS;
}

static inline int pagezip_active_if_loaded(void) {
    return pagezip_active ? pagezip_active() : 0;
}

#ifdef __cplusplus
}
#endif
#endif
