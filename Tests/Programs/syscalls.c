/* The kernel reads and writes compressed buffers on the program's behalf:
 * write(2)/writev(2) from paged-out memory, read(2)/pread(2)/readv(2)/recv(2)
 * into it (partial pages: the rest of each page must keep its old bytes), and a
 * system call that reads a small struct from a paged-out page. */
#include "common.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

static void write_all(int fd, const void *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        CHECK(w > 0, "write: %s", strerror(errno));
        p = (const uint8_t *)p + w;
        n -= (size_t)w;
    }
}

int main(void) {
    const size_t pages = 256;
    char path[] = "/tmp/pagezip-syscalls-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
    unlink(path);

    /* 1. write(2) from compressed memory. */
    uint8_t *src = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(src + pg * PAGE, pg, 1);
    pageout(src, pages * PAGE);
    long held = (long)stats().stored_pages;
    write_all(fd, src, pages * PAGE);
    uint8_t *check = malloc(pages * PAGE);
    CHECK(pread(fd, check, pages * PAGE, 0) == (ssize_t)(pages * PAGE), "pread back");
    for (size_t pg = 0; pg < pages; pg++)
        CHECK(count_mismatch(check + pg * PAGE, pg, 1) == 0, "write(2) from paged-out page %zu", pg);
    printf("write_from_paged_out=ok held_before=%ld\n", held);

    /* 2. read(2) into compressed memory, partial pages: 100 bytes at offset
     * 1000 of every page, so the kernel writes into the middle of pages that
     * pagezip holds. */
    uint8_t *dst = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(dst + pg * PAGE, pg, 2);
    pageout(dst, pages * PAGE);
    uint8_t chunk[100];
    for (size_t pg = 0; pg < pages; pg++) {
        for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = pattern(pg, 1000 + i, 1);
        CHECK(pwrite(fd, chunk, sizeof chunk, (off_t)(pg * PAGE + 1000)) == sizeof chunk, "pwrite");
    }
    for (size_t pg = 0; pg < pages; pg++) {
        ssize_t r = pread(fd, dst + pg * PAGE + 1000, 100, (off_t)(pg * PAGE + 1000));
        CHECK(r == 100, "pread into paged-out page %zu: %zd (%s)", pg, r, strerror(errno));
    }
    for (size_t pg = 0; pg < pages; pg++)
        for (size_t off = 0; off < PAGE; off++) {
            uint8_t want = (off >= 1000 && off < 1100) ? pattern(pg, off, 1) : pattern(pg, off, 2);
            CHECK(dst[pg * PAGE + off] == want, "pread(2) partial page %zu offset %zu", pg, off);
        }
    printf("read_into_paged_out=ok\n");

    /* 3. readv(2) spanning pages, into memory paged out again. */
    pageout(dst, pages * PAGE);
    struct iovec iov[3] = {{dst + 10, 5000}, {dst + 3 * PAGE + 7, 9000}, {dst + 100 * PAGE, 3 * PAGE}};
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
    ssize_t total = 5000 + 9000 + 3 * PAGE;
    CHECK(readv(fd, iov, 3) == total, "readv");
    size_t pos = 0;
    for (int k = 0; k < 3; k++) {
        uint8_t *base = iov[k].iov_base;
        for (size_t i = 0; i < iov[k].iov_len; i++, pos++)
            CHECK(base[i] == check[pos], "readv byte %zu", pos);
    }
    printf("readv_into_paged_out=ok\n");

    /* 4. A socket pair: send from and recv into paged-out pages. */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    uint8_t *sbuf = map_pages(4), *rbuf = map_pages(4);
    for (size_t pg = 0; pg < 4; pg++) fill_page(sbuf + pg * PAGE, pg, 7);
    memset(rbuf, 0xAB, 4 * PAGE);
    pageout(sbuf, 4 * PAGE);
    pageout(rbuf, 4 * PAGE);
    CHECK(send(sv[0], sbuf, 2 * PAGE, 0) == 2 * PAGE, "send");
    CHECK(recv(sv[1], rbuf + 1, 2 * PAGE, MSG_WAITALL) == 2 * PAGE, "recv");
    CHECK(rbuf[0] == 0xAB, "byte before recv target changed");
    for (size_t i = 0; i < 2 * PAGE; i++) CHECK(rbuf[1 + i] == sbuf[i], "recv byte %zu", i);
    for (size_t i = 2 * PAGE + 1; i < 4 * PAGE; i++) CHECK(rbuf[i] == 0xAB, "byte after recv target changed");
    printf("socket_paged_out=ok\n");

    /* 5. The kernel reads a struct from a paged-out page. */
    struct timespec *ts = (struct timespec *)map_pages(1);
    ts->tv_sec = 0;
    ts->tv_nsec = 1000;
    pageout(ts, PAGE);
    CHECK(nanosleep(ts, 0) == 0, "nanosleep with a paged-out timespec: %s", strerror(errno));
    printf("struct_from_paged_out=ok\n");

    print_stats("final");
    struct pagezip_stats s = stats();
    if (s.active) CHECK(s.stored_total >= pages, "expected pagezip to store pages, stored_total=%lu", (unsigned long)s.stored_total);
    return 0;
}
