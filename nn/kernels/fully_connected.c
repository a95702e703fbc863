/* fully_connected: the FULLY_CONNECTED layer, one sgemv plus the epilogue. */
#include "nn/kernels/kernels.h"

#include <cblas.h>

/* out[N] = clamp(w[N,K] · in[K] + bias[N]) */
void nn_fully_connected(const float *in, int k, const float *w, const float *bias, int n,
                        float lo, float hi, float *out)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w, k, in, 1, 0.0f, out, 1);
    nn_bias_clamp(out, 1, n, bias, NULL, lo, hi);
}
