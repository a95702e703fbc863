/* image: decode, orient, crop, resize and preprocess pictures for the network (stb_image, stb_image_resize).
 * An img owns its pixels; release them with img_free.  Functions return 0 or a negative enum nn_error. */
#ifndef NN_IMAGE_H
#define NN_IMAGE_H

#include <stddef.h>

#define IMG_MAX_PIXELS (40L * 1000 * 1000)  /* largest picture img_resize makes */

/* What decoding one picture may cost; pictures over a limit are refused (NN_ERR_TOO_LARGE) from their
 * headers before any pixel is decoded, and the memory budget is also enforced on every allocation. */
struct img_limits {
    size_t max_decode_bytes;  /* memory one decode may hold, and all decodes together (--max-decode-mb) */
    int max_jpeg_scans;       /* scans in one JPEG (--max-jpeg-scans) */
    long long max_jpeg_work;  /* JPEG coefficients decoded, summed over its scans (--max-jpeg-work, in M) */
};
#define IMG_DEFAULT_MAX_DECODE_MB 56
#define IMG_DEFAULT_MAX_JPEG_SCANS 100
#define IMG_DEFAULT_MAX_JPEG_MCOEF 400
/* Process-wide; set once at start-up, before any decode runs. */
void img_set_limits(const struct img_limits *l);
const struct img_limits *img_limits_current(void);

struct img {
    int w, h;
    unsigned char *rgb; /* w*h*3 bytes, row-major, RGB */
};

/* Decodes JPEG (baseline, progressive), PNG, GIF (first frame), BMP, PNM (P5/P6), TGA, PSD and PIC.
 * Grey becomes RGB; transparent pixels are composited over white; a JPEG's EXIF orientation is applied.
 * Errors (with a one-line reason in err): NN_ERR_NOT_IMAGE for bytes in no format we decode (HDR, WebP,
 * TIFF, HEIF, lossless JPEG included), NN_ERR_TOO_LARGE when the header claims over IMG_MAX_PIXELS
 * (checked before any pixel is decoded), NN_ERR_BAD_IMAGE for a known format that is corrupt or cut
 * short (a JPEG without its end marker, a PNG without IEND, ...). */
int img_decode(const void *bytes, size_t len, struct img *out, char *err, size_t errlen);
/* The largest centred square of in. */
int img_crop_center(const struct img *in, struct img *out);
int img_resize(const struct img *in, int w, int h, struct img *out);
/* Writes w*h*3 floats, x = pixel/127.5 - 1 (NHWC). */
void img_to_tensor(const struct img *in, float *out);
void img_free(struct img *im);

/* --- pieces of the pipeline above, exposed so they can be tested and reused on their own --- */

/* img_decode without the EXIF turn: the picture as stored, and the orientation (1..8) still to apply.
 * A caller that shrinks the picture can turn the small result instead, far cheaper for big photos. */
int img_decode_stored(const void *bytes, size_t len, struct img *out, int *orientation, char *err, size_t errlen);
/* The largest centred square of a w x h picture: its side and top-left corner (odd margins round down). */
void img_center_square(int w, int h, int *x0, int *y0, int *side);
/* The same square chosen in the upright picture (EXIF orientation 1..8), given in the coordinates of the
 * picture as stored: crop and shrink the stored picture there, then turn the result. */
void img_center_square_oriented(int w, int h, int orientation, int *x0, int *y0, int *side);
/* Resizes the cw x ch rectangle of in at (x0, y0) to w x h (no intermediate crop copy). */
int img_resize_rect(const struct img *in, int x0, int y0, int cw, int ch, int w, int h, struct img *out);
/* Turns a picture stored with EXIF orientation 1..8 upright, in place (5..8 swap w and h). 1 or an
 * unknown value leaves it as is.  Returns 0 or NN_ERR_NOMEM (the picture is then unchanged). */
int img_apply_orientation(struct img *im, int orientation);
/* The EXIF orientation (1..8) a JPEG's APP1 segment asks for; 1 when absent, unreadable or out of range. */
int img_jpeg_orientation(const void *bytes, size_t len);

#endif
