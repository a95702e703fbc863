/* kernels: the layers of the network, each one plain function over NHWC float32 tensors (batch 1).
 * Shapes are in the comments: H,W,C in; OH,OW,OC out.  [lo, hi] is the fused activation's clamp
 * (NONE: -inf..inf, RELU: 0..inf, RELU6: 0..6).  No kernel allocates; scratch comes from the caller. */
#ifndef NN_KERNELS_H
#define NN_KERNELS_H

#include "nn/kernels/gemm.h"
#include "nn/kernels/gemv.h"
#include "nn/kernels/isa.h"

#include <stddef.h>

/* Geometry of a 2-D window op (conv, depthwise, pooling): padding is what lies before row/col 0. */
struct nn_window {
    int h, w, c;            /* input  H, W, C */
    int oh, ow, oc;         /* output OH, OW, OC */
    int kh, kw;             /* kernel */
    int sh, sw;             /* stride */
    int dh, dw;             /* dilation */
    int pad_top, pad_left;
};

/* Weights of a GEMM-shaped layer, [K, N], for the model's path: packed panels for nn/gemm on the
 * engine's own paths, plain row-major for NN_ISA_OPENBLAS; or, for a one-pixel layer on the engine's own
 * paths, 8-bit codes (q8.codes not NULL, w unused). */
struct nn_matrix {
    const float *w;
    enum nn_isa isa;
    struct nn_q8 q8;
};

/* 1x1 convolution, stride 1: out[P,OC] = clamp(in[P,C] · w[C,OC] + bias[OC] + res[P,OC]), P = H*W
 * pixels; res (a fused residual ADD) may be NULL.  One GEMM straight on the activation buffer; rows
 * [row0, row1) only, so threads can share a layer. */
void nn_conv1x1(const float *in, int c, const struct nn_matrix *w, const float *bias, const float *res, int oc,
                float lo, float hi, float *out, int row0, int row1);

/* Any other convolution: im2col into scratch[OH*OW, KH*KW*C] then one GEMM with w[KH*KW*C, OC].
 * Output pixels [p0, p1) only. */
void nn_conv_im2col(const float *in, const struct nn_window *g, const struct nn_matrix *w, const float *bias,
                    float lo, float hi, float *scratch, float *out, int p0, int p1);
size_t nn_conv_im2col_scratch(const struct nn_window *g);   /* floats of scratch needed */

/* Depthwise convolution, multiplier 1: out[OH,OW,C] from in[H,W,C] and w[KH*KW, C]; output rows
 * [oy0, oy1) only. */
void nn_depthwise(enum nn_isa isa, const float *in, const struct nn_window *g, const float *w, const float *bias,
                  float lo, float hi, float *out, int oy0, int oy1);

/* Average pooling; the mean is over the taps inside the input (TF's rule for SAME padding). */
void nn_avgpool(const float *in, const struct nn_window *g, float lo, float hi, float *out);

/* Mean over H and W: out[C] = sum in[H*W, C] / (H*W). */
void nn_mean_hw(const float *in, int pixels, int c, float *out);

/* out[N] = clamp(w[N,K] · in[K] + bias[N]) (fully_connected.c). */
void nn_fully_connected(const float *in, int k, const float *w, const float *bias, int n,
                        float lo, float hi, float *out);

/* out[N] = clamp(a[N] + b[N]); out overlaps neither input (add.c). */
void nn_add(const float *a, const float *b, size_t n, float lo, float hi, float *out);

/* out[N] = softmax(beta * in[N]) (softmax.c). */
void nn_softmax(const float *in, int n, float beta, float *out);

/* rows[P, N] = clamp(rows + bias[N] + res[P, N]) in place (res may be NULL): the epilogue of a
 * GEMM that could not fuse them, OpenBLAS's (epilogue.c). */
void nn_bias_clamp(float *rows, int p, int n, const float *bias, const float *res, float lo, float hi);

#endif
