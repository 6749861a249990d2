/* Daemons close every descriptor they did not open: closefrom(3),
 * close_range(3, ~0U, 0), or close() over all numbers; last, closefrom
 * where close_range is refused.  pagezip's
 * userfaultfd must survive (else every held page would read as zeros), and
 * the host's own descriptors must really be closed. */
#define _GNU_SOURCE
#include "common.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* close_range fails with ENOSYS from here on (old kernels, container
 * profiles): closefrom must fall back to /proc/self/fd, like glibc's. */
static void forbid_close_range(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0,
          "seccomp: %s", strerror(errno));
}

static int open_count(void) {
    int n = 0;
    for (int fd = 3; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) != -1) n++;
    return n;
}

int main(void) {
    uint8_t *p = map_pages(64);
    for (int round = 0; round < 4; round++) {
        for (size_t pg = 0; pg < 64; pg++) fill_page(p + pg * PAGE, pg, (uint32_t)round);
        pageout(p, 64 * PAGE);
        int fds[2];
        CHECK(pipe(fds) == 0, "pipe");
        if (round == 0) closefrom(3);
        if (round == 1) CHECK(close_range(3, ~0U, 0) == 0, "close_range: %s", strerror(errno));
        if (round == 3) {
            forbid_close_range();
            closefrom(3);
        }
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
