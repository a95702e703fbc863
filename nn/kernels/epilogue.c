/* epilogue: bias, residual and clamp applied to GEMM rows after a product that could not fuse them
 * (OpenBLAS's sgemm and sgemv). */
#include "nn/kernels/kernels.h"
#include "nn/kernels/simd.h"

/* rows[P, N] = clamp(rows + bias[N] + res[P, N]): runs right after the GEMM, while the rows are in cache. */
NN_CLONES
void nn_bias_clamp(float *restrict rows, int p, int n, const float *restrict bias, const float *restrict res,
                   float lo, float hi)
{
    for (int i = 0; i < p; i++) {
        float *restrict r = rows + (size_t)i * n;
        const float *restrict add = res ? res + (size_t)i * n : NULL;
        if (add) /* separate plain loops vectorize; (r + bias) + add rounds like an unfused ADD */
            for (int j = 0; j < n; j++)
                r[j] = r[j] + bias[j] + add[j];
        else
            for (int j = 0; j < n; j++)
                r[j] += bias[j];
        for (int j = 0; j < n; j++) {
            float v = r[j] < lo ? lo : r[j];
            r[j] = v > hi ? hi : v;
        }
    }
}
