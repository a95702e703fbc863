/* gemm_vec: the vector-extension GEMM row-block kernels of the AVX2 and generic paths (gemm_tile.h, one
 * instantiation per path).  See gemm.h.
 *
 * Register tiles, measured on the Zen 4 VM with make bench (the network's 1x1 layers):
 *   avx2     8-float vectors, 2 per tile (16 columns), 6 rows: 12 ymm accumulators + 2 weight vectors +
 *            1 broadcast = 15 of 16 registers ran fastest; 4 rows left FMA latency exposed, 7 and 8
 *            spilled accumulators inside the K loop.
 *   generic  the baseline target's own vectors (NN_GENERIC_VL, simd.h).  SSE2 (16 xmm): 2 vectors per
 *            tile (8 columns), 6 rows, 15 registers again; 4x3, 2x4 and 4x2 (vectors x rows) came within
 *            5% of it (1x1 layers 14.8-16.5 ms a pass, 36 GFLOP/s, where 8-float vectors lowered through
 *            memory had taken 281 ms).  aarch64 NEON (32 q registers): 4 vectors (16 columns), 6 rows:
 *            24 accumulators + 4 weights + 1 broadcast (not measured: emulation only). */
#include "nn/kernels/gemm.h"
#include "nn/kernels/simd.h"

#include <string.h>

/* One kernel per path and kind of A (S as in gemm_tile.h): each noinline function keeps its tiles'
 * registers to itself (one function holding both kinds spills accumulators inside the K loop). */
#define BLOCK_FN(fname, attr, S)                                                                            \
    attr __attribute__((noinline)) static void fname(int rows, const struct nn_gemm_a *av, const float *a,  \
                                                     const float *packed, int n, int col0, int col1,        \
                                                     const float *bias, const float *res, float lo,         \
                                                     float hi, float *c)                                    \
    {                                                                                                       \
        GT_FN(row_block)(S, rows, av, a, packed, n, col0, col1, bias, res, lo, hi, c);                      \
    }
#define GEMM_KERNEL(name, attr, MR)                                                                         \
    BLOCK_FN(name##_plain, attr, 0)                                                                         \
    BLOCK_FN(name##_view, attr, 1)                                                                          \
    const struct nn_gemm_kernel name = { .mr = MR, .plain = name##_plain, .view = name##_view };

#if defined(__x86_64__)
#define GT_VL 8
#define GT_NV 2
#define GT_MR 6
#define GT_FN(name) name##_avx2
#include "nn/kernels/gemm_tile.h"
GEMM_KERNEL(nn_gemm_avx2, NN_TARGET_AVX2, GT_MR)
#undef GT_VL
#undef GT_NV
#undef GT_MR
#undef GT_FN
#endif

#define GT_VL NN_GENERIC_VL
#if NN_GENERIC_VL == 4 && defined(__aarch64__)
#define GT_NV 4
#else
#define GT_NV 2
#endif
#define GT_MR 6
#define GT_FN(name) name##_generic
#include "nn/kernels/gemm_tile.h"
GEMM_KERNEL(nn_gemm_generic, , GT_MR)
