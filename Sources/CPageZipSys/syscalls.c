/*
 * Raw system calls.  pagezip interposes mmap/munmap/mremap/madvise, so its own
 * memory management must never go through those libc symbols, and it must not
 * disturb the host's errno: every wrapper here returns the kernel's value.
 */
#include "CPageZipSys.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void *pz_engine_slot;

static inline long raw6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define raw0(n) raw6((n), 0, 0, 0, 0, 0, 0)
#define raw1(n, a) raw6((n), (long)(a), 0, 0, 0, 0, 0)
#define raw2(n, a, b) raw6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define raw3(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw4(n, a, b, c, d) raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define raw5(n, a, b, c, d, e) raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

intptr_t pz_sys_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, off_t off) {
    return raw6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
}
long pz_sys_munmap(uintptr_t addr, size_t len) { return raw2(SYS_munmap, addr, len); }
long pz_sys_madvise(uintptr_t addr, size_t len, int advice) { return raw3(SYS_madvise, addr, len, advice); }
long pz_sys_mprotect(uintptr_t addr, size_t len, int prot) { return raw3(SYS_mprotect, addr, len, prot); }
intptr_t pz_sys_mremap(uintptr_t old, size_t old_len, size_t new_len, int flags, uintptr_t new_addr) {
    return raw5(SYS_mremap, old, old_len, new_len, flags, new_addr);
}
long pz_sys_mincore(uintptr_t addr, size_t len, unsigned char *vec) { return raw3(SYS_mincore, addr, len, vec); }
long pz_sys_open(const char *path, int flags, int mode) { return raw4(SYS_openat, AT_FDCWD, path, flags, mode); }
long pz_sys_close(int fd) { return raw1(SYS_close, fd); }
long pz_sys_read(int fd, void *buf, size_t len) { return raw3(SYS_read, fd, buf, len); }
long pz_sys_write(int fd, const void *buf, size_t len) { return raw3(SYS_write, fd, buf, len); }
long pz_sys_pread(int fd, void *buf, size_t len, off_t off) { return raw4(SYS_pread64, fd, buf, len, off); }
long pz_sys_eventfd(unsigned int initval, int flags) { return raw2(SYS_eventfd2, initval, flags); }
int pz_sys_getpid(void) { return (int)raw0(SYS_getpid); }
int pz_sys_gettid(void) { return (int)raw0(SYS_gettid); }
int pz_sys_getpgid(void) { return (int)raw1(SYS_getpgid, 0); }
unsigned int pz_sys_geteuid(void) { return (unsigned int)raw0(SYS_geteuid); }
void pz_sys_yield(void) { raw0(SYS_sched_yield); }

long pz_sys_poll2(int fd0, int fd1, int timeout_ms, short *r0, short *r1) {
    struct pollfd fds[2] = {{.fd = fd0, .events = POLLIN}, {.fd = fd1, .events = POLLIN}};
    long n = raw3(SYS_poll, fds, fd1 >= 0 ? 2 : 1, timeout_ms);
    *r0 = n > 0 ? fds[0].revents : 0;
    *r1 = n > 0 && fd1 >= 0 ? fds[1].revents : 0;
    return n;
}

void pz_sys_sleep_ns(uint64_t ns) {
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    raw2(SYS_nanosleep, &ts, 0);
}

void pz_set_thread_name(const char *name) { raw5(SYS_prctl, PR_SET_NAME, name, 0, 0, 0); }

uint64_t pz_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall, no errno change on success */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pz_thread_cpu_ns(void) {
    struct timespec ts;
    if (raw2(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool pz_has_capability(int cap) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {{0}};
    if (raw2(SYS_capget, &hdr, data) != 0) return false;
    return (data[cap / 32].effective >> (cap % 32)) & 1u;
}

void pz_write_stderr(const char *buf, size_t len) {
    while (len > 0) {
        long n = raw3(SYS_write, 2, buf, len);
        if (n == -4 /* EINTR */) continue;
        if (n <= 0) return;
        buf += n;
        len -= (size_t)n;
    }
}

/* The kernel's own sigprocmask (8-byte set), not glibc's: raw threads may not
 * touch glibc's thread state, and glibc would leave its internal signals
 * unblocked. */
uint64_t pz_sys_block_signals(void) {
    uint64_t all = ~(uint64_t)0, old = 0;
    raw4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
    return old;
}

void pz_sys_restore_signals(uint64_t old) { raw4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, sizeof old); }
