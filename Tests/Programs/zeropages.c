/* Zero pages are detected before compression, cost no pool memory, and come
 * back as zeros. */
#include "common.h"

int main(void) {
    const size_t pages = 2048;
    uint8_t *p = map_pages(pages);
    memset(p, 0, pages * PAGE); /* touched, so the kernel holds real pages */
    struct pagezip_stats before = stats();
    pageout(p, pages * PAGE);
    struct pagezip_stats held = stats();
    for (size_t i = 0; i < pages * PAGE; i++) CHECK(p[i] == 0, "byte %zu not zero", i);
    struct pagezip_stats after = stats();
    printf("zero_pages_held=%lu pool_bytes_before=%lu pool_bytes_held=%lu compr_bytes_held=%lu\n",
           (unsigned long)(held.same_pages - before.same_pages), (unsigned long)before.mem_used_total,
           (unsigned long)held.mem_used_total, (unsigned long)held.compr_data_size);
    if (held.active) {
        CHECK(held.same_pages - before.same_pages == pages, "same_pages %lu, expected %zu",
              (unsigned long)(held.same_pages - before.same_pages), pages);
        CHECK(held.compr_data_size == before.compr_data_size, "zero pages used compressed bytes");
        CHECK(held.mem_used_total == before.mem_used_total, "zero pages used pool memory");
        CHECK(after.same_pages == before.same_pages, "zero pages still held after reading them");
    }
    print_stats("final");
    return 0;
}
