/* softmax: the classifier's last layer. */
#include "nn/kernels/kernels.h"

#include <math.h>

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
