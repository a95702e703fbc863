/* arena: places the network's activations in one buffer, letting tensors whose lifetimes do not overlap
 * share memory (greedy, largest first).  Lifetimes are in steps, both ends inclusive. */
#ifndef NN_ARENA_H
#define NN_ARENA_H

#include <stddef.h>

#define ARENA_ALIGN 16   /* floats: every tensor starts on a 64-byte boundary */

struct arena_item {
    size_t size;         /* floats; 0 = not placed */
    int first, last;     /* first step that writes it, last step that reads it */
    size_t offset;       /* result, in floats */
};

/* Sets every item's offset; returns 0 and the arena's total size in floats, or -1 when out of memory. */
int arena_plan(struct arena_item *items, int n, size_t *total);

/* bytes of memory on 2 MB boundaries, asked to be backed by transparent huge pages: the forward pass
 * walks ~10 MB of weights and ~20 MB of activations, thousands of 4 KB pages, so its TLB misses are
 * many.  NULL when out of memory; release with free(). */
void *arena_alloc_huge(size_t bytes);

#endif
