/*
 * Where the stats thread starts when auto reclaim has stored something.
 *
 * The stats server is a pthread, and pthread_create allocates, so it may only
 * be created from a host thread in an ordinary state — never from pagezip's
 * raw threads (the reclaimer that does the storing), never at load time
 * (a pthread that exists while a root program drops privileges with
 * per-thread capabilities makes glibc abort in its set*id broadcast, measured
 * with `setpriv --reuid`).  So the reclaimer only raises a flag, and the next
 * time a host thread goes to sleep in a waiting call — a server's epoll_wait,
 * an idle program's nanosleep — that thread starts it.  Waiting calls hold no
 * allocator lock, unlike mmap (jemalloc maps with its own locks held), and
 * a thread that blocks no signal is not inside a signal handler.  The cost on
 * every such call is one relaxed load.  A program that never enters one of
 * these calls after the first store (one blocking read(2) forever) serves no
 * stats.
 */
#include "CPageZipPreload.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int stats_wanted;
/* This thread blocks a signal, so it may be inside a signal handler (which
 * blocks its own signal), where pthread_create could deadlock on a malloc
 * lock the handler interrupted.  It never tries again; another thread will. */
static __thread int thread_unsuitable __attribute__((tls_model("initial-exec")));

static int signals_blocked(void) {
    uint64_t mask = 0;
    return syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)0, &mask, sizeof mask) != 0 || mask != 0;
}

void pz_preload_want_stats_again(void) { __atomic_store_n(&stats_wanted, 1, __ATOMIC_RELAXED); }

void pz_preload_want_stats(void) {
    if (!__atomic_load_n(&stats_wanted, __ATOMIC_RELAXED)) __atomic_store_n(&stats_wanted, 1, __ATOMIC_RELAXED);
}

static inline void maybe_start_stats(void) {
    if (__builtin_expect(__atomic_load_n(&stats_wanted, __ATOMIC_RELAXED) == 1, 0) && !thread_unsuitable) {
        int saved_errno = errno;
        if (signals_blocked()) {
            thread_unsuitable = 1;
            errno = saved_errno;
            return;
        }
        errno = saved_errno;
        int expected = 1;
        /* 2: taken; only one host thread ever starts it. */
        if (__atomic_compare_exchange_n(&stats_wanted, &expected, 2, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            int saved = errno;
            pz_engine_stats_wanted();
            errno = saved;
        }
    }
}

/* Resolved at load (pz_preload_resolve_wait_calls, from the constructor), so
 * a first call from a signal handler never runs dlsym; resolved on first
 * call only if another library's constructor waits before ours ran.  Racing
 * threads store the same value. */
static void *resolve(void **slot, const char *name) {
    void *f = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (__builtin_expect(f == 0, 0)) {
        f = dlsym(RTLD_NEXT, name);
        __atomic_store_n(slot, f, __ATOMIC_RELAXED);
    }
    return f;
}

typedef int (*epoll_wait_fn)(int, struct epoll_event *, int, int);
typedef int (*epoll_pwait_fn)(int, struct epoll_event *, int, int, const sigset_t *);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
typedef int (*select_fn)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
typedef int (*nanosleep_fn)(const struct timespec *, struct timespec *);
typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);

static void *real_epoll_wait, *real_epoll_pwait, *real_poll, *real_select, *real_nanosleep, *real_clock_nanosleep;

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    epoll_wait_fn f = (epoll_wait_fn)resolve(&real_epoll_wait, "epoll_wait");
    maybe_start_stats();
    return f(epfd, events, maxevents, timeout);
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *mask) {
    epoll_pwait_fn f = (epoll_pwait_fn)resolve(&real_epoll_pwait, "epoll_pwait");
    maybe_start_stats();
    return f(epfd, events, maxevents, timeout, mask);
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout) {
    poll_fn f = (poll_fn)resolve(&real_poll, "poll");
    maybe_start_stats();
    return f(fds, nfds, timeout);
}

int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout) {
    select_fn f = (select_fn)resolve(&real_select, "select");
    maybe_start_stats();
    return f(nfds, r, w, x, timeout);
}

int nanosleep(const struct timespec *req, struct timespec *rem) {
    nanosleep_fn f = (nanosleep_fn)resolve(&real_nanosleep, "nanosleep");
    maybe_start_stats();
    return f(req, rem);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem) {
    clock_nanosleep_fn f = (clock_nanosleep_fn)resolve(&real_clock_nanosleep, "clock_nanosleep");
    maybe_start_stats();
    return f(clock, flags, req, rem);
}

void pz_preload_resolve_wait_calls(void) {
    resolve(&real_epoll_wait, "epoll_wait");
    resolve(&real_epoll_pwait, "epoll_pwait");
    resolve(&real_poll, "poll");
    resolve(&real_select, "select");
    resolve(&real_nanosleep, "nanosleep");
    resolve(&real_clock_nanosleep, "clock_nanosleep");
}
