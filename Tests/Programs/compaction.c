/* Pool hygiene: after most held pages come back (refaults free objects all
 * over the pool), compaction returns the emptied slabs to the kernel, and every
 * page still held reads back intact. */
#include "common.h"

int main(void) {
    const size_t pages = 16384; /* 64 MiB */
    uint8_t *p = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(p + pg * PAGE, pg, 1);
    pageout(p, pages * PAGE);
    /* Bring back 3 of every 4 pages: their pool objects are freed everywhere. */
    for (size_t pg = 0; pg < pages; pg++)
        if (pg % 4) CHECK(count_mismatch(p + pg * PAGE, pg, 1) == 0, "page %zu", pg);
    struct pagezip_stats before = stats();
    long freed = pagezip_compact_if_loaded();
    struct pagezip_stats after = stats();
    printf("pool_before=%lu pool_after=%lu compr=%lu freed_pages=%ld pages_compacted=%lu\n",
           (unsigned long)before.mem_used_total, (unsigned long)after.mem_used_total,
           (unsigned long)after.compr_data_size, freed, (unsigned long)after.pages_compacted);
    if (before.active) {
        CHECK(freed > 0, "compaction freed nothing");
        CHECK(after.mem_used_total < before.mem_used_total, "pool did not shrink");
        CHECK(after.compr_data_size == before.compr_data_size, "compaction changed the data held");
        CHECK(after.stored_pages == before.stored_pages, "compaction changed the pages held");
    }
    for (size_t pg = 0; pg < pages; pg += 4) CHECK(count_mismatch(p + pg * PAGE, pg, 1) == 0, "held page %zu after compaction", pg);
    printf("verified=ok\n");
    return 0;
}
