/* depthwise: per-channel 2-D convolution on NHWC data, bias and activation fused into the store.
 * Channels are the innermost loop, so each tap is a contiguous multiply-add GCC vectorizes. */
#include "nn/kernels.h"

/* out[OH,OW,C] = clamp(bias[C] + sum over taps in[iy,ix,C] * w[ky,kx,C]) */
void nn_depthwise(const float *restrict in, const struct nn_window *g, const float *restrict w,
                  const float *restrict bias, float lo, float hi, float *restrict out)
{
    int c = g->c;
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++) {
            float *restrict o = out + ((size_t)oy * g->ow + ox) * c;
            for (int ch = 0; ch < c; ch++)
                o[ch] = bias[ch];
            for (int ky = 0; ky < g->kh; ky++) {
                int iy = oy * g->sh - g->pad_top + ky * g->dh;
                if (iy < 0 || iy >= g->h)
                    continue;
                for (int kx = 0; kx < g->kw; kx++) {
                    int ix = ox * g->sw - g->pad_left + kx * g->dw;
                    if (ix < 0 || ix >= g->w)
                        continue;
                    const float *restrict ip = in + ((size_t)iy * g->w + ix) * c;
                    const float *restrict wp = w + ((size_t)ky * g->kw + kx) * c;
                    for (int ch = 0; ch < c; ch++)
                        o[ch] += ip[ch] * wp[ch];
                }
            }
            for (int ch = 0; ch < c; ch++) {
                float v = o[ch] < lo ? lo : o[ch];
                o[ch] = v > hi ? hi : v;
            }
        }
}
