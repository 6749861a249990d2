/*
 * A thread made with a raw clone(2), for the fault handler.
 *
 * In a forked child, pagezip must serve page faults from the first moment:
 * other atfork child handlers (the allocator's, the host's) may touch memory
 * pagezip holds.  But pthread_create calls malloc (for the new thread's DTV),
 * and in a child of a program using jemalloc or tcmalloc, malloc is unusable
 * until the allocator's own child handler has run, which may come after ours.
 * So the fault handler runs on a thread glibc does not know about: a raw
 * clone with a stack and a minimal thread control block in pagezip's memory.
 * Its code is checked @_noLocks: no allocation, no Swift runtime, no TLS
 * (only the stack-protector canary and pointer guard, copied into the TCB).
 */
#include "CPageZipSys.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

long pz_clone_raw(unsigned long flags, void *stack, void *tls, void (*fn)(void *), void *arg);

__asm__(".text\n"
        ".global pz_clone_raw\n"
        ".hidden pz_clone_raw\n"
        ".type pz_clone_raw,@function\n"
        "pz_clone_raw:\n"
        "  and $-16, %rsi\n"          /* the new stack, 16-byte aligned */
        "  sub $16, %rsi\n"
        "  mov %rcx, 0(%rsi)\n"       /* fn and arg, popped by the child */
        "  mov %r8, 8(%rsi)\n"
        "  mov %rdx, %r8\n"           /* tls */
        "  xor %edx, %edx\n"          /* parent_tid */
        "  xor %r10d, %r10d\n"        /* child_tid */
        "  mov $56, %eax\n"           /* SYS_clone */
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"          /* child: outermost frame */
        "  pop %rax\n"
        "  pop %rdi\n"
        "  call *%rax\n"
        "  mov $60, %eax\n"           /* SYS_exit (this thread only) */
        "  xor %edi, %edi\n"
        "  syscall\n"
        "  hlt\n"
        "1:\n"
        "  ret\n"
        ".size pz_clone_raw, .-pz_clone_raw\n");

static long raw_sigprocmask(int how, const uint64_t *set, uint64_t *old) {
    long ret;
    register long r10 __asm__("r10") = 8;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(SYS_rt_sigprocmask), "D"(how), "S"(set), "d"(old), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

int pz_raw_thread_start(void (*fn)(void *), void *arg, void *stack, size_t stack_size, void *tls, size_t tls_size) {
    /* The TCB sits in the last page of the TLS area; the space below stays
     * zero for any stray initial-exec TLS access. */
    uintptr_t *tcb = (uintptr_t *)((char *)tls + tls_size - 4096);
    uintptr_t canary, pointer_guard;
    __asm__ volatile("mov %%fs:0x28, %0" : "=r"(canary));
    __asm__ volatile("mov %%fs:0x30, %0" : "=r"(pointer_guard));
    tcb[0] = (uintptr_t)tcb;      /* tcbhead_t.tcb */
    tcb[2] = (uintptr_t)tcb;      /* tcbhead_t.self */
    tcb[5] = canary;              /* tcbhead_t.stack_guard, %fs:0x28 */
    tcb[6] = pointer_guard;       /* tcbhead_t.pointer_guard, %fs:0x30 */
    /* Created with every signal blocked, so no host handler ever runs on it. */
    uint64_t all = ~(uint64_t)0, old = 0;
    raw_sigprocmask(SIG_SETMASK, &all, &old);
    const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                                CLONE_SETTLS;
    long r = pz_clone_raw(flags, (char *)stack + stack_size, tcb, fn, arg);
    raw_sigprocmask(SIG_SETMASK, &old, 0);
    return r < 0 ? (int)-r : 0;
}
