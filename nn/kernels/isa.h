/* isa: which instruction set the engine's own kernels use, chosen once when a model is loaded.
 *
 *   avx512    the AVX-512 GEMM and classifier micro-kernels, 16-wide depthwise (x86-64 with AVX-512F)
 *   avx2      the vector-extension kernels compiled for AVX2+FMA, 8-wide (x86-64-v3)
 *   generic   the same vector-extension kernels at the baseline target's register width (4 floats: SSE2
 *             on x86-64, NEON on aarch64)
 *   openblas  every GEMM through cblas_sgemm (the design's reference path); the other kernels as auto
 *
 * IMGREC_NN_ISA=auto (or unset) takes the best the CPU runs; naming one the CPU lacks is an error at load,
 * never an illegal instruction later. */
#ifndef NN_ISA_H
#define NN_ISA_H

#include <stddef.h>

enum nn_isa { NN_ISA_GENERIC, NN_ISA_AVX2, NN_ISA_AVX512, NN_ISA_OPENBLAS, NN_ISA_COUNT };

const char *nn_isa_name(enum nn_isa isa);
/* 1 when this CPU can run isa's kernels. */
int nn_isa_supported(enum nn_isa isa);
/* The best of the engine's own kernels this CPU runs (never NN_ISA_OPENBLAS). */
enum nn_isa nn_isa_best(void);
/* The path IMGREC_NN_ISA asks for (auto when unset or empty).  Returns 0, or -1 with err naming the value
 * and what this CPU offers when it is unknown or unsupported here. */
int nn_isa_from_env(enum nn_isa *out, char *err, size_t errlen);

#endif
