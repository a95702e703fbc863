/* gemm: packing, and the one driver over the paths' row-block kernels (gemm_avx512.c, gemm_vec.c).  See
 * gemm.h. */
#include "nn/kernels/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t nn_gemm_packed_size(int k, int n)
{
    return (size_t)(n + NN_GEMM_NR - 1) / NN_GEMM_NR * NN_GEMM_NR * (size_t)k;
}

/* packed[p][kk][j] = w[kk][p*32 + j], zero beyond column N. */
void nn_gemm_pack(const float *w, int k, int n, float *packed)
{
    int panels = (n + NN_GEMM_NR - 1) / NN_GEMM_NR;
    for (int p = 0; p < panels; p++)
        for (int kk = 0; kk < k; kk++) {
            float *dst = packed + ((size_t)p * k + kk) * NN_GEMM_NR;
            for (int j = 0; j < NN_GEMM_NR; j++) {
                int col = p * NN_GEMM_NR + j;
                dst[j] = col < n ? w[(size_t)kk * n + col] : 0.0f;
            }
        }
}

/* Column strips of B sized to stay in L2 while every row block passes over them: the whole of B for the
 * early layers (many rows, small B), a few panels for the late ones (few rows, B over a megabyte). */
#define STRIP_BYTES (256 * 1024)

static void drive(const struct nn_gemm_kernel *kern, const struct nn_gemm_a *a, const float *packed, int n,
                  const float *bias, const float *residual, float lo, float hi, float *c, int row0, int row1)
{
    nn_gemm_block_fn *block = a->nseg == 1 && a->seg_len == a->lda ? kern->plain : kern->view;
    int k = a->nseg * a->seg_len;
    size_t panel_bytes = (size_t)k * NN_GEMM_NR * sizeof(float);
    int strip = (int)(STRIP_BYTES / panel_bytes) * NN_GEMM_NR;
    strip = strip < NN_GEMM_NR ? NN_GEMM_NR : strip;
    for (int col0 = 0; col0 < n; col0 += strip) {
        int col1 = n - col0 < strip ? n : col0 + strip;
        /* Row blocks of equal height (49 rows at mr 12: 10+10+10+10+9, not 12+12+12+12+1, whose 1-row
         * tile would wait on FMA latency). */
        int rows = row1 - row0, blocks = (rows + kern->mr - 1) / kern->mr;
        for (int i = 0, r = row0; i < blocks; i++) {
            int R = (int)((long long)rows * (i + 1) / blocks - (long long)rows * i / blocks); /* no int overflow at batch x 112x112 rows */
            block(R, a, a->a + r * a->lda, packed, n, col0, col1, bias, residual ? residual + (size_t)r * n : NULL,
                  lo, hi, c + (size_t)r * n);
            r += R;
        }
    }
}

void nn_gemm_rows_view(enum nn_isa isa, const struct nn_gemm_a *a, const float *packed, int n, const float *bias,
                       const float *residual, float lo, float hi, float *c, int row0, int row1)
{
    const struct nn_gemm_kernel *kern = NULL;
    switch (isa) {
#if defined(__x86_64__)
    case NN_ISA_AVX512:
        kern = &nn_gemm_avx512;
        break;
    case NN_ISA_AVX2:
        kern = &nn_gemm_avx2;
        break;
#endif
    case NN_ISA_GENERIC:
        kern = &nn_gemm_generic;
        break;
    default: /* a caller bug: the path was chosen at load from what this build and CPU run */
        fprintf(stderr, "nn_gemm: no %s kernel in this build\n", nn_isa_name(isa));
        abort();
    }
    drive(kern, a, packed, n, bias, residual, lo, hi, c, row0, row1);
}

void nn_gemm_rows(enum nn_isa isa, const float *a, int k, const float *packed, int n, const float *bias,
                  const float *residual, float lo, float hi, float *c, int row0, int row1)
{
    struct nn_gemm_a view = { .a = a, .lda = k, .seg_stride = 0, .nseg = 1, .seg_len = k };
    nn_gemm_rows_view(isa, &view, packed, n, bias, residual, lo, hi, c, row0, row1);
}
