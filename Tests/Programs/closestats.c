/* A daemon that closes every descriptor after pagezip's stats server has
 * started: the server's socket must survive (it is pagezip's, shielded like
 * the userfaultfd), keep answering, and the host's descriptors must really
 * be closed.
 *
 *   closestats SOCKET_DIR
 *
 * Pages 64 pages out (which starts the stats thread), waits for its socket
 * to appear, closes everything from 3 up, then asks its own socket for
 * /stats.json and checks the answer and every byte. */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_unix(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect %s: %s", path, strerror(errno));
    return fd;
}

int main(int argc, char **argv) {
    CHECK(argc == 2, "usage: closestats SOCKET_DIR");
    char path[256];
    snprintf(path, sizeof path, "%s/%d.sock", argv[1], getpid());
    uint8_t *p = map_pages(64);
    for (size_t pg = 0; pg < 64; pg++) fill_page(p + pg * PAGE, pg, 3);
    pageout(p, 64 * PAGE);

    /* The server publishes its socket 0.2 s after the first page-out. */
    double deadline = now_s() + 60;
    while (access(path, F_OK) != 0) {
        CHECK(now_s() < deadline, "no stats socket at %s after 60 s", path);
        poll(0, 0, 10);
    }
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    closefrom(3);
    CHECK(fcntl(fds[0], F_GETFD) == -1 && fcntl(fds[1], F_GETFD) == -1, "the host's own pipe is still open");

    int s = connect_unix(path);
    const char *req = "GET /stats.json HTTP/1.0\r\n\r\n";
    CHECK(write(s, req, strlen(req)) == (ssize_t)strlen(req), "write: %s", strerror(errno));
    static char answer[1 << 20];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(s, answer + got, sizeof answer - 1 - got);
        CHECK(n >= 0, "read: %s", strerror(errno));
        if (n == 0) break;
        got += (size_t)n;
    }
    answer[got] = 0;
    CHECK(strncmp(answer, "HTTP/1.0 200", 12) == 0, "answer: %.200s", answer);
    CHECK(strstr(answer, "\"stored_pages\": 64,") != 0, "stored_pages is not 64 in %.2000s", answer);
    for (size_t pg = 0; pg < 64; pg++)
        CHECK(count_mismatch(p + pg * PAGE, pg, 3) == 0, "page %zu lost", pg);
    printf("closestats=ok\n");
    return 0;
}
