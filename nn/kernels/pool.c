/* pool: average pooling and the spatial mean (global average pooling) on NHWC data. */
#include "nn/kernels/kernels.h"
#include "nn/kernels/simd.h"

/* out[OH,OW,C] = clamp(mean of in over the window's taps that fall inside the input) */
NN_CLONES
void nn_avgpool(const float *restrict in, const struct nn_window *g, float lo, float hi, float *restrict out)
{
    int c = g->c;
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++) {
            float *restrict o = out + ((size_t)oy * g->ow + ox) * c;
            int taps = 0;
            for (int ch = 0; ch < c; ch++)
                o[ch] = 0.0f;
            for (int ky = 0; ky < g->kh; ky++) {
                int iy = oy * g->sh - g->pad_top + ky;
                for (int kx = 0; kx < g->kw; kx++) {
                    int ix = ox * g->sw - g->pad_left + kx;
                    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                        continue;
                    const float *restrict ip = in + ((size_t)iy * g->w + ix) * c;
                    for (int ch = 0; ch < c; ch++)
                        o[ch] += ip[ch];
                    taps++;
                }
            }
            float inv = taps ? 1.0f / (float)taps : 0.0f;
            for (int ch = 0; ch < c; ch++) {
                float v = o[ch] * inv;
                v = v < lo ? lo : v;
                o[ch] = v > hi ? hi : v;
            }
        }
}

/* out[C] = sum in[P, C] / P */
NN_CLONES
void nn_mean_hw(const float *restrict in, int pixels, int c, float *restrict out)
{
    for (int ch = 0; ch < c; ch++)
        out[ch] = 0.0f;
    for (int p = 0; p < pixels; p++)
        for (int ch = 0; ch < c; ch++)
            out[ch] += in[(size_t)p * c + ch];
    float inv = 1.0f / (float)pixels;
    for (int ch = 0; ch < c; ch++)
        out[ch] *= inv;
}
