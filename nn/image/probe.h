/* image_probe: what an image's container says before any pixel is decoded: its format (by magic
 * bytes), its size, whether its structure is complete, and (JPEG) its EXIF orientation.
 * stb_image reports failures through a string; these facts let img_decode classify errors itself. */
#ifndef NN_IMAGE_PROBE_H
#define NN_IMAGE_PROBE_H

#include <stddef.h>

enum img_format {
    IMG_FMT_UNKNOWN = 0, /* no magic we know */
    IMG_FMT_JPEG, IMG_FMT_PNG, IMG_FMT_GIF, IMG_FMT_BMP, IMG_FMT_PSD, IMG_FMT_PNM,
    IMG_FMT_TGA,         /* no magic at all: a header that passes stb_image's own TGA test */
    IMG_FMT_UNSUPPORTED, /* a picture format we recognise but do not decode (HDR, PIC, WebP, TIFF, HEIF ...) */
};

struct img_probe {
    enum img_format format;
    const char *name;    /* "JPEG", "PNG", ..., "WebP" for an unsupported one, "data" when unknown */
    int width, height;   /* from the header when it could be read without stb, else 0 */
    int complete;        /* 0 when the container visibly stops early (JPEG without EOI, PNG without
                            IEND, BMP, PNM, PSD or TGA shorter than its pixels, GIF cut inside its
                            first frame, JPEG without a scan) */
    int supported;       /* 0 for a variant stb_image cannot decode (lossless/arithmetic JPEG) or
                            decodes wrongly (16-bit PNM: v2.27 reads its samples in the wrong byte
                            order, and converting them to RGBA reads past its buffer) */
    const char *variant; /* which variant, when supported is 0 */
    int orientation;     /* EXIF orientation 1..8 (JPEG), else 1 */
    unsigned long long decode_bytes; /* the memory stb_image allocates to decode it (its peak, counted
                                        from the header as an upper bound; the canvas for GIF), 0 when
                                        the header could not be read */
    /* JPEG only (see jpeg_layout) */
    int jpeg_scans, jpeg_uncovered;
    unsigned long long jpeg_work;
};

/* Never reads outside bytes[0..len). */
void img_probe(const unsigned char *bytes, size_t len, struct img_probe *out);

#endif
