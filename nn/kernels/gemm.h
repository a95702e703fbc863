/* gemm: C[M,N] = clamp(A[M,K] · B[K,N] + bias[N]) with an AVX-512 micro-kernel, B packed once at load.
 *
 * MobileNet's 1x1 convolutions are exactly this product on NHWC activations (A = pixels x channels).
 * The kernel broadcasts A straight from the activation buffer (no copy), keeps a 12x32 tile of C in
 * registers across all of K, and applies bias and the activation clamp as it stores the tile.
 * It runs only where the CPU has AVX-512 (nn_gemm_available); elsewhere callers use OpenBLAS. */
#ifndef NN_GEMM_H
#define NN_GEMM_H

#include <stddef.h>
#include <stdint.h>

#define NN_GEMM_NR 32   /* columns per packed panel */
#define NN_GEMM_MR 12   /* rows per register tile */

/* 1 when this CPU runs the AVX-512 kernel, else 0 (also 0 when IMGREC_NN_GEMM=openblas is set). */
int nn_gemm_available(void);

/* Floats of the packed form of a K x N matrix: ceil(N/32) panels of K rows of 32 (zero padded). */
size_t nn_gemm_packed_size(int k, int n);
/* Packs w[K][N] (row-major) into packed. */
void nn_gemm_pack(const float *w, int k, int n, float *packed);

/* Rows [row0, row1) of C[M,N] = clamp(A[M,K] · B + bias + R), A, C and the residual R row-major with
 * leading dims K, N and N.  residual may be NULL (nothing added): it is how a residual ADD is fused. */
void nn_gemm_rows(const float *a, int k, const float *packed, int n, const float *bias, const float *residual,
                  float lo, float hi, float *c, int row0, int row1);

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
/* out[N] = clamp(x[K] · W + bias + res) for a single row, W from its codes (AVX-512 CPUs only, like
 * nn_gemm_rows); res may be NULL.  The weights are exactly the float path's (see gemv.c). */
void nn_gemv_q8(const float *x, int k, const struct nn_q8 *q, int n, const float *bias, const float *res,
                float lo, float hi, float *out);

/* Where A is read from: element (r, s*seg_len + i), i < seg_len, is a[r*lda + s*seg_stride + i], so
 * K = nseg * seg_len.  A row-major A is one segment (lda = seg_len = K); a KxK convolution reads its
 * receptive fields straight from the NHWC input as one segment per kernel row (lda = stride * C,
 * seg_stride = W * C, seg_len = KW * C), with no im2col copy. */
struct nn_gemm_a {
    const float *a;
    long lda, seg_stride;
    int nseg, seg_len;
};

/* nn_gemm_rows with A given as a view; rows r of A and C are relative to a->a and c. */
void nn_gemm_rows_view(const struct nn_gemm_a *a, const float *packed, int n, const float *bias,
                       const float *residual, float lo, float hi, float *c, int row0, int row1);

#endif
