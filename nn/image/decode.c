/* img_decode: bytes → upright RGB picture, with every failure classified by our own checks (magic bytes,
 * header size, container completeness) rather than stb_image's failure string.
 *
 * Order matters: the pixel limit is enforced from the header before anything is decoded, so a
 * decompression bomb costs a few header reads.  Transparent pixels are composited over white (what a
 * browser shows on a white page) instead of dropping alpha, which would expose whatever colour the
 * encoder left under fully transparent pixels (often black). */
#include "nn/image/image.h"
#include "nn/image/probe.h"
#include "nn/nn.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stb/stb_image.h>

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int over_limit(long long w, long long h) { return w * h > IMG_MAX_PIXELS; }

/* RGBA → RGB over white, in place (each RGB pixel is written at or before the RGBA pixel it reads). */
static void composite_on_white(unsigned char *px, size_t npixels)
{
    for (size_t i = 0; i < npixels; i++) {
        const unsigned char *s = px + 4 * i;
        unsigned a = s[3];
        unsigned char r = (unsigned char)((s[0] * a + 255 * (255 - a) + 127) / 255);
        unsigned char g = (unsigned char)((s[1] * a + 255 * (255 - a) + 127) / 255);
        unsigned char b = (unsigned char)((s[2] * a + 255 * (255 - a) + 127) / 255);
        px[3 * i] = r, px[3 * i + 1] = g, px[3 * i + 2] = b;
    }
}

/* Everything that can be refused without decoding a pixel, most specific reason first. */
static int refuse_early(const void *bytes, size_t len, const struct img_probe *probe, char *err, size_t errlen)
{
    if (probe->format == IMG_FMT_UNSUPPORTED)
        return fail(NN_ERR_NOT_IMAGE, err, errlen, "%s images are not supported", probe->name);
    if (over_limit(probe->width, probe->height))
        return fail(NN_ERR_TOO_LARGE, err, errlen, "%dx%d exceeds %ld Mpixel", probe->width, probe->height,
                    IMG_MAX_PIXELS / 1000000);
    if (!probe->supported)
        return fail(NN_ERR_NOT_IMAGE, err, errlen, "this %s variant (lossless or arithmetic-coded) is not supported",
                    probe->name);
    int w, h, comp;
    if (!stbi_info_from_memory(bytes, (int)len, &w, &h, &comp)) {
        if (probe->format == IMG_FMT_UNKNOWN)
            return fail(NN_ERR_NOT_IMAGE, err, errlen,
                        "not an image (expected JPEG, PNG, GIF, BMP, PNM, TGA, PSD or PIC)");
        if (!probe->complete)
            return fail(NN_ERR_BAD_IMAGE, err, errlen, "truncated %s (cut inside its header)", probe->name);
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "corrupt %s header", probe->name);
    }
    if (over_limit(w, h))
        return fail(NN_ERR_TOO_LARGE, err, errlen, "%dx%d exceeds %ld Mpixel", w, h, IMG_MAX_PIXELS / 1000000);
    if (!probe->complete)
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "truncated %s (the file stops before its end marker)", probe->name);
    return 0;
}

int img_decode_stored(const void *bytes, size_t len, struct img *out, int *orientation, char *err, size_t errlen)
{
    *out = (struct img){0};
    *orientation = 1;
    if (!bytes || len == 0)
        return fail(NN_ERR_NOT_IMAGE, err, errlen, "empty input");
    if (len > INT_MAX) /* stb_image takes an int length */
        return fail(NN_ERR_TOO_LARGE, err, errlen, "%zu bytes exceeds the %d byte limit", len, INT_MAX);
    struct img_probe probe;
    img_probe(bytes, len, &probe);
    int rc = refuse_early(bytes, len, &probe, err, errlen);
    if (rc < 0)
        return rc;

    /* JPEG has no alpha; everything else is asked for RGBA so transparency (including PNG tRNS keys and
     * GIF transparent indices, which the header does not announce) can be composited. */
    int channels = probe.format == IMG_FMT_JPEG ? 3 : 4, w, h, comp;
    unsigned char *px = stbi_load_from_memory(bytes, (int)len, &w, &h, &comp, channels);
    if (!px)
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "corrupt %s data", probe.name);
    if (over_limit(w, h) || w <= 0 || h <= 0) { /* the decoder disagreed with the header */
        stbi_image_free(px);
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "%s size changed while decoding", probe.name);
    }
    if (channels == 4) {
        composite_on_white(px, (size_t)w * h);
        unsigned char *smaller = realloc(px, (size_t)w * h * 3); /* stb_image allocates with malloc */
        if (smaller)
            px = smaller;
    }
    *out = (struct img){.w = w, .h = h, .rgb = px};
    *orientation = probe.orientation;
    return 0;
}

int img_decode(const void *bytes, size_t len, struct img *out, char *err, size_t errlen)
{
    int orientation;
    int rc = img_decode_stored(bytes, len, out, &orientation, err, errlen);
    if (rc == 0 && img_apply_orientation(out, orientation) < 0) {
        rc = fail(NN_ERR_NOMEM, err, errlen, "out of memory orienting a %dx%d image", out->w, out->h);
        img_free(out);
    }
    return rc;
}

void img_free(struct img *im)
{
    if (!im)
        return;
    free(im->rgb); /* ours and stb_image's buffers both come from malloc */
    *im = (struct img){0};
}
