/* degrade: two resizes through stb_image_resize, the same filter both ways, as the original did with PIL. */
#include "study/degrade.h"

#include <string.h>

#include "nn/nn.h"

int degrade(const struct img *in, int s, struct img *out)
{
    struct img square, small;
    memset(out, 0, sizeof *out);
    int rc = img_crop_center(in, &square);
    if (rc < 0)
        return rc;
    if (s <= 0 || s == NN_INPUT_SIZE) {
        rc = img_resize(&square, NN_INPUT_SIZE, NN_INPUT_SIZE, out);
        img_free(&square);
        return rc;
    }
    rc = img_resize(&square, s, s, &small);
    img_free(&square);
    if (rc < 0)
        return rc;
    rc = img_resize(&small, NN_INPUT_SIZE, NN_INPUT_SIZE, out);
    img_free(&small);
    return rc;
}
