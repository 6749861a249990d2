/*
 * pagezip's own threads: pthreads on pagezip-owned stacks with every signal
 * blocked, so the host's signal handlers never run on them and their stacks are
 * never memory pagezip might compress.
 */
#include "CPageZipSys.h"

#include <pthread.h>
#include <signal.h>

struct start_args {
    void (*fn)(void *);
    void *arg;
    uint32_t copied;
};

static void *trampoline(void *p) {
    struct start_args *shared = p;
    void (*fn)(void *) = shared->fn;
    void *arg = shared->arg;
    __atomic_store_n(&shared->copied, 1, __ATOMIC_RELEASE);
    pz_futex_wake(&shared->copied, 1);
    fn(arg);
    return 0;
}

int pz_thread_start(void (*fn)(void *), void *arg, void *stack, size_t stack_size) {
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err) return err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_attr_setstack(&attr, stack, stack_size);
    if (err) {
        pthread_attr_destroy(&attr);
        return err;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* The trampoline copies the arguments before clearing fn; wait for that so
     * the struct can live on this stack. */
    struct start_args args = {.fn = fn, .arg = arg, .copied = 0};
    pthread_t tid;
    err = pthread_create(&tid, &attr, trampoline, &args);
    pthread_sigmask(SIG_SETMASK, &old, 0);
    pthread_attr_destroy(&attr);
    if (err) return err;
    while (__atomic_load_n(&args.copied, __ATOMIC_ACQUIRE) == 0) pz_futex_wait(&args.copied, 0, 1000000);
    return 0;
}
