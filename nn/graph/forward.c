/* forward: runs the planned layers top to bottom, then picks the top k classes. */
#include "nn/kernels/gemm.h"
#include "nn/graph/graph.h"
#include "nn/nn.h"
#include "nn/team.h"

#include <string.h>
#include <time.h>

/* This thread's share of one layer (part of parts): GEMM rows, depthwise output rows or elements.  The
 * small layers are never shared, so they run whole. */
static void run_layer(const struct nn_layer *l, int part, int parts)
{
    const struct nn_window *g = &l->g;
    int b, e;
    switch (l->kind) {
    case NN_LAYER_CONV1X1:
        nn_share(g->h * g->w, part, parts, NN_GEMM_MR, &b, &e);
        nn_conv1x1(l->x, g->c, &l->mat, l->bias, l->x2, g->oc, l->lo, l->hi, l->y, b, e);
        break;
    case NN_LAYER_CONV:
        nn_share(g->oh * g->ow, part, parts, NN_GEMM_MR, &b, &e);
        nn_conv_im2col(l->x, g, &l->mat, l->bias, l->lo, l->hi, l->scratch, l->y, b, e);
        break;
    case NN_LAYER_DEPTHWISE:
        nn_share(g->oh, part, parts, 1, &b, &e);
        nn_depthwise(l->mat.isa, l->x, g, l->w, l->bias, l->lo, l->hi, l->y, b, e);
        break;
    case NN_LAYER_ADD:
        nn_share((int)l->n, part, parts, 16, &b, &e);
        nn_add(l->x + b, l->x2 + b, (size_t)(e - b), l->lo, l->hi, l->y + b);
        break;
    case NN_LAYER_AVGPOOL:
        nn_avgpool(l->x, g, l->lo, l->hi, l->y);
        break;
    case NN_LAYER_MEAN:
        nn_mean_hw(l->x, g->h * g->w, g->c, l->y);
        break;
    case NN_LAYER_FC:
        nn_fully_connected(l->x, l->k, l->w, l->bias, (int)l->n, l->lo, l->hi, l->y);
        break;
    case NN_LAYER_SOFTMAX:
        nn_softmax(l->x, (int)l->n, l->beta, l->y);
        break;
    case NN_LAYER_COPY:
        memcpy(l->y, l->x, l->n * sizeof *l->y);
        break;
    }
}

/* Every layer in order.  With a team, each thread does its share of a shared layer while thread 0 alone
 * runs the small ones; they meet at a barrier wherever a shared layer begins or ends. */
void nn_run_layers(void *arg, struct nn_team *team, int part)
{
    const struct nn_model *m = arg;
    int parts = nn_team_size(team);
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->shared)
            run_layer(l, part, parts);
        else if (part == 0)
            run_layer(l, 0, 1);
        if (team && (l->shared || (i + 1 < m->nlayers && m->layers[i + 1].shared)))
            nn_team_barrier(team, part);
    }
}

double nn_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Top k of probs by insertion into a short sorted list (k <= NN_TOPK_MAX). */
static void top_k(const struct nn_model *m, const float *probs, int k, struct nn_result *out)
{
    out->k = 0;
    for (int i = 0; i < m->nclasses; i++) {
        if (out->k == k && probs[i] <= out->top[k - 1].prob)
            continue;
        int j = out->k < k ? out->k++ : k - 1;
        for (; j > 0 && out->top[j - 1].prob < probs[i]; j--)
            out->top[j] = out->top[j - 1];
        out->top[j] = (struct nn_class){ .class_index = i - 1, .label = nn_label(m, i), .prob = probs[i] };
    }
}

int nn_forward(struct nn_model *m, int k, struct nn_result *out)
{
    double t0 = nn_clock_ms();
    if (m->team)
        nn_team_run(m->team);
    else
        nn_run_layers(m, NULL, 0);
    memset(out, 0, sizeof *out);
    out->inference_ms = nn_clock_ms() - t0;
    k = k < 0 ? 0 : k > NN_TOPK_MAX ? NN_TOPK_MAX : k;
    if (k > 0)
        top_k(m, m->act[m->output], k, out);
    return 0;
}

float *nn_input(struct nn_model *m)
{
    return m->act[m->input];
}

int nn_classify_tensor(struct nn_model *m, const float *input, int k, struct nn_result *out)
{
    memcpy(nn_input(m), input, (size_t)NN_INPUT_SIZE * NN_INPUT_SIZE * 3 * sizeof(float));
    return nn_forward(m, k, out);
}

const float *nn_probs(const struct nn_model *m)
{
    return m->act[m->output];
}
