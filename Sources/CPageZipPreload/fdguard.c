/*
 * pagezip's own descriptors (the userfaultfd, the handler's eventfd, the stats
 * socket and its connections) must survive a host that closes everything it did not open:
 * daemons call closefrom(3), close_range(3, ~0U) or loop close() over all
 * numbers.  Closing the userfaultfd would unregister every held range and
 * the pages would read as zeros.  So the descriptors move to high numbers
 * when created, and close/close_range/closefrom skip them: to the host they
 * look already closed (EBADF), which is what a loop that closes "everything
 * else" expects.  dup2/dup3 onto one of them fails with EBUSY.
 */
#include "CPageZipPreload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The engine's few descriptors, the stats socket and its connections. */
#define PZ_MAX_FDS 32
static int owned[PZ_MAX_FDS] = {[0 ... PZ_MAX_FDS - 1] = -1};
/* No owned descriptor is below this: the host's close() of a low number
 * costs one comparison. */
static int lowest_owned = 1 << 30;

static int is_owned(int fd) {
    if (fd < __atomic_load_n(&lowest_owned, __ATOMIC_RELAXED)) return 0;
    for (int i = 0; i < PZ_MAX_FDS; i++)
        if (__atomic_load_n(&owned[i], __ATOMIC_RELAXED) == fd) return 1;
    return 0;
}

/* Raw system calls: pagezip's raw threads call pz_preload_own_fd, and they
 * may not touch errno (glibc's thread state). */
static long raw4(long n, long a, long b, long c, long d) {
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}

int pz_preload_own_fd(int fd) {
    if (fd < 0) return fd;
    struct rlimit rl;
    long floor = 512;
    if (raw4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 1024)
        floor = (long)rl.rlim_cur - 64;
    long high = raw4(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor, 0);
    if (high < 0) high = raw4(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 100, 0);
    if (high >= 0) {
        raw4(SYS_close, fd, 0, 0, 0);
        fd = (int)high;
    }
    int low = __atomic_load_n(&lowest_owned, __ATOMIC_RELAXED);
    while (fd < low && !__atomic_compare_exchange_n(&lowest_owned, &low, fd, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
    for (int i = 0; i < PZ_MAX_FDS; i++) {
        int expected = -1;
        if (__atomic_compare_exchange_n(&owned[i], &expected, fd, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) break;
    }
    return fd;
}

int pz_preload_close_own_fd(int fd) {
    pz_preload_disown_fd(fd);
    return (int)raw4(SYS_close, fd, 0, 0, 0);
}

void pz_preload_disown_fd(int fd) {
    for (int i = 0; i < PZ_MAX_FDS; i++) {
        int expected = fd;
        __atomic_compare_exchange_n(&owned[i], &expected, -1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
}

int close(int fd) {
    if (is_owned(fd)) {
        errno = EBADF;
        return -1;
    }
    return (int)syscall(SYS_close, fd);
}

int close_range(unsigned int first, unsigned int last, int flags) {
    /* Close the stretches between pagezip's descriptors. */
    unsigned int from = first;
    for (;;) {
        unsigned int next = last;
        int found = 0;
        for (int i = 0; i < PZ_MAX_FDS; i++) {
            int o = __atomic_load_n(&owned[i], __ATOMIC_RELAXED);
            if (o >= 0 && (unsigned int)o >= from && (unsigned int)o <= last && (!found || (unsigned int)o < next)) {
                next = (unsigned int)o;
                found = 1;
            }
        }
        if (!found) return (int)syscall(SYS_close_range, from, last, flags);
        if (next > from) {
            long r = syscall(SYS_close_range, from, next - 1, flags);
            if (r != 0) return (int)r;
        }
        if (next == last || next == ~0u) return 0;
        from = next + 1;
    }
}

/* Like glibc's: close_range, else (seccomp, old kernels) every number
 * /proc/self/fd lists, again until a pass finds nothing more to close. */
void closefrom(int lowfd) {
    unsigned int first = lowfd < 0 ? 0 : (unsigned int)lowfd;
    int saved = errno;
    if (close_range(first, ~0u, 0) == 0) return;
    int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        errno = saved;
        return;
    }
    char buf[4096];
    for (int closed = 1; closed;) {
        closed = 0;
        syscall(SYS_lseek, dir, 0, SEEK_SET);
        long n;
        while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                struct pz_dirent { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };
                const struct pz_dirent *d = (const struct pz_dirent *)(buf + off);
                off += d->reclen;
                long fd = 0;
                const char *c = d->name;
                if (*c < '0' || *c > '9') continue;
                while (*c >= '0' && *c <= '9') fd = fd * 10 + (*c++ - '0');
                if (fd >= (long)first && fd != dir && !is_owned((int)fd) && syscall(SYS_close, fd) == 0) closed = 1;
            }
        }
    }
    syscall(SYS_close, dir);
    errno = saved;
}

int dup2(int oldfd, int newfd) {
    if (is_owned(newfd)) {
        errno = EBUSY;
        return -1;
    }
    return (int)syscall(SYS_dup2, oldfd, newfd);
}

int dup3(int oldfd, int newfd, int flags) {
    if (is_owned(newfd)) {
        errno = EBUSY;
        return -1;
    }
    return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}
