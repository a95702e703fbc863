/* arena: lifetime-aware placement of activations.  See arena.h. */
#include "nn/graph/arena.h"

#include <stdlib.h>
#include <sys/mman.h>

struct span {
    size_t start, end;   /* floats [start, end) taken by a tensor alive at the same time */
};

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

static int lifetimes_overlap(const struct arena_item *a, const struct arena_item *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static int by_start(const void *x, const void *y)
{
    const struct span *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Insertion sort, largest first: stable, and the order of equal sizes follows the graph. */
static void sort_by_size_desc(const struct arena_item *items, int *order, int n)
{
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i;
        for (; j > 0 && items[order[j - 1]].size < items[v].size; j--)
            order[j] = order[j - 1];
        order[j] = v;
    }
}

/* The lowest offset where `it` fits between the already placed items that live alongside it: collect
 * their spans, sort them by offset, and take the first gap big enough.  O(k log k) for k placed items. */
static size_t first_fit(const struct arena_item *items, const int *placed, int nplaced, const struct arena_item *it,
                        struct span *spans)
{
    int m = 0;
    for (int j = 0; j < nplaced; j++) {
        const struct arena_item *p = &items[placed[j]];
        if (lifetimes_overlap(p, it))
            spans[m++] = (struct span){ p->offset, p->offset + round_up(p->size) };
    }
    qsort(spans, (size_t)m, sizeof *spans, by_start);
    size_t at = 0, size = round_up(it->size);
    for (int j = 0; j < m && spans[j].start < at + size; j++)
        at = spans[j].end > at ? spans[j].end : at;
    return at;
}

int arena_plan(struct arena_item *items, int n, size_t *total)
{
    int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    struct span *spans = malloc((size_t)(n > 0 ? n : 1) * sizeof *spans);
    if (!order || !spans) {
        free(order);
        free(spans);
        return -1;
    }
    int count = 0;
    for (int i = 0; i < n; i++)
        if (items[i].size > 0)
            order[count++] = i;
    sort_by_size_desc(items, order, count);
    *total = 0;
    for (int k = 0; k < count; k++) {
        struct arena_item *it = &items[order[k]];
        it->offset = first_fit(items, order, k, it, spans);
        if (it->offset + round_up(it->size) > *total)
            *total = it->offset + round_up(it->size);
    }
    free(order);
    free(spans);
    return 0;
}

#define HUGE_PAGE ((size_t)2 << 20)

void *arena_alloc_huge(size_t bytes)
{
    size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, rounded ? rounded : HUGE_PAGE) != 0)
        return NULL;
    /* Advice only: where THP is off (or madvise fails) the memory still works, on small pages. */
    if (rounded && madvise(p, rounded, MADV_HUGEPAGE) != 0)
        (void)0;
    return p;
}
