/* plan: gives every activation and scratch buffer its place in one arena, then resolves each layer's
 * tensor pointers, so the forward pass is a plain walk over the layers with nothing allocated. */
#include "nn/graph/arena.h"
#include "nn/graph/graph.h"

#include <stdio.h>
#include <stdlib.h>

/* A classifier of this family needs about 6 M floats; a file asking for far more is refused rather than
 * allowed to exhaust memory. */
#define ARENA_MAX_FLOATS ((size_t)64 << 20)

/* Steps: 0 = the caller fills the input; layer i runs at step i + 1; the output is read after the end. */
int nn_plan_memory(struct nn_model *m, char *err, size_t errlen)
{
    int n = m->ntensors + m->nlayers; /* tensors, then one scratch item per layer */
    struct arena_item *items = calloc((size_t)n, sizeof *items);
    m->act = calloc((size_t)m->ntensors, sizeof *m->act);
    if (!items || !m->act) {
        free(items);
        snprintf(err, errlen, "out of memory planning activations");
        return -1;
    }
    for (int i = 0; i < m->ntensors; i++)
        items[i] = (struct arena_item){ .size = m->act_size[i], .first = -1, .last = -1 };
    items[m->input].first = 0;
    for (int s = 0; s < m->nlayers; s++) {
        const struct nn_layer *l = &m->layers[s];
        items[l->out].first = s + 1;
        items[l->in].last = s + 1;
        if (l->in2 >= 0)
            items[l->in2].last = s + 1;
        items[m->ntensors + s] = (struct arena_item){ .size = l->scratch_floats, .first = s + 1, .last = s + 1 };
    }
    items[m->output].last = m->nlayers + 1;
    /* A tensor nobody reads still needs its own room while it is written. */
    for (int i = 0; i < m->ntensors; i++)
        if (items[i].last < items[i].first)
            items[i].last = items[i].first;
    int rc = arena_plan(items, n, &m->arena_floats);
    if (rc == 0 && m->arena_floats > ARENA_MAX_FLOATS) {
        free(items);
        snprintf(err, errlen, "activations need %zu MB, over the %d MB limit", m->arena_floats / (1 << 18),
                 (int)(ARENA_MAX_FLOATS / (1 << 18)));
        return -1;
    }
    if (rc == 0)
        rc = (m->arena = arena_alloc_huge(m->arena_floats * sizeof(float))) ? 0 : -1;
    if (rc < 0) {
        free(items);
        snprintf(err, errlen, "out of memory for the %zu-float activation arena", m->arena_floats);
        return -1;
    }
    for (int i = 0; i < m->ntensors; i++)
        m->act[i] = items[i].size ? m->arena + items[i].offset : NULL;
    for (int s = 0; s < m->nlayers; s++) {
        struct nn_layer *l = &m->layers[s];
        l->x = m->act[l->in];
        l->x2 = l->in2 >= 0 ? m->act[l->in2] : NULL;
        l->y = m->act[l->out];
        l->scratch = l->scratch_floats ? m->arena + items[m->ntensors + s].offset : NULL;
    }
    free(items);
    return 0;
}
