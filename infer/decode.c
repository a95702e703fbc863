/* infer_decode: decode + crop + resize + orient + tensor (see decode.h). */
#include "infer/decode.h"

#include <stdio.h>

#include "nn/image/image.h"
#include "nn/nn.h"

int infer_decode(const void *bytes, size_t len, float *tensor, char *err, size_t errlen)
{
    struct img pic, input;
    int orientation;
    int rc = img_decode_stored(bytes, len, &pic, &orientation, err, errlen);
    if (rc < 0)
        return rc;
    int x0, y0, side;
    img_center_square_oriented(pic.w, pic.h, orientation, &x0, &y0, &side);
    rc = img_resize_rect(&pic, x0, y0, side, side, NN_INPUT_SIZE, NN_INPUT_SIZE, &input);
    img_free(&pic);
    if (rc == 0)
        rc = img_apply_orientation(&input, orientation);
    if (rc < 0) {
        img_free(&input);
        snprintf(err, errlen, "out of memory resizing the image");
        return rc;
    }
    img_to_tensor(&input, tensor);
    img_free(&input);
    return 0;
}
