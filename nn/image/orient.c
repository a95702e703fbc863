/* img_apply_orientation: turn a picture stored with EXIF orientation 2..8 upright.
 *
 * Every orientation maps stored pixel (sx, sy) to an output offset that is affine in sx and sy, so one
 * loop serves all eight: it reads the source in order and writes at start + sx*step_x + sy*step_y.
 * For the quarter turns a row of the source becomes a column of the output, so the loop runs over
 * 64x64 tiles to keep the 64 output rows it writes in cache (a 12-Mpixel photo turned pixel by
 * pixel without tiles spends most of its time in cache misses). */
#include "nn/image/image.h"
#include "nn/nn.h"

#include <stddef.h>
#include <stdlib.h>

enum { TILE = 64 };

/* The stored picture is transposed (5..8), then mirrored left-right, then top-bottom, e.g. 6 ("turn
 * 90° clockwise to view") = transpose + mirror left-right. */
static const struct { unsigned char transpose, flip_x, flip_y; } steps[9] = {
    [2] = {0, 1, 0}, [3] = {0, 1, 1}, [4] = {0, 0, 1},
    [5] = {1, 0, 0}, [6] = {1, 1, 0}, [7] = {1, 1, 1}, [8] = {1, 0, 1},
};

int img_apply_orientation(struct img *im, int orientation)
{
    if (orientation < 2 || orientation > 8)
        return 0;
    int t = steps[orientation].transpose;
    ptrdiff_t ow = t ? im->h : im->w, oh = t ? im->w : im->h;
    unsigned char *px = malloc((size_t)ow * (size_t)oh * 3);
    if (!px)
        return NN_ERR_NOMEM;
    /* Output position of stored (sx, sy): (x, y) = transpose ? (sy, sx) : (sx, sy), then mirrored. */
    ptrdiff_t col = steps[orientation].flip_x ? -1 : 1, row = steps[orientation].flip_y ? -ow : ow;
    ptrdiff_t start = (steps[orientation].flip_x ? ow - 1 : 0) + (steps[orientation].flip_y ? (oh - 1) * ow : 0);
    ptrdiff_t step_x = t ? row : col, step_y = t ? col : row;
    for (int by = 0; by < im->h; by += TILE) {
        int yend = by + TILE < im->h ? by + TILE : im->h;
        for (int bx = 0; bx < im->w; bx += TILE) {
            int xend = bx + TILE < im->w ? bx + TILE : im->w;
            for (int sy = by; sy < yend; sy++) {
                const unsigned char *s = im->rgb + ((size_t)sy * im->w + bx) * 3;
                ptrdiff_t at = start + bx * step_x + sy * step_y;
                for (int sx = bx; sx < xend; sx++, s += 3, at += step_x) {
                    unsigned char *d = px + at * 3;
                    d[0] = s[0], d[1] = s[1], d[2] = s[2];
                }
            }
        }
    }
    free(im->rgb);
    *im = (struct img){.w = (int)ow, .h = (int)oh, .rgb = px};
    return 0;
}

void img_center_square_oriented(int w, int h, int orientation, int *x0, int *y0, int *side)
{
    if (orientation < 2 || orientation > 8) {
        img_center_square(w, h, x0, y0, side);
        return;
    }
    int t = steps[orientation].transpose, uw = t ? h : w, uh = t ? w : h, ux, uy, s;
    img_center_square(uw, uh, &ux, &uy, &s);
    if (steps[orientation].flip_x) /* the upright x axis runs the other way through the stored picture */
        ux = uw - s - ux;
    if (steps[orientation].flip_y)
        uy = uh - s - uy;
    *x0 = t ? uy : ux;
    *y0 = t ? ux : uy;
    *side = s;
}
