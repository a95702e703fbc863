/* dense: the small whole-vector layers at the head of a classifier (fully connected, add, softmax). */
#include "nn/kernels/kernels.h"
#include "nn/kernels/simd.h"

#include <cblas.h>
#include <math.h>

/* out[N] = clamp(w[N,K] · in[K] + bias[N]) */
void nn_fully_connected(const float *in, int k, const float *w, const float *bias, int n,
                        float lo, float hi, float *out)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w, k, in, 1, 0.0f, out, 1);
    nn_bias_clamp(out, 1, n, bias, NULL, lo, hi);
}

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

/* out[N] = exp(beta*(in - max)) / sum: shifting by the max keeps exp from overflowing. */
void nn_softmax(const float *in, int n, float beta, float *out)
{
    float mx = in[0];
    for (int i = 1; i < n; i++)
        mx = in[i] > mx ? in[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        out[i] = expf(beta * (in[i] - mx));
        sum += out[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++)
        out[i] *= inv;
}
