/* Prints the signal dispositions and alternate stack the host sees: a
 * preloaded pagezip must not install handlers or a signal stack. */
#include <signal.h>
#include <stdio.h>

int main(void) {
    for (int s = 1; s < 32; s++) {
        struct sigaction sa;
        if (sigaction(s, 0, &sa) == 0 && sa.sa_handler != SIG_DFL)
            printf("signal %d: %s\n", s, sa.sa_handler == SIG_IGN ? "ignored" : "handled");
    }
    stack_t ss;
    sigaltstack(0, &ss);
    printf("sigaltstack: flags=%d size=%zu\n", ss.ss_flags, ss.ss_size);
    sigset_t mask;
    sigprocmask(SIG_BLOCK, 0, &mask);
    int blocked = 0;
    for (int s = 1; s < 32; s++) blocked += sigismember(&mask, s);
    printf("blocked signals: %d\n", blocked);
    return 0;
}
