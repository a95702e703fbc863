/* Magic bytes, header sizes and end-of-structure checks per format.  Only what is needed to refuse a
 * file early or classify an error; stb_image does the real parsing afterwards. */
#include "nn/image/probe.h"
#include "nn/image/exif.h"
#include "nn/image/jpeg_markers.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned le16(const unsigned char *p) { return (unsigned)p[1] << 8 | p[0]; }

static int starts_with(const unsigned char *p, size_t len, const void *magic, size_t n, size_t at)
{
    return len >= at + n && memcmp(p + at, magic, n) == 0;
}

/* Clamps a header dimension into int range; huge values stay huge enough to be refused. */
static int dim(uint64_t v) { return v > INT32_MAX ? INT32_MAX : (int)v; }

/* Small allocations besides the planes (decoder state, tables, palettes, row buffers), bounded above. */
enum { DECODER_STATE_BYTES = 256 << 10 };

/* Width x height, saturated at 2^48 (far over any budget) so the byte counts made from it cannot wrap. */
static unsigned long long pixels_of(const struct img_probe *out)
{
    unsigned long long px = (unsigned long long)out->width * (unsigned long long)out->height;
    return px > 1ULL << 48 ? 1ULL << 48 : px;
}

struct magic {
    enum img_format format;
    const char *name;
    const char *bytes;
    size_t n, at;
};

static const struct magic magics[] = {
    {IMG_FMT_JPEG, "JPEG", "\xFF\xD8\xFF", 3, 0},
    {IMG_FMT_PNG, "PNG", "\x89PNG\r\n\x1A\n", 8, 0},
    {IMG_FMT_GIF, "GIF", "GIF87a", 6, 0},
    {IMG_FMT_GIF, "GIF", "GIF89a", 6, 0},
    {IMG_FMT_BMP, "BMP", "BM", 2, 0},
    {IMG_FMT_PSD, "PSD", "8BPS", 4, 0},
    {IMG_FMT_PNM, "PNM", "P5", 2, 0},
    {IMG_FMT_PNM, "PNM", "P6", 2, 0},
    {IMG_FMT_UNSUPPORTED, "Softimage PIC", "\x53\x80\xF6\x34", 4, 0},
    {IMG_FMT_UNSUPPORTED, "Radiance HDR", "#?RADIANCE", 10, 0},
    {IMG_FMT_UNSUPPORTED, "Radiance HDR", "#?RGBE", 6, 0},
    {IMG_FMT_UNSUPPORTED, "WebP", "WEBP", 4, 8},
    {IMG_FMT_UNSUPPORTED, "TIFF", "II*\0", 4, 0},
    {IMG_FMT_UNSUPPORTED, "TIFF", "MM\0*", 4, 0},
    {IMG_FMT_UNSUPPORTED, "ISO media (HEIF/AVIF)", "ftyp", 4, 4},
};

/* PNG: signature, then chunks (length, type, data, CRC) up to IEND; IHDR comes first. */
/* stb_image inflates all IDAT data (collected in one buffer grown by doubling) into the filtered rows,
 * unfilters them into a picture of 4 channels (RGB, RGBA) or of its own channels (grey, palette
 * indices), then makes that 4 channels (grey, palette) and 8 bits (16-bit) in new buffers. */
static unsigned long long png_decode_bytes(const unsigned char *ihdr, unsigned long long idat, struct img_probe *out)
{
    unsigned depth = ihdr[8], type = ihdr[9], channels = type == 2 ? 3 : type == 4 ? 2 : type == 6 ? 4 : 1;
    unsigned long long px = pixels_of(out), sample = depth == 16 ? 2 : 1;
    unsigned long long rows = (unsigned long long)out->height * (ihdr[12] ? 2 : 1); /* Adam7: up to 2x */
    unsigned long long filtered = rows * 2 + px * channels * depth / 8 + (ihdr[12] ? rows * 8 : 0); /* +rounding */
    unsigned long long picture = px * (channels >= 3 ? 4 : channels) * sample;
    unsigned long long widen = channels < 3 ? px * 4 * 2 : 0, narrow = depth == 16 ? px * 4 : 0;
    return 2 * idat + filtered + picture + widen + narrow + DECODER_STATE_BYTES;
}

static void probe_png(const unsigned char *p, size_t len, struct img_probe *out)
{
    const unsigned char *ihdr = NULL;
    if (len >= 33 && !memcmp(p + 12, "IHDR", 4)) {
        ihdr = p + 16;
        out->width = dim(be32(p + 16));
        out->height = dim(be32(p + 20));
    }
    unsigned long long idat = 0;
    for (size_t i = 8; len - i >= 12;) {
        uint32_t n = be32(p + i);
        if (n > len - i - 12)
            break;
        if (!memcmp(p + i + 4, "IDAT", 4))
            idat += n;
        if (!memcmp(p + i + 4, "IEND", 4)) {
            out->complete = 1;
            break;
        }
        i += 12 + (size_t)n;
    }
    if (ihdr)
        out->decode_bytes = png_decode_bytes(ihdr, idat, out);
}

/* BMP: file header (14 bytes, pixel offset at 10), then an info header whose size tells its layout.
 * Uncompressed pixel arrays have a computable length; stb_image would read zeros past a short one. */
static void probe_bmp(const unsigned char *p, size_t len, struct img_probe *out)
{
    if (len < 30)
        return;
    uint32_t offset = le32(p + 10), header = le32(p + 14);
    uint64_t w, h;
    unsigned bpp, compression;
    if (header == 12) { /* OS/2 BITMAPCOREHEADER */
        w = le16(p + 18), h = le16(p + 20), bpp = le16(p + 24), compression = 0;
    } else if (header >= 40 && len >= 34) {
        int32_t sh = (int32_t)le32(p + 22);
        w = le32(p + 18), h = sh < 0 ? -(int64_t)sh : sh, bpp = le16(p + 28), compression = le32(p + 30);
    } else {
        return;
    }
    out->width = dim(w);
    out->height = dim(h);
    out->decode_bytes = pixels_of(out) * 4 + DECODER_STATE_BYTES; /* decoded straight into RGBA */
    if (compression != 0 && compression != 3 && compression != 6) {
        out->complete = 1; /* run-length or embedded data: no fixed length to check */
        return;
    }
    uint64_t stride = (w * bpp + 31) / 32 * 4;
    out->complete = offset <= len && (stride == 0 || h <= (len - offset) / stride);
}

/* The info header sizes BMP versions use (core, v1 .. v5), as stb_image accepts them. */
static int bmp_header_plausible(const unsigned char *p, size_t len)
{
    if (len < 18)
        return 0;
    uint32_t header = le32(p + 14);
    return header == 12 || header == 40 || header == 52 || header == 56 || header == 108 || header == 124;
}

/* Skips GIF data sub-blocks (length byte + data, ended by a zero length); returns the index after them,
 * or 0 when they run past the end. */
static size_t gif_skip_blocks(const unsigned char *p, size_t len, size_t i)
{
    while (i < len) {
        unsigned n = p[i++];
        if (n == 0)
            return i;
        i += n;
    }
    return 0;
}

/* GIF: header, logical screen, optional colour table, then extensions until the first image (stb_image
 * decodes only that one), which must be whole. */
static void probe_gif(const unsigned char *p, size_t len, struct img_probe *out)
{
    if (len < 13)
        return;
    out->width = (int)le16(p + 6);
    out->height = (int)le16(p + 8);
    /* stb_image composes frames on the logical screen: the RGBA picture, its background, and one byte of
     * history per pixel, whatever the size of the frame itself */
    out->decode_bytes = pixels_of(out) * 9 + DECODER_STATE_BYTES;
    size_t i = 13;
    if (p[10] & 0x80)
        i += (size_t)3 << ((p[10] & 7) + 1);
    while (i < len) {
        unsigned block = p[i++];
        if (block == 0x21 && i < len) { /* extension: label, sub-blocks */
            i = gif_skip_blocks(p, len, i + 1);
            if (!i)
                return;
        } else if (block == 0x2C && len - i >= 9) { /* image: descriptor, colour table, LZW size, data */
            unsigned flags = p[i + 8];
            i += 9;
            if (flags & 0x80)
                i += (size_t)3 << ((flags & 7) + 1);
            out->complete = i < len && gif_skip_blocks(p, len, i + 1) != 0;
            return;
        } else {
            return; /* trailer before any image, or garbage */
        }
    }
}

/* Reads one PNM header number after whitespace and '#' comments; returns -1 at the end of the data. */
static int64_t pnm_number(const unsigned char *p, size_t len, size_t *i)
{
    while (*i < len && (isspace(p[*i]) || p[*i] == '#')) {
        if (p[*i] == '#')
            while (*i < len && p[*i] != '\n')
                (*i)++;
        else
            (*i)++;
    }
    if (*i >= len || !isdigit(p[*i]))
        return -1;
    int64_t v = 0;
    while (*i < len && isdigit(p[*i])) {
        if (v < INT32_MAX)
            v = v * 10 + (p[*i] - '0');
        (*i)++;
    }
    return v;
}

/* PNM (P5 grey, P6 RGB): text header "P6 <w> <h> <maxval>" and one whitespace byte, then exactly
 * w*h*channels samples of 1 or 2 bytes.  stb_image does not check that they are all there. */
static void probe_pnm(const unsigned char *p, size_t len, struct img_probe *out)
{
    size_t i = 2;
    int64_t w = pnm_number(p, len, &i), h = pnm_number(p, len, &i), maxval = pnm_number(p, len, &i);
    if (w < 0 || h < 0 || maxval < 0 || i >= len)
        return;
    out->width = dim((uint64_t)w);
    out->height = dim((uint64_t)h);
    unsigned channels = p[1] == '6' ? 3 : 1, sample = maxval > 255 ? 2 : 1;
    uint64_t need = (uint64_t)w * (uint64_t)h * channels * sample;
    out->complete = need <= len - i - 1;
    if (sample == 2)
        out->supported = 0, out->variant = "16-bit samples";
    /* the samples as stored, then 8-bit (16-bit files), then RGBA */
    out->decode_bytes = pixels_of(out) * (channels * sample + (sample == 2 ? channels : 0) + 4) + DECODER_STATE_BYTES;
}

/* TGA: an 18-byte header (id length, colour-map type, image type, colour-map spec, origin, size, depth),
 * the id, the colour map, then pixels: raw, or run-length packets (a count byte, then one pixel
 * repeated or count literal pixels).  The header is judged with the rules of stb_image's TGA test,
 * zero-padded as stb_image reads past the end of a short file. */
enum { TGA_HEADER = 18 };

static int tga_plausible(const unsigned char h[TGA_HEADER])
{
    unsigned type = h[2], bpp = h[16], map_bits = h[7];
    if (h[1] > 1)
        return 0;
    if (h[1] == 1 && ((type != 1 && type != 9) || (map_bits != 8 && map_bits != 15 && map_bits != 16 &&
                                                   map_bits != 24 && map_bits != 32) || (bpp != 8 && bpp != 16)))
        return 0;
    if (h[1] == 0 && type != 2 && type != 3 && type != 10 && type != 11)
        return 0;
    return le16(h + 12) >= 1 && le16(h + 14) >= 1 &&
           (bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32);
}

static void probe_tga(const unsigned char h[TGA_HEADER], const unsigned char *p, size_t len, struct img_probe *out)
{
    out->width = (int)le16(h + 12);
    out->height = (int)le16(h + 14);
    out->decode_bytes = pixels_of(out) * (4 + 4) + DECODER_STATE_BYTES; /* its own channels, then RGBA */
    size_t pixel_bytes = (h[16] + 7u) / 8, pixels = (size_t)out->width * out->height;
    size_t i = TGA_HEADER + h[0] + (h[1] ? (size_t)le16(h + 5) * ((h[7] + 7u) / 8) : 0);
    if (h[2] < 8) { /* raw */
        out->complete = i <= len && pixels <= (len - i) / pixel_bytes;
        return;
    }
    for (size_t done = 0; done < pixels;) {
        if (i >= len)
            return;
        unsigned packet = p[i++], n = (packet & 0x7F) + 1u;
        i += packet & 0x80 ? pixel_bytes : n * pixel_bytes;
        done += n;
    }
    out->complete = i <= len;
}

static void probe_jpeg(const unsigned char *p, size_t len, struct img_probe *out)
{
    struct jpeg_layout layout;
    if (jpeg_layout_scan(p, len, &layout) < 0)
        return;
    out->width = layout.width;
    out->height = layout.height;
    out->complete = layout.complete;
    out->supported = !layout.sof || jpeg_sof_supported(layout.sof);
    out->variant = "lossless or arithmetic-coded";
    out->orientation = exif_orientation(layout.tiff, layout.tiff_len);
    out->jpeg_scans = layout.scans;
    out->jpeg_uncovered = layout.uncovered;
    out->jpeg_work = layout.work;
    if (layout.sof && !layout.scans)
        out->complete = 0; /* a frame and no scan: no pixel was ever coded */
    /* stb_image: each component's plane (plus, progressive, its coefficients at 2 bytes each), a line
     * buffer per component, and the RGB result */
    unsigned long long planes = layout.plane_bytes * (layout.sof == 0xC2 ? 3 : 1);
    out->decode_bytes = layout.sof ? planes + pixels_of(out) * 3 + DECODER_STATE_BYTES : 0;
}

/* PSD: a 26-byte header (channels at 12, height, width, depth), three length-prefixed sections (colour
 * mode data, image resources, layers and masks), a compression word, then the merged picture: per
 * channel, raw samples or (RLE) a table of row byte counts and PackBits packets.  stb_image reads the
 * first 4 channels and, past the end of the file, reads zeros; so the data is walked as it would be. */
static void probe_psd(const unsigned char *p, size_t len, struct img_probe *out)
{
    if (len < 26)
        return;
    unsigned channels = (unsigned)p[12] << 8 | p[13], depth = (unsigned)p[22] << 8 | p[23];
    out->height = dim(be32(p + 14));
    out->width = dim(be32(p + 18));
    out->decode_bytes = pixels_of(out) * 4 + DECODER_STATE_BYTES; /* decoded straight into RGBA */
    size_t i = 26;
    for (int section = 0; section < 3; section++) {
        if (len - i < 4 || be32(p + i) > len - i - 4)
            return;
        i += 4 + (size_t)be32(p + i);
    }
    if (len - i < 2)
        return;
    unsigned compression = (unsigned)p[i] << 8 | p[i + 1];
    i += 2;
    uint64_t pixels = pixels_of(out), read = channels < 4 ? channels : 4;
    if (compression != 1) { /* raw (or unknown, which stb_image refuses) */
        out->complete = compression != 0 || pixels * read * (depth == 16 ? 2 : 1) <= len - i;
        return;
    }
    uint64_t table = (uint64_t)out->height * channels * 2;
    if (table > len - i)
        return;
    i += (size_t)table;
    for (uint64_t c = 0; c < read; c++)
        for (uint64_t done = 0; done < pixels;) { /* every step consumes a byte: bounded by len */
            if (i >= len)
                return;
            unsigned n = p[i++];
            if (n == 128)
                continue;
            uint64_t run = n < 128 ? n + 1u : 257u - n;
            if (run > pixels - done) { /* corrupt: stb_image refuses it */
                out->complete = 1;
                return;
            }
            i += n < 128 ? run : 1;
            done += run;
        }
    out->complete = i <= len;
}

void img_probe(const unsigned char *p, size_t len, struct img_probe *out)
{
    *out = (struct img_probe){.format = IMG_FMT_UNKNOWN, .name = "data", .complete = 1, .supported = 1,
                              .orientation = 1};
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        if (starts_with(p, len, magics[i].bytes, magics[i].n, magics[i].at)) {
            out->format = magics[i].format;
            out->name = magics[i].name;
            break;
        }
    }
    if (out->format == IMG_FMT_BMP && !bmp_header_plausible(p, len)) { /* "BM" alone is a common start */
        out->format = IMG_FMT_UNKNOWN;
        out->name = "data";
    }
    unsigned char tga_header[TGA_HEADER] = {0};
    memcpy(tga_header, p, len < TGA_HEADER ? len : TGA_HEADER);
    if (out->format == IMG_FMT_UNKNOWN && tga_plausible(tga_header)) {
        out->format = IMG_FMT_TGA;
        out->name = "TGA";
    }
    if (out->format == IMG_FMT_JPEG || out->format == IMG_FMT_PNG || out->format == IMG_FMT_BMP ||
        out->format == IMG_FMT_GIF || out->format == IMG_FMT_PNM || out->format == IMG_FMT_TGA ||
        out->format == IMG_FMT_PSD)
        out->complete = 0; /* proven complete by the walkers below */
    switch (out->format) {
    case IMG_FMT_JPEG: probe_jpeg(p, len, out); break;
    case IMG_FMT_PNG: probe_png(p, len, out); break;
    case IMG_FMT_BMP: probe_bmp(p, len, out); break;
    case IMG_FMT_GIF: probe_gif(p, len, out); break;
    case IMG_FMT_PSD: probe_psd(p, len, out); break;
    case IMG_FMT_PNM: probe_pnm(p, len, out); break;
    case IMG_FMT_TGA: probe_tga(tga_header, p, len, out); break;
    default: break;
    }
}
