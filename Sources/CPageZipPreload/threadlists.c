/*
 * glibc's thread-descriptor lists, found at run time and walked safely.
 *
 * In a fork child, glibc's reclaim_stacks() walks GL(dl_stack_used) and
 * GL(dl_stack_cache) through the struct pthread of every thread before any
 * atfork handler can run; if pagezip held one of those pages the child would
 * read zeros and crash.  So fork's prepare handler walks the same lists
 * while the fault handler is still serving, which brings every descriptor
 * page back (and the parked store worker cannot take it again before fork).
 * The lists live in ld.so's _rtld_global, whose layout varies across glibc
 * versions.  The probe creates no thread (a second pthread switches glibc's
 * stdio and malloc to locked mode for good: getc() ran 5x slower): it finds
 * the list that holds the main thread's descriptor, GL(dl_stack_user), and
 * with it the offset of the list node in struct pthread; glibc 2.34 and later
 * declare dl_stack_used right before it and dl_stack_cache right after, and
 * both are checked by walking them (every element must be a descriptor whose
 * TCB points to itself) before they are trusted.
 * Reads go through process_vm_readv on ourselves, so a list changing under a
 * racing thread exit yields EFAULT, never a crash of the host.
 */
#include "CPageZipPreload.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static uintptr_t used_head, cache_head, node_offset;

static int read_word(uintptr_t addr, uintptr_t *out) {
    struct iovec local = {.iov_base = out, .iov_len = sizeof *out};
    struct iovec remote = {.iov_base = (void *)addr, .iov_len = sizeof *out};
    long n = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
    return n == (long)sizeof *out ? 0 : -1;
}

/* Walks the circular list at head (at most limit nodes).  Returns the number
 * of elements, or -1 if it does not close or an element is not a thread
 * descriptor (x86_64 tcbhead_t: tcb and self both point to the descriptor).
 * With want != 0, *hit is set when a node lies within [want, want + 8 KiB). */
static long walk_list(uintptr_t head, uintptr_t offset, long limit, uintptr_t want, uintptr_t *hit) {
    uintptr_t node;
    long n = 0;
    if (read_word(head, &node) != 0) return -1;
    while (node != head) {
        if (++n > limit) return -1;
        if (want) {
            if (node >= want && node - want < 0x2000) *hit = node;
        } else {
            uintptr_t pd = node - offset, tcb, self;
            if (read_word(pd, &tcb) != 0 || read_word(pd + 16, &self) != 0 || tcb != pd || self != pd) return -1;
        }
        if (read_word(node, &node) != 0) return -1;
    }
    return n;
}

int pz_preload_thread_lists_probe(void) {
    void *rtld = dlsym(RTLD_DEFAULT, "_rtld_global");
    Dl_info info;
    const ElfW(Sym) *sym = 0;
    if (!rtld || !dladdr1(rtld, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || sym->st_size < 64) return -1;
    /* Only the main thread's descriptor is known to sit on dl_stack_user. */
    if (syscall(SYS_gettid) != (long)getpid()) return -1;
    uintptr_t base = (uintptr_t)rtld, size = sym->st_size, pd = (uintptr_t)pthread_self();
    for (uintptr_t head = base + 16; head + 32 <= base + size; head += 8) {
        /* The main thread was the first on the list: it is next or prev. */
        uintptr_t next = *(uintptr_t *)head, prev = *(uintptr_t *)(head + 8), hit = 0;
        if (!(next >= pd && next - pd < 0x2000) && !(prev >= pd && prev - pd < 0x2000)) continue;
        if (walk_list(head, 0, 64, pd, &hit) < 1 || !hit) continue;
        uintptr_t offset = hit - pd;
        if (walk_list(head, offset, 64, 0, 0) < 1) continue;
        if (walk_list(head - 16, offset, 100000, 0, 0) < 0 || walk_list(head + 16, offset, 100000, 0, 0) < 0) continue;
        used_head = head - 16;
        cache_head = head + 16;
        node_offset = offset;
        return 0;
    }
    return -1;
}

static long touch_list(uintptr_t head) {
    long n = 0;
    uintptr_t node;
    if (read_word(head, &node) != 0) return 0;
    while (node != head && n < 100000) {
        uintptr_t pd = node - node_offset, w;
        /* Every word glibc touches is within the descriptor's first 4 KiB. */
        for (uintptr_t a = pd & ~(uintptr_t)4095; a < pd + 4096; a += 4096) read_word(a, &w);
        if (read_word(node, &node) != 0) break;
        n++;
    }
    return n;
}

long pz_preload_thread_lists_touch(void) {
    if (!used_head) return -1;
    return touch_list(used_head) + touch_list(cache_head);
}
