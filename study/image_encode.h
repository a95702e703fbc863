/* image_encode: pictures back to JPEG or PNG bytes, for the client's studies (the service only decodes). */
#ifndef STUDY_IMAGE_ENCODE_H
#define STUDY_IMAGE_ENCODE_H

#include "nn/image/image.h"

#include <stddef.h>

/* Encodes as JPEG (quality 1..100) or PNG into a malloc'd buffer the caller frees. */
int img_encode_jpeg(const struct img *in, int quality, unsigned char **buf, size_t *len);
int img_encode_png(const struct img *in, unsigned char **buf, size_t *len);

#endif
