/* simd: 16- and 8-float vectors (GCC vector extensions), the target attributes of the engine's paths, and
 * the target_clones attribute that compiles a small kernel for AVX-512, AVX2+FMA and baseline x86-64, picked
 * at load time by the CPU's features (safe on any x86-64).  Elsewhere (other architectures, clang) the
 * attributes are empty and the vectors lower to what the target has (NEON on aarch64). */
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

typedef float nn_v16 __attribute__((vector_size(64)));
typedef int nn_v16i __attribute__((vector_size(64)));
typedef float nn_v8 __attribute__((vector_size(32)));
typedef int nn_v8i __attribute__((vector_size(32)));
typedef signed char nn_v8c __attribute__((vector_size(8)));

/* Unaligned loads and stores (memcpy compiles to one vector move). */
NN_INLINE nn_v16 nn_load16(const float *p)
{
    nn_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define NN_STORE16(p, v)                                                                             \
    do {                                                                                             \
        nn_v16 store_ = (v);                                                                         \
        memcpy((p), &store_, sizeof store_);                                                         \
    } while (0)

/* scalar + vector broadcasts the scalar: GCC emits one vbroadcastss, where a {x, x, ...} initializer
 * became a chain of inserts. */
NN_INLINE nn_v16 nn_splat16(float x)
{
    return x + (nn_v16){ 0 };
}

NN_INLINE nn_v8 nn_load8(const float *p)
{
    nn_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define NN_STORE8(p, v)                                                                              \
    do {                                                                                             \
        nn_v8 store_ = (v);                                                                          \
        memcpy((p), &store_, sizeof store_);                                                         \
    } while (0)

NN_INLINE nn_v8 nn_splat8(float x)
{
    return x + (nn_v8){ 0 };
}

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

#endif
