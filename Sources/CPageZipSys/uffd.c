/*
 * userfaultfd: opening, the API handshake, the ioctls, and message decoding.
 * The ioctl argument structs live on the caller's stack, which for pagezip's
 * threads is pagezip's own memory: the kernel never faults on them.
 */
#include "CPageZipSys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

/* UFFDIO_MOVE arrived in Linux 6.8; older uapi headers lack it. */
struct pz_uffdio_move {
    uint64_t dst;
    uint64_t src;
    uint64_t len;
    uint64_t mode;
    int64_t move;
};
#define PZ_UFFDIO_MOVE _IOWR(UFFDIO, 0x05, struct pz_uffdio_move)

static long raw_ioctl(int fd, unsigned long req, void *arg) {
    long ret;
    register long r10 __asm__("r10") = 0;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(SYS_ioctl), "D"(fd), "S"(req), "d"(arg), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

static long raw_syscall3(long n, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

int pz_uffd_open(int *origin, int *device_errno) {
    const int flags = O_CLOEXEC | O_NONBLOCK;
    *origin = 0;
    *device_errno = 0;
    long dev = raw_syscall3(SYS_openat, AT_FDCWD, (long)"/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev >= 0) {
        long fd = raw_ioctl((int)dev, USERFAULTFD_IOC_NEW, (void *)(long)flags);
        raw_syscall3(SYS_close, dev, 0, 0);
        if (fd >= 0) {
            *origin = PZ_UFFD_VIA_DEVICE;
            return (int)fd;
        }
        *device_errno = (int)-fd;
    } else {
        *device_errno = (int)-dev;
    }
    long fd = raw_syscall3(SYS_userfaultfd, flags, 0, 0);
    if (fd >= 0) {
        *origin = PZ_UFFD_VIA_SYSCALL;
        return (int)fd;
    }
    long um = raw_syscall3(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY, 0, 0);
    if (um >= 0) {
        raw_syscall3(SYS_close, um, 0, 0);
        *origin = PZ_UFFD_USER_MODE_ONLY;
    }
    return (int)fd;
}

long pz_uffd_api(int fd, uint64_t requested, uint64_t *features, uint64_t *ioctls) {
    struct uffdio_api api = {.api = UFFD_API, .features = requested};
    long r = raw_ioctl(fd, UFFDIO_API, &api);
    if (features) *features = api.features;
    if (ioctls) *ioctls = api.ioctls;
    return r;
}

long pz_uffd_register(int fd, uintptr_t start, size_t len) {
    struct uffdio_register reg = {.range = {.start = start, .len = len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    return raw_ioctl(fd, UFFDIO_REGISTER, &reg);
}

long pz_uffd_register_mode(int fd, uintptr_t start, size_t len, uint64_t mode) {
    struct uffdio_register reg = {.range = {.start = start, .len = len}, .mode = mode};
    return raw_ioctl(fd, UFFDIO_REGISTER, &reg);
}

/* From linux/fs.h of Linux >= 6.7, which the build host's headers may predate. */
struct pz_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PZ_PAGEMAP_SCAN _IOWR('f', 16, struct pz_pm_scan_arg)
#define PZ_PM_SCAN_WP_MATCHING (1ULL << 0)
#define PZ_PAGE_IS_WRITTEN (1ULL << 1)
#define PZ_PAGE_IS_PRESENT (1ULL << 3)
#define PZ_PAGE_IS_SWAPPED (1ULL << 4)
#define PZ_PAGE_IS_HUGE (1ULL << 6)

long pz_pagemap_scan_written(int fd, uintptr_t start, uintptr_t end, pz_page_region *vec, size_t vec_len, bool protect) {
    struct pz_pm_scan_arg a = {
        .size = sizeof a,
        .flags = protect ? PZ_PM_SCAN_WP_MATCHING : 0,
        .start = start,
        .end = end,
        .vec = (uint64_t)(uintptr_t)vec,
        .vec_len = vec_len,
        /* written and not huge ... */
        .category_inverted = PZ_PAGE_IS_HUGE,
        .category_mask = PZ_PAGE_IS_WRITTEN | PZ_PAGE_IS_HUGE,
        /* ... among pages that exist, so holes get no markers */
        .category_anyof_mask = PZ_PAGE_IS_PRESENT | PZ_PAGE_IS_SWAPPED,
        .return_mask = PZ_PAGE_IS_WRITTEN,
    };
    return raw_ioctl(fd, PZ_PAGEMAP_SCAN, &a);
}

long pz_uffd_unregister(int fd, uintptr_t start, size_t len) {
    struct uffdio_range range = {.start = start, .len = len};
    return raw_ioctl(fd, UFFDIO_UNREGISTER, &range);
}

long pz_uffd_copy(int fd, uintptr_t dst, uintptr_t src, size_t len, uint64_t mode, int64_t *done) {
    struct uffdio_copy c = {.dst = dst, .src = src, .len = len, .mode = mode, .copy = 0};
    long r = raw_ioctl(fd, UFFDIO_COPY, &c);
    *done = c.copy;
    return r;
}

long pz_uffd_zeropage(int fd, uintptr_t dst, size_t len, uint64_t mode, int64_t *done) {
    struct uffdio_zeropage z = {.range = {.start = dst, .len = len}, .mode = mode, .zeropage = 0};
    long r = raw_ioctl(fd, UFFDIO_ZEROPAGE, &z);
    *done = z.zeropage;
    return r;
}

long pz_uffd_move(int fd, uintptr_t dst, uintptr_t src, size_t len, uint64_t mode, int64_t *done) {
    struct pz_uffdio_move m = {.dst = dst, .src = src, .len = len, .mode = mode, .move = 0};
    long r = raw_ioctl(fd, PZ_UFFDIO_MOVE, &m);
    *done = m.move;
    return r;
}

struct pz_uffdio_poison {
    uint64_t start;
    uint64_t len;
    uint64_t mode;
    int64_t updated;
};
#define PZ_UFFDIO_POISON _IOWR(UFFDIO, 0x08, struct pz_uffdio_poison)

long pz_uffd_poison(int fd, uintptr_t dst, size_t len, int64_t *done) {
    struct pz_uffdio_poison p = {.start = dst, .len = len, .mode = 0, .updated = 0};
    long r = raw_ioctl(fd, PZ_UFFDIO_POISON, &p);
    *done = p.updated;
    return r;
}

long pz_uffd_wake(int fd, uintptr_t start, size_t len) {
    struct uffdio_range range = {.start = start, .len = len};
    return raw_ioctl(fd, UFFDIO_WAKE, &range);
}

long pz_uffd_read_events(int fd, pz_event *out, size_t max) {
    struct uffd_msg msgs[32];
    if (max > 32) max = 32;
    long n = raw_syscall3(SYS_read, fd, (long)msgs, (long)(max * sizeof(struct uffd_msg)));
    if (n == -EAGAIN) return 0;
    if (n < 0) return n;
    size_t count = (size_t)n / sizeof(struct uffd_msg);
    for (size_t i = 0; i < count; i++) {
        const struct uffd_msg *m = &msgs[i];
        pz_event *e = &out[i];
        e->pad = 0;
        e->a = e->b = e->c = 0;
        switch (m->event) {
        case UFFD_EVENT_PAGEFAULT:
            e->kind = PZ_EV_FAULT;
            e->a = m->arg.pagefault.address;
            e->b = m->arg.pagefault.flags;
            break;
        case UFFD_EVENT_REMOVE:
            e->kind = PZ_EV_REMOVE;
            e->a = m->arg.remove.start;
            e->b = m->arg.remove.end;
            break;
        case UFFD_EVENT_UNMAP:
            e->kind = PZ_EV_UNMAP;
            e->a = m->arg.remove.start;
            e->b = m->arg.remove.end;
            break;
        case UFFD_EVENT_REMAP:
            e->kind = PZ_EV_REMAP;
            e->a = m->arg.remap.from;
            e->b = m->arg.remap.to;
            e->c = m->arg.remap.len;
            break;
        case UFFD_EVENT_FORK:
            e->kind = PZ_EV_FORK;
            e->a = m->arg.fork.ufd;
            break;
        default:
            e->kind = PZ_EV_OTHER;
            break;
        }
    }
    return (long)count;
}
