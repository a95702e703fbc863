/* gemm_avx512: the AVX-512 GEMM row-block kernel (12 rows x 32 columns per tile) with fused bias, residual
 * and clamp, behind gemm.c's driver.  See gemm.h. */
#include "nn/kernels/gemm.h"
#include "nn/kernels/simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 NN_TARGET_AVX512

/* One tile: R rows x 16*V columns of C (V = 1 or 2 vectors), accumulated over all K in V*R zmm registers.
 * R, V and S are constants at every call, so the loops unroll and the accumulators stay in registers; V = 1
 * serves the last panel when at most 16 of its columns are real (N = 16, or 1001 = 31*32 + 9).  S = 0:
 * A is one segment, read with one plain loop over K (a segment loop around it costs the 1x1 layers 15%);
 * S = 1: A is a view of several segments. */
AVX512 static inline __attribute__((always_inline)) void tile(const int R, const int V, const int S,
                                                               const struct nn_gemm_a *av, const float *a,
                                                               const float *bp,
                                                               const float *bias, const float *res, float flo,
                                                               float fhi, float *c, int n, __mmask16 m0,
                                                               __mmask16 m1)
{
    __m512 acc0[NN_GEMM_MR], acc1[NN_GEMM_MR];
    __m512 b0 = _mm512_maskz_loadu_ps(m0, bias), b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
        acc0[r] = b0, acc1[r] = b1;
    long lda = av->lda;
    int nseg = S ? av->nseg : 1, seg_len = S ? av->seg_len : (int)lda;
    for (int s = 0; s < nseg; s++, a += av->seg_stride)
        for (int kk = 0; kk < seg_len; kk++, bp += NN_GEMM_NR) {
            __m512 w0 = _mm512_loadu_ps(bp), w1 = V == 2 ? _mm512_loadu_ps(bp + 16) : w0;
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                __m512 x = _mm512_set1_ps(a[r * lda + kk]);
                acc0[r] = _mm512_fmadd_ps(x, w0, acc0[r]);
                if (V == 2)
                    acc1[r] = _mm512_fmadd_ps(x, w1, acc1[r]);
            }
        }
    if (res) {
#pragma GCC unroll 12
        for (int r = 0; r < R; r++) {
            acc0[r] = _mm512_add_ps(acc0[r], _mm512_maskz_loadu_ps(m0, res + (size_t)r * n));
            if (V == 2)
                acc1[r] = _mm512_add_ps(acc1[r], _mm512_maskz_loadu_ps(m1, res + (size_t)r * n + 16));
        }
    }
    __m512 lo = _mm512_set1_ps(flo), hi = _mm512_set1_ps(fhi); /* broadcast here: live across K they spill w1 */
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(c + (size_t)r * n, m0, _mm512_min_ps(_mm512_max_ps(acc0[r], lo), hi));
        if (V == 2)
            _mm512_mask_storeu_ps(c + (size_t)r * n + 16, m1, _mm512_min_ps(_mm512_max_ps(acc1[r], lo), hi));
    }
}

static __mmask16 lanes(int count)
{
    return count >= 16 ? (__mmask16)0xffff : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

/* A row block of R rows against the panels of columns [col0, col1): the block of A stays in L1 while
 * the panels stream from L2. */
AVX512 static inline __attribute__((always_inline)) void row_block(const int S, int R, const struct nn_gemm_a *av,
                                                                    const float *a, const float *packed, int n,
                                                                    int col0, int col1, const float *bias,
                                                                    const float *res, float lo, float hi,
                                                                    float *c)
{
    size_t k = (size_t)av->nseg * av->seg_len;
    packed += (size_t)col0 * k;
    for (int col = col0; col < col1; col += NN_GEMM_NR, packed += (size_t)k * NN_GEMM_NR) {
        __mmask16 m0 = lanes(n - col), m1 = lanes(n - col - 16);
        const float *rc = res ? res + col : NULL;
        if (m1) {
            switch (R) {
#define TILE(r) case r: tile(r, 2, S, av, a, packed, bias + col, rc, lo, hi, c + col, n, m0, m1); break;
                TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#undef TILE
            }
        } else {
            switch (R) {
#define TILE(r) case r: tile(r, 1, S, av, a, packed, bias + col, rc, lo, hi, c + col, n, m0, m1); break;
                TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#undef TILE
            }
        }
    }
}

/* One function per kind of A, so each keeps its tiles' registers to itself (one function holding both
 * spills accumulators inside the K loop). */
AVX512 __attribute__((noinline)) static void block_plain(int R, const struct nn_gemm_a *av, const float *a,
                                                         const float *packed, int n, int col0, int col1,
                                                         const float *bias, const float *res, float lo, float hi,
                                                         float *c)
{
    row_block(0, R, av, a, packed, n, col0, col1, bias, res, lo, hi, c);
}

AVX512 __attribute__((noinline)) static void block_view(int R, const struct nn_gemm_a *av, const float *a,
                                                        const float *packed, int n, int col0, int col1,
                                                        const float *bias, const float *res, float lo, float hi,
                                                        float *c)
{
    row_block(1, R, av, a, packed, n, col0, col1, bias, res, lo, hi, c);
}

const struct nn_gemm_kernel nn_gemm_avx512 = { .mr = NN_GEMM_MR, .plain = block_plain, .view = block_view };

#endif
