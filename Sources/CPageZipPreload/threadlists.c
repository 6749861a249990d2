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
 * versions: the probe finds both heads, and the offset of the list node in
 * struct pthread, by creating a thread and searching for lists that hold it.
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

static int gate[2];
static void *probe_thread(void *arg) {
    (void)arg;
    char c;
    while (read(gate[0], &c, 1) < 0) {}
    return 0;
}

/* A circular list head in [base, base+size) whose only element is the node
 * of descriptor pd: head->next == head->prev == node, node->next == head. */
static uintptr_t find_head(uintptr_t base, size_t size, uintptr_t pd, uintptr_t *offset, uintptr_t skip) {
    for (size_t i = 0; i + 16 <= size; i += 8) {
        uintptr_t head = base + i;
        if (head == skip) continue;
        uintptr_t next = *(uintptr_t *)head, prev = *(uintptr_t *)(head + 8);
        if (next != prev || next < pd || next - pd >= 0x2000) continue;
        uintptr_t back;
        if (read_word(next, &back) != 0 || back != head) continue;
        *offset = next - pd;
        return head;
    }
    return 0;
}

int pz_preload_thread_lists_probe(void) {
    void *rtld = dlsym(RTLD_DEFAULT, "_rtld_global");
    Dl_info info;
    const ElfW(Sym) *sym = 0;
    if (!rtld || !dladdr1(rtld, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || sym->st_size < 64) return -1;
    if (pipe(gate) != 0) return -1;
    pthread_t t;
    if (pthread_create(&t, 0, probe_thread, 0) != 0) {
        close(gate[0]);
        close(gate[1]);
        return -1;
    }
    uintptr_t pd = (uintptr_t)t, off = 0;
    used_head = find_head((uintptr_t)rtld, sym->st_size, pd, &off, 0);
    node_offset = off;
    (void)!write(gate[1], "x", 1);
    pthread_join(t, 0);
    close(gate[0]);
    close(gate[1]);
    /* The joined thread's stack is now on the cache list. */
    uintptr_t off2 = 0;
    cache_head = find_head((uintptr_t)rtld, sym->st_size, pd, &off2, used_head);
    if (!used_head || !cache_head || off2 != node_offset) {
        used_head = cache_head = 0;
        return -1;
    }
    return 0;
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
