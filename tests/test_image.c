/* Tests for nn/image: every picture is made here (stb_image_write, or by hand for GIF/PNM and for the
 * EXIF segment spliced into a JPEG), decoded back through img_decode, and checked pixel by pixel. */
#include "nn/image/image.h"
#include "study/image_encode.h"
#include "nn/nn.h"
#include "tests/image_bombs.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>

/* ---- helpers ------------------------------------------------------------------------------------------ */

struct bytes {
    unsigned char *p;
    size_t len, cap;
};

static void put(struct bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_byte(struct bytes *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put_le16(struct bytes *b, unsigned v) { put_byte(b, v & 0xFF); put_byte(b, v >> 8); }
static void write_to_bytes(void *ctx, void *data, int n) { put(ctx, data, (size_t)n); }

/* An RGB picture whose every pixel differs: r = 10x+3, g = 7y+5, b = x*y. */
static struct img pattern(int w, int h)
{
    struct img im = {w, h, malloc((size_t)w * h * 3)};
    ck_assert_ptr_nonnull(im.rgb);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = im.rgb + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(10 * x + 3), p[1] = (unsigned char)(7 * y + 5), p[2] = (unsigned char)(x * y);
        }
    return im;
}

static const unsigned char *pixel(const struct img *im, int x, int y) { return im->rgb + ((size_t)y * im->w + x) * 3; }

static void assert_same_pixels(const struct img *a, const struct img *b)
{
    ck_assert_int_eq(a->w, b->w);
    ck_assert_int_eq(a->h, b->h);
    ck_assert_mem_eq(a->rgb, b->rgb, (size_t)a->w * a->h * 3);
}

static int max_difference(const struct img *a, const struct img *b)
{
    ck_assert(a->w == b->w && a->h == b->h);
    int worst = 0;
    for (size_t i = 0; i < (size_t)a->w * a->h * 3; i++)
        worst = abs(a->rgb[i] - b->rgb[i]) > worst ? abs(a->rgb[i] - b->rgb[i]) : worst;
    return worst;
}

static int decode(const struct bytes *b, struct img *out)
{
    char err[128] = "";
    int rc = img_decode(b->p, b->len, out, err, sizeof err);
    if (rc < 0)
        ck_assert_msg(err[0] != '\0', "error %d without a message", rc);
    return rc;
}

/* A JPEG of im at quality 100 (no chroma subsampling, so flat 8x8 blocks survive almost exactly). */
static struct bytes jpeg_of(const struct img *im)
{
    struct bytes b = {0};
    ck_assert_int_eq(img_encode_jpeg(im, 100, &b.p, &b.len), 0);
    b.cap = b.len;
    return b;
}

static char *env_path(const char *var, const char *rel)
{
    const char *dir = getenv(var);
    ck_assert_msg(dir != NULL, "%s is not set (run through make)", var);
    char *path = malloc(strlen(dir) + strlen(rel) + 2);
    ck_assert_ptr_nonnull(path);
    sprintf(path, "%s/%s", dir, rel);
    return path;
}

static struct bytes read_file(const char *path)
{
    struct bytes b = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        put(&b, chunk, n);
    fclose(f);
    return b;
}

static struct bytes read_shared(const char *rel)
{
    char *path = env_path("IMGREC_SHARED", rel);
    struct bytes b = read_file(path);
    free(path);
    return b;
}

/* ---- formats ------------------------------------------------------------------------------------------ */

START_TEST(png_bmp_tga_roundtrip_exactly)
{
    struct img src = pattern(13, 7), got;
    for (int fmt = 0; fmt < 3; fmt++) {
        struct bytes b = {0};
        int ok = fmt == 0 ? stbi_write_png_to_func(write_to_bytes, &b, 13, 7, 3, src.rgb, 13 * 3)
               : fmt == 1 ? stbi_write_bmp_to_func(write_to_bytes, &b, 13, 7, 3, src.rgb)
                          : stbi_write_tga_to_func(write_to_bytes, &b, 13, 7, 3, src.rgb);
        ck_assert_int_ne(ok, 0);
        ck_assert_int_eq(decode(&b, &got), 0);
        assert_same_pixels(&src, &got);
        img_free(&got);
        free(b.p);
    }
    img_free(&src);
}
END_TEST

START_TEST(encoders_roundtrip)
{
    struct img src = pattern(16, 16), got;
    struct bytes png = {0};
    ck_assert_int_eq(img_encode_png(&src, &png.p, &png.len), 0);
    ck_assert_int_eq(decode(&png, &got), 0);
    assert_same_pixels(&src, &got);
    img_free(&got);

    struct bytes jpg = jpeg_of(&src);
    ck_assert_int_eq(decode(&jpg, &got), 0);
    ck_assert_int_eq(got.w, 16);
    ck_assert_int_eq(got.h, 16);
    long total = 0;
    for (size_t i = 0; i < 16 * 16 * 3; i++)
        total += abs(got.rgb[i] - src.rgb[i]);
    ck_assert_msg(total / (16 * 16 * 3) <= 4, "JPEG q100 mean error %ld", total / (16 * 16 * 3));
    img_free(&got);

    unsigned char *buf = (unsigned char *)"x";
    size_t len = 1;
    ck_assert_int_eq(img_encode_jpeg(&src, 0, &buf, &len), NN_ERR_BAD_IMAGE);
    ck_assert_ptr_null(buf);
    ck_assert_int_eq(img_encode_jpeg(&src, 101, &buf, &len), NN_ERR_BAD_IMAGE);
    free(png.p);
    free(jpg.p);
    img_free(&src);
}
END_TEST

START_TEST(grayscale_becomes_equal_channels)
{
    unsigned char grey[5 * 3] = {0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 240, 250, 255};
    struct bytes b = {0};
    ck_assert_int_ne(stbi_write_png_to_func(write_to_bytes, &b, 5, 3, 1, grey, 5), 0);
    struct img got;
    ck_assert_int_eq(decode(&b, &got), 0);
    for (int i = 0; i < 15; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_int_eq(got.rgb[i * 3 + c], grey[i]);
    img_free(&got);
    free(b.p);
}
END_TEST

/* Transparent pixels are shown as if on a white page: opaque keep their colour, clear ones turn white. */
START_TEST(alpha_is_composited_on_white)
{
    unsigned char rgba[4 * 4] = {200, 10, 30, 255, /* opaque */ 0, 0, 0, 0, /* clear black */
                                 0, 0, 0, 128, /* half black */ 100, 50, 0, 51 /* 20% */};
    struct bytes b = {0};
    ck_assert_int_ne(stbi_write_png_to_func(write_to_bytes, &b, 4, 1, 4, rgba, 16), 0);
    struct img got;
    ck_assert_int_eq(decode(&b, &got), 0);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++) {
            int a = rgba[i * 4 + 3], want = (rgba[i * 4 + c] * a + 255 * (255 - a) + 127) / 255;
            ck_assert_int_eq(got.rgb[i * 3 + c], want);
        }
    ck_assert_int_eq(got.rgb[3], 255);   /* the clear pixel really is white */
    ck_assert_int_eq(got.rgb[0], 200);   /* and the opaque one untouched */
    img_free(&got);
    free(b.p);

    unsigned char grey_alpha[2 * 2] = {90, 255, 90, 0};
    b = (struct bytes){0};
    ck_assert_int_ne(stbi_write_png_to_func(write_to_bytes, &b, 2, 1, 2, grey_alpha, 4), 0);
    ck_assert_int_eq(decode(&b, &got), 0);
    ck_assert_int_eq(got.rgb[0], 90);
    ck_assert_int_eq(got.rgb[3], 255);
    img_free(&got);
    free(b.p);
}
END_TEST

/* A GIF made by hand: 4-colour palette, optional transparent index, and LZW data that sends a clear
 * code before every pixel so all codes stay 3 bits wide (valid, if not compact). */
static struct bytes gif_of(int w, int h, const unsigned char *index, const unsigned char palette[12], int transparent)
{
    struct bytes b = {0};
    put(&b, "GIF89a", 6);
    put_le16(&b, (unsigned)w), put_le16(&b, (unsigned)h);
    put_byte(&b, 0x81), put_byte(&b, 0), put_byte(&b, 0); /* global table of 4, background 0, aspect 0 */
    put(&b, palette, 12);
    if (transparent >= 0) {
        unsigned char gce[] = {0x21, 0xF9, 4, 1, 0, 0, (unsigned char)transparent, 0};
        put(&b, gce, sizeof gce);
    }
    put_byte(&b, 0x2C), put_le16(&b, 0), put_le16(&b, 0), put_le16(&b, (unsigned)w), put_le16(&b, (unsigned)h);
    put_byte(&b, 0), put_byte(&b, 2); /* no local table; LZW minimum code size 2: clear = 4, end = 5 */
    struct bytes data = {0};
    unsigned bits = 0, nbits = 0;
    for (int i = 0; i <= 2 * w * h; i++) {
        unsigned code = i == 2 * w * h ? 5 : i % 2 == 0 ? 4 : index[i / 2];
        bits |= code << nbits, nbits += 3;
        for (; nbits >= 8; nbits -= 8, bits >>= 8)
            put_byte(&data, bits & 0xFF);
    }
    if (nbits)
        put_byte(&data, bits);
    for (size_t at = 0; at < data.len; at += 255) {
        size_t n = data.len - at < 255 ? data.len - at : 255;
        put_byte(&b, (unsigned)n), put(&b, data.p + at, n);
    }
    put_byte(&b, 0), put_byte(&b, 0x3B);
    free(data.p);
    return b;
}

static const unsigned char gif_palette[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 20, 20, 20};

START_TEST(gif_decodes_with_transparency_on_white)
{
    unsigned char index[6] = {0, 1, 2, 3, 2, 1};
    struct bytes b = gif_of(3, 2, index, gif_palette, 3);
    struct img got;
    ck_assert_int_eq(decode(&b, &got), 0);
    ck_assert_int_eq(got.w, 3);
    ck_assert_int_eq(got.h, 2);
    for (int i = 0; i < 6; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_int_eq(got.rgb[i * 3 + c], index[i] == 3 ? 255 : gif_palette[index[i] * 3 + c]);
    img_free(&got);
    free(b.p);
}
END_TEST

/* A progressive JPEG made by hand: one 8x8 grey block, a unit quantisation table, and a single DC scan
 * (SOF2 frame) coding DC = 128, i.e. every pixel 128/8 + 128 = 144.  One Huffman code, "0", stands for
 * "8 magnitude bits follow"; those are 10000000, then 1-bits pad the byte. */
START_TEST(progressive_jpeg_decodes)
{
    struct bytes b = {0};
    const unsigned char head[] = {0xFF, 0xD8, 0xFF, 0xDB, 0, 67, 0x00};
    put(&b, head, sizeof head);
    for (int i = 0; i < 64; i++)
        put_byte(&b, 1);
    const unsigned char rest[] = {
        0xFF, 0xC2, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0,             /* SOF2: 8x8, one component */
        0xFF, 0xC4, 0, 20, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, /* DC table: "0" → 8 */
        0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 0, 0,                        /* SOS: DC only, first pass */
        0x40, 0x7F, 0xFF, 0xD9};
    put(&b, rest, sizeof rest);
    struct img got;
    ck_assert_int_eq(decode(&b, &got), 0);
    ck_assert_int_eq(got.w, 8);
    ck_assert_int_eq(got.h, 8);
    unsigned char grey[8 * 8 * 3];
    memset(grey, 144, sizeof grey);
    ck_assert_mem_eq(got.rgb, grey, sizeof grey);
    img_free(&got);
    b.len -= 2; /* without its EOI it is refused like any truncated JPEG */
    ck_assert_int_eq(decode(&b, &got), NN_ERR_BAD_IMAGE);
    free(b.p);
}
END_TEST

START_TEST(pnm_decodes)
{
    struct bytes b = {0};
    const char *header = "P6\n# made by hand\n2 2\n255\n";
    unsigned char px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252};
    put(&b, header, strlen(header));
    put(&b, px, sizeof px);
    struct img got;
    ck_assert_int_eq(decode(&b, &got), 0);
    ck_assert_int_eq(got.w, 2);
    ck_assert_mem_eq(got.rgb, px, sizeof px);
    img_free(&got);
    b.len -= 1; /* one byte short */
    ck_assert_int_eq(decode(&b, &got), NN_ERR_BAD_IMAGE);
    free(b.p);
    /* 16-bit samples are refused: stb_image v2.27 reads them in the wrong byte order, and converting
     * them to RGBA reads past its buffer (found by fuzz-image). */
    const char *wide[] = {"P6\n2 1\n65535\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\xFB\xFC",
                          "P5\n2 1\n1000\n\x03\xE8\x01\xF4"};
    for (int i = 0; i < 2; i++) {
        char err[128] = "";
        ck_assert_int_eq(img_decode(wide[i], strlen(wide[i]), &got, err, sizeof err), NN_ERR_NOT_IMAGE);
        ck_assert_msg(strstr(err, "16-bit"), "%s", err);
    }
}
END_TEST

/* ---- refusing bad input ----------------------------------------------------------------------------- */

START_TEST(not_an_image_is_not_image)
{
    const char *texts[] = {"hello world", "<html><body>hi</body></html>", "P3\n1 1\n255\n1 2 3\n",
                           "BM is a common start for text", "{\"json\": true}"};
    struct img got;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct bytes b = {(unsigned char *)texts[i], strlen(texts[i]), 0};
        ck_assert_int_eq(decode(&b, &got), NN_ERR_NOT_IMAGE);
        ck_assert_ptr_null(got.rgb);
    }
    char err[128];
    ck_assert_int_eq(img_decode("", 0, &got, err, sizeof err), NN_ERR_NOT_IMAGE);
    ck_assert_int_eq(img_decode(NULL, 10, &got, err, sizeof err), NN_ERR_NOT_IMAGE);
    /* Pseudo-random bytes (fixed LCG) are not a picture either. */
    unsigned char noise[4096];
    unsigned state = 12345;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)((state = state * 1103515245u + 12345u) >> 16);
    ck_assert_int_eq(img_decode(noise, sizeof noise, &got, err, sizeof err), NN_ERR_NOT_IMAGE);
}
END_TEST

START_TEST(known_but_unsupported_formats_name_themselves)
{
    const struct { const char *bytes; size_t len; const char *name; } cases[] = {
        {"RIFF\x10\0\0\0WEBPVP8 ", 16, "WebP"},
        {"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 1\n", 44, "HDR"},
        {"II*\0\x08\0\0\0\0\0", 10, "TIFF"},
        {"\0\0\0\x18" "ftypavif\0\0\0\0", 16, "HEIF"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct img got;
        char err[128] = "";
        ck_assert_int_eq(img_decode(cases[i].bytes, cases[i].len, &got, err, sizeof err), NN_ERR_NOT_IMAGE);
        ck_assert_msg(strstr(err, cases[i].name), "'%s' does not name %s", err, cases[i].name);
    }
}
END_TEST

/* The end-of-image check walks segments: an EOI inside an APP segment (an EXIF thumbnail has one) does
 * not make a cut file look whole, and bytes after the real EOI (some cameras pad) are harmless. */
START_TEST(jpeg_end_marker_is_found_by_walking_segments)
{
    struct img src = pattern(16, 16), got;
    struct bytes jpg = jpeg_of(&src), b = {0};
    const unsigned char app2[] = {0xFF, 0xE2, 0, 8, 0xFF, 0xD9, 0xFF, 0xD9}; /* "thumbnail" ending in EOI */
    put(&b, jpg.p, 2);
    put(&b, app2, sizeof app2);
    put(&b, jpg.p + 2, jpg.len - 2);
    ck_assert_int_eq(decode(&b, &got), 0);
    img_free(&got);
    put(&b, "\0\0padding", 9);
    ck_assert_int_eq(decode(&b, &got), 0);
    img_free(&got);
    b.len = 2 + sizeof app2 + (jpg.len - 2) / 2; /* cut in the middle of the scan */
    ck_assert_int_eq(decode(&b, &got), NN_ERR_BAD_IMAGE);
    free(b.p), free(jpg.p);
    img_free(&src);
}
END_TEST

/* Lossless JPEG (SOF3) is a JPEG stb_image cannot decode: refused as unsupported, not as corrupt. */
START_TEST(lossless_jpeg_is_unsupported)
{
    struct img src = pattern(8, 8), got;
    struct bytes b = jpeg_of(&src);
    int patched = 0;
    for (size_t i = 2; i + 1 < b.len && !patched; i++)
        if (b.p[i] == 0xFF && b.p[i + 1] == 0xC0)
            b.p[i + 1] = 0xC3, patched = 1;
    ck_assert(patched);
    ck_assert_int_eq(decode(&b, &got), NN_ERR_NOT_IMAGE);
    free(b.p);
    img_free(&src);
}
END_TEST

/* Every prefix of a valid file is refused (or, where the format allows, decoded) and never read past:
 * run under build/asan to make "never read past" a checked claim.  JPEG, PNG, BMP and TGA prefixes
 * must all be refused: their end marker or pixel-array length is checked. */
static void check_every_prefix(const struct bytes *whole, int prefixes_must_fail)
{
    for (size_t n = 0; n < whole->len; n++) {
        unsigned char *copy = malloc(n ? n : 1); /* exact size, so ASan sees any over-read */
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, whole->p, n);
        struct img got;
        char err[128];
        int rc = img_decode(copy, n, &got, err, sizeof err);
        ck_assert_msg(rc == 0 || rc == NN_ERR_NOT_IMAGE || rc == NN_ERR_BAD_IMAGE, "prefix %zu: rc %d", n, rc);
        if (prefixes_must_fail)
            ck_assert_msg(rc < 0, "prefix %zu of %zu bytes was accepted", n, whole->len);
        if (rc == 0)
            ck_assert(got.w > 0 && got.h > 0 && got.rgb);
        img_free(&got);
        free(copy);
    }
}

START_TEST(every_truncation_is_refused_or_decoded)
{
    struct img src = pattern(24, 16);
    struct bytes jpg = jpeg_of(&src), png = {0}, bmp = {0};
    ck_assert_int_eq(img_encode_png(&src, &png.p, &png.len), 0);
    ck_assert_int_ne(stbi_write_bmp_to_func(write_to_bytes, &bmp, 24, 16, 3, src.rgb), 0);
    unsigned char index[6] = {0, 1, 2, 3, 2, 1};
    struct bytes gif = gif_of(3, 2, index, gif_palette, -1);
    check_every_prefix(&jpg, 1);
    check_every_prefix(&png, 1);
    check_every_prefix(&bmp, 1);
    check_every_prefix(&gif, 0);
    for (int rle = 0; rle < 2; rle++) { /* TGA has no end marker, but its pixel count bounds its length */
        struct bytes tga = {0};
        stbi_write_tga_with_rle = rle;
        ck_assert_int_ne(stbi_write_tga_to_func(write_to_bytes, &tga, 24, 16, 3, src.rgb), 0);
        check_every_prefix(&tga, 1);
        free(tga.p);
    }
    stbi_write_tga_with_rle = 1;
    /* The GIF is refused until its first frame's data is whole (only the trailer byte may go). */
    struct img got;
    gif.len -= 2;
    ck_assert_int_eq(decode(&gif, &got), NN_ERR_BAD_IMAGE);
    free(jpg.p), free(png.p), free(bmp.p), free(gif.p);
    img_free(&src);
}
END_TEST

/* Headers that claim a huge picture are refused as too large before any pixel is decoded: these
 * files have no pixel data at all, so decoding them would have failed as corrupt instead. */
START_TEST(too_large_refused_from_header)
{
    unsigned char png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                             0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20, 8, 2, 0, 0, 0}; /* 20000 x 20000 RGB */
    unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0x75, 0x30, 0x75, 0x30, 3, /* 30000 x 30000 */
                            1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0,
                            0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0}; /* and a scan (cut short) */
    unsigned char gif[13] = {'G', 'I', 'F', '8', '9', 'a', 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0};
    const struct bytes cases[] = {{png, sizeof png, 0}, {jpeg, sizeof jpeg, 0}, {gif, sizeof gif, 0}};
    for (size_t i = 0; i < 3; i++) {
        struct img got;
        char err[128] = "";
        ck_assert_int_eq(img_decode(cases[i].p, cases[i].len, &got, err, sizeof err), NN_ERR_TOO_LARGE);
        ck_assert_ptr_null(got.rgb);
        ck_assert_msg(strstr(err, "--max-decode-mb"), "message '%s'", err);
    }
    /* Under the limit the same PNG header is merely truncated. */
    png[18] = 0x0F, png[19] = 0xA0; /* 4000 x 20000: still over */
    struct img got;
    ck_assert_int_eq(img_decode(png, sizeof png, &got, NULL, 0), NN_ERR_TOO_LARGE);
    png[18] = 0x01, png[19] = 0xF4, png[22] = 0x03, png[23] = 0xE8; /* 500 x 1000: allowed, the missing data shows */
    ck_assert_int_eq(img_decode(png, sizeof png, &got, NULL, 0), NN_ERR_BAD_IMAGE);
}
END_TEST

static struct nn_model *load_model(void);

/* ---- decode bombs and pictures a decoder would leave unwritten ---------------------------------------- */

/* Each bomb of image_bombs (what `make bench-image` measures) is refused before it is decoded, with the
 * status its kind deserves and an error naming the limit and its flag. */
START_TEST(decode_bombs_are_refused_naming_the_limit)
{
    const struct { struct ib_buf b; int rc; const char *says; } cases[] = {
        {ib_jpeg_refinement_bomb(4000, 4000, 500), NN_ERR_TOO_LARGE, "--max-decode-mb"},
        {ib_jpeg_refinement_bomb(2048, 2048, 500), NN_ERR_TOO_LARGE, "--max-jpeg-scans"},
        {ib_jpeg_refinement_bomb(1024, 1024, 2000), NN_ERR_TOO_LARGE, "--max-jpeg-scans"},
        {ib_jpeg_repeated_scans(64, 64, 101), NN_ERR_TOO_LARGE, "--max-jpeg-scans"},
        {ib_png_zeros(6000, 6000, 8, 2, 0), NN_ERR_TOO_LARGE, "--max-decode-mb"},
        {ib_png_zeros(4000, 4000, 16, 2, 0), NN_ERR_TOO_LARGE, "--max-decode-mb"},
        {ib_png_zeros(1, 1, 8, 0, 100u << 20), NN_ERR_TOO_LARGE, "--max-decode-mb"}, /* caught while inflating */
        {ib_gif_canvas(6000, 6000), NN_ERR_TOO_LARGE, "--max-decode-mb"},
        {ib_psd(6000, 6000, 3, 8, 0, 0), NN_ERR_TOO_LARGE, "--max-decode-mb"},
        {ib_jpeg_scanless(4000, 3000, 0), NN_ERR_BAD_IMAGE, "no pixel data"},
        {ib_jpeg_scanless(4000, 3000, 1), NN_ERR_BAD_IMAGE, "no pixel data"},
        {ib_jpeg_scanless(64, 48, 0), NN_ERR_BAD_IMAGE, "no pixel data"},
        {ib_jpeg_scanless(64, 48, 1), NN_ERR_BAD_IMAGE, "no pixel data"},
        {ib_psd(256, 256, 3, 8, 0, 1000), NN_ERR_BAD_IMAGE, "truncated PSD"},
        {ib_psd(256, 256, 3, 8, 1, ib_psd_data_bytes(256, 256, 3, 8, 1) - 1), NN_ERR_BAD_IMAGE, "truncated PSD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct img got;
        char err[256] = "";
        int rc = img_decode(cases[i].b.p, cases[i].b.len, &got, err, sizeof err);
        printf("bomb %zu (%zu bytes): %d %s\n", i, cases[i].b.len, rc, err);
        ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d (%s)", i, rc, err);
        ck_assert_msg(strstr(err, cases[i].says), "case %zu: '%s' does not say '%s'", i, err, cases[i].says);
        ck_assert_ptr_null(got.rgb);
        free(cases[i].b.p);
    }
    /* The same shapes within the limits decode: a complete PSD, raw and RLE, and 100 refinement scans
     * of a small JPEG. */
    struct ib_buf ok[] = {ib_psd(256, 256, 3, 8, 0, ib_psd_data_bytes(256, 256, 3, 8, 0)),
                          ib_psd(256, 256, 3, 8, 1, ib_psd_data_bytes(256, 256, 3, 8, 1)),
                          ib_jpeg_refinement_bomb(64, 64, 99), ib_jpeg_repeated_scans(64, 64, 100),
                          ib_png_zeros(300, 200, 16, 2, 0), ib_gif_canvas(300, 200)};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct img got;
        char err[256] = "";
        ck_assert_msg(img_decode(ok[i].p, ok[i].len, &got, err, sizeof err) == 0, "ok %zu: %s", i, err);
        img_free(&got);
        free(ok[i].p);
    }
}
END_TEST

/* The limits come from img_set_limits (the worker's flags): with a 2-scan cap a 3-scan JPEG is refused,
 * and a smaller work limit refuses what the default allows. */
START_TEST(limits_are_settable)
{
    struct img_limits saved = *img_limits_current(), l = saved;
    struct ib_buf b = ib_jpeg_refinement_bomb(256, 256, 2);
    struct img got;
    char err[256] = "";
    ck_assert_int_eq(img_decode(b.p, b.len, &got, err, sizeof err), 0);
    img_free(&got);
    l.max_jpeg_scans = 2;
    img_set_limits(&l);
    ck_assert_int_eq(img_decode(b.p, b.len, &got, err, sizeof err), NN_ERR_TOO_LARGE);
    ck_assert_msg(strstr(err, "3 scans, over the limit of 2 (--max-jpeg-scans)"), "%s", err);
    l = saved, l.max_jpeg_work = 100000; /* 256x256: 1024 blocks x (1 + 2 x 63) = 130 048 coefficients */
    img_set_limits(&l);
    ck_assert_int_eq(img_decode(b.p, b.len, &got, err, sizeof err), NN_ERR_TOO_LARGE);
    ck_assert_msg(strstr(err, "--max-jpeg-work"), "%s", err);
    l = saved, l.max_decode_bytes = 1 << 20;
    img_set_limits(&l);
    ck_assert_int_eq(img_decode(b.p, b.len, &got, err, sizeof err), 0); /* 256x256 grey: well under 1 MiB */
    img_free(&got);
    struct ib_buf big = ib_png_zeros(400, 400, 8, 2, 0); /* 400x400 RGB: about 1.1 MiB decoding */
    ck_assert_int_eq(img_decode(big.p, big.len, &got, err, sizeof err), NN_ERR_TOO_LARGE);
    ck_assert_msg(strstr(err, "over the 1 MiB limit (--max-decode-mb)"), "%s", err);
    img_set_limits(&saved);
    free(b.p), free(big.p);
}
END_TEST

/* A baseline JPEG exactly at the default decode budget works: 3600x2700 at quality 100 (no chroma
 * subsampling) needs three 3600x2704 planes and the 3600x2700 RGB result, 56.0 MiB; 16 rows more is
 * over, and refused naming the limit. */
START_TEST(picture_at_the_decode_limit_decodes)
{
    ck_assert_uint_eq(img_limits_current()->max_decode_bytes, (size_t)IMG_DEFAULT_MAX_DECODE_MB << 20);
    for (int extra = 0; extra <= 16; extra += 16) {
        struct img src = pattern(3600, 2700 + extra), got;
        struct bytes jpg = {0};
        ck_assert_int_eq(img_encode_jpeg(&src, 100, &jpg.p, &jpg.len), 0);
        img_free(&src);
        char err[256] = "";
        int rc = img_decode(jpg.p, jpg.len, &got, err, sizeof err);
        if (!extra) {
            ck_assert_msg(rc == 0, "at the limit: %s", err);
            ck_assert(got.w == 3600 && got.h == 2700);
        } else {
            ck_assert_int_eq(rc, NN_ERR_TOO_LARGE);
            ck_assert_msg(strstr(err, "over the 56 MiB limit (--max-decode-mb)"), "%s", err);
        }
        img_free(&got);
        free(jpg.p);
    }
}
END_TEST

/* Files a decoder writes only part of: a GIF whose 1x1 frame leaves the rest of its screen, a
 * progressive JPEG with only its DC scan (no AC coefficient ever coded) and one with only an AC
 * refinement scan (no coefficient ever set: stb_image's own malloc left them as the heap had them), a
 * PSD with 2 of 4 channels.  Decoded after different pictures (whose freed buffers hold their pixels), each gives the same bytes. */
START_TEST(unwritten_pixels_are_the_same_whatever_came_before)
{
    struct ib_buf cases[] = {ib_gif_canvas(300, 200), ib_jpeg_refinement_bomb(320, 240, 0),
                             ib_jpeg_without_dc(320, 240),
                             ib_psd(128, 128, 2, 8, 0, ib_psd_data_bytes(128, 128, 2, 8, 0))};
    struct img noise = pattern(320, 240), white = {320, 240, malloc(320 * 240 * 3)};
    memset(white.rgb, 255, 320 * 240 * 3);
    struct bytes before[2] = {jpeg_of(&noise), jpeg_of(&white)};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct img first = {0};
        for (int round = 0; round < 2; round++) {
            struct img other, got;
            ck_assert_int_eq(decode(&before[round], &other), 0);
            img_free(&other); /* its pixels are now free heap the next decode may be given */
            char err[256] = "";
            ck_assert_msg(img_decode(cases[i].p, cases[i].len, &got, err, sizeof err) == 0, "case %zu: %s", i, err);
            if (round == 0)
                first = got;
            else {
                assert_same_pixels(&first, &got);
                img_free(&got);
            }
        }
        img_free(&first);
        free(cases[i].p);
    }
    free(before[0].p), free(before[1].p);
    img_free(&noise), img_free(&white);
}
END_TEST

/* Through the real engine: a scanless JPEG (baseline and progressive) is 400 after any picture, and a
 * GIF whose frame covers a corner of its screen gets the very same answer after two different photos. */
START_TEST(same_bytes_same_answer_after_different_pictures)
{
    struct nn_model *m = load_model();
    struct bytes photos[2] = {read_shared("eval/sample_dev/images/n01491361_tiger_shark.JPEG"),
                              read_shared("eval/seed_test_images/test_224.jpg")};
    struct ib_buf scanless[2] = {ib_jpeg_scanless(224, 224, 0), ib_jpeg_scanless(224, 224, 1)};
    struct ib_buf canvas = ib_gif_canvas(224, 224);
    struct nn_result r, first = {0};
    char err[256];
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(nn_classify_image(m, photos[round].p, photos[round].len, 5, &r, err, sizeof err), 0);
        for (int p = 0; p < 2; p++) {
            err[0] = '\0';
            ck_assert_int_eq(nn_classify_image(m, scanless[p].p, scanless[p].len, 5, &r, err, sizeof err),
                             NN_ERR_BAD_IMAGE);
            ck_assert_msg(strstr(err, "no pixel data"), "%s", err);
        }
        ck_assert_int_eq(nn_classify_image(m, canvas.p, canvas.len, 5, &r, err, sizeof err), 0);
        if (round == 0)
            first = r;
        for (int k = 0; k < 5; k++) {
            ck_assert_int_eq(r.top[k].class_index, first.top[k].class_index);
            ck_assert(r.top[k].prob == first.top[k].prob);
        }
    }
    nn_free(m);
    free(photos[0].p), free(photos[1].p), free(scanless[0].p), free(scanless[1].p), free(canvas.p);
}
END_TEST

static long worker_status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, strlen(field)))
            kb = atol(line + strlen(field) + 1);
    if (f)
        fclose(f);
    return kb;
}

/* A real worker (started with --max-jpeg-scans 50) answers each bomb with its 4xx and a JSON error
 * naming the flag, and stays up; its peak resident set rises by at most 64 MB over them all. */
START_TEST(worker_answers_bombs_with_4xx_naming_the_limit)
{
    char bin[PATH_MAX], port_s[16];
    fx_bin("worker", bin, sizeof bin);
    int port = sh_free_port();
    ck_assert_int_gt(port, 0);
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *argv[] = {bin, "--port", port_s, "--model", fx_env("IMGREC_MODEL"), "--max-jpeg-scans", "50", NULL};
    pid_t pid = sh_spawn(argv, NULL);
    ck_assert_msg(pid > 0 && sh_wait_healthy(port, pid, 30000) == 0, "worker did not start");
    long hwm0 = worker_status_kb(pid, "VmHWM");
    const struct { struct ib_buf b; int status; const char *says; } cases[] = {
        {ib_gif_canvas(6000, 6000), 413, "--max-decode-mb"},
        {ib_png_zeros(6000, 6000, 8, 2, 0), 413, "--max-decode-mb"},
        {ib_png_zeros(1, 1, 8, 0, 100u << 20), 413, "--max-decode-mb"},
        {ib_psd(6000, 6000, 3, 8, 0, 0), 413, "--max-decode-mb"},
        {ib_jpeg_refinement_bomb(2048, 2048, 500), 413, "over the limit of 50 (--max-jpeg-scans)"},
        {ib_jpeg_refinement_bomb(2048, 2048, 60), 413, "over the limit of 50 (--max-jpeg-scans)"},
        {ib_jpeg_scanless(640, 480, 0), 400, "no pixel data"},
        {ib_jpeg_scanless(640, 480, 1), 400, "no pixel data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char head[256];
        int n = snprintf(head, sizeof head,
                         "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n", cases[i].b.len);
        char *req = malloc((size_t)n + cases[i].b.len);
        ck_assert_ptr_nonnull(req);
        memcpy(req, head, (size_t)n);
        memcpy(req + n, cases[i].b.p, cases[i].b.len);
        struct sh_reply r;
        ck_assert_int_eq(sh_exchange(port, req, (size_t)n + cases[i].b.len, &r, 20000), 0);
        ck_assert_msg(r.status == cases[i].status, "case %zu: %d %s", i, r.status, r.body);
        char code[64], detail[256];
        ck_assert_int_eq(sh_json_str(r.body, "error", code, sizeof code), 0);
        ck_assert_str_eq(code, cases[i].status == 413 ? "image_too_large" : "bad_image");
        ck_assert_int_eq(sh_json_str(r.body, "detail", detail, sizeof detail), 0);
        ck_assert_msg(strstr(detail, cases[i].says), "case %zu: '%s'", i, detail);
        sh_reply_free(&r);
        free(req);
        free(cases[i].b.p);
    }
    long hwm1 = worker_status_kb(pid, "VmHWM");
    printf("worker VmHWM %ld kB before the bombs, %ld kB after (VmRSS now %ld kB)\n", hwm0, hwm1,
           worker_status_kb(pid, "VmRSS"));
    /* issue 9: no picture under 1 MB adds more than 64 MB to the worker's resident set, even at its peak */
    ck_assert_msg(hwm0 > 0 && hwm1 - hwm0 <= 64 * 1024, "the bombs raised the peak by %ld kB", hwm1 - hwm0);
    sh_stop(pid);
}
END_TEST

/* Every picture in ../shared/eval (seed images, sample_dev, val_dev) still decodes and reaches 224x224
 * under the default limits. */
static int decode_folder(const char *rel)
{
    char *dir = env_path("IMGREC_SHARED", rel);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 4 || strcasecmp(e->d_name + len - 4, ".csv") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct bytes b = read_file(path);
        struct img pic, input;
        int orientation, x0, y0, side;
        char err[256] = "";
        ck_assert_msg(img_decode_stored(b.p, b.len, &pic, &orientation, err, sizeof err) == 0, "%s: %s", path, err);
        img_center_square_oriented(pic.w, pic.h, orientation, &x0, &y0, &side);
        ck_assert_int_eq(img_resize_rect(&pic, x0, y0, side, side, NN_INPUT_SIZE, NN_INPUT_SIZE, &input), 0);
        img_free(&input), img_free(&pic), free(b.p);
        n++;
    }
    closedir(d);
    free(dir);
    return n;
}

START_TEST(every_eval_picture_decodes)
{
    int n = decode_folder("eval/seed_test_images") + decode_folder("eval/sample_dev/images") +
            decode_folder("eval/val_dev/images");
    printf("every_eval_picture_decodes: %d pictures\n", n);
    ck_assert_int_gt(n, 1000);
}
END_TEST

/* ---- geometry --------------------------------------------------------------------------------------- */

static void assert_square(int w, int h, int side, int x0, int y0)
{
    int gx, gy, gs;
    img_center_square(w, h, &gx, &gy, &gs);
    ck_assert_msg(gs == side && gx == x0 && gy == y0, "%dx%d: side %d at (%d,%d)", w, h, gs, gx, gy);
}

START_TEST(center_square_geometry)
{
    assert_square(640, 480, 480, 80, 0);
    assert_square(3, 8, 3, 0, 2); /* odd margin rounds down */
    assert_square(227, 227, 227, 0, 0);
    struct img src = pattern(7, 4), sq;
    ck_assert_int_eq(img_crop_center(&src, &sq), 0);
    ck_assert_int_eq(sq.w, 4);
    ck_assert_int_eq(sq.h, 4);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            ck_assert_mem_eq(pixel(&sq, x, y), pixel(&src, x + 1, y), 3);
    img_free(&sq);
    img_free(&src);
}
END_TEST

START_TEST(resize_keeps_flat_colour_and_averages_when_shrinking)
{
    struct img flat = {9, 5, malloc(9 * 5 * 3)}, out;
    for (int i = 0; i < 9 * 5; i++)
        flat.rgb[i * 3] = 40, flat.rgb[i * 3 + 1] = 150, flat.rgb[i * 3 + 2] = 250;
    ck_assert_int_eq(img_resize(&flat, 224, 224, &out), 0);
    ck_assert_int_eq(out.w, 224);
    for (int i = 0; i < 224 * 224; i++)
        ck_assert(out.rgb[i * 3] == 40 && out.rgb[i * 3 + 1] == 150 && out.rgb[i * 3 + 2] == 250);
    img_free(&out);
    img_free(&flat);

    /* A one-pixel checkerboard halved must become grey (area-like filter), not black or white (sampling). */
    struct img board = {16, 16, malloc(16 * 16 * 3)};
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            memset(board.rgb + (y * 16 + x) * 3, (x + y) % 2 ? 255 : 0, 3);
    ck_assert_int_eq(img_resize(&board, 8, 8, &out), 0);
    for (int y = 1; y < 7; y++) /* the border repeats edge pixels, which unbalances the average there */
        for (int x = 1; x < 7; x++)
            ck_assert_msg(abs(pixel(&out, x, y)[0] - 128) <= 1, "(%d,%d) = %d", x, y, pixel(&out, x, y)[0]);
    img_free(&out);
    img_free(&board);
}
END_TEST

/* Enlarging is bilinear (PIL's BILINEAR, as the reference used): two pixels 0 and 255 doubled sample
 * at -0.25, 0.25, 0.75 and 1.25 source pixels, edges clamped. */
START_TEST(enlarging_is_bilinear)
{
    unsigned char two[6] = {0, 0, 0, 255, 255, 255};
    struct img src = {2, 1, two}, out;
    ck_assert_int_eq(img_resize(&src, 4, 1, &out), 0);
    const int want[4] = {0, 64, 191, 255};
    for (int x = 0; x < 4; x++)
        ck_assert_int_eq(pixel(&out, x, 0)[0], want[x]);
    img_free(&out);
}
END_TEST

/* Shrinking any width to 224 (in particular 263..349, where stb_image_resize v1's triangle filter
 * aborts on an internal assertion) works and keeps a flat row flat. */
START_TEST(shrinking_every_width_to_224_is_safe)
{
    struct img row = {700, 1, malloc(700 * 3)}, out;
    unsigned char flat[224 * 3];
    memset(row.rgb, 77, 700 * 3);
    memset(flat, 77, sizeof flat);
    for (int w = 225; w <= 700; w++) {
        row.w = w;
        ck_assert_int_eq(img_resize(&row, 224, 1, &out), 0);
        ck_assert_mem_eq(out.rgb, flat, sizeof flat);
        img_free(&out);
    }
    img_free(&row);
}
END_TEST

/* Degenerate shapes still give a 224x224 input: a single pixel, and a 3000x2 strip (its 2x2 centre). */
START_TEST(tiny_and_extreme_shapes_reach_224)
{
    const int sizes[][2] = {{1, 1}, {3000, 2}, {2, 3000}};
    for (int i = 0; i < 3; i++) {
        int w = sizes[i][0], h = sizes[i][1], x0, y0, side;
        struct img pic = {w, h, malloc((size_t)w * h * 3)}, out;
        memset(pic.rgb, 200, (size_t)w * h * 3);
        img_center_square(w, h, &x0, &y0, &side);
        ck_assert_int_eq(img_resize_rect(&pic, x0, y0, side, side, 224, 224, &out), 0);
        unsigned char flat[224 * 224 * 3];
        memset(flat, 200, sizeof flat);
        ck_assert_mem_eq(out.rgb, flat, sizeof flat);
        img_free(&out);
        img_free(&pic);
    }
}
END_TEST

/* Shrinking a lot first averages blocks (cheap), then filters: on a smooth picture the result stays
 * within a few levels of filtering the full picture directly. */
START_TEST(large_shrink_matches_direct_filtering)
{
    enum { S = 1000 };
    struct img big = {S, S, malloc(S * S * 3)}, out;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            unsigned char *p = big.rgb + ((size_t)y * S + x) * 3;
            p[0] = (unsigned char)(x * 255 / (S - 1)), p[1] = (unsigned char)(y * 255 / (S - 1));
            p[2] = (unsigned char)(128 + 100 * ((x / 50 + y / 50) % 2 ? 1 : -1) * ((x % 50) * (50 - x % 50)) / 625);
        }
    ck_assert_int_eq(img_resize(&big, 224, 224, &out), 0);
    unsigned char *direct = malloc(224 * 224 * 3);
    ck_assert_int_ne(stbir_resize(big.rgb, S, S, 0, direct, 224, 224, 0, STBIR_TYPE_UINT8, 3, STBIR_ALPHA_CHANNEL_NONE,
                                  0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, STBIR_FILTER_CATMULLROM,
                                  STBIR_FILTER_CATMULLROM, STBIR_COLORSPACE_LINEAR, NULL), 0);
    struct img filtered = {224, 224, direct};
    ck_assert_int_le(max_difference(&out, &filtered), 4);
    img_free(&filtered);
    img_free(&out);
    img_free(&big);
}
END_TEST

/* Same-size "resizing" is a copy; the filters agree (checked through stb_image_resize directly). */
START_TEST(resize_to_same_size_is_identity)
{
    struct img src = pattern(224, 224), out;
    ck_assert_int_eq(img_resize(&src, 224, 224, &out), 0);
    assert_same_pixels(&src, &out);
    unsigned char *filtered = malloc(224 * 224 * 3);
    ck_assert_int_ne(stbir_resize(src.rgb, 224, 224, 0, filtered, 224, 224, 0, STBIR_TYPE_UINT8, 3,
                                  STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP,
                                  STBIR_FILTER_TRIANGLE, STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, NULL), 0);
    ck_assert_mem_eq(filtered, src.rgb, 224 * 224 * 3);
    free(filtered);
    img_free(&out);
    img_free(&src);
}
END_TEST

START_TEST(resize_rect_reads_only_the_rectangle)
{
    struct img src = pattern(10, 6), sq, a, b;
    ck_assert_int_eq(img_crop_center(&src, &sq), 0);
    ck_assert_int_eq(img_resize(&sq, 5, 5, &a), 0);
    ck_assert_int_eq(img_resize_rect(&src, 2, 0, 6, 6, 5, 5, &b), 0);
    assert_same_pixels(&a, &b);
    img_free(&a), img_free(&b), img_free(&sq);
    ck_assert_int_eq(img_resize_rect(&src, 5, 0, 6, 6, 5, 5, &b), NN_ERR_BAD_IMAGE); /* runs off the right */
    ck_assert_int_eq(img_resize_rect(&src, 0, -1, 6, 6, 5, 5, &b), NN_ERR_BAD_IMAGE);
    ck_assert_int_eq(img_resize(&src, 0, 5, &b), NN_ERR_BAD_IMAGE);
    ck_assert_ptr_null(b.rgb);
    img_free(&src);
}
END_TEST

START_TEST(tensor_is_pixel_over_127_5_minus_1)
{
    unsigned char px[6] = {0, 255, 51, 127, 128, 200};
    struct img im = {2, 1, px};
    float t[6];
    img_to_tensor(&im, t);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(t[i], px[i] / 127.5 - 1.0, 1e-6);
    ck_assert_float_eq(t[0], -1.0f);
    ck_assert_float_eq(t[1], 1.0f);
}
END_TEST

/* ---- EXIF orientation ------------------------------------------------------------------------------- */

/* A JPEG with an APP1 segment holding a TIFF block with IFD0 = {orientation: value}. */
static struct bytes with_exif(const struct bytes *jpg, int big_endian, unsigned value)
{
    unsigned char tiff[26] = {0};
    int be = big_endian;
    unsigned char *t = tiff;
    /* byte order, 42, IFD0 at 8; one entry: tag 0x0112, type SHORT (3), count 1, value; next IFD 0 */
    const unsigned fields[][2] = {{42, 2}, {8, 4}, {1, 2}, {0x0112, 2}, {3, 2}, {1, 4}, {value, 2}};
    t[0] = t[1] = be ? 'M' : 'I';
    size_t at = 2;
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        for (unsigned k = 0; k < fields[f][1]; k++) {
            unsigned shift = 8 * (be ? fields[f][1] - 1 - k : k);
            t[at + k] = (unsigned char)(fields[f][0] >> shift);
        }
        at += fields[f][1];
    }
    at += 2 + 4; /* rest of the 4-byte value field, then the next-IFD offset 0 */
    struct bytes out = {0};
    put(&out, jpg->p, 2); /* SOI */
    unsigned seg = 2 + 6 + (unsigned)at;
    unsigned char app1[4] = {0xFF, 0xE1, (unsigned char)(seg >> 8), (unsigned char)seg};
    put(&out, app1, 4);
    put(&out, "Exif\0\0", 6);
    put(&out, tiff, at);
    put(&out, jpg->p + 2, jpg->len - 2);
    return out;
}

enum { RED, GREEN, BLUE, WHITE };
static const unsigned char quadrant_colour[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

/* 32 x 16 stored picture: top-left red, top-right green, bottom-left blue, bottom-right white. */
static struct img quadrants(void)
{
    struct img im = {32, 16, malloc(32 * 16 * 3)};
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 32; x++)
            memcpy(im.rgb + (y * 32 + x) * 3, quadrant_colour[(y >= 8) * 2 + (x >= 16)], 3);
    return im;
}

static int nearest_quadrant(const unsigned char *p)
{
    int best = 0, best_d = 1 << 30;
    for (int q = 0; q < 4; q++) {
        int d = 0;
        for (int c = 0; c < 3; c++)
            d += (p[c] - quadrant_colour[q][c]) * (p[c] - quadrant_colour[q][c]);
        if (d < best_d)
            best = q, best_d = d;
    }
    return best;
}

/* What the viewer sees in its top-left, top-right, bottom-left, bottom-right corners for each EXIF
 * orientation, from the spec's "row 0 is at the ..., column 0 is at the ..." definitions. */
static const int seen_corners[9][4] = {
    [1] = {RED, GREEN, BLUE, WHITE},  [2] = {GREEN, RED, WHITE, BLUE},
    [3] = {WHITE, BLUE, GREEN, RED},  [4] = {BLUE, WHITE, RED, GREEN},
    [5] = {RED, BLUE, GREEN, WHITE},  [6] = {BLUE, RED, WHITE, GREEN},
    [7] = {WHITE, GREEN, BLUE, RED},  [8] = {GREEN, WHITE, RED, BLUE},
};

START_TEST(exif_orientations_are_applied)
{
    struct img src = quadrants();
    struct bytes jpg = jpeg_of(&src);
    for (int be = 0; be < 2; be++)
        for (unsigned o = 1; o <= 8; o++) {
            struct bytes b = with_exif(&jpg, be, o);
            ck_assert_int_eq(img_jpeg_orientation(b.p, b.len), (int)o);
            struct img got;
            ck_assert_int_eq(decode(&b, &got), 0);
            int turned = o >= 5;
            ck_assert_int_eq(got.w, turned ? 16 : 32);
            ck_assert_int_eq(got.h, turned ? 32 : 16);
            int xs[2] = {1, got.w - 2}, ys[2] = {1, got.h - 2};
            for (int corner = 0; corner < 4; corner++)
                ck_assert_msg(nearest_quadrant(pixel(&got, xs[corner % 2], ys[corner / 2])) == seen_corners[o][corner],
                              "orientation %u (%s endian) corner %d", o, be ? "big" : "little", corner);
            img_free(&got);
            free(b.p);
        }
    free(jpg.p);
    img_free(&src);
}
END_TEST

START_TEST(malformed_exif_means_upright)
{
    struct img src = quadrants();
    struct bytes jpg = jpeg_of(&src);
    ck_assert_int_eq(img_jpeg_orientation(jpg.p, jpg.len), 1); /* no EXIF at all */
    struct bytes b = with_exif(&jpg, 0, 9);                     /* out of range value */
    ck_assert_int_eq(img_jpeg_orientation(b.p, b.len), 1);
    free(b.p);
    /* Corrupt each byte of the TIFF block in turn (IFD offset, count, type ...): never out of range,
     * never a crash, and the picture still decodes. */
    struct bytes good = with_exif(&jpg, 1, 6);
    for (size_t i = 12; i < 12 + 26; i++) { /* SOI, APP1 marker + length, "Exif\0\0", then TIFF */
        for (int v = 0; v < 256; v += 85) {
            unsigned char saved = good.p[i];
            good.p[i] = (unsigned char)(v ^ 0xA5);
            int o = img_jpeg_orientation(good.p, good.len);
            ck_assert(o >= 1 && o <= 8);
            good.p[i] = saved;
        }
    }
    /* A segment length pointing past the end: no orientation, and the file counts as truncated. */
    good.p[4] = 0xFF;
    ck_assert_int_eq(img_jpeg_orientation(good.p, good.len), 1);
    struct img got;
    ck_assert_int_eq(decode(&good, &got), NN_ERR_BAD_IMAGE);
    free(good.p);
    free(jpg.p);
    img_free(&src);
}
END_TEST

/* A real camera photo (from the shared sample set) given orientation 6 must come out as stb_image's
 * stored-orientation decode turned a quarter clockwise, pixel for pixel. */
START_TEST(real_photo_with_orientation_6_is_turned)
{
    struct bytes plain = read_shared("eval/sample_dev/images/n01491361_tiger_shark.JPEG");
    ck_assert_int_eq(img_jpeg_orientation(plain.p, plain.len), 1);
    struct bytes b = with_exif(&plain, 1, 6);
    ck_assert_int_eq(img_jpeg_orientation(b.p, b.len), 6);
    int sw, sh, comp;
    unsigned char *stored = stbi_load_from_memory(plain.p, (int)plain.len, &sw, &sh, &comp, 3);
    ck_assert_ptr_nonnull(stored);
    ck_assert_int_ne(sw, sh);
    struct img got;
    ck_assert_int_eq(decode(&b, &got), 0);
    ck_assert_int_eq(got.w, sh);
    ck_assert_int_eq(got.h, sw);
    unsigned char *turned = malloc((size_t)sw * sh * 3);
    for (int y = 0; y < got.h; y++)
        for (int x = 0; x < got.w; x++)
            memcpy(turned + ((size_t)y * got.w + x) * 3, stored + ((size_t)(sh - 1 - x) * sw + y) * 3, 3);
    ck_assert_mem_eq(got.rgb, turned, (size_t)sw * sh * 3);
    free(turned);
    stbi_image_free(stored);
    img_free(&got);
    free(b.p);
    free(plain.p);
}
END_TEST

/* Turning the 224x224 result (what nn_classify_image does) instead of the whole photo gives the same
 * input, including when the crop margin is odd (500 - 313 = 187 here) and a mirror moves it. */
START_TEST(turning_after_shrinking_matches_turning_first)
{
    struct bytes plain = read_shared("eval/sample_dev/images/n01491361_tiger_shark.JPEG");
    for (unsigned o = 1; o <= 8; o++) {
        struct bytes b = with_exif(&plain, 0, o);
        struct img upright, stored, a, c;
        int orientation, x0, y0, side;
        ck_assert_int_eq(decode(&b, &upright), 0);
        img_center_square(upright.w, upright.h, &x0, &y0, &side);
        ck_assert_int_eq(img_resize_rect(&upright, x0, y0, side, side, 224, 224, &a), 0);
        ck_assert_int_eq(img_decode_stored(b.p, b.len, &stored, &orientation, NULL, 0), 0);
        ck_assert_int_eq(orientation, (int)o);
        img_center_square_oriented(stored.w, stored.h, orientation, &x0, &y0, &side);
        ck_assert_int_eq(img_resize_rect(&stored, x0, y0, side, side, 224, 224, &c), 0);
        ck_assert_int_eq(img_apply_orientation(&c, orientation), 0);
        ck_assert_int_le(max_difference(&a, &c), 1); /* float rounding in the filter, mirrored */
        img_free(&upright), img_free(&stored), img_free(&a), img_free(&c);
        free(b.p);
    }
    free(plain.p);
}
END_TEST

/* ---- nn_classify_image (through the real engine and model) ----------------------------------------- */

static struct nn_model *load_model(void)
{
    const char *path = getenv("IMGREC_MODEL");
    ck_assert_msg(path != NULL, "IMGREC_MODEL is not set (run through make)");
    char err[256] = "";
    struct nn_model *m = nn_load(path, err, sizeof err);
    ck_assert_msg(m != NULL, "nn_load: %s", err);
    return m;
}

static float *read_floats(const char *rel, size_t count)
{
    struct bytes b = read_shared(rel);
    ck_assert_uint_eq(b.len, count * sizeof(float));
    return (float *)b.p;
}

/* The golden test_224 tensor, turned back into its 8-bit pixels and stored losslessly as a PNG, must
 * go through decode, crop, resize and preprocessing unchanged: all 1001 probabilities as the golden. */
START_TEST(classify_png_of_golden_input_matches_golden_softmax)
{
    enum { N = NN_INPUT_SIZE * NN_INPUT_SIZE * 3 };
    float *input = read_floats("golden/test_224.input.f32", N);
    float *golden = read_floats("golden/test_224.prob1001.f32", 1001);
    struct img im = {NN_INPUT_SIZE, NN_INPUT_SIZE, malloc(N)};
    int not_8bit = 0;
    for (int i = 0; i < N; i++) {
        im.rgb[i] = (unsigned char)((input[i] + 1.0f) * 127.5f + 0.5f);
        not_8bit += fabsf(im.rgb[i] / 127.5f - 1.0f - input[i]) > 1e-6f;
    }
    ck_assert_int_eq(not_8bit, 0); /* the golden input really is 8-bit pixels */
    struct bytes png = {0};
    ck_assert_int_eq(img_encode_png(&im, &png.p, &png.len), 0);

    struct nn_model *m = load_model();
    struct nn_result r;
    char err[128] = "";
    ck_assert_int_eq(nn_classify_image(m, png.p, png.len, 5, &r, err, sizeof err), 0);
    ck_assert_int_eq(nn_num_classes(m), 1001);
    const float *probs = nn_probs(m);
    int worst = 0;
    for (int i = 1; i < 1001; i++)
        worst = fabsf(probs[i] - golden[i]) > fabsf(probs[worst] - golden[worst]) ? i : worst;
    ck_assert_msg(fabsf(probs[worst] - golden[worst]) <= 1e-4f, "class %d: %f vs golden %f", worst, probs[worst],
                  golden[worst]);
    ck_assert_int_eq(r.k, 5);
    ck_assert_float_eq_tol(r.top[0].prob, golden[r.top[0].class_index + 1], 1e-4);
    ck_assert(r.decode_ms > 0);
    nn_free(m);
    free(png.p), img_free(&im), free(input), free(golden);
}
END_TEST

/* The seed photos as JPEG: the same top-1 as the golden softmax, its probability close.  Not within
 * 1e-4: stb_image's JPEG decoder rounds its IDCT and colour conversion differently from the libjpeg that
 * made the golden inputs.  test_224 differs by up to 3 levels (0.16 on average), which moves its top
 * probability from 0.4032 to 0.3985; test_16's 16 pixels are each stretched over 14x14 inputs, so the
 * same rounding moves 0.4279 to 0.4504. */
START_TEST(classify_seed_jpegs_agree_with_golden)
{
    const char *names[] = {"test_224", "test_16"};
    const float tolerance[] = {0.01f, 0.03f};
    struct nn_model *m = load_model();
    for (int i = 0; i < 2; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "golden/%s.prob1001.f32", names[i]);
        float *golden = read_floats(rel, 1001);
        int best = 1;
        for (int c = 1; c < 1001; c++)
            if (golden[c] > golden[best])
                best = c;
        snprintf(rel, sizeof rel, "eval/seed_test_images/%s.jpg", names[i]);
        struct bytes jpg = read_shared(rel);
        struct nn_result r;
        char err[128] = "";
        ck_assert_int_eq(nn_classify_image(m, jpg.p, jpg.len, 5, &r, err, sizeof err), 0);
        ck_assert_int_eq(r.top[0].class_index, best - 1);
        ck_assert_str_eq(r.top[0].label, nn_label(m, best));
        ck_assert_msg(fabsf(r.top[0].prob - golden[best]) < tolerance[i], "%s: %f vs golden %f", names[i], r.top[0].prob,
                      golden[best]);
        for (int k = 1; k < r.k; k++)
            ck_assert(r.top[k].prob <= r.top[k - 1].prob);
        free(jpg.p), free(golden);
    }
    nn_free(m);
}
END_TEST

/* A turned photo is classified as its upright picture (nn_classify_image turns after shrinking). */
START_TEST(classify_turned_photo_as_upright)
{
    struct bytes plain = read_shared("eval/sample_dev/images/n01491361_tiger_shark.JPEG");
    struct bytes b = with_exif(&plain, 1, 8);
    struct img upright, input;
    int x0, y0, side;
    ck_assert_int_eq(decode(&b, &upright), 0);
    img_center_square(upright.w, upright.h, &x0, &y0, &side);
    ck_assert_int_eq(img_resize_rect(&upright, x0, y0, side, side, NN_INPUT_SIZE, NN_INPUT_SIZE, &input), 0);
    static float tensor[NN_INPUT_SIZE * NN_INPUT_SIZE * 3];
    img_to_tensor(&input, tensor);
    struct nn_model *m = load_model();
    struct nn_result want, got;
    ck_assert_int_eq(nn_classify_tensor(m, tensor, 5, &want), 0);
    char err[128] = "";
    ck_assert_int_eq(nn_classify_image(m, b.p, b.len, 5, &got, err, sizeof err), 0);
    ck_assert_int_eq(got.top[0].class_index, want.top[0].class_index);
    ck_assert_float_eq_tol(got.top[0].prob, want.top[0].prob, 1e-3);
    nn_free(m);
    img_free(&upright), img_free(&input), free(b.p), free(plain.p);
}
END_TEST

START_TEST(classify_passes_image_errors_through)
{
    struct nn_model *m = load_model();
    struct nn_result r;
    char err[128] = "";
    ck_assert_int_eq(nn_classify_image(m, "hello", 5, 5, &r, err, sizeof err), NN_ERR_NOT_IMAGE);
    ck_assert(err[0] != '\0');
    struct img src = pattern(8, 8);
    struct bytes jpg = jpeg_of(&src);
    ck_assert_int_eq(nn_classify_image(m, jpg.p, jpg.len - 2, 5, &r, err, sizeof err), NN_ERR_BAD_IMAGE);
    ck_assert_int_eq(nn_classify_image(m, jpg.p, jpg.len, 3, &r, err, sizeof err), 0); /* and then works */
    ck_assert_int_eq(r.k, 3);
    free(jpg.p), img_free(&src);
    nn_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("image");
    TCase *formats = tcase_create("formats");
    tcase_add_test(formats, png_bmp_tga_roundtrip_exactly);
    tcase_add_test(formats, encoders_roundtrip);
    tcase_add_test(formats, grayscale_becomes_equal_channels);
    tcase_add_test(formats, alpha_is_composited_on_white);
    tcase_add_test(formats, gif_decodes_with_transparency_on_white);
    tcase_add_test(formats, progressive_jpeg_decodes);
    tcase_add_test(formats, pnm_decodes);
    suite_add_tcase(s, formats);

    TCase *refusals = tcase_create("refusals");
    tcase_add_test(refusals, not_an_image_is_not_image);
    tcase_add_test(refusals, known_but_unsupported_formats_name_themselves);
    tcase_add_test(refusals, jpeg_end_marker_is_found_by_walking_segments);
    tcase_add_test(refusals, lossless_jpeg_is_unsupported);
    tcase_add_test(refusals, every_truncation_is_refused_or_decoded);
    tcase_add_test(refusals, too_large_refused_from_header);
    tcase_set_timeout(refusals, 20); /* the truncation sweep decodes a few thousand prefixes under ASan */
    suite_add_tcase(s, refusals);

    TCase *bombs = tcase_create("bombs");
    tcase_add_test(bombs, decode_bombs_are_refused_naming_the_limit);
    tcase_add_test(bombs, limits_are_settable);
    tcase_add_test(bombs, picture_at_the_decode_limit_decodes);
    tcase_add_test(bombs, unwritten_pixels_are_the_same_whatever_came_before);
    tcase_add_test(bombs, same_bytes_same_answer_after_different_pictures);
    tcase_add_test(bombs, every_eval_picture_decodes);
    tcase_add_test(bombs, worker_answers_bombs_with_4xx_naming_the_limit);
    tcase_set_timeout(bombs, 120); /* 1162 photos decoded, and ASan builds are far slower */
    suite_add_tcase(s, bombs);

    TCase *geometry = tcase_create("geometry");
    tcase_add_test(geometry, center_square_geometry);
    tcase_add_test(geometry, resize_keeps_flat_colour_and_averages_when_shrinking);
    tcase_add_test(geometry, enlarging_is_bilinear);
    tcase_add_test(geometry, shrinking_every_width_to_224_is_safe);
    tcase_add_test(geometry, tiny_and_extreme_shapes_reach_224);
    tcase_add_test(geometry, large_shrink_matches_direct_filtering);
    tcase_add_test(geometry, resize_to_same_size_is_identity);
    tcase_add_test(geometry, resize_rect_reads_only_the_rectangle);
    tcase_add_test(geometry, tensor_is_pixel_over_127_5_minus_1);
    suite_add_tcase(s, geometry);

    TCase *exif = tcase_create("exif");
    tcase_add_test(exif, exif_orientations_are_applied);
    tcase_add_test(exif, malformed_exif_means_upright);
    tcase_add_test(exif, real_photo_with_orientation_6_is_turned);
    tcase_add_test(exif, turning_after_shrinking_matches_turning_first);
    suite_add_tcase(s, exif);

    TCase *classify = tcase_create("classify");
    tcase_add_test(classify, classify_png_of_golden_input_matches_golden_softmax);
    tcase_add_test(classify, classify_seed_jpegs_agree_with_golden);
    tcase_add_test(classify, classify_turned_photo_as_upright);
    tcase_add_test(classify, classify_passes_image_errors_through);
    tcase_set_timeout(classify, 20); /* model loads, and ASan builds run the network far slower */
    suite_add_tcase(s, classify);
    return s;
}
