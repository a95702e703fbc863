/* plan: gives every activation and scratch buffer its place in one arena, then resolves each layer's
 * tensor pointers, so the forward pass is a plain walk over the layers with nothing allocated.
 *
 * A batch of B images: a tensor the batched layers touch holds B images one after another (so a 1x1
 * conv's B*H*W pixels are consecutive GEMM rows); a tensor only the image-by-image layers before
 * m->split use holds one image, reused for each.  B = 1 gives the same arena as a model without batches. */
#include "nn/graph/arena.h"
#include "nn/graph/graph.h"

#include <stdio.h>
#include <stdlib.h>

/* A classifier of this family needs about 6 M floats per image; a file asking for far more is refused
 * rather than allowed to exhaust memory. */
#define ARENA_MAX_FLOATS ((size_t)64 << 20)

/* Batching pays where a layer's weights are big next to one image's pixels: a 7x7 layer's GEMM has 49
 * rows, so without a batch its weights stream in again for every 49 rows, which run as row blocks of 10
 * (below the 12-row tile; 392 rows at B = 8 fill whole tiles).  The early layers have small weights and activations of megabytes, which a batch would
 * multiply out of the caches.  So the batch runs as one from the first layer after which no output is
 * over this many floats per image (MobileNetV2: from the 14x14 blocks on); the layers before run image by
 * image.  Chosen by measurement (make bench, batch rows). */
#define BATCH_TENSOR_FLOATS ((size_t)128 << 10)

static int batch_split(const struct nn_model *m)
{
    int split = m->nlayers;
    while (split > 0 && m->act_size[m->layers[split - 1].out] <= BATCH_TENSOR_FLOATS)
        split--;
    return split;
}

static void forget_arena(struct nn_model *m)
{
    free(m->arena);
    free(m->act);
    free(m->act_stride);
    m->arena = NULL;
    m->act = NULL;
    m->act_stride = NULL;
    m->arena_floats = 0;
    m->max_batch = 0;
}

/* Steps: 0 = the caller fills the input; layer i runs at step i + 1; the output is read after the end. */
static void lifetimes(const struct nn_model *m, struct arena_item *items, const char *batched, int max_batch)
{
    for (int i = 0; i < m->ntensors; i++)
        items[i] = (struct arena_item){ .size = m->act_size[i] * (batched[i] ? (size_t)max_batch : 1), .first = -1,
                                        .last = -1 };
    items[m->input].first = 0;
    for (int s = 0; s < m->nlayers; s++) {
        const struct nn_layer *l = &m->layers[s];
        items[l->out].first = s + 1;
        items[l->in].last = s + 1;
        if (l->in2 >= 0)
            items[l->in2].last = s + 1;
        /* scratch holds one image: each thread reuses its rows for every image in turn */
        items[m->ntensors + s] = (struct arena_item){ .size = l->scratch_floats, .first = s + 1, .last = s + 1 };
    }
    items[m->output].last = m->nlayers + 1;
    for (int i = 0; i < m->ntensors; i++) {
        /* A tensor nobody reads still needs its own room while it is written. */
        if (items[i].last < items[i].first)
            items[i].last = items[i].first;
        /* The image-by-image layers run steps 1..split once per image: a whole-batch tensor they touch is
         * written or read in every round, so it lives through all of them. */
        if (max_batch > 1 && batched[i] && items[i].size && items[i].first <= m->split) {
            items[i].first = 0;
            items[i].last = items[i].last > m->split ? items[i].last : m->split;
        }
    }
}

int nn_plan_memory(struct nn_model *m, int max_batch, char *err, size_t errlen)
{
    forget_arena(m);
    m->split = batch_split(m);
    int n = m->ntensors + m->nlayers; /* tensors, then one scratch item per layer */
    struct arena_item *items = calloc((size_t)n, sizeof *items);
    char *batched = calloc((size_t)m->ntensors, 1);
    m->act = calloc((size_t)m->ntensors, sizeof *m->act);
    m->act_stride = calloc((size_t)m->ntensors, sizeof *m->act_stride);
    int rc = items && batched && m->act && m->act_stride ? 0 : -1;
    if (rc == 0) {
        batched[m->input] = batched[m->output] = 1; /* the caller fills and reads every image */
        for (int s = m->split; s < m->nlayers; s++) {
            const struct nn_layer *l = &m->layers[s];
            batched[l->in] = batched[l->out] = 1;
            if (l->in2 >= 0)
                batched[l->in2] = 1;
        }
        lifetimes(m, items, batched, max_batch);
        rc = arena_plan(items, n, &m->arena_floats);
    }
    if (rc == 0 && m->arena_floats > ARENA_MAX_FLOATS * (size_t)max_batch) {
        snprintf(err, errlen, "activations need %zu MB per image, over the %d MB limit",
                 m->arena_floats / max_batch / (1 << 18), (int)(ARENA_MAX_FLOATS / (1 << 18)));
        rc = -2;
    }
    if (rc == 0)
        rc = (m->arena = arena_alloc_huge(m->arena_floats * sizeof(float))) ? 0 : -1;
    if (rc == -1)
        snprintf(err, errlen, "out of memory for the %zu-float activation arena", m->arena_floats);
    if (rc < 0) {
        free(items);
        free(batched);
        forget_arena(m);
        return -1;
    }
    for (int i = 0; i < m->ntensors; i++) {
        m->act[i] = items[i].size ? m->arena + items[i].offset : NULL;
        m->act_stride[i] = batched[i] ? m->act_size[i] : 0;
    }
    for (int s = 0; s < m->nlayers; s++) {
        struct nn_layer *l = &m->layers[s];
        l->x = m->act[l->in];
        l->x2 = l->in2 >= 0 ? m->act[l->in2] : NULL;
        l->y = m->act[l->out];
        l->xs = m->act_stride[l->in];
        l->x2s = l->in2 >= 0 ? m->act_stride[l->in2] : 0;
        l->ys = m->act_stride[l->out];
        l->scratch = l->scratch_floats ? m->arena + items[m->ntensors + s].offset : NULL;
    }
    m->max_batch = max_batch;
    free(items);
    free(batched);
    return 0;
}
