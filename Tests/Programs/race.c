/* The lost-write race: writer threads keep rewriting their pages while pager
 * threads page the same ranges out in a loop.  Every write must survive: at
 * the end each page holds exactly the last version its writer wrote. */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

#define WRITERS 3
#define PAGERS 2

static size_t pages;
static uint8_t *region;
static atomic_int stop;
static uint32_t *version; /* last version written per page (shadow, never paged out) */

static void *writer(void *arg) {
    size_t id = (size_t)arg;
    uint32_t round = 0;
    while (!atomic_load(&stop)) {
        round++;
        for (size_t pg = id; pg < pages; pg += WRITERS) {
            uint8_t *p = region + pg * PAGE;
            uint32_t v = version[pg] + 1;
            /* Rewrite the whole page with version v, then verify it at once:
             * a store racing the writes must neither lose nor tear them. */
            fill_page(p, pg, v);
            version[pg] = v;
            size_t bad = count_mismatch(p, pg, v);
            CHECK(bad == 0, "page %zu version %u: %zu bytes wrong right after writing", pg, v, bad);
        }
        if (round % 4 == 0) sched_yield();
    }
    return 0;
}

static void *pager(void *arg) {
    size_t id = (size_t)arg;
    while (!atomic_load(&stop)) {
        size_t half = pages / 2;
        if (id == 0) pageout(region, pages * PAGE);
        else pageout(region + half * PAGE, (pages - half) * PAGE);
    }
    return 0;
}

int main(int argc, char **argv) {
    pages = argc > 1 ? (size_t)atol(argv[1]) : 512;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    region = map_pages(pages);
    version = calloc(pages, sizeof *version);
    for (size_t pg = 0; pg < pages; pg++) fill_page(region + pg * PAGE, pg, 0);

    pthread_t w[WRITERS], p[PAGERS];
    for (size_t i = 0; i < WRITERS; i++) pthread_create(&w[i], 0, writer, (void *)i);
    for (size_t i = 0; i < PAGERS; i++) pthread_create(&p[i], 0, pager, (void *)i);
    usleep((useconds_t)(seconds * 1e6)); /* run time, not synchronisation */
    atomic_store(&stop, 1);
    for (size_t i = 0; i < WRITERS; i++) pthread_join(w[i], 0);
    for (size_t i = 0; i < PAGERS; i++) pthread_join(p[i], 0);

    /* Page everything out one last time, then check every byte. */
    pageout(region, pages * PAGE);
    size_t bad = 0, writes = 0;
    for (size_t pg = 0; pg < pages; pg++) {
        bad += count_mismatch(region + pg * PAGE, pg, version[pg]);
        writes += version[pg];
    }
    printf("pages=%zu page_writes=%zu mismatched_bytes=%zu\n", pages, writes, bad);
    print_stats("final");
    return bad == 0 ? 0 : 1;
}
