/* gemm: packing, the choice of kernel by path, and the vector-extension micro-kernel that serves the AVX2
 * and generic paths.  See gemm.h.
 *
 * The vector kernel works on half a packed panel (16 columns = two 8-float vectors) and R rows, so a
 * tile holds 2R accumulators.  Measured on the Zen 4 VM (AVX2 path, the network's 1x1 layers, make bench):
 * R = 6 (12 ymm accumulators + 2 weight vectors + 1 broadcast = 15 of 16 registers) ran fastest; R = 4
 * left FMA latency exposed, R = 7 and 8 spilled accumulators inside the K loop.  The generic path (SSE2 on
 * x86-64: 16 xmm registers, so an 8-float vector costs two) uses R = 4; on aarch64 NEON (32 q registers)
 * the same R fits without spills. */
#include "nn/kernels/gemm.h"
#include "nn/kernels/simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t nn_gemm_packed_size(int k, int n)
{
    return (size_t)(n + NN_GEMM_NR - 1) / NN_GEMM_NR * NN_GEMM_NR * (size_t)k;
}

/* packed[p][kk][j] = w[kk][p*32 + j], zero beyond column N. */
void nn_gemm_pack(const float *w, int k, int n, float *packed)
{
    int panels = (n + NN_GEMM_NR - 1) / NN_GEMM_NR;
    for (int p = 0; p < panels; p++)
        for (int kk = 0; kk < k; kk++) {
            float *dst = packed + ((size_t)p * k + kk) * NN_GEMM_NR;
            for (int j = 0; j < NN_GEMM_NR; j++) {
                int col = p * NN_GEMM_NR + j;
                dst[j] = col < n ? w[(size_t)kk * n + col] : 0.0f;
            }
        }
}

void nn_gemm_rows_view(enum nn_isa isa, const struct nn_gemm_a *a, const float *packed, int n, const float *bias,
                       const float *residual, float lo, float hi, float *c, int row0, int row1)
{
    switch (isa) {
#if defined(__x86_64__)
    case NN_ISA_AVX512:
        nn_gemm_avx512(a, packed, n, bias, residual, lo, hi, c, row0, row1);
        return;
    case NN_ISA_AVX2:
        nn_gemm_avx2(a, packed, n, bias, residual, lo, hi, c, row0, row1);
        return;
#endif
    case NN_ISA_GENERIC:
        nn_gemm_generic(a, packed, n, bias, residual, lo, hi, c, row0, row1);
        return;
    default: /* a caller bug: the path was chosen at load from what this build and CPU run */
        fprintf(stderr, "nn_gemm: no %s kernel in this build\n", nn_isa_name(isa));
        abort();
    }
}

void nn_gemm_rows(enum nn_isa isa, const float *a, int k, const float *packed, int n, const float *bias,
                  const float *residual, float lo, float hi, float *c, int row0, int row1)
{
    struct nn_gemm_a view = { .a = a, .lda = k, .seg_stride = 0, .nseg = 1, .seg_len = k };
    nn_gemm_rows_view(isa, &view, packed, n, bias, residual, lo, hi, c, row0, row1);
}

/* One tile: R rows x `cols` (1..16) columns of C from half a packed panel bp (rows of NN_GEMM_NR floats).
 * R and S are constants at every call (S = 0: A is one segment; 1: a view of several), so the loops unroll
 * and the accumulators stay in registers.  A partial half goes through small buffers: the packed panel is
 * zero padded, but bias, residual and C end at column N. */
NN_INLINE void tile_vec(const int R, const int S, const struct nn_gemm_a *av, const float *a, const float *bp,
                        const float *bias, const float *res, long n, int cols, float lo, float hi, float *c)
{
    float pad[16] = { 0 };
    const float *bsrc = bias;
    if (cols < 16) {
        memcpy(pad, bias, (size_t)cols * sizeof *pad);
        bsrc = pad;
    }
    nn_v8 acc0[NN_GEMM_MR], acc1[NN_GEMM_MR], b0 = nn_load8(bsrc), b1 = nn_load8(bsrc + 8);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
        acc0[r] = b0, acc1[r] = b1;
    long lda = av->lda;
    int nseg = S ? av->nseg : 1, seg_len = S ? av->seg_len : (int)lda;
    for (int s = 0; s < nseg; s++, a += av->seg_stride)
        for (int kk = 0; kk < seg_len; kk++, bp += NN_GEMM_NR) {
            nn_v8 w0 = nn_load8(bp), w1 = nn_load8(bp + 8);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                float x = a[r * lda + kk]; /* scalar * vector: one broadcast from memory */
                acc0[r] += x * w0;
                acc1[r] += x * w1;
            }
        }
    nn_v8 vlo = nn_splat8(lo), vhi = nn_splat8(hi);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        float *cr = c + r * n, out[16];
        const float *rr = res ? res + r * n : NULL;
        if (rr && cols == 16)
            acc0[r] += nn_load8(rr), acc1[r] += nn_load8(rr + 8);
        else if (rr) {
            float rp[16] = { 0 };
            memcpy(rp, rr, (size_t)cols * sizeof *rp);
            acc0[r] += nn_load8(rp), acc1[r] += nn_load8(rp + 8);
        }
        float *dst = cols == 16 ? cr : out;
        NN_STORE8(dst, NN_CLAMP8(acc0[r], vlo, vhi));
        NN_STORE8(dst + 8, NN_CLAMP8(acc1[r], vlo, vhi));
        if (cols < 16)
            memcpy(cr, out, (size_t)cols * sizeof *out);
    }
}

/* A row block of R <= MR rows against the panels of columns [col0, col1), half a panel at a time. */
NN_INLINE void row_block_vec(const int MR, const int S, int R, const struct nn_gemm_a *av, const float *a,
                             const float *packed, int n, int col0, int col1, const float *bias, const float *res,
                             float lo, float hi, float *c)
{
    size_t k = (size_t)av->nseg * av->seg_len;
    packed += (size_t)col0 * k;
    for (int col = col0; col < col1; col += NN_GEMM_NR, packed += k * NN_GEMM_NR)
        for (int half = 0; half < 2; half++) {
            int c0 = col + 16 * half, cols = n - c0 < 16 ? n - c0 : 16;
            if (cols <= 0)
                break;
            const float *rc = res ? res + c0 : NULL;
            switch (R) { /* R <= MR: the cases above MR are dead code for this MR */
#define TILE(r)                                                                                              \
    case r:                                                                                                  \
        if (r <= MR)                                                                                         \
            tile_vec(r, S, av, a, packed + 16 * half, bias + c0, rc, n, cols, lo, hi, c + c0);              \
        break;
                TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
#undef TILE
            }
        }
}

/* Column strips of B sized to stay in L2 while every row block passes over them (as in gemm_avx512.c). */
#define STRIP_BYTES (256 * 1024)

/* The whole product for MR-row tiles; S as for tile_vec. */
NN_INLINE void gemm_vec(const int MR, const int S, const struct nn_gemm_a *a, const float *packed, int n,
                        const float *bias, const float *residual, float lo, float hi, float *c, int row0, int row1)
{
    int k = a->nseg * a->seg_len;
    size_t panel_bytes = (size_t)k * NN_GEMM_NR * sizeof(float);
    int strip = (int)(STRIP_BYTES / panel_bytes) * NN_GEMM_NR;
    strip = strip < NN_GEMM_NR ? NN_GEMM_NR : strip;
    for (int col0 = 0; col0 < n; col0 += strip) {
        int col1 = n - col0 < strip ? n : col0 + strip;
        /* Row blocks of equal height, so no block is a lone row waiting on FMA latency. */
        int rows = row1 - row0, blocks = (rows + MR - 1) / MR;
        for (int i = 0, r = row0; i < blocks; i++) {
            int R = (rows * (i + 1)) / blocks - (rows * i) / blocks;
            const float *rr = residual ? residual + (size_t)r * n : NULL;
            row_block_vec(MR, S, R, a, a->a + r * a->lda, packed, n, col0, col1, bias, rr, lo, hi,
                          c + (size_t)r * n);
            r += R;
        }
    }
}

/* One compiled kernel per path and kind of A (each keeps its tiles' registers to itself). */
#define GEMM_VARIANT(name, attr, MR)                                                                          \
    attr __attribute__((noinline)) static void name##_plain(const struct nn_gemm_a *a, const float *packed,   \
                                                            int n, const float *bias, const float *res,       \
                                                            float lo, float hi, float *c, int r0, int r1)     \
    {                                                                                                         \
        gemm_vec(MR, 0, a, packed, n, bias, res, lo, hi, c, r0, r1);                                          \
    }                                                                                                         \
    attr __attribute__((noinline)) static void name##_view(const struct nn_gemm_a *a, const float *packed,    \
                                                           int n, const float *bias, const float *res,        \
                                                           float lo, float hi, float *c, int r0, int r1)      \
    {                                                                                                         \
        gemm_vec(MR, 1, a, packed, n, bias, res, lo, hi, c, r0, r1);                                          \
    }                                                                                                         \
    void name(const struct nn_gemm_a *a, const float *packed, int n, const float *bias, const float *res,     \
              float lo, float hi, float *c, int r0, int r1)                                                   \
    {                                                                                                         \
        if (a->nseg == 1 && a->seg_len == a->lda)                                                             \
            name##_plain(a, packed, n, bias, res, lo, hi, c, r0, r1);                                         \
        else                                                                                                  \
            name##_view(a, packed, n, bias, res, lo, hi, c, r0, r1);                                          \
    }

#if defined(__x86_64__)
GEMM_VARIANT(nn_gemm_avx2, NN_TARGET_AVX2, 6)
#endif
GEMM_VARIANT(nn_gemm_generic, , 4)
