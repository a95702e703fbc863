/* forward: runs the planned layers top to bottom, then picks the top k classes. */
#include "nn/kernels/gemm.h"
#include "nn/graph/graph.h"
#include "nn/nn.h"
#include "nn/team.h"

#include <string.h>
#include <time.h>

/* This thread's share of one layer on images [i0, i0 + n) of the pass: GEMM rows, depthwise output rows
 * or elements.  The small layers are never shared, so they run whole.  The images of a 1x1 conv or an
 * ADD lie one after another (n > 1 only where every tensor holds the whole batch), so it runs over all
 * of them at once; the other kinds take one image after another. */
static void run_layer(const struct nn_layer *l, int part, int parts, int i0, int n)
{
    const struct nn_window *g = &l->g;
    const float *x = l->x + (size_t)i0 * l->xs, *x2 = l->x2 ? l->x2 + (size_t)i0 * l->x2s : NULL;
    float *y = l->y + (size_t)i0 * l->ys;
    int b, e;
    switch (l->kind) {
    case NN_LAYER_CONV1X1:
        nn_share(n * g->h * g->w, part, parts, NN_GEMM_MR, &b, &e);
        nn_conv1x1(x, g->c, &l->mat, l->bias, x2, g->oc, l->lo, l->hi, y, b, e);
        return;
    case NN_LAYER_ADD:
        nn_share(n * (int)l->n, part, parts, 16, &b, &e);
        nn_add(x + b, x2 + b, (size_t)(e - b), l->lo, l->hi, y + b);
        return;
    case NN_LAYER_COPY:
        memcpy(y, x, (size_t)n * l->n * sizeof *y);
        return;
    case NN_LAYER_CONV:
        nn_share(g->oh * g->ow, part, parts, NN_GEMM_MR, &b, &e);
        break;
    case NN_LAYER_DEPTHWISE:
        nn_share(g->oh, part, parts, 1, &b, &e);
        break;
    default:
        b = e = 0;
        break;
    }
    for (int i = 0; i < n; i++, x += l->xs, y += l->ys) {
        switch (l->kind) {
        case NN_LAYER_CONV: /* each thread's scratch rows are its own pixels': reused image after image */
            nn_conv_im2col(x, g, &l->mat, l->bias, l->lo, l->hi, l->scratch, y, b, e);
            break;
        case NN_LAYER_DEPTHWISE:
            nn_depthwise(l->mat.isa, x, g, l->w, l->bias, l->lo, l->hi, y, b, e);
            break;
        case NN_LAYER_AVGPOOL:
            nn_avgpool(x, g, l->lo, l->hi, y);
            break;
        case NN_LAYER_MEAN:
            nn_mean_hw(x, g->h * g->w, g->c, y);
            break;
        case NN_LAYER_FC:
            nn_fully_connected(x, l->k, l->w, l->bias, (int)l->n, l->lo, l->hi, y);
            break;
        case NN_LAYER_SOFTMAX:
            nn_softmax(x, (int)l->n, l->beta, y);
            break;
        default:
            break;
        }
    }
}

/* Layers [from, to) on images [i0, i0 + n).  With a team, each thread does its share of a shared layer
 * while thread 0 alone runs the small ones; they meet at a barrier wherever a shared layer begins or
 * ends, and at the end of the span (the next one starts over with other images). */
static void run_span(const struct nn_model *m, struct nn_team *team, int part, int from, int to, int i0, int n)
{
    int parts = nn_team_size(team);
    for (int i = from; i < to; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->shared)
            run_layer(l, part, parts, i0, n);
        else if (part == 0)
            run_layer(l, 0, 1, i0, n);
        if (team && (l->shared || i + 1 == to || m->layers[i + 1].shared))
            nn_team_barrier(team, part);
    }
}

void nn_run_layers(void *arg, struct nn_team *team, int part)
{
    const struct nn_model *m = arg;
    int split = m->split < m->nlayers ? m->split : m->nlayers;
    for (int i = 0; i < m->batch; i++)
        run_span(m, team, part, 0, split, i, 1);
    run_span(m, team, part, split, m->nlayers, 0, m->batch);
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

/* One pass over images [0, n) of the arena; out[i] gets image i's top k. */
static void forward(struct nn_model *m, int n, int k, struct nn_result *out)
{
    double t0 = nn_clock_ms();
    m->batch = n;
    if (m->team)
        nn_team_run(m->team);
    else
        nn_run_layers(m, NULL, 0);
    double ms = nn_clock_ms() - t0;
    k = k < 0 ? 0 : k > NN_TOPK_MAX ? NN_TOPK_MAX : k;
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].inference_ms = ms;
        if (k > 0)
            top_k(m, nn_batch_probs(m, i), k, &out[i]);
    }
}

int nn_forward(struct nn_model *m, int k, struct nn_result *out)
{
    if (m->max_batch < 1)
        return NN_ERR_NOMEM;
    forward(m, 1, k, out);
    return 0;
}

float *nn_input(struct nn_model *m)
{
    return m->act ? m->act[m->input] : NULL;
}

int nn_classify_batch(struct nn_model *m, const float *const inputs[], int n, int k, struct nn_result out[])
{
    if (n < 1 || n > m->max_batch)
        return -1;
    for (int i = 0; i < n; i++)
        memcpy(m->act[m->input] + (size_t)i * m->act_stride[m->input], inputs[i],
               (size_t)NN_INPUT_SIZE * NN_INPUT_SIZE * 3 * sizeof(float));
    forward(m, n, k, out);
    return 0;
}

int nn_classify_tensor(struct nn_model *m, const float *input, int k, struct nn_result *out)
{
    return nn_classify_batch(m, &input, 1, k, out);
}

const float *nn_probs(const struct nn_model *m)
{
    return m->act[m->output];
}

const float *nn_batch_probs(const struct nn_model *m, int i)
{
    return m->act[m->output] + (size_t)i * m->act_stride[m->output];
}

int nn_max_batch(const struct nn_model *m)
{
    return m->max_batch;
}
