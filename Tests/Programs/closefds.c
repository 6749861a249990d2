/* Daemons close every descriptor they did not open: closefrom(3),
 * close_range(3, ~0U, 0), or close() over all numbers.  pagezip's
 * userfaultfd must survive (else every held page would read as zeros), and
 * the host's own descriptors must really be closed. */
#define _GNU_SOURCE
#include "common.h"

#include <fcntl.h>
#include <sys/resource.h>

static int open_count(void) {
    int n = 0;
    for (int fd = 3; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) != -1) n++;
    return n;
}

int main(void) {
    uint8_t *p = map_pages(64);
    for (int round = 0; round < 3; round++) {
        for (size_t pg = 0; pg < 64; pg++) fill_page(p + pg * PAGE, pg, (uint32_t)round);
        pageout(p, 64 * PAGE);
        int fds[2];
        CHECK(pipe(fds) == 0, "pipe");
        if (round == 0) closefrom(3);
        if (round == 1) CHECK(close_range(3, ~0U, 0) == 0, "close_range: %s", strerror(errno));
        if (round == 2) {
            struct rlimit rl;
            getrlimit(RLIMIT_NOFILE, &rl);
            for (int fd = 3; fd < (int)rl.rlim_cur && fd < 1 << 20; fd++) close(fd);
        }
        CHECK(fcntl(fds[0], F_GETFD) == -1 && fcntl(fds[1], F_GETFD) == -1, "round %d: the host's own pipe is still open", round);
        for (size_t pg = 0; pg < 64; pg++)
            CHECK(count_mismatch(p + pg * PAGE, pg, (uint32_t)round) == 0, "round %d: page %zu lost after closing descriptors", round, pg);
        printf("round %d ok, descriptors left open: %d\n", round, open_count());
    }
    printf("closefds=ok\n");
    return 0;
}
