/*
 * CPageZipSys — the system interface of the pagezip engine.
 *
 * Thin, typed wrappers around the system calls and userfaultfd ioctls that the
 * engine needs, plus the atomics and futex locks it keeps in raw memory.  Every
 * wrapper issues the raw system call (never an interposable libc symbol), returns
 * the kernel's result (negative errno on failure) and leaves the host's errno alone.
 * Everything here is safe to call from pagezip's own threads while the host
 * holds malloc's locks: nothing allocates.
 */
#ifndef CPAGEZIPSYS_H
#define CPAGEZIPSYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a C function as safe for Swift code checked with @_noLocks: it does
 * not allocate, take runtime locks or call back into Swift.  Every function so
 * marked is reviewed C: raw system calls, futexes, memory operations. */
#define PZ_NOLOCKS __attribute__((swift_attr("@_noLocks")))

#define PZ_PAGE_SIZE 4096u
#define PZ_PAGE_SHIFT 12u

/* ---- raw system calls: return value or -errno, errno untouched ------------ */

/** mmap(2); returns the address, or a value in [-4095, -1] on failure. */
PZ_NOLOCKS intptr_t pz_sys_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, off_t off);
/** munmap(2) */
PZ_NOLOCKS long pz_sys_munmap(uintptr_t addr, size_t len);
/** madvise(2) */
PZ_NOLOCKS long pz_sys_madvise(uintptr_t addr, size_t len, int advice);
/** mprotect(2) */
PZ_NOLOCKS long pz_sys_mprotect(uintptr_t addr, size_t len, int prot);
/** mremap(2) */
PZ_NOLOCKS intptr_t pz_sys_mremap(uintptr_t old, size_t old_len, size_t new_len, int flags, uintptr_t new_addr);
/** mincore(2) */
PZ_NOLOCKS long pz_sys_mincore(uintptr_t addr, size_t len, unsigned char *vec);
/** open(2) via openat(AT_FDCWD, ...) */
PZ_NOLOCKS long pz_sys_open(const char *path, int flags, int mode);
/** close(2) */
PZ_NOLOCKS long pz_sys_close(int fd);
/** read(2) */
PZ_NOLOCKS long pz_sys_read(int fd, void *buf, size_t len);
/** write(2) */
PZ_NOLOCKS long pz_sys_write(int fd, const void *buf, size_t len);
/** pread64(2) */
PZ_NOLOCKS long pz_sys_pread(int fd, void *buf, size_t len, off_t off);
/** poll(2) on up to two descriptors; returns the revents bitmask of each in *r0 / *r1. */
PZ_NOLOCKS long pz_sys_poll2(int fd0, int fd1, int timeout_ms, short *r0, short *r1);
/** eventfd2(2) */
PZ_NOLOCKS long pz_sys_eventfd(unsigned int initval, int flags);
/** getpid(2) */
PZ_NOLOCKS int pz_sys_getpid(void);
/** gettid(2) */
PZ_NOLOCKS int pz_sys_gettid(void);
/** getpgid(0) */
PZ_NOLOCKS int pz_sys_getpgid(void);
/** geteuid(2) */
PZ_NOLOCKS unsigned int pz_sys_geteuid(void);
/** sched_yield(2) */
PZ_NOLOCKS void pz_sys_yield(void);
/** Blocks every signal on the calling thread; returns the mask to restore.
 *  A host thread that takes an engine lock does so between these two: a
 *  signal handler touching a held page there would wait on the fault
 *  handler, which waits on the lock. */
PZ_NOLOCKS uint64_t pz_sys_block_signals(void);
PZ_NOLOCKS void pz_sys_restore_signals(uint64_t old);
/** nanosleep(2) for a short back-off. */
PZ_NOLOCKS void pz_sys_sleep_ns(uint64_t ns);
/** prctl(PR_SET_NAME) for the calling thread. */
PZ_NOLOCKS void pz_set_thread_name(const char *name);
/** CLOCK_MONOTONIC in nanoseconds. */
PZ_NOLOCKS uint64_t pz_now_ns(void);
/** CLOCK_THREAD_CPUTIME_ID in nanoseconds. */
PZ_NOLOCKS uint64_t pz_thread_cpu_ns(void);
/** The capability bit `cap` is in the effective set of this thread. */
PZ_NOLOCKS bool pz_has_capability(int cap);

/* ---- userfaultfd ------------------------------------------------------------ */

/* Constants from linux/userfaultfd.h of Linux >= 6.8, which the build host's
 * headers may predate. */
#define PZ_UFFD_FEATURE_EVENT_FORK      (1ULL << 1)
#define PZ_UFFD_FEATURE_EVENT_REMAP     (1ULL << 2)
#define PZ_UFFD_FEATURE_EVENT_REMOVE    (1ULL << 3)
#define PZ_UFFD_FEATURE_EVENT_UNMAP     (1ULL << 6)
#define PZ_UFFD_FEATURE_SIGBUS          (1ULL << 7)
#define PZ_UFFD_FEATURE_THREAD_ID       (1ULL << 8)
#define PZ_UFFD_FEATURE_WP_ASYNC        (1ULL << 15)
#define PZ_UFFD_FEATURE_MOVE            (1ULL << 16)

#define PZ_UFFD_REGISTER_MODE_MISSING   1ULL
#define PZ_UFFD_REGISTER_MODE_WP        2ULL
#define PZ_UFFD_MODE_DONTWAKE           1ULL
#define PZ_UFFD_COPY_MODE_WP            2ULL   /* the page is installed write-protected */
#define PZ_UFFD_MOVE_ALLOW_SRC_HOLES    2ULL

/** How a userfaultfd was obtained; see pz_uffd_open. */
typedef enum {
    PZ_UFFD_VIA_DEVICE = 1,   /* /dev/userfaultfd: kernel-mode faults allowed by file permission */
    PZ_UFFD_VIA_SYSCALL = 2,  /* userfaultfd(2) with kernel-mode faults */
    PZ_UFFD_USER_MODE_ONLY = 3 /* only UFFD_USER_MODE_ONLY worked: unusable for pagezip */
} pz_uffd_origin;

/**
 * Opens a non-blocking, close-on-exec userfaultfd able to handle kernel-mode
 * faults: /dev/userfaultfd first (Linux >= 6.1), then userfaultfd(2).  On
 * failure returns -errno of the syscall attempt; *device_errno receives the
 * errno of the device attempt (0 if it succeeded), *origin how it was opened.
 * If only a user-mode-only descriptor could be created it is closed and
 * *origin is PZ_UFFD_USER_MODE_ONLY.
 */
PZ_NOLOCKS int pz_uffd_open(int *origin, int *device_errno);

/** UFFDIO_API handshake; *features receives the features the kernel offers. */
PZ_NOLOCKS long pz_uffd_api(int fd, uint64_t requested, uint64_t *features, uint64_t *ioctls);
/** UFFDIO_REGISTER in MISSING mode. */
PZ_NOLOCKS long pz_uffd_register(int fd, uintptr_t start, size_t len);
/**
 * UFFDIO_REGISTER with the given PZ_UFFD_REGISTER_MODE_* bits.  The kernel
 * replaces a range's earlier mode with this one (on the same userfaultfd), so
 * WP alone must never be registered over a MISSING range that holds pages.
 */
PZ_NOLOCKS long pz_uffd_register_mode(int fd, uintptr_t start, size_t len, uint64_t mode);
/** UFFDIO_UNREGISTER */
PZ_NOLOCKS long pz_uffd_unregister(int fd, uintptr_t start, size_t len);
/** UFFDIO_COPY; *done receives the bytes copied (may be partial). */
PZ_NOLOCKS long pz_uffd_copy(int fd, uintptr_t dst, uintptr_t src, size_t len, uint64_t mode, int64_t *done);
/** UFFDIO_ZEROPAGE; *done receives the bytes mapped. */
PZ_NOLOCKS long pz_uffd_zeropage(int fd, uintptr_t dst, size_t len, uint64_t mode, int64_t *done);
/** UFFDIO_MOVE (Linux >= 6.8); *done receives the bytes moved. */
PZ_NOLOCKS long pz_uffd_move(int fd, uintptr_t dst, uintptr_t src, size_t len, uint64_t mode, int64_t *done);
/** UFFDIO_POISON (Linux >= 6.6): later accesses to the range get SIGBUS. */
PZ_NOLOCKS long pz_uffd_poison(int fd, uintptr_t dst, size_t len, int64_t *done);
/** UFFDIO_WAKE */
PZ_NOLOCKS long pz_uffd_wake(int fd, uintptr_t start, size_t len);

/* ---- PAGEMAP_SCAN (linux/fs.h of Linux >= 6.7) ------------------------------- */

/** struct page_region: [start, end) and the PAGE_IS_* categories it has. */
typedef struct {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
} pz_page_region;

/**
 * PAGEMAP_SCAN on a /proc/<pid>/pagemap descriptor, as write tracking uses it:
 * the ranges in [start, end) of present or swapped-out pages written since
 * they were last write-protected (PAGE_IS_WRITTEN), transparent huge pages
 * left out (protecting one splits it on its next write).  With `protect`
 * (PM_SCAN_WP_MATCHING) the reported pages are write-protected again in the
 * same walk.  Holes are neither reported nor protected, so no uffd-wp markers
 * are left in them.  Only ranges registered in WP mode with
 * UFFD_FEATURE_WP_ASYNC are tracked; other areas read as written.  Returns
 * the number of ranges stored in vec (a full vec means "call again from the
 * last range's end"), or -errno.
 */
PZ_NOLOCKS long pz_pagemap_scan_written(int fd, uintptr_t start, uintptr_t end, pz_page_region *vec, size_t vec_len,
                                        bool protect);

/** One VMA as PROCMAP_QUERY reports it. */
typedef struct {
    uint64_t start;
    uint64_t end;
    uint64_t flags;      /* PZ_VMA_* */
    uint64_t inode;      /* 0 for anonymous memory */
    uint64_t dev;        /* major << 32 | minor */
    uint32_t name_size;  /* bytes written to name, NUL included; 0: no name */
} pz_vma;

enum { PZ_VMA_READ = 1, PZ_VMA_WRITE = 2, PZ_VMA_EXEC = 4, PZ_VMA_SHARED = 8 };

/**
 * PROCMAP_QUERY (Linux 6.11) on a /proc/self/maps descriptor: the VMA that
 * covers addr (or, with or_next, the first one above it), its name
 * ("[heap]", "[stack]", "[anon:x]", a path) in name.  Returns 0, or -errno
 * (-ENOENT: none; -ENOTTY: the kernel lacks the ioctl; -ENAMETOOLONG).
 */
PZ_NOLOCKS long pz_procmap_query(int fd, uintptr_t addr, bool or_next, pz_vma *out, char *name, size_t name_cap);

/** One decoded userfaultfd message. */
typedef enum {
    PZ_EV_NONE = 0,
    PZ_EV_FAULT = 1,   /* a = address, b = flags (bit 0: write) */
    PZ_EV_REMOVE = 2,  /* a = start, b = end */
    PZ_EV_UNMAP = 3,   /* a = start, b = end */
    PZ_EV_REMAP = 4,   /* a = from, b = to, c = len */
    PZ_EV_FORK = 5,    /* a = new descriptor */
    PZ_EV_OTHER = 6
} pz_event_kind;

typedef struct {
    uint32_t kind;
    uint32_t pad;
    uint64_t a, b, c;
} pz_event;

/**
 * Reads up to `max` messages from a non-blocking userfaultfd and decodes them
 * into `out`.  Returns the number decoded, 0 if none were pending, or -errno.
 */
PZ_NOLOCKS long pz_uffd_read_events(int fd, pz_event *out, size_t max);

/* ---- atomics on raw memory ---------------------------------------------------- */

PZ_NOLOCKS static inline uint64_t pz_load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
PZ_NOLOCKS static inline uint64_t pz_load64_relaxed(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
PZ_NOLOCKS static inline void pz_store64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
PZ_NOLOCKS static inline uint64_t pz_add64(uint64_t *p, uint64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_RELAXED); }
PZ_NOLOCKS static inline uint64_t pz_sub64(uint64_t *p, uint64_t v) { return __atomic_sub_fetch(p, v, __ATOMIC_RELAXED); }
PZ_NOLOCKS static inline uint64_t pz_xchg64(uint64_t *p, uint64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
PZ_NOLOCKS static inline bool pz_cas64(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
PZ_NOLOCKS static inline void pz_max64(uint64_t *p, uint64_t v) {
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (cur < v && !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}
PZ_NOLOCKS static inline uint32_t pz_load32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
PZ_NOLOCKS static inline void pz_store32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
PZ_NOLOCKS static inline bool pz_cas32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
PZ_NOLOCKS static inline uint32_t pz_add32(uint32_t *p, uint32_t v) { return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL); }
PZ_NOLOCKS static inline void pz_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
PZ_NOLOCKS static inline void pz_cpu_relax(void) { __builtin_ia32_pause(); }

/* ---- futex locks in raw memory -------------------------------------------------
 * A lock is a zero-initialised uint32_t in pagezip's own memory.  They never
 * allocate and never touch memory pagezip could compress, so they are safe in
 * the fault handler.  Lock order is documented where each lock lives. */

/** futex(FUTEX_WAIT_PRIVATE) while *word == expected, up to timeout_ns (0 = forever). */
PZ_NOLOCKS void pz_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns);
/** futex(FUTEX_WAKE_PRIVATE) */
PZ_NOLOCKS void pz_futex_wake(uint32_t *word, int count);

/** Mutex: 0 free, 1 held, 2 held with waiters. */
PZ_NOLOCKS void pz_mutex_lock(uint32_t *m);
PZ_NOLOCKS bool pz_mutex_trylock(uint32_t *m);
PZ_NOLOCKS void pz_mutex_unlock(uint32_t *m);

/**
 * Reader-preferring reader/writer lock: bit 31 = writer, low bits = readers.
 * Reader preference is deliberate: the fault handler takes it exclusively and
 * must never wait behind a queue that could include itself.
 */
PZ_NOLOCKS void pz_rw_lock_shared(uint32_t *rw);
PZ_NOLOCKS void pz_rw_unlock_shared(uint32_t *rw);
PZ_NOLOCKS void pz_rw_lock_exclusive(uint32_t *rw);
PZ_NOLOCKS void pz_rw_unlock_exclusive(uint32_t *rw);

/* ---- the engine slot ------------------------------------------------------------
 * One pointer, set once at boot, read on every hot path.  Kept in C because a
 * Swift global would be initialised lazily (swift_once) on first access. */
extern void *pz_engine_slot;
PZ_NOLOCKS static inline void *pz_engine_get(void) { return __atomic_load_n(&pz_engine_slot, __ATOMIC_ACQUIRE); }
PZ_NOLOCKS static inline void pz_engine_set(void *p) { __atomic_store_n(&pz_engine_slot, p, __ATOMIC_RELEASE); }

/* ---- threads ---------------------------------------------------------------- */

/**
 * Starts a detached pthread running fn(arg) on the given stack (pagezip's own
 * memory) with every signal blocked.  Returns 0 or an errno value.
 */
int pz_thread_start(void (*fn)(void *), void *arg, void *stack, size_t stack_size);

/* ---- LZ4 ------------------------------------------------------------------ */

/** Bytes of LZ4 compression state (LZ4_sizeofState). */
PZ_NOLOCKS int pz_lz4_state_size(void);
/** LZ4_compress_fast_extState with acceleration 1: 0 when the output would exceed dst_capacity. */
PZ_NOLOCKS int pz_lz4_compress(void *state, const void *src, void *dst, int src_size, int dst_capacity);
/** LZ4_decompress_safe */
PZ_NOLOCKS int pz_lz4_decompress(const void *src, void *dst, int src_size, int dst_capacity);

/**
 * Starts fn(arg) on a raw clone(2) thread (no pthread, no malloc) with the
 * given stack and a minimal TCB at the end of `tls` (tls_size >= 8 KiB, zeroed).
 * Every signal is blocked on it.  For the fault handler only; see rawthread.c.
 * Returns 0 or an errno value.
 */
PZ_NOLOCKS int pz_raw_thread_start(void (*fn)(void *), void *arg, void *stack, size_t stack_size, void *tls,
                                   size_t tls_size);

/** Writes a whole buffer to fd 2 in one write(2), retrying on EINTR. */
PZ_NOLOCKS void pz_write_stderr(const char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
