/* gemm_tile: the vector-extension GEMM row-block kernel for one vector width, included by gemm_vec.c once
 * per path.  The includer defines GT_VL (floats per vector), GT_NV (vectors per tile: a tile is
 * GT_NV * GT_VL columns, a whole fraction of a 32-column packed panel), GT_MR (rows per tile, at most) and
 * GT_FN(name) (the path's name appended).  See gemm.h for the packed layout and gemm_vec.c for the
 * measurements behind each path's numbers. */
#define GT_V NN_VEC(GT_VL)
#define GT_LOAD NN_LOAD(GT_VL)
#define GT_STORE NN_STORE(GT_VL)
#define GT_CLAMP NN_CLAMP(GT_VL)
#define GT_TC (GT_NV * GT_VL) /* columns per tile */

/* One tile: R rows x `cols` (1..GT_TC) columns of C from a slice of a packed panel bp (rows of NN_GEMM_NR
 * floats).  R and S are constants at every call (S = 0: A is one segment; 1: a view of several), so the
 * loops unroll and the R * GT_NV accumulators stay in registers.  A partial tile goes through small
 * buffers: the packed panel is zero padded, but bias, residual and C end at column N. */
NN_INLINE void GT_FN(tile)(const int R, const int S, const struct nn_gemm_a *av, const float *a, const float *bp,
                           const float *bias, const float *res, long n, int cols, float lo, float hi, float *c)
{
    float pad[GT_TC] = { 0 };
    const float *bsrc = bias;
    if (cols < GT_TC) {
        memcpy(pad, bias, (size_t)cols * sizeof *pad);
        bsrc = pad;
    }
    GT_V acc[GT_MR][GT_NV], b[GT_NV];
#pragma GCC unroll 4
    for (int v = 0; v < GT_NV; v++)
        b[v] = GT_LOAD(bsrc + v * GT_VL);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < GT_NV; v++)
            acc[r][v] = b[v];
    long lda = av->lda;
    int nseg = S ? av->nseg : 1, seg_len = S ? av->seg_len : (int)lda;
    for (int s = 0; s < nseg; s++, a += av->seg_stride)
        for (int kk = 0; kk < seg_len; kk++, bp += NN_GEMM_NR) {
            GT_V w[GT_NV];
#pragma GCC unroll 4
            for (int v = 0; v < GT_NV; v++)
                w[v] = GT_LOAD(bp + v * GT_VL);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                float x = a[r * lda + kk]; /* scalar * vector: one broadcast */
#pragma GCC unroll 4
                for (int v = 0; v < GT_NV; v++)
                    acc[r][v] += x * w[v];
            }
        }
    GT_V vlo = NN_SPLAT(GT_VL)(lo), vhi = NN_SPLAT(GT_VL)(hi);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        float *cr = c + r * n, out[GT_TC], rp[GT_TC] = { 0 };
        const float *rr = res ? res + r * n : NULL;
        if (rr && cols < GT_TC) {
            memcpy(rp, rr, (size_t)cols * sizeof *rp);
            rr = rp;
        }
        float *dst = cols == GT_TC ? cr : out;
#pragma GCC unroll 4
        for (int v = 0; v < GT_NV; v++) {
            GT_V y = rr ? acc[r][v] + GT_LOAD(rr + v * GT_VL) : acc[r][v];
            GT_STORE(dst + v * GT_VL, GT_CLAMP(y, vlo, vhi));
        }
        if (cols < GT_TC)
            memcpy(cr, out, (size_t)cols * sizeof *out);
    }
}

/* A row block of R <= GT_MR rows against the panels of columns [col0, col1), one tile-wide slice of a
 * panel at a time.  S as for the tile. */
NN_INLINE void GT_FN(row_block)(const int S, int R, const struct nn_gemm_a *av, const float *a, const float *packed,
                                int n, int col0, int col1, const float *bias, const float *res, float lo, float hi,
                                float *c)
{
    size_t k = (size_t)av->nseg * av->seg_len;
    packed += (size_t)col0 * k;
    for (int col = col0; col < col1; col += NN_GEMM_NR, packed += k * NN_GEMM_NR)
        for (int part = 0; part < NN_GEMM_NR; part += GT_TC) {
            int c0 = col + part, cols = n - c0 < GT_TC ? n - c0 : GT_TC;
            if (cols <= 0)
                break;
            const float *rc = res ? res + c0 : NULL;
            switch (R) { /* R <= GT_MR: the cases above it are dead code */
#define TILE(r)                                                                                              \
    case r:                                                                                                  \
        if (r <= GT_MR)                                                                                      \
            GT_FN(tile)(r, S, av, a, packed + part, bias + c0, rc, n, cols, lo, hi, c + c0);                \
        break;
                TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7) TILE(8)
#undef TILE
            }
        }
}

#undef GT_V
#undef GT_LOAD
#undef GT_STORE
#undef GT_CLAMP
#undef GT_TC
