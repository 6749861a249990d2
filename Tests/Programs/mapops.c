/* munmap, mremap (move and grow) and madvise(DONTNEED/FREE) over pages
 * pagezip holds: dropped pages come back as zeros (never stale data), moved
 * pages keep their bytes at the new address, and no pool memory leaks. */
#include "common.h"

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

int main(void) {
    const size_t pages = 256;

    /* 1. munmap a held range, map it again in place: zeros. */
    uint8_t *a = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(a + pg * PAGE, pg, 1);
    pageout(a, pages * PAGE);
    CHECK(munmap(a, pages * PAGE) == 0, "munmap");
    uint8_t *a2 = mmap(a, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(a2 == a, "remap at the same address");
    CHECK(all_zero(a2, pages * PAGE), "stale data after munmap + mmap");
    printf("munmap=ok\n");

    /* 2. Partial munmap: the rest keeps its bytes. */
    for (size_t pg = 0; pg < pages; pg++) fill_page(a2 + pg * PAGE, pg, 2);
    pageout(a2, pages * PAGE);
    CHECK(munmap(a2 + 64 * PAGE, 64 * PAGE) == 0, "partial munmap");
    for (size_t pg = 0; pg < pages; pg++) {
        if (pg >= 64 && pg < 128) continue;
        CHECK(count_mismatch(a2 + pg * PAGE, pg, 2) == 0, "page %zu after partial munmap", pg);
    }
    munmap(a2, pages * PAGE);
    printf("partial_munmap=ok\n");

    /* 3. mremap move: bytes follow the pages. */
    uint8_t *b = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(b + pg * PAGE, pg, 3);
    pageout(b, pages * PAGE);
    uint8_t *hole = map_pages(pages * 2); /* a free spot to move to */
    munmap(hole, pages * 2 * PAGE);
    uint8_t *moved = mremap(b, pages * PAGE, pages * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
    CHECK(moved == hole, "mremap move: %s", strerror(errno));
    for (size_t pg = 0; pg < pages; pg++)
        CHECK(count_mismatch(moved + pg * PAGE, pg, 3) == 0, "page %zu after mremap move", pg);
    printf("mremap_move=ok\n");

    /* 4. mremap grow (may move): old bytes kept, new tail zero. */
    pageout(moved, pages * PAGE);
    uint8_t *grown = mremap(moved, pages * PAGE, pages * 4 * PAGE, MREMAP_MAYMOVE);
    CHECK(grown != MAP_FAILED, "mremap grow: %s", strerror(errno));
    for (size_t pg = 0; pg < pages; pg++)
        CHECK(count_mismatch(grown + pg * PAGE, pg, 3) == 0, "page %zu after mremap grow", pg);
    CHECK(all_zero(grown + pages * PAGE, pages * 3 * PAGE), "grown tail not zero");
    /* and the grown region can be paged out and back */
    for (size_t pg = 0; pg < pages * 4; pg++) fill_page(grown + pg * PAGE, pg, 4);
    pageout(grown, pages * 4 * PAGE);
    for (size_t pg = 0; pg < pages * 4; pg++)
        CHECK(count_mismatch(grown + pg * PAGE, pg, 4) == 0, "page %zu of grown region", pg);
    printf("mremap_grow=ok\n");

    /* 4b. mremap of a buffer paged out only in part: pagezip's registration
     * split it into two VMAs, which mremap refuses (EFAULT) unless mended. */
    uint8_t *half = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(half + pg * PAGE, pg, 5);
    pageout(half, pages / 2 * PAGE);
    uint8_t *half2 = mremap(half, pages * PAGE, pages * 2 * PAGE, MREMAP_MAYMOVE);
    CHECK(half2 != MAP_FAILED, "mremap of a half-held buffer: %s", strerror(errno));
    for (size_t pg = 0; pg < pages; pg++)
        CHECK(count_mismatch(half2 + pg * PAGE, pg, 5) == 0, "page %zu after mremap of a half-held buffer", pg);
    CHECK(all_zero(half2 + pages * PAGE, pages * PAGE), "tail of the half-held buffer not zero");
    munmap(half2, pages * 2 * PAGE);
    printf("mremap_half_held=ok\n");

    /* 5. MADV_DONTNEED and MADV_FREE over held pages: zeros. */
    pageout(grown, pages * 4 * PAGE);
    CHECK(madvise(grown, pages * PAGE, MADV_DONTNEED) == 0, "MADV_DONTNEED");
    CHECK(madvise(grown + pages * PAGE, pages * PAGE, MADV_FREE) == 0, "MADV_FREE");
    CHECK(all_zero(grown, pages * PAGE), "stale data after MADV_DONTNEED");
    for (size_t i = 0; i < pages * PAGE; i++) {
        uint8_t v = grown[pages * PAGE + i];
        /* MADV_FREE on a page the kernel does not have: reads zero */
        CHECK(v == 0, "stale data after MADV_FREE at %zu", i);
    }
    for (size_t pg = 2 * pages; pg < 4 * pages; pg++)
        CHECK(count_mismatch(grown + pg * PAGE, pg, 4) == 0, "page %zu beyond the dropped range", pg);
    printf("madvise_drop=ok\n");

    /* 6. Nothing leaks: drop everything, the pool is empty again. */
    munmap(grown, pages * 4 * PAGE);
    struct pagezip_stats s = stats();
    if (s.active) {
        CHECK(s.stored_pages == 0, "stored_pages=%lu after everything was unmapped", (unsigned long)s.stored_pages);
        CHECK(s.compr_data_size == 0, "compr_data_size=%lu after everything was unmapped", (unsigned long)s.compr_data_size);
        CHECK(s.dropped_pages > 0, "no dropped pages counted");
    }
    print_stats("final");
    return 0;
}
