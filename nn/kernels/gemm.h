/* gemm: C[M,N] = clamp(A[M,K] · B[K,N] + bias[N]) with the engine's own micro-kernels, B packed once at load.
 *
 * MobileNet's 1x1 convolutions are exactly this product on NHWC activations (A = pixels x channels).
 * The kernels broadcast A straight from the activation buffer (no copy), keep a tile of C in registers
 * across all of K, and apply bias, residual and the activation clamp as they store the tile.  One packed
 * layout serves every path: AVX-512 (gemm_avx512.c, 12x32 tiles), AVX2 and generic (gemm_vec.c, vector
 * extensions).  NN_ISA_OPENBLAS layers never come here: they call cblas_sgemm on plain weights. */
#ifndef NN_GEMM_H
#define NN_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "nn/kernels/isa.h"

#define NN_GEMM_NR 32   /* columns per packed panel */
#define NN_GEMM_MR 12   /* rows per register tile, at most (threads share GEMMs in multiples of it) */

/* Floats of the packed form of a K x N matrix: ceil(N/32) panels of K rows of 32 (zero padded). */
size_t nn_gemm_packed_size(int k, int n);
/* Packs w[K][N] (row-major) into packed. */
void nn_gemm_pack(const float *w, int k, int n, float *packed);

/* Rows [row0, row1) of C[M,N] = clamp(A[M,K] · B + bias + R), A, C and the residual R row-major with
 * leading dims K, N and N.  residual may be NULL (nothing added): it is how a residual ADD is fused. */
void nn_gemm_rows(enum nn_isa isa, const float *a, int k, const float *packed, int n, const float *bias, const float *residual,
                  float lo, float hi, float *c, int row0, int row1);

/* Where A is read from: element (r, s*seg_len + i), i < seg_len, is a[r*lda + s*seg_stride + i], so
 * K = nseg * seg_len.  A row-major A is one segment (lda = seg_len = K); a KxK convolution reads its
 * receptive fields straight from the NHWC input as one segment per kernel row (lda = stride * C,
 * seg_stride = W * C, seg_len = KW * C), with no im2col copy. */
struct nn_gemm_a {
    const float *a;
    long lda, seg_stride;
    int nseg, seg_len;
};

/* nn_gemm_rows with A given as a view; rows r of A and C are relative to a->a and c.  isa is one of the
 * engine's own paths (not NN_ISA_OPENBLAS) and one this CPU runs. */
void nn_gemm_rows_view(enum nn_isa isa, const struct nn_gemm_a *a, const float *packed, int n, const float *bias,
                       const float *residual, float lo, float hi, float *c, int row0, int row1);

/* The paths' row-block kernels behind nn_gemm_rows_view.  One driver (gemm.c) walks B in column strips
 * that stay in L2 and A in row blocks of equal height at most mr; a block function computes `rows` rows of
 * C (row 0 at a and c) against the panels of columns [col0, col1), fusing bias, residual and clamp.  Each
 * path has one per kind of A: plain (one segment, lda = seg_len = K) and view (several segments). */
typedef void nn_gemm_block_fn(int rows, const struct nn_gemm_a *av, const float *a, const float *packed, int n,
                              int col0, int col1, const float *bias, const float *res, float lo, float hi,
                              float *c);
struct nn_gemm_kernel {
    int mr; /* rows per block, at most NN_GEMM_MR */
    nn_gemm_block_fn *plain, *view;
};
extern const struct nn_gemm_kernel nn_gemm_avx512; /* gemm_avx512.c */
extern const struct nn_gemm_kernel nn_gemm_avx2, nn_gemm_generic; /* gemm_vec.c */

#endif
