/* The machine's own floor for making memory resident, for bench/stressors.py to set beside
 * twin and stress-ng: map SIZE_MB of anonymous memory and write one byte per page from
 * THREADS threads, with 4 KiB pages (huge = 0) or transparent huge pages (huge = 1). Prints
 * the seconds from before the map until every page is resident. No error handling beyond
 * exit codes: it is a measuring stick, run by the bench only.
 *
 *     cc -O2 -pthread -o fill_floor fill_floor.c && ./fill_floor SIZE_MB THREADS HUGE
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

struct part {
    char *base;
    size_t bytes;
    size_t page;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *touch(void *arg) {
    struct part *p = arg;
    for (size_t i = 0; i < p->bytes; i += p->page) p->base[i] = 1;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    size_t bytes = (size_t)atol(argv[1]) << 20;
    int threads = atoi(argv[2]);
    int huge = atoi(argv[3]);
    if (threads < 1 || threads > 64 || bytes == 0) return 2;
    double t0 = now();
    char *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return 1;
    madvise(base, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    pthread_t ids[64];
    struct part parts[64];
    size_t each = (bytes / (size_t)threads) & ~(size_t)((2 << 20) - 1);
    for (int i = 0; i < threads; i++) {
        size_t from = each * (size_t)i;
        size_t to = i == threads - 1 ? bytes : from + each;
        parts[i] = (struct part){base + from, to - from, 4096};
        if (pthread_create(&ids[i], NULL, touch, &parts[i]) != 0) return 1;
    }
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    printf("%.4f\n", now() - t0);
    munmap(base, bytes);
    return 0;
}
