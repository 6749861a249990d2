/* Auto reclaim: a program that fills memory, keeps a small hot part busy and
 * leaves the rest alone, until pagezip holds at least 90 % of the cold part
 * (or the deadline passes: then it fails).  It reports RSS and counters each
 * second, then checks every byte.  Under PAGEZIP_RECLAIM=auto with a short
 * cold age, RSS must fall while the hot part keeps running.
 *   idle MiB hot_percent deadline_seconds */
#include "common.h"

#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64;
    double hot = argc > 2 ? atof(argv[2]) / 100 : 0.05;
    double seconds = argc > 3 ? atof(argv[3]) : 8;
    size_t pages = (mib << 20) / PAGE, hot_pages = (size_t)((double)pages * hot);
    uint8_t *p = map_pages(pages);
    for (size_t pg = 0; pg < pages; pg++) fill_page(p + pg * PAGE, pg, 1);
    long rss_start = rss_kib();
    printf("start rss_kib=%ld pages=%zu hot_pages=%zu\n", rss_start, pages, hot_pages);
    fflush(stdout);
    double t0 = now_s(), next = t0 + 1;
    unsigned long long hot_ops = 0;
    size_t cold_pages = pages - hot_pages;
    int reached = 0;
    while (now_s() - t0 < seconds) {
        /* The hot part: read and rewrite a byte of each hot page, repeatedly. */
        for (size_t pg = 0; pg < hot_pages; pg++) {
            volatile uint8_t *b = p + pg * PAGE + (hot_ops % PAGE);
            uint8_t v = *b;
            *b = (uint8_t)(v + 1);
            *b = v;
        }
        hot_ops++;
        if ((hot_ops & 63) == 0) {
            struct pagezip_stats s = stats();
            if (s.stored_pages >= cold_pages * 9 / 10) { reached = 1; break; }
            if (!s.active) break;
        }
        if (now_s() >= next) {
            struct pagezip_stats s = stats();
            printf("t=%.0f rss_kib=%ld stored_pages=%lu refaults=%lu\n", now_s() - t0, rss_kib(),
                   (unsigned long)s.stored_pages, (unsigned long)s.refaults);
            fflush(stdout);
            next += 1;
        }
    }
    long rss_idle = rss_kib();
    struct pagezip_stats s = stats();
    size_t bad = 0;
    for (size_t pg = 0; pg < pages; pg++) bad += count_mismatch(p + pg * PAGE, pg, 1);
    printf("end reached=%d after_s=%.1f rss_idle_kib=%ld held_pages=%lu end_stored_total=%lu end_refaults=%lu "
           "hot_rounds=%llu mismatched_bytes=%zu\n",
           reached, now_s() - t0, rss_idle, (unsigned long)s.stored_pages, (unsigned long)s.stored_total,
           (unsigned long)s.refaults, hot_ops, bad);
    print_stats("final");
    return bad == 0 ? 0 : 1;
}
