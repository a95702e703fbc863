/* image_bombs: see image_bombs.h.  Formats written from their specifications (PNG/zlib/deflate RFC 1950/
 * 1951, GIF89a, Adobe PSD, JPEG T.81), only as far as these files need. */
#include "tests/image_bombs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ib_put(struct ib_buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

void ib_byte(struct ib_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    ib_put(b, &c, 1);
}

static void be16(struct ib_buf *b, unsigned v) { ib_byte(b, v >> 8), ib_byte(b, v & 0xFF); }
static void be32(struct ib_buf *b, uint32_t v) { be16(b, v >> 16), be16(b, v & 0xFFFF); }
static void le16(struct ib_buf *b, unsigned v) { ib_byte(b, v & 0xFF), ib_byte(b, v >> 8); }

/* ---- PNG ---------------------------------------------------------------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static void png_chunk(struct ib_buf *b, const char type[4], const unsigned char *data, size_t n)
{
    be32(b, (uint32_t)n);
    size_t at = b->len;
    ib_put(b, type, 4);
    if (n)
        ib_put(b, data, n);
    be32(b, crc32_of(b->p + at, n + 4, 0));
}

/* Deflate bits go least significant first; Huffman codes are sent from their top bit down. */
struct bits {
    struct ib_buf *b;
    uint32_t acc;
    unsigned n;
};

static void bits_put(struct bits *w, uint32_t v, unsigned n)
{
    w->acc |= v << w->n, w->n += n;
    for (; w->n >= 8; w->n -= 8, w->acc >>= 8)
        ib_byte(w->b, w->acc & 0xFF);
}

static void bits_code(struct bits *w, uint32_t code, unsigned n)
{
    for (unsigned i = n; i-- > 0;)
        bits_put(w, code >> i & 1, 1);
}

struct ib_buf ib_png_zeros(unsigned w, unsigned h, unsigned depth, unsigned colour_type, size_t inflate_bytes)
{
    unsigned channels = colour_type == 2 ? 3 : colour_type == 6 ? 4 : 1;
    size_t raw = (size_t)h * (1 + ((size_t)w * channels * depth + 7) / 8);
    size_t n = inflate_bytes ? inflate_bytes : raw;
    struct ib_buf out = {0}, z = {0};
    ib_put(&out, "\x89PNG\r\n\x1A\n", 8);
    unsigned char ihdr[13] = {w >> 24, w >> 16 & 0xFF, w >> 8 & 0xFF, w & 0xFF, h >> 24, h >> 16 & 0xFF,
                              h >> 8 & 0xFF, h & 0xFF, (unsigned char)depth, (unsigned char)colour_type, 0, 0, 0};
    png_chunk(&out, "IHDR", ihdr, sizeof ihdr);
    ib_byte(&z, 0x78), ib_byte(&z, 0x01);
    struct bits bw = {&z, 0, 0};
    bits_put(&bw, 1, 1), bits_put(&bw, 1, 2);  /* final block, fixed Huffman */
    bits_code(&bw, 0x30, 8);                   /* literal 0 */
    size_t left = n - 1;
    for (; left >= 258; left -= 258) {
        bits_code(&bw, 0xC5, 8);               /* length 258 (symbol 285) */
        bits_code(&bw, 0, 5);                  /* distance 1 */
    }
    for (; left; left--)
        bits_code(&bw, 0x30, 8);
    bits_code(&bw, 0, 7);                      /* end of block */
    if (bw.n)
        bits_put(&bw, 0, 8 - bw.n);
    be32(&z, (uint32_t)(n % 65521) << 16 | 1); /* Adler-32 of n zeros: a = 1, b = n */
    png_chunk(&out, "IDAT", z.p, z.len);
    png_chunk(&out, "IEND", NULL, 0);
    free(z.p);
    return out;
}

/* ---- GIF ---------------------------------------------------------------------------------------------- */

struct ib_buf ib_gif_canvas(unsigned screen_w, unsigned screen_h)
{
    struct ib_buf b = {0};
    ib_put(&b, "GIF89a", 6);
    le16(&b, screen_w), le16(&b, screen_h);
    ib_byte(&b, 0x80), ib_byte(&b, 0), ib_byte(&b, 0);  /* global table of 2 colours */
    ib_put(&b, "\x00\x00\x00\xFF\xFF\xFF", 6);
    ib_byte(&b, 0x2C), le16(&b, 0), le16(&b, 0), le16(&b, 1), le16(&b, 1), ib_byte(&b, 0);
    /* LZW minimum code size 2: clear (4), index 0, end (5) as 3-bit codes */
    ib_byte(&b, 2), ib_byte(&b, 2), ib_byte(&b, 0x44), ib_byte(&b, 0x01), ib_byte(&b, 0);
    ib_byte(&b, 0x3B);
    return b;
}

/* ---- PSD ---------------------------------------------------------------------------------------------- */

size_t ib_psd_data_bytes(unsigned w, unsigned h, unsigned channels, unsigned depth, int rle)
{
    size_t pixels = (size_t)w * h;
    if (!rle)
        return pixels * channels * (depth / 8);
    return (size_t)channels * h * 2 + (size_t)(channels < 4 ? channels : 4) * ((pixels + 127) / 128) * 2;
}

struct ib_buf ib_psd(unsigned w, unsigned h, unsigned channels, unsigned depth, int rle, size_t data_bytes)
{
    struct ib_buf b = {0};
    ib_put(&b, "8BPS", 4);
    be16(&b, 1);
    ib_put(&b, "\0\0\0\0\0\0", 6);
    be16(&b, channels), be32(&b, h), be32(&b, w), be16(&b, depth), be16(&b, 3);
    be32(&b, 0), be32(&b, 0), be32(&b, 0);     /* colour mode data, image resources, layers: empty */
    be16(&b, rle ? 1 : 0);
    if (!rle) {
        for (size_t i = 0; i < data_bytes; i++)
            ib_byte(&b, 0);
        return b;
    }
    size_t table = (size_t)channels * h * 2, i = 0;
    for (; i < data_bytes && i < table; i += 2) /* each row's byte count (stb_image skips them) */
        be16(&b, 2);
    for (; i < data_bytes; i += 2)             /* a run of 128 zeros: 257 - 128 = 129, then the value */
        ib_byte(&b, 0x81), ib_byte(&b, 0);
    b.len -= i - data_bytes;                  /* an odd count cuts the last packet */
    return b;
}

/* ---- JPEG --------------------------------------------------------------------------------------------- */

/* Entropy-coded bits, top bit first, with a 00 stuffed after every FF byte. */
struct jbits {
    struct ib_buf *b;
    uint32_t acc;
    unsigned n;
};

static void jbits_put(struct jbits *w, uint32_t v, unsigned n)
{
    for (unsigned i = n; i-- > 0;) {
        w->acc = w->acc << 1 | (v >> i & 1);
        if (++w->n == 8) {
            ib_byte(w->b, w->acc & 0xFF);
            if ((w->acc & 0xFF) == 0xFF)
                ib_byte(w->b, 0);
            w->acc = 0, w->n = 0;
        }
    }
}

static void jbits_flush(struct jbits *w)
{
    if (w->n)
        jbits_put(w, 0xFF, 8 - w->n); /* pad with 1-bits */
}

static void jpeg_head(struct ib_buf *b, int sof, unsigned w, unsigned h, unsigned components)
{
    ib_byte(b, 0xFF), ib_byte(b, 0xD8);
    ib_byte(b, 0xFF), ib_byte(b, 0xDB), be16(b, 67), ib_byte(b, 0);
    for (int i = 0; i < 64; i++)
        ib_byte(b, 1);
    ib_byte(b, 0xFF), ib_byte(b, (unsigned)sof), be16(b, 8 + 3 * components), ib_byte(b, 8), be16(b, h), be16(b, w);
    ib_byte(b, components);
    for (unsigned c = 0; c < components; c++)
        ib_byte(b, c + 1), ib_byte(b, 0x11), ib_byte(b, 0);
}

/* DHT with one table: `count` codes all of length `bits`, for symbols[0..count). */
static void jpeg_dht(struct ib_buf *b, unsigned class_id, unsigned bits, const unsigned char *symbols, unsigned count)
{
    ib_byte(b, 0xFF), ib_byte(b, 0xC4), be16(b, 2 + 1 + 16 + count), ib_byte(b, class_id);
    for (unsigned l = 1; l <= 16; l++)
        ib_byte(b, l == bits ? count : 0);
    ib_put(b, symbols, count);
}

static void jpeg_sos(struct ib_buf *b, unsigned ss, unsigned se, unsigned ahal)
{
    ib_byte(b, 0xFF), ib_byte(b, 0xDA), be16(b, 8), ib_byte(b, 1), ib_byte(b, 1), ib_byte(b, 0x00);
    ib_byte(b, ss), ib_byte(b, se), ib_byte(b, ahal);
}

static void jpeg_eoi(struct ib_buf *b) { ib_byte(b, 0xFF), ib_byte(b, 0xD9); }

static size_t blocks_of(unsigned w, unsigned h) { return (size_t)((w + 7) / 8) * ((h + 7) / 8); }

static struct ib_buf refinements_after(unsigned w, unsigned h, unsigned refinements, int dc_scan)
{
    struct ib_buf b = {0};
    jpeg_head(&b, 0xC2, w, h, 1);
    const unsigned char dc_symbols[1] = {0};
    unsigned char eob_runs[15]; /* EOBr, r = 0..14: a run of 2^r + r extra bits blocks; code = r (4 bits) */
    for (unsigned r = 0; r < 15; r++)
        eob_runs[r] = (unsigned char)(r << 4);
    jpeg_dht(&b, 0x00, 1, dc_symbols, 1);
    jpeg_dht(&b, 0x10, 4, eob_runs, 15);
    size_t blocks = blocks_of(w, h);
    struct jbits bw = {&b, 0, 0};
    if (dc_scan) {
        jpeg_sos(&b, 0, 0, 0x00); /* DC first pass: every difference 0 ("0", 1 bit) */
        for (size_t i = 0; i < blocks; i++)
            jbits_put(&bw, 0, 1);
        jbits_flush(&bw);
    }
    for (unsigned s = 0; s < refinements; s++) {
        jpeg_sos(&b, 1, 63, 0x10); /* AC refinement, Ah 1 Al 0, whole band */
        for (size_t left = blocks; left;) {
            size_t run = left < 32767 ? left : 32767;
            unsigned r = 0;
            while (r < 14 && ((size_t)2 << r) <= run)
                r++;
            jbits_put(&bw, r, 4);
            jbits_put(&bw, (uint32_t)(run - ((size_t)1 << r)), r);
            left -= run;
        }
        jbits_flush(&bw);
    }
    jpeg_eoi(&b);
    return b;
}

struct ib_buf ib_jpeg_refinement_bomb(unsigned w, unsigned h, unsigned refinements)
{
    return refinements_after(w, h, refinements, 1);
}

struct ib_buf ib_jpeg_without_dc(unsigned w, unsigned h) { return refinements_after(w, h, 1, 0); }

struct ib_buf ib_jpeg_repeated_scans(unsigned w, unsigned h, unsigned scans)
{
    struct ib_buf b = {0};
    jpeg_head(&b, 0xC0, w, h, 1);
    const unsigned char zero[1] = {0};
    jpeg_dht(&b, 0x00, 1, zero, 1); /* DC "0" = difference 0 */
    jpeg_dht(&b, 0x10, 1, zero, 1); /* AC "0" = end of block */
    struct jbits bw = {&b, 0, 0};
    for (unsigned s = 0; s < scans; s++) {
        jpeg_sos(&b, 0, 63, 0);
        for (size_t i = 0; i < blocks_of(w, h); i++)
            jbits_put(&bw, 0, 2);
        jbits_flush(&bw);
    }
    jpeg_eoi(&b);
    return b;
}

struct ib_buf ib_jpeg_scanless(unsigned w, unsigned h, int progressive)
{
    struct ib_buf b = {0};
    jpeg_head(&b, progressive ? 0xC2 : 0xC0, w, h, 3);
    const unsigned char zero[1] = {0};
    jpeg_dht(&b, 0x00, 1, zero, 1);
    jpeg_dht(&b, 0x10, 1, zero, 1);
    jpeg_eoi(&b);
    return b;
}
