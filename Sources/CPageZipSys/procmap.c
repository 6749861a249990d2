/*
 * PROCMAP_QUERY (Linux 6.11): one VMA of /proc/self/maps by address, without
 * reading and parsing the whole text.  The store worker asks for the mapping
 * at each place it is about to register; a process whose mappings pagezip's
 * own registrations have split into thousands (memcached: 5,000 after 2,000
 * stored runs) made the text walk quadratic.
 */
#include "CPageZipSys.h"

#include <sys/ioctl.h>
#include <sys/syscall.h>

/* include/uapi/linux/fs.h, Linux 6.11; Debian 12's headers predate it. */
struct pz_procmap_query_arg {
    uint64_t size;
    uint64_t query_flags;
    uint64_t query_addr;
    uint64_t vma_start;
    uint64_t vma_end;
    uint64_t vma_flags;
    uint64_t vma_page_size;
    uint64_t vma_offset;
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint32_t vma_name_size;
    uint32_t build_id_size;
    uint64_t vma_name_addr;
    uint64_t build_id_addr;
};
#define PZ_PROCMAP_QUERY _IOWR('f', 17, struct pz_procmap_query_arg)
#define PZ_PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10

/* No errno: the store worker is a raw thread. */
static long raw_ioctl(int fd, unsigned long req, void *arg) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(SYS_ioctl), "D"(fd), "S"(req), "d"(arg) : "rcx", "r11", "memory");
    return ret;
}

long pz_procmap_query(int fd, uintptr_t addr, bool or_next, pz_vma *out, char *name, size_t name_cap) {
    struct pz_procmap_query_arg q = {
        .size = sizeof q,
        .query_flags = or_next ? PZ_PROCMAP_QUERY_COVERING_OR_NEXT_VMA : 0,
        .query_addr = addr,
        .vma_name_size = (uint32_t)name_cap,
        .vma_name_addr = (uint64_t)(uintptr_t)name,
    };
    long r = raw_ioctl(fd, PZ_PROCMAP_QUERY, &q);
    if (r < 0) return r;
    out->start = q.vma_start;
    out->end = q.vma_end;
    out->flags = q.vma_flags;
    out->inode = q.inode;
    out->dev = ((uint64_t)q.dev_major << 32) | q.dev_minor;
    out->name_size = q.vma_name_size;
    return 0;
}
