/* img_budget: see budget.h.  The process-wide count is one atomic; the per-decode table is thread-local
 * state reached through `current`, so any number of threads may decode at once. */
#include "nn/image/budget.h"
#include "nn/image/image.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local struct img_budget *current;
static atomic_size_t held_by_all;

void img_budget_begin(struct img_budget *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
    current = b;
}

static void release(struct img_budget *b, size_t n)
{
    b->held -= n;
    atomic_fetch_sub(&held_by_all, n);
}

/* Counts n more bytes against both caps, or says which one they cross. */
static int reserve(struct img_budget *b, size_t n)
{
    if (n > b->limit - b->held) {
        b->over = IMG_BUDGET_PICTURE;
        return -1;
    }
    size_t before = atomic_fetch_add(&held_by_all, n);
    if (before + n > img_limits_current()->max_decode_bytes || before + n < before) {
        atomic_fetch_sub(&held_by_all, n);
        b->over = IMG_BUDGET_PROCESS;
        return -1;
    }
    b->held += n;
    if (b->held > b->peak)
        b->peak = b->held;
    return 0;
}

static int find(const struct img_budget *b, const void *p)
{
    for (int i = 0; i < b->nlive; i++)
        if (b->live[i].p == p)
            return i;
    return -1;
}

static void forget(struct img_budget *b, int i)
{
    release(b, b->live[i].n);
    b->live[i] = b->live[--b->nlive];
}

void *img_budget_malloc(size_t n)
{
    struct img_budget *b = current;
    if (!b || b->nlive == IMG_BUDGET_MAX_LIVE || reserve(b, n) < 0)
        return NULL;
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        release(b, n);
        return NULL;
    }
    b->live[b->nlive].p = p, b->live[b->nlive].n = n, b->nlive++;
    return p;
}

void *img_budget_realloc(void *p, size_t n)
{
    struct img_budget *b = current;
    if (!p)
        return img_budget_malloc(n);
    int i = b ? find(b, p) : -1;
    if (i < 0)
        abort(); /* not a decoder block: a bug, never a bad picture */
    size_t old = b->live[i].n;
    if (n > old && reserve(b, n - old) < 0)
        return NULL;
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        if (n > old)
            release(b, n - old);
        return NULL;
    }
    if (n > old)
        memset((char *)q + old, 0, n - old);
    else
        release(b, old - n);
    b->live[i].p = q, b->live[i].n = n;
    return q;
}

void img_budget_free(void *p)
{
    struct img_budget *b = current;
    if (!p)
        return;
    int i = b ? find(b, p) : -1;
    if (i < 0)
        abort();
    forget(b, i);
    free(p);
}

void img_budget_end(struct img_budget *b, void *keep)
{
    int i = keep ? find(b, keep) : -1;
    if (i >= 0)
        forget(b, i);
    while (b->nlive > 0) {
        void *p = b->live[b->nlive - 1].p;
        forget(b, b->nlive - 1);
        free(p);
    }
    current = NULL;
}

static struct img_limits limits = {
    .max_decode_bytes = (size_t)IMG_DEFAULT_MAX_DECODE_MB << 20,
    .max_jpeg_scans = IMG_DEFAULT_MAX_JPEG_SCANS,
    .max_jpeg_work = (long long)IMG_DEFAULT_MAX_JPEG_MCOEF * 1000000,
};

void img_set_limits(const struct img_limits *l) { limits = *l; }

const struct img_limits *img_limits_current(void) { return &limits; }
