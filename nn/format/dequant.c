/* dequant: constant tensor → float32.  See dequant.h. */
#include "nn/format/dequant.h"

#include "nn/format/flatbuf.h"

#include <math.h>
#include <stdio.h>

size_t nn_tensor_elements(const struct tfl_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* The raw stored value of element i as a double (exact for every supported type). */
static double raw_value(const struct tfl_tensor *t, size_t i)
{
    switch (t->type) {
    case TFL_UINT8: return t->data[i];
    case TFL_INT8: return (int8_t)t->data[i];
    case TFL_INT32: return (int32_t)fb_load_u32(t->data + 4 * i);
    default: return fb_load_f32(t->data + 4 * i);
    }
}

int nn_dequantize(const struct tfl_tensor *t, float *out, char *err, size_t errlen)
{
    size_t n = nn_tensor_elements(t);
    if (!t->data) {
        snprintf(err, errlen, "tensor '%s' should be constant but has no data", t->name);
        return -1;
    }
    int quantized = t->type == TFL_UINT8 || t->type == TFL_INT8 || t->type == TFL_INT32;
    if (t->type != TFL_FLOAT32 && !quantized) {
        snprintf(err, errlen, "tensor '%s' has unsupported type %d", t->name, t->type);
        return -1;
    }
    if (t->type == TFL_FLOAT32 || t->nquant == 0) {
        if (t->type != TFL_FLOAT32) {
            snprintf(err, errlen, "tensor '%s' is integer but has no quantization scale", t->name);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            out[i] = (float)raw_value(t, i);
        return 0;
    }
    /* Per-channel: element i belongs to channel (i / inner) % channels along quant_dim. */
    size_t inner = 1, channels = 1;
    if (t->nquant > 1) {
        channels = (size_t)t->shape[t->quant_dim];
        for (int d = t->quant_dim + 1; d < t->ndim; d++)
            inner *= (size_t)t->shape[d];
        if ((size_t)t->nquant != channels) {
            snprintf(err, errlen, "tensor '%s' has %d scales for %zu channels", t->name, t->nquant, channels);
            return -1;
        }
    }
    for (int q = 0; q < t->nquant; q++)
        if (!isfinite(t->scale[q]) || t->scale[q] < 0) {
            snprintf(err, errlen, "tensor '%s' has scale %g", t->name, (double)t->scale[q]);
            return -1;
        }
    for (size_t i = 0; i < n; i++) {
        size_t ch = t->nquant > 1 ? (i / inner) % channels : 0;
        out[i] = (float)(t->scale[ch] * (raw_value(t, i) - (double)t->zero_point[ch]));
    }
    return 0;
}
