/* gemv: the one-pixel 1x1 convolution (the classifier: 1280 inputs, 1001 outputs) from 8-bit weight
 * codes.  See gemv.h.
 *
 * Its 5 MB of float weights are read once per image and have left the caches by then: the layer ran at
 * the speed of memory (~0.15 ms).  The file's 8-bit codes are a quarter of that.  Each weight is rebuilt
 * in the kernel as scale * (code - zero), the same single rounding as the load-time dequantization
 * (the integer difference is exact in float, and float(scale * d) is one correctly rounded product), so
 * the layer computes with exactly the weights the float path has. */
#include "nn/kernels/gemv.h"
#include "nn/kernels/simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t nn_gemv_q8_bytes(int k, int n)
{
    return (size_t)(n + NN_GEMV_NB - 1) / NN_GEMV_NB * NN_GEMV_NB * (size_t)k;
}

/* packed[p][kk][j] = codes[(p*64 + j) * K + kk] (codes are [N][K], the file's OHWI order), 0 beyond N:
 * column by column, so the file's rows are read in order. */
void nn_gemv_q8_pack(const int8_t *codes, int k, int n, int8_t *packed)
{
    int cols = (int)(nn_gemv_q8_bytes(k, n) / (k ? (size_t)k : 1));
    for (int col = 0; col < cols; col++) {
        int8_t *dst = packed + (size_t)(col / NN_GEMV_NB) * k * NN_GEMV_NB + col % NN_GEMV_NB;
        for (int kk = 0; kk < k; kk++)
            dst[(size_t)kk * NN_GEMV_NB] = col < n ? codes[(size_t)col * k + kk] : 0;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 NN_TARGET_AVX512

/* Sixteen weights of row kk: scale * (code - zero), as floats. */
AVX512 static inline __attribute__((always_inline)) __m512 weights16(const int8_t *codes, __m512 scale, __m512 zero)
{
    __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)codes));
    return _mm512_mul_ps(scale, _mm512_sub_ps(_mm512_cvtepi32_ps(q), zero));
}

/* One panel of 64 columns (four vectors, `cols` of them real): bias, then every row of K, then the
 * residual and the clamp, stored under a mask. */
AVX512 static void panel(const float *x, int k, const int8_t *codes, const struct nn_q8 *q, int col, int cols,
                         const float *bias, const float *res, float lo, float hi, float *out)
{
    __mmask16 m[4];
    __m512 acc[4], scale[4], zero[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        int left = cols - 16 * v;
        m[v] = left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
        acc[v] = _mm512_maskz_loadu_ps(m[v], bias + col + 16 * v);
        scale[v] = _mm512_loadu_ps(q->scale + col + 16 * v); /* padded to whole panels at load */
        zero[v] = _mm512_loadu_ps(q->zero + col + 16 * v);
    }
    for (int kk = 0; kk < k; kk++, codes += NN_GEMV_NB) {
        __m512 xk = _mm512_set1_ps(x[kk]);
#pragma GCC unroll 4 /* the four accumulators must stay in registers */
        for (int v = 0; v < 4; v++)
            acc[v] = _mm512_fmadd_ps(xk, weights16(codes + 16 * v, scale[v], zero[v]), acc[v]);
    }
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        if (res)
            acc[v] = _mm512_add_ps(acc[v], _mm512_maskz_loadu_ps(m[v], res + col + 16 * v));
        __m512 y = _mm512_min_ps(_mm512_max_ps(acc[v], _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
        _mm512_mask_storeu_ps(out + col + 16 * v, m[v], y);
    }
}

AVX512 static void gemv_avx512(const float *x, int k, const struct nn_q8 *q, int n, const float *bias, const float *res,
                       float lo, float hi, float *out)
{
    const int8_t *codes = q->codes;
    for (int col = 0; col < n; col += NN_GEMV_NB, codes += (size_t)k * NN_GEMV_NB)
        panel(x, k, codes, q, col, n - col, bias, res, lo, hi, out);
}

#endif

/* One panel of 64 columns (`cols` of them real) in vector extensions of VL floats: the AVX2 (VL 8) and
 * generic (NN_GENERIC_VL) paths, eight vectors of accumulators per pass over K (one pass at 8 floats, two
 * at 4: sixteen 4-float accumulators would take every SSE2 register).  The weights are rebuilt exactly as
 * in the AVX-512 panel: scale * (code - zero). */
#define PANEL_VEC(VL)                                                                                        \
    NN_INLINE void NN_CAT(panel_vec, VL)(const float *x, int k, const int8_t *codes, const struct nn_q8 *q,   \
                                         int col, int cols, const float *bias, const float *res, float lo,   \
                                         float hi, float *out)                                               \
    {                                                                                                        \
        float b[NN_GEMV_NB] = { 0 }, r[NN_GEMV_NB] = { 0 }, y[NN_GEMV_NB];                                   \
        int real = cols < NN_GEMV_NB ? cols : NN_GEMV_NB;                                                    \
        memcpy(b, bias + col, (size_t)real * sizeof *b);                                                     \
        if (res)                                                                                             \
            memcpy(r, res + col, (size_t)real * sizeof *r);                                                  \
        NN_VEC(VL) vlo = NN_SPLAT(VL)(lo), vhi = NN_SPLAT(VL)(hi);                                           \
        for (int pass = 0; pass < NN_GEMV_NB; pass += 8 * VL) {                                              \
            NN_VEC(VL) acc[8];                                                                               \
            const int8_t *cp = codes + pass;                                                                 \
            _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++) acc[v] = NN_LOAD(VL)(b + pass + VL * v);    \
            for (int kk = 0; kk < k; kk++, cp += NN_GEMV_NB) {                                               \
                NN_VEC(VL) xk = NN_SPLAT(VL)(x[kk]);                                                         \
                _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++)                                          \
                {                                                                                            \
                    NN_VECC(VL) c8;                                                                          \
                    memcpy(&c8, cp + VL * v, sizeof c8);                                                     \
                    const float *zs = q->zero + col + pass + VL * v, *ss = q->scale + col + pass + VL * v;   \
                    NN_VEC(VL) d = __builtin_convertvector(__builtin_convertvector(c8, NN_VECI(VL)),         \
                                                           NN_VEC(VL)) - NN_LOAD(VL)(zs);                    \
                    acc[v] += xk * (NN_LOAD(VL)(ss) * d);                                                    \
                }                                                                                            \
            }                                                                                                \
            _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++)                                              \
                NN_STORE(VL)(y + pass + VL * v, NN_CLAMP(VL)(acc[v] + NN_LOAD(VL)(r + pass + VL * v), vlo, vhi)); \
        }                                                                                                    \
        memcpy(out + col, y, (size_t)real * sizeof *y);                                                      \
    }
#if defined(__x86_64__) || NN_GENERIC_VL == 8
PANEL_VEC(8)
#endif
#if NN_GENERIC_VL != 8
PANEL_VEC(NN_GENERIC_VL)
#endif

#define GEMV_VARIANT(name, attr, VL)                                                                         \
    attr static void name(const float *x, int k, const struct nn_q8 *q, int n, const float *bias,            \
                          const float *res, float lo, float hi, float *out)                                  \
    {                                                                                                        \
        const int8_t *codes = q->codes;                                                                      \
        for (int col = 0; col < n; col += NN_GEMV_NB, codes += (size_t)k * NN_GEMV_NB)                      \
            NN_CAT(panel_vec, VL)(x, k, codes, q, col, n - col, bias, res, lo, hi, out);                     \
    }

#if defined(__x86_64__)
GEMV_VARIANT(gemv_avx2, NN_TARGET_AVX2, 8)
#endif
GEMV_VARIANT(gemv_generic, , NN_GENERIC_VL)
void nn_gemv_q8(enum nn_isa isa, const float *x, int k, const struct nn_q8 *q, int n, const float *bias,
                const float *res, float lo, float hi, float *out)
{
    switch (isa) {
#if defined(__x86_64__)
    case NN_ISA_AVX512:
        gemv_avx512(x, k, q, n, bias, res, lo, hi, out);
        return;
    case NN_ISA_AVX2:
        gemv_avx2(x, k, q, n, bias, res, lo, hi, out);
        return;
#endif
    case NN_ISA_GENERIC:
        gemv_generic(x, k, q, n, bias, res, lo, hi, out);
        return;
    default: /* a caller bug: the path was chosen at load from what this build and CPU run */
        fprintf(stderr, "nn_gemv_q8: no %s kernel in this build\n", nn_isa_name(isa));
        abort();
    }
}
