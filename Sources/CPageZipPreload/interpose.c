/*
 * The interposed libc entry points: mmap, mmap64, munmap, mremap, madvise.
 *
 * They must work before pagezip is initialised and while dlsym() runs (dlsym
 * can allocate, and an allocator may call mmap): until the real symbols are
 * resolved, and whenever a thread is already inside pagezip, they forward
 * through raw system calls.  errno is preserved around pagezip's own work so
 * the host sees exactly what libc would have told it.
 */
#include "CPageZipPreload.h"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

volatile int pz_preload_state = PZ_STATE_BOOT;

int pz_preload_get_state(void) { return __atomic_load_n(&pz_preload_state, __ATOMIC_ACQUIRE); }
void pz_preload_set_state(int state) { __atomic_store_n(&pz_preload_state, state, __ATOMIC_RELEASE); }

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
typedef int (*madvise_fn)(void *, size_t, int);

static mmap_fn real_mmap;
static mmap_fn real_mmap64;
static munmap_fn real_munmap;
static mremap_fn real_mremap;
static madvise_fn real_madvise;

/* Non-zero while this thread runs pagezip code (or dlsym on its behalf). */
static __thread int in_pagezip __attribute__((tls_model("initial-exec")));

void pz_preload_mark_internal_thread(void) { in_pagezip = 1; }

static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    return (void *)r;
}

static inline int engine_on(void) { return pz_preload_state == PZ_STATE_ACTIVE && !in_pagezip; }

/* Our own text, so call sites start at the host's first frame. */
static uintptr_t self_start, self_end;
static volatile int sites_enabled = 1;

void pz_preload_set_sites(int enabled) { sites_enabled = enabled; }

static int find_self(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t probe = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (probe >= lo && probe < hi) {
            for (int j = 0; j < info->dlpi_phnum; j++) {
                const ElfW(Phdr) *q = &info->dlpi_phdr[j];
                if (q->p_type != PT_LOAD) continue;
                uintptr_t a = info->dlpi_addr + q->p_vaddr, b = a + q->p_memsz;
                if (!self_start || a < self_start) self_start = a;
                if (b > self_end) self_end = b;
            }
            return 1;
        }
    }
    return 0;
}

/* Up to PZ_SITE_FRAMES return addresses of the host code that called mmap. */
#define PZ_SITE_FRAMES 6
static int capture_frames(uintptr_t *out) {
    void *raw[PZ_SITE_FRAMES + 4];
    int n = unw_backtrace(raw, PZ_SITE_FRAMES + 4);
    int k = 0;
    for (int i = 0; i < n && k < PZ_SITE_FRAMES; i++) {
        uintptr_t a = (uintptr_t)raw[i];
        if (a >= self_start && a < self_end) continue;
        out[k++] = a;
    }
    return k;
}

/* Unwinding costs about 1.5 us; mmap calls come from few places.  A site is
 * unwound once per calling address and then found here: (address << 16 | id),
 * one word per slot so a racing reader sees a whole entry or a miss. */
#define PZ_SITE_CACHE 4096
static uint64_t site_cache[PZ_SITE_CACHE];

static uint16_t site_for(uintptr_t caller) {
    if (!sites_enabled) return 0;
    uint64_t key = (uint64_t)(caller & 0xFFFFFFFFFFFFull);
    size_t slot = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 52) % PZ_SITE_CACHE;
    uint64_t v = __atomic_load_n(&site_cache[slot], __ATOMIC_RELAXED);
    if (v && (v >> 16) == key) return (uint16_t)(v & 0xFFFF);
    uintptr_t frames[PZ_SITE_FRAMES];
    int n = capture_frames(frames);
    uint16_t id = pz_engine_intern_site(frames, n);
    if (id) __atomic_store_n(&site_cache[slot], key << 16 | id, __ATOMIC_RELAXED);
    return id;
}

static void *do_mmap(mmap_fn real, void *addr, size_t len, int prot, int flags, int fd, off_t off, void *caller) {
    void *r = real && !in_pagezip ? real(addr, len, prot, flags, fd, off) : raw_mmap(addr, len, prot, flags, fd, off);
    if (r != MAP_FAILED && engine_on() && (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) && (prot & PROT_WRITE)) {
        int saved = errno;
        in_pagezip = 1;
        pz_engine_note_mmap((uintptr_t)r, len, prot, flags, site_for((uintptr_t)caller));
        in_pagezip = 0;
        errno = saved;
    }
    return r;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return do_mmap(real_mmap, addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return do_mmap(real_mmap64 ? real_mmap64 : real_mmap, addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

int munmap(void *addr, size_t len) {
    int r = real_munmap && !in_pagezip ? real_munmap(addr, len) : (int)syscall(SYS_munmap, addr, len);
    if (r == 0 && engine_on()) {
        int saved = errno;
        in_pagezip = 1;
        pz_engine_note_munmap((uintptr_t)addr, len);
        in_pagezip = 0;
        errno = saved;
    }
    return r;
}

void *mremap(void *old_addr, size_t old_len, size_t new_len, int flags, ...) {
    void *new_addr = 0;
    if (flags & (MREMAP_FIXED | 4 /* MREMAP_DONTUNMAP */)) {
        va_list ap;
        va_start(ap, flags);
        new_addr = va_arg(ap, void *);
        va_end(ap);
    }
    void *r;
    if (real_mremap && !in_pagezip)
        r = real_mremap(old_addr, old_len, new_len, flags, new_addr);
    else
        r = (void *)syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
    /* mremap needs the old range in one VMA; registering part of a mapping
     * splits it, which the program cannot know about.  Mend and retry once. */
    if (r == MAP_FAILED && errno == EFAULT && engine_on() && !in_pagezip) {
        in_pagezip = 1;
        int mended = pz_engine_mend_split((uintptr_t)old_addr, old_len);
        in_pagezip = 0;
        if (mended) {
            errno = EFAULT;
            if (real_mremap)
                r = real_mremap(old_addr, old_len, new_len, flags, new_addr);
            else
                r = (void *)syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
        } else {
            errno = EFAULT;
        }
    }
    if (r != MAP_FAILED && engine_on()) {
        int saved = errno;
        in_pagezip = 1;
        pz_engine_note_mremap((uintptr_t)old_addr, old_len, (uintptr_t)r, new_len);
        in_pagezip = 0;
        errno = saved;
    }
    return r;
}

long pz_real_madvise(uintptr_t addr, size_t len, int advice) {
    if (real_madvise) return real_madvise((void *)addr, len, advice);
    return syscall(SYS_madvise, addr, len, advice);
}

int madvise(void *addr, size_t len, int advice) {
    if (!engine_on()) return (int)pz_real_madvise((uintptr_t)addr, len, advice);
    int saved = errno;
    int r;
    switch (advice) {
    case MADV_PAGEOUT:
        /* Store what pagezip can, then let the kernel see the rest, so the call
         * fails exactly when the kernel's would (EINVAL, ENOMEM, ...). */
        in_pagezip = 1;
        pz_engine_pageout((uintptr_t)addr, len);
        in_pagezip = 0;
        errno = saved;
        return (int)pz_real_madvise((uintptr_t)addr, len, advice);
    case MADV_COLD:
        r = (int)pz_real_madvise((uintptr_t)addr, len, advice);
        if (r == 0) {
            saved = errno;
            in_pagezip = 1;
            pz_engine_cold_hint((uintptr_t)addr, len);
            in_pagezip = 0;
            errno = saved;
        }
        return r;
    case MADV_DONTNEED:
    case MADV_FREE:
    case MADV_REMOVE:
    case MADV_DONTNEED_LOCKED: {
        in_pagezip = 1;
        int token = pz_engine_drop_begin((uintptr_t)addr, len);
        in_pagezip = 0;
        errno = saved;
        r = (int)pz_real_madvise((uintptr_t)addr, len, advice);
        saved = errno;
        in_pagezip = 1;
        pz_engine_drop_end(token);
        in_pagezip = 0;
        errno = saved;
        return r;
    }
    case MADV_WIPEONFORK:
    case MADV_DONTFORK:
    case MADV_KEEPONFORK:
    case MADV_DOFORK:
        r = (int)pz_real_madvise((uintptr_t)addr, len, advice);
        if (r == 0) {
            saved = errno;
            in_pagezip = 1;
            pz_engine_note_advice((uintptr_t)addr, len, advice);
            in_pagezip = 0;
            errno = saved;
        }
        return r;
    default:
        return (int)pz_real_madvise((uintptr_t)addr, len, advice);
    }
}

int pz_preload_symbolize(uintptr_t address, char *buf, size_t len) {
    Dl_info info;
    if (!dladdr((void *)address, &info) || !info.dli_fname) return -1;
    const char *lib = strrchr(info.dli_fname, '/');
    lib = lib ? lib + 1 : info.dli_fname;
    if (info.dli_sname && info.dli_saddr)
        snprintf(buf, len, "%s+0x%lx (%s)", info.dli_sname, (unsigned long)(address - (uintptr_t)info.dli_saddr), lib);
    else
        snprintf(buf, len, "%s+0x%lx", lib, (unsigned long)(address - (uintptr_t)info.dli_fbase));
    return 0;
}

/*
 * pthread_atfork (from libc_nonshared.a) registers through __register_atfork.
 * glibc runs child handlers in registration order, and libraries the program
 * links against register before a preloaded library's constructor runs, so
 * their child handlers would run first, before pagezip has re-registered the
 * child's memory, and could read a held page as zeros.  Every child handler
 * registered here is wrapped so pagezip's child work runs before it.
 */
typedef int (*register_atfork_fn)(void (*)(void), void (*)(void), void (*)(void), void *);
static register_atfork_fn real_register_atfork;

#define PZ_ATFORK_WRAPPERS 64
static void (*wrapped_child[PZ_ATFORK_WRAPPERS])(void);
static int wrapped_count;

#define WRAP(n) \
    static void child_wrapper_##n(void) { pz_engine_fork_child_first(); wrapped_child[n](); }
WRAP(0) WRAP(1) WRAP(2) WRAP(3) WRAP(4) WRAP(5) WRAP(6) WRAP(7)
WRAP(8) WRAP(9) WRAP(10) WRAP(11) WRAP(12) WRAP(13) WRAP(14) WRAP(15)
WRAP(16) WRAP(17) WRAP(18) WRAP(19) WRAP(20) WRAP(21) WRAP(22) WRAP(23)
WRAP(24) WRAP(25) WRAP(26) WRAP(27) WRAP(28) WRAP(29) WRAP(30) WRAP(31)
WRAP(32) WRAP(33) WRAP(34) WRAP(35) WRAP(36) WRAP(37) WRAP(38) WRAP(39)
WRAP(40) WRAP(41) WRAP(42) WRAP(43) WRAP(44) WRAP(45) WRAP(46) WRAP(47)
WRAP(48) WRAP(49) WRAP(50) WRAP(51) WRAP(52) WRAP(53) WRAP(54) WRAP(55)
WRAP(56) WRAP(57) WRAP(58) WRAP(59) WRAP(60) WRAP(61) WRAP(62) WRAP(63)
static void (*const child_wrappers[PZ_ATFORK_WRAPPERS])(void) = {
    child_wrapper_0, child_wrapper_1, child_wrapper_2, child_wrapper_3, child_wrapper_4, child_wrapper_5, child_wrapper_6, child_wrapper_7,
    child_wrapper_8, child_wrapper_9, child_wrapper_10, child_wrapper_11, child_wrapper_12, child_wrapper_13, child_wrapper_14, child_wrapper_15,
    child_wrapper_16, child_wrapper_17, child_wrapper_18, child_wrapper_19, child_wrapper_20, child_wrapper_21, child_wrapper_22, child_wrapper_23,
    child_wrapper_24, child_wrapper_25, child_wrapper_26, child_wrapper_27, child_wrapper_28, child_wrapper_29, child_wrapper_30, child_wrapper_31,
    child_wrapper_32, child_wrapper_33, child_wrapper_34, child_wrapper_35, child_wrapper_36, child_wrapper_37, child_wrapper_38, child_wrapper_39,
    child_wrapper_40, child_wrapper_41, child_wrapper_42, child_wrapper_43, child_wrapper_44, child_wrapper_45, child_wrapper_46, child_wrapper_47,
    child_wrapper_48, child_wrapper_49, child_wrapper_50, child_wrapper_51, child_wrapper_52, child_wrapper_53, child_wrapper_54, child_wrapper_55,
    child_wrapper_56, child_wrapper_57, child_wrapper_58, child_wrapper_59, child_wrapper_60, child_wrapper_61, child_wrapper_62, child_wrapper_63,
};

int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso) {
    if (!real_register_atfork) {
        real_register_atfork = (register_atfork_fn)dlsym(RTLD_NEXT, "__register_atfork");
        if (!real_register_atfork) return 12; /* ENOMEM, as glibc would */
    }
    if (child) {
        int slot = __atomic_fetch_add(&wrapped_count, 1, __ATOMIC_RELAXED);
        if (slot < PZ_ATFORK_WRAPPERS) {
            wrapped_child[slot] = child;
            child = child_wrappers[slot];
        }
    }
    return real_register_atfork(prepare, parent, child, dso);
}

static void resolve_real_symbols(void) {
    in_pagezip = 1; /* dlsym may allocate; an allocator may call mmap */
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&find_self);
    real_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
    real_mmap64 = (mmap_fn)dlsym(RTLD_NEXT, "mmap64");
    real_munmap = (munmap_fn)dlsym(RTLD_NEXT, "munmap");
    real_mremap = (mremap_fn)dlsym(RTLD_NEXT, "mremap");
    real_madvise = (madvise_fn)dlsym(RTLD_NEXT, "madvise");
    pz_preload_resolve_wait_calls();
    in_pagezip = 0;
}

__attribute__((constructor)) static void pz_preload_init(void) {
    int saved = errno;
    resolve_real_symbols();
    in_pagezip = 1;
    pz_engine_boot(); /* sets pz_preload_state */
    in_pagezip = 0;
    errno = saved;
}
