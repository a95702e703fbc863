/* add: the elementwise ADD layer (the residual ADDs that nn/graph/fuse.c could not fold into a GEMM). */
#include "nn/kernels/kernels.h"
#include "nn/kernels/simd.h"

/* out[N] = clamp(a[N] + b[N]) (out is a separate arena tensor: the planner never aliases inputs and outputs) */
NN_CLONES
void nn_add(const float *restrict a, const float *restrict b, size_t n, float lo, float hi, float *restrict out)
{
    for (size_t i = 0; i < n; i++) {
        float v = a[i] + b[i];
        v = v < lo ? lo : v;
        out[i] = v > hi ? hi : v;
    }
}
