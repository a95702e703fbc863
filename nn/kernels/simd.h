/* simd: 16-, 8- and 4-float vectors (GCC vector extensions), the target attributes of the engine's paths,
 * and the target_clones attribute that compiles a small kernel for AVX-512, AVX2+FMA and baseline x86-64,
 * picked at load time by the CPU's features (safe on any x86-64).  Elsewhere (other architectures, clang)
 * the attributes are empty.
 *
 * NN_GENERIC_VL is the generic path's width: the baseline target's own register (4 floats: SSE2 on x86-64,
 * NEON on aarch64; 8 when the whole build targets AVX).  A vector wider than the target's registers is
 * lowered by GCC piece by piece through memory: the generic path's 8-float GEMM ran at 2 GFLOP/s on
 * SSE2 (321 ms a pass), and its tests did not finish in 10 minutes under qemu-aarch64. */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#include <string.h>

#if defined(__x86_64__) && !defined(__clang__) /* clang 14 emits no resolver for these (fuzz builds) */
#define NN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NN_CLONES
#endif

/* A function compiled for one of the engine's paths (nn/kernels/isa.h); callers choose by nn_isa. */
#if defined(__x86_64__)
#define NN_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define NN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

/* The helpers below are always inlined into the cloned kernels, so the vectors never cross a call:
 * GCC's note that passing them would change the ABI does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
#define NN_INLINE static inline __attribute__((always_inline))

/* nn_v<VL> (floats), nn_v<VL>i (ints, the comparison masks) and nn_v<VL>c (8-bit codes); nn_load<VL>
 * is an unaligned load (memcpy compiles to one vector move); nn_splat<VL> broadcasts (scalar + vector:
 * GCC emits one vbroadcastss, where a {x, x, ...} initializer became a chain of inserts). */
#define NN_VECTORS(VL)                                                                               \
    typedef float nn_v##VL __attribute__((vector_size(4 * VL)));                                     \
    typedef int nn_v##VL##i __attribute__((vector_size(4 * VL)));                                    \
    typedef signed char nn_v##VL##c __attribute__((vector_size(VL)));                                \
    NN_INLINE nn_v##VL nn_load##VL(const float *p)                                                   \
    {                                                                                                \
        nn_v##VL v;                                                                                  \
        memcpy(&v, p, sizeof v);                                                                     \
        return v;                                                                                    \
    }                                                                                                \
    NN_INLINE nn_v##VL nn_splat##VL(float x)                                                         \
    {                                                                                                \
        return x + (nn_v##VL){ 0 };                                                                  \
    }
NN_VECTORS(16)
NN_VECTORS(8)
NN_VECTORS(4)

#if defined(__AVX__)
#define NN_GENERIC_VL 8
#else
#define NN_GENERIC_VL 4
#endif

/* Unaligned store of any of the vectors. */
#define NN_STOREV(p, v)                                                                              \
    do {                                                                                             \
        __typeof__(v) store_ = (v);                                                                  \
        memcpy((p), &store_, sizeof store_);                                                         \
    } while (0)
#define NN_STORE16 NN_STOREV
#define NN_STORE8 NN_STOREV
#define NN_STORE4 NN_STOREV

/* min(max(v, lo), hi) lane by lane (C has no vector ?:, so select through the comparison masks).
 * Stores and this are macros, not functions: a 64-byte vector parameter draws an ABI note from GCC. */
#define NN_CLAMPV(V, VI, v, lo, hi)                                                                  \
    ({                                                                                               \
        VI below_ = (v) < (lo), above_ = (v) > (hi);                                                 \
        VI r_ = ((VI)(v) & ~below_) | ((VI)(lo) & below_);                                           \
        (V)((r_ & ~above_) | ((VI)(hi) & above_));                                                   \
    })
#define NN_CLAMP16(v, lo, hi) NN_CLAMPV(nn_v16, nn_v16i, v, lo, hi)
#define NN_CLAMP8(v, lo, hi) NN_CLAMPV(nn_v8, nn_v8i, v, lo, hi)
#define NN_CLAMP4(v, lo, hi) NN_CLAMPV(nn_v4, nn_v4i, v, lo, hi)

/* The names above by width: NN_VEC(8) is nn_v8, NN_LOAD(VL) nn_load<VL>, ... (for the kernels' templates,
 * which are included once per width). */
#define NN_CAT_(a, b) a##b
#define NN_CAT(a, b) NN_CAT_(a, b)
#define NN_VEC(VL) NN_CAT(nn_v, VL)
#define NN_VECI(VL) NN_CAT(NN_VEC(VL), i)
#define NN_VECC(VL) NN_CAT(NN_VEC(VL), c)
#define NN_LOAD(VL) NN_CAT(nn_load, VL)
#define NN_STORE(VL) NN_CAT(NN_STORE, VL)
#define NN_SPLAT(VL) NN_CAT(nn_splat, VL)
#define NN_CLAMP(VL) NN_CAT(NN_CLAMP, VL)

#endif
