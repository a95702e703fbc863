/* Geometry on decoded pictures: centre square and the float tensor (resizing is in image_resize.c,
 * EXIF orientation in image_orient.c). */
#include "nn/image/image.h"
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

static unsigned char *alloc_pixels(int w, int h) { return malloc((size_t)w * (size_t)h * 3); }

void img_center_square(int w, int h, int *x0, int *y0, int *side)
{
    int s = w < h ? w : h;
    *side = s;
    *x0 = (w - s) / 2;
    *y0 = (h - s) / 2;
}

int img_crop_center(const struct img *in, struct img *out)
{
    int x0, y0, s;
    img_center_square(in->w, in->h, &x0, &y0, &s);
    *out = (struct img){0};
    if (s <= 0)
        return NN_ERR_BAD_IMAGE;
    unsigned char *px = alloc_pixels(s, s);
    if (!px)
        return NN_ERR_NOMEM;
    for (int y = 0; y < s; y++)
        memcpy(px + (size_t)y * s * 3, in->rgb + ((size_t)(y0 + y) * in->w + x0) * 3, (size_t)s * 3);
    *out = (struct img){.w = s, .h = s, .rgb = px};
    return 0;
}

void img_to_tensor(const struct img *in, float *out)
{
    size_t n = (size_t)in->w * in->h * 3;
    for (size_t i = 0; i < n; i++)
        out[i] = in->rgb[i] / 127.5f - 1.0f;
}
