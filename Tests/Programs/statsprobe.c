/* Holds a known number of pages for the stats tests, and stays alive until
 * told to go on, so a test can read its stats socket at each stage.
 *
 *   statsprobe TEXT ZERO [CHILDREN [SEPARATE]]
 *
 * Becomes its own process group leader, forks CHILDREN children (before
 * paging anything out, so nobody inherits held pages), and then every process
 * pages out its own memory: process k (0 = the parent, 1..CHILDREN the
 * children) holds (k+1)*TEXT compressible pages and (k+1)*ZERO zero pages.
 * With SEPARATE = 1 the last child moves to a process group of its own.
 *
 * Output (one line per write, so lines of several processes never mix):
 *   proc pid=P pgid=G stored_pages=S same_pages=Z text=T zero=Z0   per process, after its page-out
 *   ready                                                         parent: every process holds its pages
 * then the parent reads a line from stdin (or EOF) and every process reads
 * all its pages back, checking every byte:
 *   verified pid=P intact=ok|BAD stored_pages=S refaults=R        per process
 *   verified-all                                                  parent
 * then the parent reads another line (or EOF), the children exit, and the
 * parent exits 0 if every byte of every process was intact. */
#include "common.h"

#include <stdarg.h>
#include <sys/wait.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0) CHECK(write(1, line, (size_t)n) == n, "write: %s", strerror(errno));
}

static void wait_stdin_line(void) {
    char c;
    while (read(0, &c, 1) == 1 && c != '\n') {}
}

/* Blocks until the other end of the pipe is closed. */
static void wait_closed(int fd) {
    char c;
    while (read(fd, &c, 1) > 0) {}
}

static uint8_t *hold(size_t text, size_t zero) {
    uint8_t *p = map_pages(text + zero);
    for (size_t pg = 0; pg < text; pg++) fill_page(p + pg * PAGE, pg, 7);
    memset(p + text * PAGE, 0, zero * PAGE); /* resident pages of zeros */
    pageout(p, (text + zero) * PAGE);
    struct pagezip_stats s = stats();
    say("proc pid=%d pgid=%d stored_pages=%lu same_pages=%lu text=%zu zero=%zu\n", getpid(), getpgid(0),
        (unsigned long)s.stored_pages, (unsigned long)s.same_pages, text, zero);
    return p;
}

static int verify(const uint8_t *p, size_t text, size_t zero) {
    size_t bad = 0;
    for (size_t pg = 0; pg < text; pg++) bad += count_mismatch(p + pg * PAGE, pg, 7);
    for (size_t i = 0; i < zero * PAGE; i++) bad += p[text * PAGE + i] != 0;
    struct pagezip_stats s = stats();
    say("verified pid=%d intact=%s stored_pages=%lu refaults=%lu\n", getpid(), bad ? "BAD" : "ok",
        (unsigned long)s.stored_pages, (unsigned long)s.refaults);
    return bad == 0;
}

int main(int argc, char **argv) {
    CHECK(argc >= 3, "usage: statsprobe TEXT ZERO [CHILDREN [SEPARATE]]");
    size_t text = strtoul(argv[1], 0, 10), zero = strtoul(argv[2], 0, 10);
    int children = argc > 3 ? atoi(argv[3]) : 0;
    int separate = argc > 4 ? atoi(argv[4]) : 0;
    CHECK(children >= 0 && children <= 16, "CHILDREN is 0 to 16");
    setvbuf(stdout, 0, _IONBF, 0);
    CHECK(setpgid(0, 0) == 0 || getpgid(0) == getpid(), "setpgid: %s", strerror(errno));

    int ready[2], go[2], finish[2];
    CHECK(pipe(ready) == 0 && pipe(go) == 0 && pipe(finish) == 0, "pipe");
    pid_t pids[16];
    for (int k = 1; k <= children; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            close(ready[0]);
            close(go[1]);
            close(finish[1]);
            if (separate && k == children) CHECK(setpgid(0, 0) == 0, "setpgid in child: %s", strerror(errno));
            uint8_t *p = hold(text * (size_t)(k + 1), zero * (size_t)(k + 1));
            CHECK(write(ready[1], "r", 1) == 1, "ready");
            wait_closed(go[0]);
            int ok = verify(p, text * (size_t)(k + 1), zero * (size_t)(k + 1));
            CHECK(write(ready[1], "v", 1) == 1, "verified");
            wait_closed(finish[0]);
            _exit(ok ? 0 : 3);
        }
        pids[k - 1] = pid;
    }
    close(ready[1]);
    close(go[0]);
    close(finish[0]);
    uint8_t *p = hold(text, zero);
    char c;
    for (int k = 0; k < children; k++) CHECK(read(ready[0], &c, 1) == 1, "a child died before holding its pages");
    say("ready\n");

    wait_stdin_line();
    close(go[1]);
    int ok = verify(p, text, zero);
    for (int k = 0; k < children; k++) CHECK(read(ready[0], &c, 1) == 1, "a child died while verifying");
    say("verified-all\n");

    wait_stdin_line();
    close(finish[1]);
    for (int k = 0; k < children; k++) {
        int st = 0;
        CHECK(waitpid(pids[k], &st, 0) == pids[k], "waitpid");
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    return ok ? 0 : 1;
}
