/*
 * Futex-based locks that live in pagezip's raw memory.  They never allocate and
 * never touch memory pagezip could compress.  Callers document lock order at the
 * place each lock lives (see the engine's State).
 */
#include "CPageZipSys.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

void pz_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns) {
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u), .tv_nsec = (long)(timeout_ns % 1000000000u)};
    long ret;
    register long r10 __asm__("r10") = timeout_ns ? (long)&ts : 0;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(SYS_futex), "D"(word), "S"(FUTEX_WAIT_PRIVATE), "d"(expected), "r"(r10)
                     : "rcx", "r11", "memory");
    (void)ret;
}

void pz_futex_wake(uint32_t *word, int count) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(SYS_futex), "D"(word), "S"(FUTEX_WAKE_PRIVATE), "d"(count)
                     : "rcx", "r11", "memory");
    (void)ret;
}

/* Drepper's "Futexes are tricky" mutex #3. */
void pz_mutex_lock(uint32_t *m) {
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(m, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    for (int spin = 0; spin < 100; spin++) {
        pz_cpu_relax();
        c = 0;
        if (__atomic_compare_exchange_n(m, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    }
    if (c != 2) c = __atomic_exchange_n(m, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        pz_futex_wait(m, 2, 0);
        c = __atomic_exchange_n(m, 2, __ATOMIC_ACQUIRE);
    }
}

bool pz_mutex_trylock(uint32_t *m) {
    uint32_t c = 0;
    return __atomic_compare_exchange_n(m, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void pz_mutex_unlock(uint32_t *m) {
    if (__atomic_exchange_n(m, 0, __ATOMIC_RELEASE) == 2) pz_futex_wake(m, 1);
}

/* Reader-preferring rwlock: bit 31 writer, bit 30 "someone sleeps", bits
 * 0-29 readers.  Unlock wakes only when bit 30 is set, so the common,
 * uncontended path is two atomic operations and no system call. */
#define RW_WRITER 0x80000000u
#define RW_WAITERS 0x40000000u
#define RW_READERS 0x3FFFFFFFu

static void rw_sleep(uint32_t *rw, uint32_t seen) {
    /* Announce the sleeper, then sleep while the word still says so. */
    if (!(seen & RW_WAITERS)) {
        if (!__atomic_compare_exchange_n(rw, &seen, seen | RW_WAITERS, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return;
        seen |= RW_WAITERS;
    }
    pz_futex_wait(rw, seen, 0);
}

void pz_rw_lock_shared(uint32_t *rw) {
    for (;;) {
        uint32_t v = __atomic_load_n(rw, __ATOMIC_RELAXED);
        if (!(v & RW_WRITER)) {
            if (__atomic_compare_exchange_n(rw, &v, v + 1, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
            continue;
        }
        rw_sleep(rw, v);
    }
}

void pz_rw_unlock_shared(uint32_t *rw) {
    uint32_t v = __atomic_sub_fetch(rw, 1, __ATOMIC_RELEASE);
    if ((v & RW_READERS) == 0 && (v & RW_WAITERS)) {
        if (__atomic_compare_exchange_n(rw, &v, v & ~RW_WAITERS, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            pz_futex_wake(rw, 1 << 30);
    }
}

void pz_rw_lock_exclusive(uint32_t *rw) {
    int spins = 0;
    for (;;) {
        uint32_t v = __atomic_load_n(rw, __ATOMIC_RELAXED);
        if ((v & (RW_WRITER | RW_READERS)) == 0) {
            if (__atomic_compare_exchange_n(rw, &v, v | RW_WRITER, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
            continue;
        }
        if (++spins < 200) {
            pz_cpu_relax();
            continue;
        }
        rw_sleep(rw, v);
    }
}

void pz_rw_unlock_exclusive(uint32_t *rw) {
    uint32_t v = __atomic_exchange_n(rw, 0, __ATOMIC_RELEASE);
    if (v & RW_WAITERS) pz_futex_wake(rw, 1 << 30);
}
