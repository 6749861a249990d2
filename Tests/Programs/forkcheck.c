/* fork(): a child reads exactly the parent's bytes, even for pages pagezip
 * holds, and the parent is unaffected by what the child does.  Covers a
 * grandchild, a child that outlives its parent's view (the parent exits
 * first), a child that pages out its own memory, malloc'd memory, and
 * posix_spawn/vfork-style children. */
#include "common.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static size_t verify(const uint8_t *p, size_t pages, uint32_t version) {
    size_t bad = 0;
    for (size_t pg = 0; pg < pages; pg++) bad += count_mismatch(p + pg * PAGE, pg, version);
    return bad;
}

static int wait_ok(pid_t pid) {
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void) {
    const size_t pages = 1024;
    uint8_t *mapped = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(mapped + pg * PAGE, pg, 3);
    /* malloc'd memory: glibc maps it internally, pagezip finds it by scan. */
    uint8_t *heap = aligned_alloc(PAGE, 64 * PAGE);
    for (size_t pg = 0; pg < 64; pg++) fill_page(heap + pg * PAGE, pg, 4);
    pageout(mapped, pages * PAGE);
    pageout(heap, 64 * PAGE);
    struct pagezip_stats before = stats();
    printf("parent_held=%lu expected_held=%lu\n", (unsigned long)before.stored_pages,
           (unsigned long)(pages + 64 - boundary_pages(heap, 64 * PAGE)));

    /* 1. A child reads every page; then writes its own copy and pages it out. */
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        size_t bad = verify(mapped, pages, 3) + verify(heap, 64, 4);
        if (bad) { fprintf(stderr, "child: %zu bytes differ\n", bad); _exit(2); }
        for (size_t pg = 0; pg < pages; pg++) fill_page(mapped + pg * PAGE, pg, 5);
        pageout(mapped, pages * PAGE);
        if (verify(mapped, pages, 5)) _exit(3);
        /* 2. A grandchild of a child that paged out its own pages. */
        pageout(mapped, pages * PAGE);
        pid_t g = fork();
        if (g == 0) _exit(verify(mapped, pages, 5) ? 4 : 0);
        _exit(wait_ok(g) ? 0 : 5);
    }
    CHECK(wait_ok(pid), "child or grandchild saw wrong bytes");
    size_t bad = verify(mapped, pages, 3) + verify(heap, 64, 4);
    CHECK(bad == 0, "parent: %zu bytes differ after the child ran", bad);
    printf("child_reads_all=ok parent_unaffected=ok\n");

    /* 3. The child outlives the parent's handling: the parent pages out again,
     * forks, and the child waits for a pipe closed only after the parent freed
     * its own copies by touching and re-writing them. */
    pageout(mapped, pages * PAGE);
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char c;
        (void)read(fds[0], &c, 1); /* returns 0 once the parent has closed it */
        _exit(verify(mapped, pages, 3) ? 6 : 0);
    }
    close(fds[0]);
    for (size_t pg = 0; pg < pages; pg++) fill_page(mapped + pg * PAGE, pg, 9);
    pageout(mapped, pages * PAGE);
    close(fds[1]);
    CHECK(wait_ok(pid), "child saw the parent's later writes or lost pages");
    CHECK(verify(mapped, pages, 9) == 0, "parent lost its own rewrite");
    printf("child_independent=ok\n");

    /* 4. posix_spawn (CLONE_VFORK) shares the memory until exec. */
    pid_t sp;
    char *argv[] = {"/bin/true", 0};
    CHECK(posix_spawn(&sp, "/bin/true", 0, 0, argv, environ) == 0, "posix_spawn");
    CHECK(wait_ok(sp), "posix_spawn child");
    CHECK(verify(mapped, pages, 9) == 0, "after posix_spawn");
    printf("posix_spawn=ok\n");
    print_stats("final");
    return 0;
}
