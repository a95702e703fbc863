/* infer_decode: the picture path of nn_classify_image on its own, so that a worker can decode and resize
 * on one thread while another runs the network.  It makes the same calls in the same order as
 * nn/classify_image.c (tests/test_pipeline.c checks the answers are identical): when nn exposes this step
 * itself, this file goes. */
#ifndef INFER_DECODE_H
#define INFER_DECODE_H

#include <stddef.h>

/* Decodes bytes, crops the centre square, resizes it to NN_INPUT_SIZE^2, turns it upright and writes
 * NN_INPUT_SIZE*NN_INPUT_SIZE*3 floats into tensor.  Returns 0 or a negative enum nn_error with err filled.
 * The decoded picture is allocated for the call and freed before it returns. */
int infer_decode(const void *bytes, size_t len, float *tensor, char *err, size_t errlen);

#endif
