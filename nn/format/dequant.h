/* dequant: constant tensors of a TFLite file as float32: w = scale * (q - zero_point), per tensor or per
 * channel along the quantized dimension; int32 biases bias_scale * q; float32 copied as is. */
#ifndef NN_DEQUANT_H
#define NN_DEQUANT_H

#include "nn/format/tflite.h"

#include <stddef.h>

/* Number of elements of t (product of its shape; 1 for a scalar). */
size_t nn_tensor_elements(const struct tfl_tensor *t);

/* Writes nn_tensor_elements(t) floats to out.  Returns 0, or -1 with the reason in err
 * (no constant data, unsupported type, scales that do not match the shape). */
int nn_dequantize(const struct tfl_tensor *t, float *out, char *err, size_t errlen);

#endif
