/* Geometry on decoded pictures: centre square, EXIF orientation, and the float tensor (resizing is in
 * image_resize.c). */
#include "nn/image.h"
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

/* EXIF orientation as three steps applied to the stored picture: transpose (5..8), then mirror
 * left-right, then top-bottom.  E.g. 6 ("rotate 90° clockwise to view") = transpose + mirror. */
int img_apply_orientation(struct img *im, int orientation)
{
    if (orientation < 2 || orientation > 8)
        return 0;
    static const struct { unsigned char transpose, flip_x, flip_y; } steps[9] = {
        [2] = {0, 1, 0}, [3] = {0, 1, 1}, [4] = {0, 0, 1},
        [5] = {1, 0, 0}, [6] = {1, 1, 0}, [7] = {1, 1, 1}, [8] = {1, 0, 1},
    };
    int t = steps[orientation].transpose;
    int ow = t ? im->h : im->w, oh = t ? im->w : im->h;
    unsigned char *px = alloc_pixels(ow, oh);
    if (!px)
        return NN_ERR_NOMEM;
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            int x = steps[orientation].flip_x ? ow - 1 - ox : ox;
            int y = steps[orientation].flip_y ? oh - 1 - oy : oy;
            int sx = t ? y : x, sy = t ? x : y;
            memcpy(px + ((size_t)oy * ow + ox) * 3, im->rgb + ((size_t)sy * im->w + sx) * 3, 3);
        }
    }
    free(im->rgb);
    *im = (struct img){.w = ow, .h = oh, .rgb = px};
    return 0;
}

void img_to_tensor(const struct img *in, float *out)
{
    size_t n = (size_t)in->w * in->h * 3;
    for (size_t i = 0; i < n; i++)
        out[i] = in->rgb[i] / 127.5f - 1.0f;
}
