/* conv: convolutions as GEMMs on NHWC activations: nn/gemm (the engine's own paths, which fuse bias,
 * residual and clamp) or OpenBLAS sgemm followed by the epilogue (epilogue.c) on each row block. */
#include "nn/kernels/kernels.h"

#include "nn/kernels/gemm.h"
#include "nn/kernels/simd.h"

#include <cblas.h>
#include <string.h>

#define BLAS_ROWS 256   /* rows per OpenBLAS call: 256 x OC floats stay in L2 for the epilogue */

/* in[P, C] · w[C, OC] → out[P, OC]: a 1x1 conv on NHWC data is exactly this GEMM, no copy needed. */
void nn_conv1x1(const float *in, int c, const struct nn_matrix *w, const float *bias, const float *res, int oc,
                float lo, float hi, float *out, int row0, int row1)
{
    if (w->q8.codes) {
        for (int r = row0; r < row1; r++)
            nn_gemv_q8(w->isa, in + (size_t)r * c, c, &w->q8, oc, bias, res ? res + (size_t)r * oc : NULL, lo, hi,
                       out + (size_t)r * oc);
        return;
    }
    if (w->isa != NN_ISA_OPENBLAS) {
        nn_gemm_rows(w->isa, in, c, w->w, oc, bias, res, lo, hi, out, row0, row1);
        return;
    }
    /* Row blocks small enough that the epilogue finds them still in cache after their sgemm. */
    for (int r0 = row0; r0 < row1; r0 += BLAS_ROWS) {
        int r1 = r0 + BLAS_ROWS < row1 ? r0 + BLAS_ROWS : row1;
        float *rows = out + (size_t)r0 * oc;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, oc, c, 1.0f, in + (size_t)r0 * c, c, w->w,
                    oc, 0.0f, rows, oc);
        nn_bias_clamp(rows, r1 - r0, oc, bias, res ? res + (size_t)r0 * oc : NULL, lo, hi);
    }
}

#define IM2COL_CHUNK (4 * NN_GEMM_MR)   /* output pixels gathered per nn/gemm call */

size_t nn_conv_im2col_scratch(const struct nn_window *g)
{
    return (size_t)g->oh * g->ow * g->kh * g->kw * g->c;
}

/* scratch[OH*OW, KH*KW*C]: row p holds the receptive field of output pixel p, zeros where it hangs
 * over the padding; column order (ky, kx, c) matches the OHWI weights laid out as [KH*KW*C, OC]. */
static void im2col(const float *restrict in, const struct nn_window *g, float *restrict cols, int p0, int p1)
{
    int c = g->c, span = g->kw * c; /* one kernel row of the receptive field */
    for (int p = p0; p < p1; p++) {
        int oy = p / g->ow, ox = p % g->ow, ix0 = ox * g->sw - g->pad_left;
        for (int ky = 0; ky < g->kh; ky++, cols += span) {
            int iy = oy * g->sh - g->pad_top + ky * g->dh;
            if (iy >= 0 && iy < g->h && ix0 >= 0 && ix0 + g->kw <= g->w && g->dw == 1) {
                const float *src = in + ((long)iy * g->w + ix0) * c;
                if (span == 9) /* 3x3 over RGB, the first layer: a fixed-size copy the compiler unrolls */
                    memcpy(cols, src, 9 * sizeof *cols);
                else
                    for (int i = 0; i < span; i++) /* the whole row is inside and contiguous */
                        cols[i] = src[i];
                continue;
            }
            for (int kx = 0; kx < g->kw; kx++) {
                int ix = ix0 + kx * g->dw, inside = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
                for (int ch = 0; ch < c; ch++)
                    cols[kx * c + ch] = inside ? in[((long)iy * g->w + ix) * c + ch] : 0.0f;
            }
        }
    }
}

/* Pixels [p, q) through im2col then the GEMM (OpenBLAS repacks its operands on every call, so it gets
 * everything in one; nn/gemm a few tiles at a time, while the gathered rows are still in L1). */
static void conv_gathered(const float *in, const struct nn_window *g, const struct nn_matrix *w, const float *bias,
                          float lo, float hi, float *scratch, float *out, int p0, int p1)
{
    int k = g->kh * g->kw * g->c, chunk = w->isa != NN_ISA_OPENBLAS ? IM2COL_CHUNK : p1 - p0;
    for (int p = p0; p < p1; p += chunk) {
        int q = p + chunk < p1 ? p + chunk : p1;
        im2col(in, g, scratch + (size_t)p * k, p, q);
        nn_conv1x1(scratch, k, w, bias, NULL, g->oc, lo, hi, out, p, q);
    }
}

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Output row oy's columns [x0, x1) for nn/gemm with dilation 1: the columns whose window lies inside the
 * image read it straight from the input (a GEMM on a strided view, one segment per kernel row); those
 * over an edge go through im2col. */
static void conv_row_direct(const float *in, const struct nn_window *g, const struct nn_matrix *w, const float *bias,
                            float lo, float hi, float *scratch, float *out, int oy, int x0, int x1)
{
    int iy = oy * g->sh - g->pad_top, row = oy * g->ow;
    int in_lo = (g->pad_left + g->sw - 1) / g->sw;   /* first column whose window starts inside */
    int in_hi = g->w - g->kw + g->pad_left < 0 ? 0 : (g->w - g->kw + g->pad_left) / g->sw + 1;
    if (iy < 0 || iy + g->kh > g->h)
        in_hi = in_lo; /* a kernel row hangs over the top or bottom: every column is an edge */
    in_lo = clamp_int(in_lo, x0, x1);
    in_hi = clamp_int(in_hi, in_lo, x1);
    conv_gathered(in, g, w, bias, lo, hi, scratch, out, row + x0, row + in_lo);
    if (in_hi > in_lo) {
        struct nn_gemm_a view = { .a = in + ((long)iy * g->w + (long)in_lo * g->sw - g->pad_left) * g->c,
                                  .lda = (long)g->sw * g->c, .seg_stride = (long)g->w * g->c, .nseg = g->kh,
                                  .seg_len = g->kw * g->c };
        nn_gemm_rows_view(w->isa, &view, w->w, g->oc, bias, NULL, lo, hi, out + (size_t)(row + in_lo) * g->oc, 0,
                          in_hi - in_lo);
    }
    conv_gathered(in, g, w, bias, lo, hi, scratch, out, row + in_hi, row + x1);
}

void nn_conv_im2col(const float *in, const struct nn_window *g, const struct nn_matrix *w, const float *bias,
                    float lo, float hi, float *scratch, float *out, int p0, int p1)
{
    if (w->isa == NN_ISA_OPENBLAS || g->dh != 1 || g->dw != 1) {
        conv_gathered(in, g, w, bias, lo, hi, scratch, out, p0, p1);
        return;
    }
    for (int p = p0; p < p1;) {
        int oy = p / g->ow, end = (oy + 1) * g->ow < p1 ? (oy + 1) * g->ow : p1;
        conv_row_direct(in, g, w, bias, lo, hi, scratch, out, oy, p - oy * g->ow, end - oy * g->ow);
        p = end;
    }
}
