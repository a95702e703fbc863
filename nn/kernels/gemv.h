/* gemv: the one-pixel 1x1 convolution (the classifier, 1280 -> 1001) straight from the file's 8-bit
 * weight codes, a quarter of the float weights' memory traffic.  See gemv.c for why it is exact. */
#ifndef NN_GEMV_H
#define NN_GEMV_H

#include <stddef.h>
#include <stdint.h>

#include "nn/kernels/isa.h"

/* A weight matrix kept as 8-bit codes for nn_gemv_q8: w[kk][col] = scale[col] * (code - zero[col]). */
#define NN_GEMV_NB 64   /* columns per packed panel of codes */
struct nn_q8 {
    const int8_t *codes;       /* ceil(N/64) panels of K rows of 64 codes (nn_gemv_q8_pack) */
    const float *scale, *zero; /* per column, padded with zeros to whole panels */
};

/* Bytes of the packed codes of a K x N matrix. */
size_t nn_gemv_q8_bytes(int k, int n);
/* Packs codes[N][K] (one row of K per output column, the file's order) into packed. */
void nn_gemv_q8_pack(const int8_t *codes, int k, int n, int8_t *packed);
/* out[N] = clamp(x[K] · W + bias + res) for a single row, W from its codes, on one of the engine's own
 * paths (as nn_gemm_rows_view); res may be NULL.  The weights are exactly the float path's (see gemv.c). */
void nn_gemv_q8(enum nn_isa isa, const float *x, int k, const struct nn_q8 *q, int n, const float *bias, const float *res,
                float lo, float hi, float *out);

#endif
