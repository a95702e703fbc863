/* fuse: rewrites of the built layer list that save passes over memory.
 *  - a residual ADD is folded into the GEMM epilogue of the 1x1 conv before it;
 *  - layers big enough to pay for a barrier are marked to be shared among threads.
 * Both are optimizations: without memory for the reader counts nothing is fused. */
#include "nn/graph/graph.h"

#include <math.h>
#include <stdlib.h>

static int unclamped(const struct nn_layer *l)
{
    return isinf(l->lo) && l->lo < 0 && isinf(l->hi) && l->hi > 0;
}

/* readers[t] = how many layers read tensor t (the graph output counts as one more). */
static int *count_readers(const struct nn_model *m)
{
    int *readers = calloc((size_t)m->ntensors, sizeof *readers);
    if (!readers)
        return NULL;
    for (int i = 0; i < m->nlayers; i++) {
        readers[m->layers[i].in]++;
        if (m->layers[i].in2 >= 0)
            readers[m->layers[i].in2]++;
    }
    readers[m->output]++;
    return readers;
}

/* A 1x1 conv without activation whose only reader is the next layer, an ADD, takes that ADD over
 * (MobileNetV2's residual connections); the ADD layer disappears. */
static void fuse_residual_adds(struct nn_model *m, const int *readers)
{
    int kept = 0;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer l = m->layers[i];
        const struct nn_layer *add = i + 1 < m->nlayers ? &m->layers[i + 1] : NULL;
        if (l.kind == NN_LAYER_CONV1X1 && l.in2 < 0 && unclamped(&l) && add && add->kind == NN_LAYER_ADD &&
            readers[l.out] == 1 && (add->in == l.out) != (add->in2 == l.out)) {
            m->act_size[l.out] = 0; /* the conv's own output is never materialized */
            l.in2 = add->in == l.out ? add->in2 : add->in;
            l.out = add->out;
            l.lo = add->lo, l.hi = add->hi;
            i++;
        }
        m->layers[kept++] = l;
    }
    m->nlayers = kept;
}

/* Layers worth splitting among threads: a barrier costs microseconds, so only the big ones (depthwise
 * work counts 8x: it runs at an eighth of the GEMM's rate). */
#define SHARE_MIN_FLOPS 4e6

static void mark_shared(struct nn_model *m)
{
    m->flops = 0;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        double work = l->kind == NN_LAYER_DEPTHWISE ? 8 * l->flops : l->flops;
        l->shared = (l->kind == NN_LAYER_CONV1X1 || l->kind == NN_LAYER_CONV || l->kind == NN_LAYER_DEPTHWISE ||
                     l->kind == NN_LAYER_ADD) && work >= SHARE_MIN_FLOPS;
        m->flops += l->flops;
    }
}

void nn_fuse(struct nn_model *m)
{
    int *readers = count_readers(m);
    if (readers)
        fuse_residual_adds(m, readers);
    free(readers);
    mark_shared(m);
}
