/* libFuzzer target for the whole picture path, as nn_classify_image runs it minus the network: probe
 * (magic sniffing, container walks, EXIF, JPEG scan accounting), the limits, stb_image inside its
 * budget, then the upright centre square, resize, EXIF turn of the small result, tensor.
 * Properties: success means a real picture; the same bytes decode to the same pixels a second time
 * (nothing read from memory the decoder did not write); ASan/UBSan catch the rest.  `make fuzz-image`
 * runs it with a per-allocation limit (-malloc_limit_mb) above the decode budget and seeds from
 * tests/image_bombs.c (bench_image --seeds).  The limits are a quarter of the defaults or less, so the
 * largest allowed picture decodes fast enough under ASan to keep thousands of inputs a minute. */
#include "nn/image/image.h"
#include "nn/nn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    img_set_limits(&(struct img_limits){.max_decode_bytes = 12 << 20, .max_jpeg_scans = 100,
                                        .max_jpeg_work = 40 * 1000 * 1000});
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct img pic, again, input;
    int orientation, x0, y0, side;
    if (img_decode_stored(data, size, &pic, &orientation, err, sizeof err) < 0)
        return 0;
    if (pic.w <= 0 || pic.h <= 0 || !pic.rgb || orientation < 1 || orientation > 8)
        abort(); /* success must mean a real picture */
    int o2;
    if (img_decode_stored(data, size, &again, &o2, err, sizeof err) < 0 || again.w != pic.w || again.h != pic.h ||
        o2 != orientation || memcmp(again.rgb, pic.rgb, (size_t)pic.w * pic.h * 3) != 0)
        abort(); /* the same bytes must give the same picture */
    img_free(&again);
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
