/* fork() in a threaded program whose idle threads' stacks pagezip holds,
 * thread descriptors included: glibc walks every descriptor in the child
 * before any atfork handler runs, so they must be back in memory by then.
 * The child must run (and create a thread); every byte stays intact. */
#include "common.h"

#include <pthread.h>
#include <sys/wait.h>

#define THREADS 4

static int gate[2];

static void *idle(void *arg) {
    (void)arg;
    char c;
    while (read(gate[0], &c, 1) < 0) {}
    return 0;
}

static void *child_thread(void *arg) { return arg; }

int main(void) {
    CHECK(pipe(gate) == 0, "pipe");
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], 0, idle, 0) == 0, "pthread_create");
    uint8_t *data = map_pages(256);
    for (size_t pg = 0; pg < 256; pg++) fill_page(data + pg * PAGE, pg, 6);
    long stacks = 0;
    for (int round = 0; round < 20; round++) {
        pageout(data, 256 * PAGE);
        for (int i = 0; i < THREADS; i++) {
            pthread_attr_t a;
            void *base;
            size_t size;
            CHECK(pthread_getattr_np(t[i], &a) == 0, "pthread_getattr_np");
            pthread_attr_getstack(&a, &base, &size);
            pthread_attr_destroy(&a);
            /* The whole stack, descriptor included. */
            long n = pagezip_pageout_if_loaded(base, size);
            if (n > 0) stacks += n;
        }
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            pthread_t c;
            if (pthread_create(&c, 0, child_thread, 0) != 0) _exit(3);
            pthread_join(c, 0);
            for (size_t pg = 0; pg < 256; pg++)
                if (count_mismatch(data + pg * PAGE, pg, 6)) _exit(2);
            _exit(0);
        }
        int st = 0;
        CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d: child %s %d", round,
              WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
    for (size_t pg = 0; pg < 256; pg++) CHECK(count_mismatch(data + pg * PAGE, pg, 6) == 0, "parent page %zu", pg);
    CHECK(write(gate[1], "xxxx", THREADS) == THREADS, "release");
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], 0);
    printf("forks=20 stack_pages_stored=%ld children_ok=1\n", stacks);
    if (stats().active) CHECK(stacks > 0, "no stack page was stored: the test proves nothing");
    return 0;
}
