/* image: decode, orient, crop, resize and preprocess pictures for the network (stb_image, stb_image_resize).
 * An img owns its pixels; release them with img_free.  Functions return 0 or a negative enum nn_error. */
#ifndef NN_IMAGE_H
#define NN_IMAGE_H

#include <stddef.h>

#define IMG_MAX_PIXELS (40L * 1000 * 1000)  /* decoded images over this are refused (NN_ERR_TOO_LARGE) */

struct img {
    int w, h;
    unsigned char *rgb; /* w*h*3 bytes, row-major, RGB */
};

/* Decodes any format stb_image reads; grayscale/alpha become RGB; EXIF orientation is applied to JPEGs. */
int img_decode(const void *bytes, size_t len, struct img *out, char *err, size_t errlen);
/* The largest centred square of in. */
int img_crop_center(const struct img *in, struct img *out);
int img_resize(const struct img *in, int w, int h, struct img *out);
/* Writes w*h*3 floats, x = pixel/127.5 - 1 (NHWC). */
void img_to_tensor(const struct img *in, float *out);
/* Encodes as JPEG (quality 1..100) or PNG into a malloc'd buffer the caller frees. */
int img_encode_jpeg(const struct img *in, int quality, unsigned char **buf, size_t *len);
int img_encode_png(const struct img *in, unsigned char **buf, size_t *len);
void img_free(struct img *im);

#endif
