/* depthwise: per-channel 2-D convolution on NHWC data, bias and activation fused into the store.
 * Channels are innermost: each tap is a vector-wide multiply-add over a channel block, kept in a register
 * across all taps.  The body (depthwise_rows.h) is compiled at 16 floats for AVX-512, at 8 for AVX2 and
 * at the baseline target's register width for generic (simd.h).  At 16 on AVX2, the 3x3 path's nine
 * weight vectors and four accumulators would take 26 of its 16 ymm registers and spill (measured: 4-10
 * GFLOP/s); at 8 they take 13.  Generic at 4 floats on SSE2 runs 22-26 GFLOP/s (it was 6-9 at 8 floats,
 * which SSE2 lowers through memory). */
#include "nn/kernels/kernels.h"
#include "nn/kernels/simd.h"

static inline int min_int(int a, int b) { return a < b ? a : b; }

#define DW_VL 16
#include "nn/kernels/depthwise_rows.h"
#undef DW_VL
#define DW_VL 8
#include "nn/kernels/depthwise_rows.h"
#undef DW_VL
#if NN_GENERIC_VL != 8
#define DW_VL NN_GENERIC_VL
#include "nn/kernels/depthwise_rows.h"
#undef DW_VL
#endif

#if defined(__x86_64__)
NN_TARGET_AVX512 static void depthwise_avx512(const float *in, const struct nn_window *g, const float *w,
                                              const float *bias, float lo, float hi, float *out, int oy0, int oy1)
{
    depthwise_rows_16(in, g, w, bias, lo, hi, out, oy0, oy1);
}

NN_TARGET_AVX2 static void depthwise_avx2(const float *in, const struct nn_window *g, const float *w,
                                          const float *bias, float lo, float hi, float *out, int oy0, int oy1)
{
    depthwise_rows_8(in, g, w, bias, lo, hi, out, oy0, oy1);
}
#endif

static void depthwise_generic(const float *in, const struct nn_window *g, const float *w, const float *bias,
                              float lo, float hi, float *out, int oy0, int oy1)
{
    NN_CAT(depthwise_rows_, NN_GENERIC_VL)(in, g, w, bias, lo, hi, out, oy0, oy1);
}

/* out[OH,OW,C] = clamp(bias[C] + sum over taps in[iy,ix,C] * w[ky,kx,C]) */
void nn_depthwise(enum nn_isa isa, const float *in, const struct nn_window *g, const float *w, const float *bias,
                  float lo, float hi, float *out, int oy0, int oy1)
{
    if (isa == NN_ISA_OPENBLAS) /* no GEMM here: the CPU's own best */
        isa = nn_isa_best();
#if defined(__x86_64__)
    if (isa == NN_ISA_AVX512) {
        depthwise_avx512(in, g, w, bias, lo, hi, out, oy0, oy1);
        return;
    }
    if (isa == NN_ISA_AVX2) {
        depthwise_avx2(in, g, w, bias, lo, hi, out, oy0, oy1);
        return;
    }
#endif
    depthwise_generic(in, g, w, bias, lo, hi, out, oy0, oy1);
}
