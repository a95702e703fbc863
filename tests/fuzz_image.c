/* libFuzzer target for the image path: any bytes through img_decode (magic sniffing, container walks,
 * EXIF, stb_image), then what the classifier does with a picture: centre square, resize, tensor. */
#include "nn/image.h"
#include "nn/nn.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct img pic, input;
    (void)img_jpeg_orientation(data, size);
    if (img_decode(data, size, &pic, err, sizeof err) < 0)
        return 0;
    if (pic.w <= 0 || pic.h <= 0 || !pic.rgb)
        abort(); /* success must mean a real picture */
    int x0, y0, side;
    img_center_square(pic.w, pic.h, &x0, &y0, &side);
    if (img_resize_rect(&pic, x0, y0, side, side, 32, 32, &input) == 0) {
        static float tensor[32 * 32 * 3];
        img_to_tensor(&input, tensor);
        img_free(&input);
    }
    img_free(&pic);
    return 0;
}
