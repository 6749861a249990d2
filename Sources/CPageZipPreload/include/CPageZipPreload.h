/*
 * CPageZipPreload — the part of libpagezip.so that must be C: the interposed
 * libc entry points, their bootstrap before the Swift engine exists, and the
 * per-thread re-entry guard.  The engine (Swift) implements the pz_engine_*
 * hooks declared here.
 */
#ifndef CPAGEZIPPRELOAD_H
#define CPAGEZIPPRELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "pagezip.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Engine life cycle, read by every interposer. */
enum {
    PZ_STATE_BOOT = 0,        /* constructor not finished: forward everything */
    PZ_STATE_ACTIVE = 1,      /* engine on */
    PZ_STATE_PASSTHROUGH = 2  /* disabled (by config or missing rights): forward everything */
};
extern volatile int pz_preload_state;
/** Reads / sets pz_preload_state (for Swift, which may not touch C globals). */
int pz_preload_get_state(void) __attribute__((swift_attr("@_noLocks")));
void pz_preload_set_state(int state) __attribute__((swift_attr("@_noLocks")));

/** The real libc functions behind the interposers (NULL until resolved). */
long pz_real_madvise(uintptr_t addr, size_t len, int advice);

/** Turns call-site capture in the mmap interposer on or off (PAGEZIP_SITES). */
void pz_preload_set_sites(int enabled);

/**
 * glibc's lists of thread descriptors (GL(dl_stack_used), GL(dl_stack_cache)),
 * which fork walks in the child before any atfork handler runs.  The probe
 * finds them once (at boot) by creating a thread and looking for lists that
 * hold it; returns 0 when found.  The touch reads every descriptor on them
 * with process_vm_readv (so a racing thread exit can never crash the host),
 * which brings any held descriptor page back.  Returns descriptors touched,
 * or -1 when the lists are unknown.
 */
int pz_preload_thread_lists_probe(void);
long pz_preload_thread_lists_touch(void);

/** Moves a descriptor pagezip owns to a high number and shields it from the
 * host's close/close_range/closefrom/dup2/dup3; returns the new number. */
int pz_preload_own_fd(int fd) __attribute__((swift_attr("@_noLocks")));
void pz_preload_disown_fd(int fd) __attribute__((swift_attr("@_noLocks")));
/** Disowns and closes one of pagezip's descriptors (the interposed close
 *  would refuse it). */
int pz_preload_close_own_fd(int fd) __attribute__((swift_attr("@_noLocks")));

/** Writes "symbol+0xoff (library)" (or "library+0xoff") for a code address
 * into buf via dladdr(3); returns 0, or -1 when the address is unknown. */
int pz_preload_symbolize(uintptr_t address, char *buf, size_t len);

/** Marks the calling thread as pagezip's own, so interposers forward its calls untouched. */
void pz_preload_mark_internal_thread(void) __attribute__((swift_attr("@_noLocks")));

/** Auto reclaim stored something: the next host thread to enter a waiting
 *  call (epoll_wait, poll, select, nanosleep) starts the stats thread. */
void pz_preload_want_stats(void) __attribute__((swift_attr("@_noLocks")));
/** Resolves the real waiting calls behind statshook.c's interposers (constructor). */
void pz_preload_resolve_wait_calls(void);
/** In a fork child of a process that served stats: arm the start again. */
void pz_preload_want_stats_again(void);

/* Engine hooks (implemented in Swift, called with errno already saved). */
void pz_engine_boot(void);
void pz_engine_note_mmap(uintptr_t addr, size_t len, int prot, int flags, uint16_t site);
/** Interns a call stack (return addresses, innermost first); 0 = none. */
uint16_t pz_engine_intern_site(const uintptr_t *frames, int nframes);
void pz_engine_note_munmap(uintptr_t addr, size_t len);
void pz_engine_note_mremap(uintptr_t old_addr, size_t old_len, uintptr_t new_addr, size_t new_len);
/** mremap failed with EFAULT: if pagezip's registration split the range into
 *  several VMAs, register it whole (the VMAs merge); 1 if worth a retry. */
int pz_engine_mend_split(uintptr_t old_addr, size_t old_len);
/** MADV_PAGEOUT: store the range now; returns pages stored. */
long pz_engine_pageout(uintptr_t addr, size_t len);
void pz_engine_cold_hint(uintptr_t addr, size_t len);
/** Around MADV_DONTNEED/FREE/REMOVE: no store may race the drop. */
int pz_engine_drop_begin(uintptr_t addr, size_t len);
void pz_engine_drop_end(int token);
void pz_engine_note_advice(uintptr_t addr, size_t len, int advice);
/** From a host thread in a waiting call, once: start the stats thread. */
void pz_engine_stats_wanted(void);
/** In a fork child, runs pagezip's child work once, before any other child handler. */
void pz_engine_fork_child_first(void);

#ifdef __cplusplus
}
#endif
#endif
