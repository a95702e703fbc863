/* gemm_avx512: the AVX-512 GEMM micro-kernel with fused bias, residual and clamp.  See gemm.h. */
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
                                                               const float *bias, const float *res, __m512 lo,
                                                               __m512 hi, float *c, int n, __mmask16 m0,
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
AVX512 static inline __attribute__((always_inline)) void row_block(const int S, int R, const struct nn_gemm_a *av, const float *a, const float *packed, int n,
                             int col0, int col1, const float *bias, const float *res, __m512 lo, __m512 hi, float *c)
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
AVX512 __attribute__((noinline)) static void row_block_plain(int R, const struct nn_gemm_a *av, const float *a,
                                                             const float *packed, int n, int col0, int col1,
                                                             const float *bias, const float *res, __m512 lo,
                                                             __m512 hi, float *c)
{
    row_block(0, R, av, a, packed, n, col0, col1, bias, res, lo, hi, c);
}

AVX512 __attribute__((noinline)) static void row_block_view(int R, const struct nn_gemm_a *av, const float *a,
                                                            const float *packed, int n, int col0, int col1,
                                                            const float *bias, const float *res, __m512 lo,
                                                            __m512 hi, float *c)
{
    row_block(1, R, av, a, packed, n, col0, col1, bias, res, lo, hi, c);
}

/* Column strips of B sized to stay in L2 while every row block passes over them: the whole of B for the
 * early layers (many rows, small B), a few panels for the late ones (few rows, B over a megabyte). */
#define STRIP_BYTES (256 * 1024)

AVX512 void nn_gemm_avx512(const struct nn_gemm_a *a, const float *packed, int n, const float *bias,
                              const float *residual, float lo, float hi, float *c, int row0, int row1)
{
    int k = a->nseg * a->seg_len;
    __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    size_t panel_bytes = (size_t)k * NN_GEMM_NR * sizeof(float);
    int strip = (int)(STRIP_BYTES / panel_bytes) * NN_GEMM_NR;
    strip = strip < NN_GEMM_NR ? NN_GEMM_NR : strip;
    for (int col0 = 0; col0 < n; col0 += strip) {
        int col1 = n - col0 < strip ? n : col0 + strip;
        /* Row blocks of equal height (49 rows: 10+10+10+10+9, not 12+12+12+12+1, whose 1-row tile would
         * wait on FMA latency). */
        int rows = row1 - row0, blocks = (rows + NN_GEMM_MR - 1) / NN_GEMM_MR;
        for (int i = 0, r = row0; i < blocks; i++) {
            int R = (rows * (i + 1)) / blocks - (rows * i) / blocks;
            const float *ar = a->a + r * a->lda, *rr = residual ? residual + (size_t)r * n : NULL;
            if (a->nseg == 1 && a->seg_len == a->lda)
                row_block_plain(R, a, ar, packed, n, col0, col1, bias, rr, vlo, vhi, c + (size_t)r * n);
            else
                row_block_view(R, a, ar, packed, n, col0, col1, bias, rr, vlo, vhi, c + (size_t)r * n);
            r += R;
        }
    }
}

#endif
