/* img_decode: bytes → upright RGB picture, with every failure classified by our own checks (magic bytes,
 * header size, container completeness) rather than stb_image's failure string.
 *
 * Order matters: the limits (img_limits: decoded size, JPEG scans and their work) are enforced from the
 * headers before anything is decoded, so a decompression bomb costs a few header reads; the decoded
 * size is enforced again on every allocation stb_image makes (img_budget), for what headers cannot
 * tell (a zlib stream that inflates past its picture).  Transparent pixels are composited over white (what a
 * browser shows on a white page) instead of dropping alpha, which would expose whatever colour the
 * encoder left under fully transparent pixels (often black). */
#include "nn/image/image.h"
#include "nn/image/budget.h"
#include "nn/image/probe.h"
#include "nn/image/stb_decoder.h"
#include "nn/nn.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

static double mib(unsigned long long bytes) { return bytes / 1048576.0; }

static int over_budget(const struct img_probe *probe, int w, int h, unsigned long long bytes, char *err, size_t errlen)
{
    size_t budget = img_limits_current()->max_decode_bytes;
    return fail(NN_ERR_TOO_LARGE, err, errlen, "%s %dx%d needs %.0f MiB to decode, over the %.0f MiB limit (--max-decode-mb)",
                probe->name, w, h, mib(bytes), mib(budget));
}

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
    const struct img_limits *lim = img_limits_current();
    if (probe->format == IMG_FMT_UNSUPPORTED)
        return fail(NN_ERR_NOT_IMAGE, err, errlen, "%s images are not supported", probe->name);
    if (probe->format == IMG_FMT_JPEG && probe->width && !probe->jpeg_scans) /* before its size: no pixels */
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "JPEG without any scan: it has a frame header but no pixel data");
    if (probe->decode_bytes > lim->max_decode_bytes)
        return over_budget(probe, probe->width, probe->height, probe->decode_bytes, err, errlen);
    if (!probe->supported)
        return fail(NN_ERR_NOT_IMAGE, err, errlen, "this %s variant (%s) is not supported", probe->name,
                    probe->variant);
    int w, h, comp;
    if (!img_stb_info(bytes, (int)len, &w, &h, &comp)) {
        if (probe->format == IMG_FMT_UNKNOWN)
            return fail(NN_ERR_NOT_IMAGE, err, errlen, "not an image (expected JPEG, PNG, GIF, BMP, PNM, TGA or PSD)");
        if (!probe->complete)
            return fail(NN_ERR_BAD_IMAGE, err, errlen, "truncated %s (cut inside its header)", probe->name);
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "corrupt %s header", probe->name);
    }
    unsigned long long least = (unsigned long long)w * (unsigned long long)h * 3; /* any decode's result */
    if (least > lim->max_decode_bytes)
        return over_budget(probe, w, h, least, err, errlen);
    if (!probe->complete)
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "truncated %s (the file stops before its end marker)", probe->name);
    if (probe->format != IMG_FMT_JPEG)
        return 0;
    if (probe->jpeg_uncovered)
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "JPEG whose scans never code %d of its components", probe->jpeg_uncovered);
    if (probe->jpeg_scans > lim->max_jpeg_scans)
        return fail(NN_ERR_TOO_LARGE, err, errlen, "JPEG with %d scans, over the limit of %d (--max-jpeg-scans)",
                    probe->jpeg_scans, lim->max_jpeg_scans);
    if (probe->jpeg_work > (unsigned long long)lim->max_jpeg_work)
        return fail(NN_ERR_TOO_LARGE, err, errlen,
                    "JPEG %dx%d whose %d scans decode %.0f M coefficients, over the limit of %.0f M (--max-jpeg-work)",
                    w, h, probe->jpeg_scans, probe->jpeg_work / 1e6, lim->max_jpeg_work / 1e6);
    return 0;
}

/* stb_image inside a fresh budget; the pixels (if any) are then the caller's, for free(). */
static unsigned char *load_in_budget(const void *bytes, size_t len, int channels, int *w, int *h,
                                     enum img_budget_over *over, unsigned long long *peak)
{
    struct img_budget budget;
    img_budget_begin(&budget, img_limits_current()->max_decode_bytes);
    unsigned char *px = img_stb_load(bytes, (int)len, w, h, channels);
    img_budget_end(&budget, px);
    *over = budget.over;
    *peak = budget.peak;
    return px;
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
    struct img_budget info_budget; /* stbi_info allocates its decoder state too */
    img_budget_begin(&info_budget, img_limits_current()->max_decode_bytes);
    int rc = refuse_early(bytes, len, &probe, err, errlen);
    img_budget_end(&info_budget, NULL);
    if (rc < 0)
        return rc;

    /* JPEG has no alpha; everything else is asked for RGBA so transparency (including PNG tRNS keys and
     * GIF transparent indices, which the header does not announce) can be composited. */
    int channels = probe.format == IMG_FMT_JPEG ? 3 : 4, w, h;
    enum img_budget_over over;
    unsigned long long peak;
    unsigned char *px = load_in_budget(bytes, len, channels, &w, &h, &over, &peak);
    if (!px && over == IMG_BUDGET_PICTURE)
        return fail(NN_ERR_TOO_LARGE, err, errlen, "%s %dx%d needs over %.0f MiB to decode, the limit (--max-decode-mb)",
                    probe.name, probe.width, probe.height, mib(img_limits_current()->max_decode_bytes));
    if (!px && over == IMG_BUDGET_PROCESS)
        return fail(NN_ERR_NOMEM, err, errlen, "other pictures being decoded hold the %.0f MiB limit (--max-decode-mb)",
                    mib(img_limits_current()->max_decode_bytes));
    if (!px)
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "corrupt %s data", probe.name);
    if (w <= 0 || h <= 0) { /* the decoder disagreed with the header */
        free(px);
        return fail(NN_ERR_BAD_IMAGE, err, errlen, "%s size changed while decoding", probe.name);
    }
    if (channels == 4) {
        composite_on_white(px, (size_t)w * h);
        unsigned char *smaller = realloc(px, (size_t)w * h * 3); /* a plain malloc block once out of the budget */
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
    free(im->rgb); /* ours and stb_image's buffers both come from malloc (img_budget_end hands them over) */
    *im = (struct img){0};
}
