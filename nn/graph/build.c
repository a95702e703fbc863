/* build: TFLite operators → nn layers.  Checks every shape the file states against what the op computes,
 * dequantizes the constants once and lays the weights out the way the kernels read them. */
#include "nn/graph/graph.h"

#include "nn/graph/arena.h"
#include "nn/format/dequant.h"
#include "nn/format/flatbuf.h"
#include "nn/kernels/gemm.h"
#include "nn/nn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NOT_WRITTEN = -2, GRAPH_INPUT = -1 };

struct builder {
    const struct tfl_model *t;
    struct nn_model *m;
    char *err;
    size_t errlen;
    int op;                    /* operator being built, for messages */
    int *writer;               /* per tensor: layer that writes it, GRAPH_INPUT or NOT_WRITTEN */
};

static int fail(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct builder *b, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (b->op < 0)
        snprintf(b->err, b->errlen, "%s", why);
    else
        snprintf(b->err, b->errlen, "operator %d (%s): %s", b->op, tfl_opcode_name(b->t->ops[b->op].opcode), why);
    return -1;
}

/* An input activation: written earlier in the graph, batch 1 and of rank ndim (0 = any rank). */
static int activation_in(struct builder *b, int idx, int ndim)
{
    if (idx < 0)
        return fail(b, "a required input is missing");
    const struct tfl_tensor *t = &b->t->tensors[idx];
    if (t->data)
        return fail(b, "input '%s' is a constant where an activation is expected", t->name);
    if (b->writer[idx] == NOT_WRITTEN)
        return fail(b, "reads tensor '%s' before any operator writes it", t->name);
    if (ndim && (t->ndim != ndim || t->shape[0] != 1))
        return fail(b, "input '%s' has rank %d (batch %d), expected rank %d with batch 1", t->name, t->ndim,
                    t->ndim ? t->shape[0] : 0, ndim);
    return 0;
}

/* The output activation: written exactly once, by this layer. */
static int activation_out(struct builder *b, int idx, int ndim)
{
    const struct tfl_tensor *t = &b->t->tensors[idx];
    if (t->data || b->writer[idx] != NOT_WRITTEN)
        return fail(b, "output '%s' is a constant or written twice", t->name);
    if (ndim && (t->ndim != ndim || t->shape[0] != 1))
        return fail(b, "output '%s' has rank %d, expected rank %d with batch 1", t->name, t->ndim, ndim);
    b->writer[idx] = b->m->nlayers;
    b->m->act_size[idx] = nn_tensor_elements(t);
    return 0;
}

static float *take_weights(struct builder *b, size_t n)
{
    if (n > b->m->weights_cap - b->m->weights_used) {
        fail(b, "weights exceed the space counted for them");
        return NULL;
    }
    float *w = b->m->weights + b->m->weights_used;
    b->m->weights_used += n;
    return w;
}

/* A constant input of exactly `elements` values, dequantized into the weight block. */
static const float *constant_in(struct builder *b, int idx, size_t elements, const char *what)
{
    if (idx < 0 || !b->t->tensors[idx].data) {
        fail(b, "%s is not a constant tensor", what);
        return NULL;
    }
    const struct tfl_tensor *t = &b->t->tensors[idx];
    if (nn_tensor_elements(t) != elements) {
        fail(b, "%s '%s' has %zu values, expected %zu", what, t->name, nn_tensor_elements(t), elements);
        return NULL;
    }
    float *w = take_weights(b, elements);
    char why[160];
    if (w && nn_dequantize(t, w, why, sizeof why) < 0) {
        fail(b, "%s", why);
        return NULL;
    }
    return w;
}

/* Bias of n values, or zeros when the optional input is absent. */
static const float *bias_in(struct builder *b, int idx, size_t n)
{
    if (idx >= 0)
        return constant_in(b, idx, n, "bias");
    float *z = take_weights(b, n);
    if (z)
        memset(z, 0, n * sizeof *z);
    return z;
}

static int clamp_of(struct builder *b, int act, struct nn_layer *l)
{
    switch (act) {
    case TFL_ACT_NONE: l->lo = -INFINITY, l->hi = INFINITY; return 0;
    case TFL_ACT_RELU: l->lo = 0.0f, l->hi = INFINITY; return 0;
    case TFL_ACT_RELU_N1_TO_1: l->lo = -1.0f, l->hi = 1.0f; return 0;
    case TFL_ACT_RELU6: l->lo = 0.0f, l->hi = 6.0f; return 0;
    default: return fail(b, "unsupported fused activation %d", act);
    }
}

/* TF output size and leading padding of one spatial dimension. */
static int window_dim(struct builder *b, int in, int k, int s, int d, int padding, int *out, int *pad_before)
{
    if (k < 1 || s < 1 || d < 1 || k > 4096 || s > 4096 || d > 64)
        return fail(b, "kernel %d, stride %d, dilation %d out of range", k, s, d);
    int eff = (k - 1) * d + 1;
    if (padding == TFL_PAD_SAME) {
        *out = (in + s - 1) / s;
        long total = (long)(*out - 1) * s + eff - in;
        *pad_before = total > 0 ? (int)(total / 2) : 0;
    } else if (padding == TFL_PAD_VALID) {
        if (in < eff)
            return fail(b, "VALID window %d larger than the input %d", eff, in);
        *out = (in - eff) / s + 1;
        *pad_before = 0;
    } else {
        return fail(b, "unknown padding %d", padding);
    }
    return 0;
}

/* Fills g from the input/output tensors and the op's options; checks the file's output shape. */
static int window_of(struct builder *b, const struct tfl_op *op, int kh, int kw, int oc, struct nn_window *g)
{
    const struct tfl_tensor *x = &b->t->tensors[op->inputs[0]], *y = &b->t->tensors[op->outputs[0]];
    *g = (struct nn_window){ .h = x->shape[1], .w = x->shape[2], .c = x->shape[3], .oc = oc, .kh = kh, .kw = kw,
                             .sh = op->stride_h, .sw = op->stride_w, .dh = op->dilation_h, .dw = op->dilation_w };
    if (window_dim(b, g->h, kh, g->sh, g->dh, op->padding, &g->oh, &g->pad_top) < 0 ||
        window_dim(b, g->w, kw, g->sw, g->dw, op->padding, &g->ow, &g->pad_left) < 0)
        return -1;
    if (y->shape[1] != g->oh || y->shape[2] != g->ow || y->shape[3] != oc)
        return fail(b, "output '%s' is %dx%dx%d but the op computes %dx%dx%d", y->name, y->shape[1], y->shape[2],
                    y->shape[3], g->oh, g->ow, oc);
    return 0;
}

/* A one-pixel 1x1 conv (the classifier) with 8-bit weights quantized per tensor or per output channel
 * keeps their codes for nn_gemv_q8 on the engine's own paths (gemv.c says why, and why it is exact).
 * Returns 0 when it does, 1 when the layer keeps float weights, -1 on failure. */
static int q8_weights(struct builder *b, const struct tfl_tensor *wt, struct nn_layer *l)
{
    int oc = wt->shape[0], k = wt->shape[3], shift = wt->type == TFL_UINT8 ? 128 : 0;
    if (b->m->isa == NN_ISA_OPENBLAS || l->g.oh * l->g.ow != 1 || wt->shape[1] != 1 || wt->shape[2] != 1 ||
        (wt->type != TFL_UINT8 && wt->type != TFL_INT8) || !wt->data || wt->data_len < (size_t)oc * k ||
        !(wt->nquant == 1 || (wt->nquant == oc && wt->quant_dim == 0)))
        return 1;
    size_t cols = (size_t)(oc + NN_GEMV_NB - 1) / NN_GEMV_NB * NN_GEMV_NB;
    size_t code_floats = (nn_gemv_q8_bytes(k, oc) + sizeof(float) - 1) / sizeof(float);
    float *space = take_weights(b, code_floats + 2 * cols);
    int8_t *codes = space ? malloc((size_t)oc * k) : NULL;
    if (!codes)
        return space ? fail(b, "out of memory") : -1;
    /* uint8 codes move to int8 by -128, their zero point with them: code - zero is unchanged. */
    for (size_t i = 0; i < (size_t)oc * k; i++)
        codes[i] = (int8_t)((wt->type == TFL_UINT8 ? (int)wt->data[i] : (int8_t)wt->data[i]) - shift);
    float *scale = space + code_floats, *zero = scale + cols;
    for (size_t o = 0; o < cols; o++) {
        int q = wt->nquant == 1 ? 0 : (int)o;
        scale[o] = o < (size_t)oc ? wt->scale[q] : 0.0f;
        zero[o] = o < (size_t)oc ? (float)(wt->zero_point[q] - shift) : 0.0f;
    }
    nn_gemv_q8_pack(codes, k, oc, (int8_t *)space);
    free(codes);
    l->mat.q8 = (struct nn_q8){ .codes = (const int8_t *)space, .scale = scale, .zero = zero };
    return 0;
}

/* CONV_2D: weights OHWI [OC,KH,KW,C] → [KH*KW*C, OC] so the GEMM reads them without transposing. */
static int build_conv(struct builder *b, const struct tfl_op *op, struct nn_layer *l)
{
    if (op->ninputs < 2 || activation_in(b, op->inputs[0], 4) < 0 || activation_out(b, op->outputs[0], 4) < 0)
        return op->ninputs < 2 ? fail(b, "needs input and weights") : -1;
    const struct tfl_tensor *wt = op->inputs[1] >= 0 ? &b->t->tensors[op->inputs[1]] : NULL;
    if (!wt || wt->ndim != 4)
        return fail(b, "weights must be a 4-D tensor");
    int oc = wt->shape[0], kh = wt->shape[1], kw = wt->shape[2], c = wt->shape[3];
    if (c != b->t->tensors[op->inputs[0]].shape[3])
        return fail(b, "weights expect %d input channels, the input has %d", c, b->t->tensors[op->inputs[0]].shape[3]);
    if (window_of(b, op, kh, kw, oc, &l->g) < 0)
        return -1;
    size_t k = (size_t)kh * kw * c;
    float *ohwi = malloc(2 * k * oc * sizeof *ohwi), *kn = ohwi + k * oc;
    if (!ohwi)
        return fail(b, "out of memory");
    char why[160];
    int rc = nn_dequantize(wt, ohwi, why, sizeof why);
    for (int o = 0; rc == 0 && o < oc; o++)
        for (size_t i = 0; i < k; i++)
            kn[i * oc + o] = ohwi[o * k + i];
    int floats = rc == 0 ? q8_weights(b, wt, l) : 1;
    if (floats < 0) {
        free(ohwi);
        return -1;
    }
    /* Packed panels for the engine's own kernels, or the plain [K, OC] that OpenBLAS reads. */
    int packed = l->mat.isa != NN_ISA_OPENBLAS;
    float *w = rc == 0 && floats ? take_weights(b, packed ? nn_gemm_packed_size((int)k, oc) : k * oc) : NULL;
    if (w && packed)
        nn_gemm_pack(kn, (int)k, oc, w);
    else if (w)
        memcpy(w, kn, k * oc * sizeof *w);
    free(ohwi);
    if (rc < 0)
        return fail(b, "%s", why);
    l->w = l->mat.w = w;
    l->bias = bias_in(b, op->ninputs > 2 ? op->inputs[2] : -1, (size_t)oc);
    if ((!l->w && !l->mat.q8.codes) || !l->bias)
        return -1;
    const struct nn_window *g = &l->g;
    int pointwise = kh == 1 && kw == 1 && g->sh == 1 && g->sw == 1;
    l->kind = pointwise ? NN_LAYER_CONV1X1 : NN_LAYER_CONV;
    l->scratch_floats = pointwise ? 0 : nn_conv_im2col_scratch(g);
    l->flops = 2.0 * g->oh * g->ow * (double)k * oc;
    return clamp_of(b, op->activation, l);
}

/* DEPTHWISE_CONV_2D: weights [1,KH,KW,C] are already [KH*KW, C]. */
static int build_depthwise(struct builder *b, const struct tfl_op *op, struct nn_layer *l)
{
    if (op->ninputs < 2 || activation_in(b, op->inputs[0], 4) < 0 || activation_out(b, op->outputs[0], 4) < 0)
        return op->ninputs < 2 ? fail(b, "needs input and weights") : -1;
    const struct tfl_tensor *wt = op->inputs[1] >= 0 ? &b->t->tensors[op->inputs[1]] : NULL;
    if (!wt || wt->ndim != 4 || wt->shape[0] != 1)
        return fail(b, "weights must be a [1,KH,KW,C] tensor");
    int c = b->t->tensors[op->inputs[0]].shape[3];
    if (wt->shape[3] != c || op->depth_multiplier != 1)
        return fail(b, "only depth multiplier 1 is supported (weights have %d channels, input %d)", wt->shape[3], c);
    if (window_of(b, op, wt->shape[1], wt->shape[2], c, &l->g) < 0)
        return -1;
    l->kind = NN_LAYER_DEPTHWISE;
    l->w = constant_in(b, op->inputs[1], nn_tensor_elements(wt), "weights");
    l->bias = l->w ? bias_in(b, op->ninputs > 2 ? op->inputs[2] : -1, (size_t)c) : NULL;
    if (!l->w || !l->bias)
        return -1;
    l->flops = 2.0 * l->g.oh * l->g.ow * (double)c * l->g.kh * l->g.kw;
    return clamp_of(b, op->activation, l);
}

static int build_avgpool(struct builder *b, const struct tfl_op *op, struct nn_layer *l)
{
    if (activation_in(b, op->inputs[0], 4) < 0 || activation_out(b, op->outputs[0], 4) < 0)
        return -1;
    struct tfl_op plain = *op;
    plain.dilation_h = plain.dilation_w = 1;
    if (window_of(b, &plain, op->filter_h, op->filter_w, b->t->tensors[op->inputs[0]].shape[3], &l->g) < 0)
        return -1;
    l->kind = NN_LAYER_AVGPOOL;
    return clamp_of(b, op->activation, l);
}

/* MEAN over axes {1, 2} of an NHWC tensor: global average pooling. */
static int build_mean(struct builder *b, const struct tfl_op *op, struct nn_layer *l)
{
    if (op->ninputs != 2 || activation_in(b, op->inputs[0], 4) < 0 || activation_out(b, op->outputs[0], 0) < 0)
        return op->ninputs != 2 ? fail(b, "needs input and axes") : -1;
    const struct tfl_tensor *x = &b->t->tensors[op->inputs[0]];
    const struct tfl_tensor *axes = op->inputs[1] >= 0 ? &b->t->tensors[op->inputs[1]] : NULL;
    int mask = 0;
    if (axes && axes->data && axes->type == TFL_INT32)
        for (size_t i = 0; i < axes->data_len / 4; i++) {
            int32_t a = (int32_t)fb_load_u32(axes->data + 4 * i);
            mask |= a >= 0 && a < 4 ? 1 << a : 16;
        }
    if (mask != 6)
        return fail(b, "only a mean over axes 1 and 2 (height, width) is supported");
    l->kind = NN_LAYER_MEAN;
    l->g = (struct nn_window){ .h = x->shape[1], .w = x->shape[2], .c = x->shape[3] };
    if (b->m->act_size[op->outputs[0]] != (size_t)x->shape[3])
        return fail(b, "output has %zu values, expected %d", b->m->act_size[op->outputs[0]], x->shape[3]);
    return 0;
}

/* FULLY_CONNECTED: weights [N, K], applied to the input flattened to K values. */
static int build_fc(struct builder *b, const struct tfl_op *op, struct nn_layer *l)
{
    if (op->ninputs < 2 || activation_in(b, op->inputs[0], 0) < 0 || activation_out(b, op->outputs[0], 0) < 0)
        return op->ninputs < 2 ? fail(b, "needs input and weights") : -1;
    const struct tfl_tensor *wt = op->inputs[1] >= 0 ? &b->t->tensors[op->inputs[1]] : NULL;
    size_t in = b->m->act_size[op->inputs[0]];
    if (!wt || wt->ndim != 2 || (size_t)wt->shape[1] != in || b->m->act_size[op->outputs[0]] != (size_t)wt->shape[0])
        return fail(b, "weights must be [outputs, inputs] matching the %zu inputs", in);
    l->kind = NN_LAYER_FC;
    l->k = wt->shape[1];
    l->n = (size_t)wt->shape[0];
    l->w = constant_in(b, op->inputs[1], nn_tensor_elements(wt), "weights");
    l->bias = l->w ? bias_in(b, op->ninputs > 2 ? op->inputs[2] : -1, l->n) : NULL;
    if (!l->w || !l->bias)
        return -1;
    l->flops = 2.0 * (double)l->n * l->k;
    return clamp_of(b, op->activation, l);
}

/* ADD of two activations of the same size (no broadcasting), or the element-count preserving copies. */
static int build_elementwise(struct builder *b, const struct tfl_op *op, struct nn_layer *l)
{
    int two = op->opcode == TFL_OP_ADD;
    if (op->ninputs < (two ? 2 : 1))
        return fail(b, "has %d inputs", op->ninputs);
    if (activation_in(b, op->inputs[0], 0) < 0 || (two && activation_in(b, op->inputs[1], 0) < 0) ||
        activation_out(b, op->outputs[0], 0) < 0)
        return -1;
    l->n = b->m->act_size[op->outputs[0]];
    if (b->m->act_size[op->inputs[0]] != l->n || (two && b->m->act_size[op->inputs[1]] != l->n))
        return fail(b, "input and output sizes differ (broadcasting is not supported)");
    if (two) {
        l->kind = NN_LAYER_ADD;
        l->in2 = op->inputs[1];
        return clamp_of(b, op->activation, l);
    }
    l->kind = op->opcode == TFL_OP_SOFTMAX ? NN_LAYER_SOFTMAX : NN_LAYER_COPY;
    l->beta = op->beta;
    if (l->kind == NN_LAYER_SOFTMAX && !(isfinite(op->beta) && op->beta > 0))
        return fail(b, "softmax beta %g", (double)op->beta);
    return 0;
}

static int build_layer(struct builder *b, const struct tfl_op *op, struct nn_layer *l)
{
    /* every layer's kernels run on the model's path */
    *l = (struct nn_layer){ .op = b->op, .in = op->inputs[0], .in2 = -1, .out = op->outputs[0], .mat.isa = b->m->isa };
    if (op->ninputs < 1 || op->noutputs != 1)
        return fail(b, "has %d inputs and %d outputs, expected at least 1 and exactly 1", op->ninputs, op->noutputs);
    switch (op->opcode) {
    case TFL_OP_CONV_2D: return build_conv(b, op, l);
    case TFL_OP_DEPTHWISE_CONV_2D: return build_depthwise(b, op, l);
    case TFL_OP_AVERAGE_POOL_2D: return build_avgpool(b, op, l);
    case TFL_OP_MEAN: return build_mean(b, op, l);
    case TFL_OP_FULLY_CONNECTED: return build_fc(b, op, l);
    default: return build_elementwise(b, op, l);
    }
}

/* Room for every constant an operator reads (counted per use, with the padding of GEMM panels) plus a
 * zero bias per output channel. */
static size_t weights_needed(const struct tfl_model *t)
{
    size_t n = 0;
    for (int i = 0; i < t->nops; i++) {
        const struct tfl_op *op = &t->ops[i];
        for (int j = 0; j < op->ninputs; j++)
            if (op->inputs[j] >= 0 && t->tensors[op->inputs[j]].data) {
                const struct tfl_tensor *c = &t->tensors[op->inputs[j]];
                size_t rows = c->ndim > 0 ? (size_t)c->shape[0] : 1; /* shapes are checked >= 1 */
                n += nn_tensor_elements(c) + (NN_GEMM_NR - 1) * (nn_tensor_elements(c) / rows);
            }
        const struct tfl_tensor *y = &t->tensors[op->outputs[0]];
        n += op->noutputs > 0 && y->ndim > 0 ? (size_t)y->shape[y->ndim - 1] : 1;
    }
    return n;
}

static int check_io(struct builder *b)
{
    const struct tfl_model *t = b->t;
    if (t->ninputs != 1 || t->noutputs != 1)
        return fail(b, "the graph has %d inputs and %d outputs, expected 1 and 1", t->ninputs, t->noutputs);
    const struct tfl_tensor *x = &t->tensors[t->inputs[0]];
    if (x->data || x->ndim != 4 || x->shape[0] != 1 || x->shape[1] != NN_INPUT_SIZE || x->shape[2] != NN_INPUT_SIZE ||
        x->shape[3] != 3)
        return fail(b, "input '%s' must be [1,%d,%d,3]", x->name, NN_INPUT_SIZE, NN_INPUT_SIZE);
    b->m->input = t->inputs[0];
    b->m->output = t->outputs[0];
    b->writer[b->m->input] = GRAPH_INPUT;
    b->m->act_size[b->m->input] = nn_tensor_elements(x);
    return 0;
}

int nn_build(const struct tfl_model *t, struct nn_model *m, char *err, size_t errlen)
{
    struct builder b = { .t = t, .m = m, .err = err, .errlen = errlen, .op = -1 };
    m->ntensors = t->ntensors;
    b.writer = malloc((size_t)t->ntensors * sizeof *b.writer);
    m->act_size = calloc((size_t)t->ntensors, sizeof *m->act_size);
    m->layers = calloc((size_t)t->nops, sizeof *m->layers);
    m->weights_cap = weights_needed(t);
    m->weights = arena_alloc_huge(m->weights_cap * sizeof *m->weights);
    int rc = -1;
    if (!b.writer || !m->act_size || !m->layers || !m->weights) {
        fail(&b, "out of memory building the graph");
        goto out;
    }
    for (int i = 0; i < t->ntensors; i++)
        b.writer[i] = NOT_WRITTEN;
    if (check_io(&b) < 0)
        goto out;
    for (b.op = 0; b.op < t->nops; b.op++) {
        if (build_layer(&b, &t->ops[b.op], &m->layers[m->nlayers]) < 0)
            goto out;
        m->nlayers++;
    }
    b.op = -1;
    if (b.writer[m->output] == NOT_WRITTEN || b.writer[m->output] == GRAPH_INPUT) {
        fail(&b, "no operator writes the graph output '%s'", t->tensors[m->output].name);
        goto out;
    }
    m->nclasses = (int)m->act_size[m->output];
    nn_fuse(m);
    rc = 0;
out:
    free(b.writer);
    return rc;
}
