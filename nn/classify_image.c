/* nn_classify_image: the image path in front of the network.  The centre square is resized straight
 * from the decoded picture (no crop copy) and preprocessed straight into the model's input buffer.
 * An EXIF turn is applied to the 224x224 result rather than to the photo: turning commutes with a
 * square crop and a square resize, and turning a 12-Mpixel photo costs ~150 ms (mostly page faults
 * on the new buffer) where 224x224 costs nothing. */
#include "nn/graph/graph.h"
#include "nn/image/image.h"
#include "nn/nn.h"

#include <stdio.h>
#include <time.h>

int nn_image_to_tensor(const void *bytes, size_t len, float *tensor, char *err, size_t errlen)
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

void nn_pixels_to_tensor(const unsigned char *rgb, float *tensor)
{
    img_to_tensor(&(struct img){ .w = NN_INPUT_SIZE, .h = NN_INPUT_SIZE, .rgb = (unsigned char *)rgb }, tensor);
}

int nn_classify_image(struct nn_model *m, const void *bytes, size_t len, int k, struct nn_result *out,
                      char *err, size_t errlen)
{
    double t0 = nn_clock_ms();
    int rc = nn_image_to_tensor(bytes, len, nn_input(m), err, errlen);
    if (rc < 0)
        return rc;
    double decode_ms = nn_clock_ms() - t0;
    rc = nn_forward(m, k, out);
    out->decode_ms = decode_ms;
    return rc;
}
