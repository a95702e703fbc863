/* depthwise: per-channel 2-D convolution on NHWC data, bias and activation fused into the store.
 * Channels are innermost: each tap is a 16-wide multiply-add over a channel block, kept in a register
 * across all taps; the kernel is compiled for AVX-512, AVX2 and baseline and picked at run time. */
#include "nn/kernels.h"
#include "nn/simd.h"

static inline int max_int(int a, int b) { return a > b ? a : b; }
static inline int min_int(int a, int b) { return a < b ? a : b; }

/* One output pixel, all channels: taps [ky0,ky1) x [kx0,kx1) of the window starting at in (which may
 * point outside the image; only in-range taps are read). */
NN_INLINE void pixel(const float *in, int row_stride, const struct nn_window *g, int ky0, int ky1, int kx0,
                         int kx1, const float *w, const float *bias, float lo, float hi, float *out)
{
    int c = g->c, ch = 0;
    nn_v16 vlo = nn_splat16(lo), vhi = nn_splat16(hi);
    for (; ch + 16 <= c; ch += 16) {
        nn_v16 acc = nn_load16(bias + ch);
        for (int ky = ky0; ky < ky1; ky++) {
            const float *ip = in + (long)ky * g->dh * row_stride + ch;
            const float *wp = w + (long)ky * g->kw * c + ch;
            for (int kx = kx0; kx < kx1; kx++)
                acc += nn_load16(ip + (long)kx * g->dw * c) * nn_load16(wp + (long)kx * c);
        }
        NN_STORE16(out + ch, NN_CLAMP16(acc, vlo, vhi));
    }
    for (; ch < c; ch++) { /* channels beyond the last full block */
        float acc = bias[ch];
        for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++)
                acc += in[(long)ky * g->dh * row_stride + (long)kx * g->dw * c + ch] * w[((long)ky * g->kw + kx) * c + ch];
        out[ch] = acc < lo ? lo : acc > hi ? hi : acc;
    }
}

/* The common case, 3x3 with every tap inside the image: `count` output pixels along a row, the window of
 * the first starting at in.  Channel blocks outermost so the 9 weight vectors stay in registers. */
NN_INLINE void interior_3x3(const float *in, int row_stride, int c, int sw, int count, const float *w,
                            const float *bias, float lo, float hi, float *out)
{
    nn_v16 vlo = nn_splat16(lo), vhi = nn_splat16(hi);
    for (int ch = 0; ch < c; ch += 16) {
        nn_v16 w0 = nn_load16(w + ch), w1 = nn_load16(w + c + ch), w2 = nn_load16(w + 2 * c + ch);
        nn_v16 w3 = nn_load16(w + 3 * c + ch), w4 = nn_load16(w + 4 * c + ch), w5 = nn_load16(w + 5 * c + ch);
        nn_v16 w6 = nn_load16(w + 6 * c + ch), w7 = nn_load16(w + 7 * c + ch), w8 = nn_load16(w + 8 * c + ch);
        nn_v16 b = nn_load16(bias + ch);
        const float *r0 = in + ch, *r1 = r0 + row_stride, *r2 = r1 + row_stride;
        float *o = out + ch;
        for (int i = 0; i < count; i++, r0 += sw * c, r1 += sw * c, r2 += sw * c, o += c) {
            nn_v16 acc = b + nn_load16(r0) * w0 + nn_load16(r0 + c) * w1 + nn_load16(r0 + 2 * c) * w2;
            acc += nn_load16(r1) * w3 + nn_load16(r1 + c) * w4 + nn_load16(r1 + 2 * c) * w5;
            acc += nn_load16(r2) * w6 + nn_load16(r2 + c) * w7 + nn_load16(r2 + 2 * c) * w8;
            NN_STORE16(o, NN_CLAMP16(acc, vlo, vhi));
        }
    }
}

/* out[OH,OW,C] = clamp(bias[C] + sum over taps in[iy,ix,C] * w[ky,kx,C]) */
NN_CLONES
void nn_depthwise(const float *in, const struct nn_window *g, const float *w, const float *bias, float lo, float hi,
                  float *out, int oy0, int oy1)
{
    int row_stride = g->w * g->c;
    /* Output columns [ox_lo, ox_hi) whose 3x3 window lies inside the image, for the fast path. */
    int fast = g->kh == 3 && g->kw == 3 && g->dh == 1 && g->dw == 1 && g->c % 16 == 0;
    int ox_lo = (g->pad_left + g->sw - 1) / g->sw, ox_hi = min_int(g->ow, (g->w - 3 + g->pad_left) / g->sw + 1);
    for (int oy = oy0; oy < oy1; oy++) {
        int iy = oy * g->sh - g->pad_top;
        /* taps ky with 0 <= iy + ky*dh < h */
        int ky0 = iy < 0 ? (-iy + g->dh - 1) / g->dh : 0;
        int ky1 = min_int(g->kh, g->h - iy <= 0 ? 0 : (g->h - iy + g->dh - 1) / g->dh);
        int row_fast = fast && iy >= 0 && iy + 3 <= g->h && ox_lo < ox_hi;
        if (row_fast) {
            float *orow = out + (long)oy * g->ow * g->c;
            interior_3x3(in + (long)iy * row_stride + (long)(ox_lo * g->sw - g->pad_left) * g->c, row_stride, g->c,
                         g->sw, ox_hi - ox_lo, w, bias, lo, hi, orow + (long)ox_lo * g->c);
        }
        for (int ox = 0; ox < g->ow; ox++) {
            if (row_fast && ox >= ox_lo && ox < ox_hi)
                continue; /* done by the fast path */
            int ix = ox * g->sw - g->pad_left;
            int kx0 = ix < 0 ? (-ix + g->dw - 1) / g->dw : 0;
            int kx1 = min_int(g->kw, g->w - ix <= 0 ? 0 : (g->w - ix + g->dw - 1) / g->dw);
            pixel(in + (long)iy * row_stride + (long)ix * g->c, row_stride, g, max_int(ky0, 0), ky1, kx0, kx1, w,
                  bias, lo, hi, out + ((long)oy * g->ow + ox) * g->c);
        }
    }
}
