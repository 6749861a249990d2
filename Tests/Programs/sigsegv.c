/* A host program with its own SIGSEGV handler still gets its signals, and
 * faults pagezip serves never reach it. */
#include "common.h"

#include <setjmp.h>
#include <signal.h>

static sigjmp_buf env;
static volatile sig_atomic_t caught;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    caught++;
    siglongjmp(env, (int)((uintptr_t)si->si_addr & 0xFFF) + 1);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGSEGV, &sa, 0) == 0, "sigaction");

    uint8_t *data = map_pages(64);
    for (size_t pg = 0; pg < 64; pg++) fill_page(data + pg * PAGE, pg, 1);
    pageout(data, 64 * PAGE);
    for (size_t pg = 0; pg < 64; pg++) CHECK(count_mismatch(data + pg * PAGE, pg, 1) == 0, "page %zu", pg);
    CHECK(caught == 0, "pagezip's faults reached the program's handler");

    uint8_t *guard = mmap(0, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 3; i++) {
        int r = sigsetjmp(env, 1);
        if (r == 0) {
            volatile uint8_t x = guard[0x123];
            (void)x;
            CHECK(0, "no SIGSEGV");
        }
        CHECK(r == 0x123 + 1, "handler saw the wrong address");
    }
    printf("sigsegv_caught=%d\n", (int)caught);
    CHECK(caught == 3, "expected 3 signals, got %d", (int)caught);
    return 0;
}
