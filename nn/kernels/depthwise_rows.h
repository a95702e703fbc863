/* depthwise_rows: the depthwise kernel's body for one vector width, included by depthwise.c once per
 * width it needs (16 floats for AVX-512, 8 for AVX2, NN_GENERIC_VL for generic) so every path runs the
 * same code at its own width.  The includer defines DW_VL; the names it defines end in _<DW_VL>. */
#define DW_V NN_VEC(DW_VL)
#define DW_LOAD NN_LOAD(DW_VL)
#define DW_STORE NN_STORE(DW_VL)
#define DW_SPLAT NN_SPLAT(DW_VL)
#define DW_CLAMP NN_CLAMP(DW_VL)
#define DW_FN(name) NN_CAT(name##_, DW_VL)

/* One output pixel, all channels: taps [ky0,ky1) x [kx0,kx1) of the window starting at in (which may
 * point outside the image; only in-range taps are read).  The general path: any kernel size, dilation
 * or channel count. */
NN_INLINE void DW_FN(pixel)(const float *in, int row_stride, const struct nn_window *g, int ky0, int ky1, int kx0,
                     int kx1, const float *w, const float *bias, float lo, float hi, float *out)
{
    int c = g->c, ch = 0;
    DW_V vlo = DW_SPLAT(lo), vhi = DW_SPLAT(hi);
    for (; ch + DW_VL <= c; ch += DW_VL) {
        DW_V acc = DW_LOAD(bias + ch);
        for (int ky = ky0; ky < ky1; ky++) {
            const float *ip = in + (long)ky * g->dh * row_stride + ch;
            const float *wp = w + (long)ky * g->kw * c + ch;
            for (int kx = kx0; kx < kx1; kx++)
                acc += DW_LOAD(ip + (long)kx * g->dw * c) * DW_LOAD(wp + (long)kx * c);
        }
        DW_STORE(out + ch, DW_CLAMP(acc, vlo, vhi));
    }
    for (; ch < c; ch++) { /* channels beyond the last full block */
        float acc = bias[ch];
        for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++)
                acc += in[(long)ky * g->dh * row_stride + (long)kx * g->dw * c + ch] * w[((long)ky * g->kw + kx) * c + ch];
        out[ch] = acc < lo ? lo : acc > hi ? hi : acc;
    }
}

/* One output row by the general path. */
NN_INLINE void DW_FN(general_row)(const float *in, const struct nn_window *g, int oy, const float *w, const float *bias,
                        float lo, float hi, float *out)
{
    int row_stride = g->w * g->c, iy = oy * g->sh - g->pad_top;
    /* taps ky with 0 <= iy + ky*dh < h */
    int ky0 = iy < 0 ? (-iy + g->dh - 1) / g->dh : 0;
    int ky1 = min_int(g->kh, g->h - iy <= 0 ? 0 : (g->h - iy + g->dh - 1) / g->dh);
    for (int ox = 0; ox < g->ow; ox++) {
        int ix = ox * g->sw - g->pad_left;
        int kx0 = ix < 0 ? (-ix + g->dw - 1) / g->dw : 0;
        int kx1 = min_int(g->kw, g->w - ix <= 0 ? 0 : (g->w - ix + g->dw - 1) / g->dw);
        DW_FN(pixel)(in + (long)iy * row_stride + (long)ix * g->c, row_stride, g, ky0, ky1, kx0, kx1, w, bias, lo, hi,
              out + (long)ox * g->c);
    }
}

/* The 3x3 taps of one output row for one DW_VL-channel block: three input row pointers and nine weight
 * vectors.  A tap row outside the image points at the middle row with zero weights (0 * x adds exactly
 * nothing), so the top and bottom rows run the same branch-free code as the others. */
struct DW_FN(taps3) {
    const float *r0, *r1, *r2;
    DW_V w0, w1, w2, w3, w4, w5, w6, w7, w8;
    DW_V bias, lo, hi;  /* here, not parameters: a 64-byte vector argument draws GCC's ABI note */
};

/* Column `off` (floats from the row pointers) of the three rows times one column of weights. */
#define TAPS_COL(t, off, k0, k1, k2)                                                                        \
    (DW_LOAD((t)->r0 + (off)) * (t)->k0 + DW_LOAD((t)->r1 + (off)) * (t)->k1 +                        \
     DW_LOAD((t)->r2 + (off)) * (t)->k2)

/* One output pixel whose window's columns start at offset a (a + c, a + 2c next); left / right say
 * whether the outer columns lie inside the image (constant 1 in the interior loop: straight code). */
NN_INLINE DW_V DW_FN(tap_pixel)(const struct DW_FN(taps3) *t, long a, long c, int left, int right)
{
    DW_V acc = t->bias;
    if (left)
        acc += TAPS_COL(t, a, w0, w3, w6);
    acc += TAPS_COL(t, a + c, w1, w4, w7);
    if (right)
        acc += TAPS_COL(t, a + 2 * c, w2, w5, w8);
    return acc;
}

/* Stride 1: four neighbouring output pixels share the loads of six input columns (18 loads for 36 taps). */
NN_INLINE void DW_FN(four_pixels)(const struct DW_FN(taps3) *t, long a, long c, float *o)
{
    DW_V s0 = t->bias, s1 = t->bias, s2 = t->bias, s3 = t->bias, vlo = t->lo, vhi = t->hi;
#define ROW4(r, k0, k1, k2)                                                                                 \
    do {                                                                                                    \
        DW_V x0 = DW_LOAD(r + a), x1 = DW_LOAD(r + a + c), x2 = DW_LOAD(r + a + 2 * c);           \
        DW_V x3 = DW_LOAD(r + a + 3 * c), x4 = DW_LOAD(r + a + 4 * c), x5 = DW_LOAD(r + a + 5 * c); \
        s0 += x0 * t->k0 + x1 * t->k1 + x2 * t->k2;                                                         \
        s1 += x1 * t->k0 + x2 * t->k1 + x3 * t->k2;                                                         \
        s2 += x2 * t->k0 + x3 * t->k1 + x4 * t->k2;                                                         \
        s3 += x3 * t->k0 + x4 * t->k1 + x5 * t->k2;                                                         \
    } while (0)
    ROW4(t->r0, w0, w1, w2);
    ROW4(t->r1, w3, w4, w5);
    ROW4(t->r2, w6, w7, w8);
#undef ROW4
    DW_STORE(o, DW_CLAMP(s0, vlo, vhi));
    DW_STORE(o + c, DW_CLAMP(s1, vlo, vhi));
    DW_STORE(o + 2 * c, DW_CLAMP(s2, vlo, vhi));
    DW_STORE(o + 3 * c, DW_CLAMP(s3, vlo, vhi));
}

/* Loads the block's nine weights, zeroing the rows of taps that fall outside the image. */
NN_INLINE void DW_FN(load_taps)(struct DW_FN(taps3) *t, const float *w, long c, const int inside[3])
{
    DW_V z = DW_SPLAT(0.0f);
    t->w0 = inside[0] ? DW_LOAD(w) : z, t->w1 = inside[0] ? DW_LOAD(w + c) : z;
    t->w2 = inside[0] ? DW_LOAD(w + 2 * c) : z;
    t->w3 = DW_LOAD(w + 3 * c), t->w4 = DW_LOAD(w + 4 * c), t->w5 = DW_LOAD(w + 5 * c);
    t->w6 = inside[2] ? DW_LOAD(w + 6 * c) : z, t->w7 = inside[2] ? DW_LOAD(w + 7 * c) : z;
    t->w8 = inside[2] ? DW_LOAD(w + 8 * c) : z;
}

/* One output row of a 3x3 dilation-1 layer with C a multiple of DW_VL whose every window has its middle
 * row and column inside the image (fast_3x3 checks).  Per channel block: the pixels whose window hangs
 * over the left edge, the interior (four at a time at stride 1), then those over the right edge. */
NN_INLINE void DW_FN(row_3x3)(const float *in, const struct nn_window *g, int oy, const float *w, const float *bias,
                       float lo, float hi, float *out)
{
    long c = g->c, rs = (long)g->w * c, step = (long)g->sw * c;
    int iy = oy * g->sh - g->pad_top, inside[3] = { iy >= 0, 1, iy + 2 < g->h };
    const float *mid = in + (iy + 1) * rs;
    int ox_lo = (g->pad_left + g->sw - 1) / g->sw;
    int ox_hi = g->w - 3 + g->pad_left < 0 ? 0 : min_int(g->ow, (g->w - 3 + g->pad_left) / g->sw + 1);
    ox_hi = ox_hi < ox_lo ? ox_lo : ox_hi;
    DW_V vlo = DW_SPLAT(lo), vhi = DW_SPLAT(hi);
    for (long ch = 0; ch < c; ch += DW_VL) {
        struct DW_FN(taps3) t = { .r0 = (inside[0] ? mid - rs : mid) + ch, .r1 = mid + ch,
                           .r2 = (inside[2] ? mid + rs : mid) + ch, .bias = DW_LOAD(bias + ch), .lo = vlo,
                           .hi = vhi };
        DW_FN(load_taps)(&t, w + ch, c, inside);
        float *o = out + ch;
        int ox = 0;
        for (; ox < ox_lo; ox++) { /* left edge: column ix = ox*sw - pad_left is outside */
            long a = (long)(ox * g->sw - g->pad_left) * c;
            DW_STORE(o + ox * c, DW_CLAMP(DW_FN(tap_pixel)(&t, a, c, 0, a + 2 * c < rs), vlo, vhi));
        }
        long a = (long)(ox * g->sw - g->pad_left) * c;
        if (g->sw == 1)
            for (; ox + 4 <= ox_hi; ox += 4, a += 4 * step)
                DW_FN(four_pixels)(&t, a, c, o + ox * c);
        for (; ox < ox_hi; ox++, a += step)
            DW_STORE(o + ox * c, DW_CLAMP(DW_FN(tap_pixel)(&t, a, c, 1, 1), vlo, vhi));
        for (; ox < g->ow; ox++, a += step) /* right edge: column ix + 2 is outside */
            DW_STORE(o + ox * c, DW_CLAMP(DW_FN(tap_pixel)(&t, a, c, a >= 0, 0), vlo, vhi));
    }
}

/* Whether row_3x3 serves the layer: 3x3, dilation 1, whole channel blocks, and the middle tap of every
 * window inside the image (true of TF SAME and VALID padding on any input of 2 pixels or more). */
NN_INLINE int DW_FN(fast_3x3)(const struct nn_window *g)
{
    return g->kh == 3 && g->kw == 3 && g->dh == 1 && g->dw == 1 && g->c % DW_VL == 0 && g->pad_top >= 0 &&
           g->pad_top <= 1 && g->pad_left >= 0 && g->pad_left <= 1 && (g->oh - 1) * g->sh - g->pad_top + 1 < g->h &&
           (g->ow - 1) * g->sw - g->pad_left + 1 < g->w;
}

/* Output rows [oy0, oy1) of the layer. */
NN_INLINE void DW_FN(depthwise_rows)(const float *in, const struct nn_window *g, const float *w, const float *bias,
                                   float lo, float hi, float *out, int oy0, int oy1)
{
    int fast = DW_FN(fast_3x3)(g);
    for (int oy = oy0; oy < oy1; oy++) {
        float *orow = out + (long)oy * g->ow * g->c;
        if (fast)
            DW_FN(row_3x3)(in, g, oy, w, bias, lo, hi, orow);
        else
            DW_FN(general_row)(in, g, oy, w, bias, lo, hi, orow);
    }
}

#undef TAPS_COL
#undef DW_V
#undef DW_LOAD
#undef DW_STORE
#undef DW_SPLAT
#undef DW_CLAMP
#undef DW_FN
