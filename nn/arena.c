/* arena: lifetime-aware placement of activations.  See arena.h. */
#include "nn/arena.h"

#include <stdlib.h>

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

static int lifetimes_overlap(const struct arena_item *a, const struct arena_item *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static int bytes_overlap(size_t off, size_t size, const struct arena_item *b)
{
    return off < b->offset + round_up(b->size) && b->offset < off + size;
}

/* Insertion sort, largest first (a graph has a few hundred tensors; qsort would need global context). */
static void sort_by_size_desc(const struct arena_item *items, int *order, int n)
{
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i;
        for (; j > 0 && items[order[j - 1]].size < items[v].size; j--)
            order[j] = order[j - 1];
        order[j] = v;
    }
}

/* The lowest offset where item fits beside the already placed items it lives alongside. */
static size_t first_fit(const struct arena_item *items, const int *placed, int nplaced, const struct arena_item *it)
{
    size_t size = round_up(it->size), best = (size_t)-1;
    for (int c = -1; c < nplaced; c++) {
        size_t cand = c < 0 ? 0 : items[placed[c]].offset + round_up(items[placed[c]].size);
        if (c >= 0 && !lifetimes_overlap(&items[placed[c]], it))
            continue;
        int ok = 1;
        for (int j = 0; j < nplaced && ok; j++)
            ok = !lifetimes_overlap(&items[placed[j]], it) || !bytes_overlap(cand, size, &items[placed[j]]);
        if (ok && cand < best)
            best = cand;
    }
    return best;
}

int arena_plan(struct arena_item *items, int n, size_t *total)
{
    int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order)
        return -1;
    int count = 0;
    for (int i = 0; i < n; i++)
        if (items[i].size > 0)
            order[count++] = i;
    sort_by_size_desc(items, order, count);
    *total = 0;
    for (int k = 0; k < count; k++) {
        struct arena_item *it = &items[order[k]];
        it->offset = first_fit(items, order, k, it);
        if (it->offset + round_up(it->size) > *total)
            *total = it->offset + round_up(it->size);
    }
    free(order);
    return 0;
}
