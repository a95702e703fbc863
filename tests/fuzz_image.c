/* libFuzzer target for the image path: any bytes through img_decode (magic sniffing, container walks,
 * EXIF, stb_image), then what the classifier does with a picture: the upright centre square, resize,
 * EXIF turn of the small result, tensor. */
#include "nn/image/image.h"
#include "nn/nn.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct img pic, input;
    int orientation, x0, y0, side;
    if (img_decode_stored(data, size, &pic, &orientation, err, sizeof err) < 0)
        return 0;
    if (pic.w <= 0 || pic.h <= 0 || !pic.rgb || orientation < 1 || orientation > 8)
        abort(); /* success must mean a real picture */
    img_center_square_oriented(pic.w, pic.h, orientation, &x0, &y0, &side);
    if (img_resize_rect(&pic, x0, y0, side, side, 32, 24, &input) == 0) {
        static float tensor[32 * 24 * 3];
        if (img_apply_orientation(&input, orientation) == 0)
            img_to_tensor(&input, tensor);
        img_free(&input);
    }
    img_free(&pic);
    return 0;
}
