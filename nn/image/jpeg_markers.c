/* Segment walk over a JPEG: SOI, then marker segments (FFxx + 16-bit length), each scan's entropy-coded
 * data after SOS (where FF is stuffed as FF00 and FFD0..FFD7 are restart markers), until EOI. */
#include "nn/image/jpeg_markers.h"

#include <string.h>

enum {
    M_SOF0 = 0xC0, M_DHT = 0xC4, M_JPG = 0xC8, M_DAC = 0xCC, M_SOF15 = 0xCF,
    M_RST0 = 0xD0, M_RST7 = 0xD7, M_SOI = 0xD8, M_EOI = 0xD9, M_SOS = 0xDA, M_APP1 = 0xE1, M_TEM = 0x01,
};

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static int is_sof(int m) { return m >= M_SOF0 && m <= M_SOF15 && m != M_DHT && m != M_JPG && m != M_DAC; }

int jpeg_sof_supported(int sof) { return sof == 0xC0 || sof == 0xC1 || sof == 0xC2; }

/* The index of the marker that ends the entropy-coded data starting at i (an FF not followed by 00,
 * FF or a restart marker), or len if the data runs to the end. */
static size_t skip_entropy_data(const unsigned char *p, size_t len, size_t i)
{
    for (; i + 1 < len; i++) {
        if (p[i] != 0xFF)
            continue;
        unsigned next = p[i + 1];
        if (next != 0x00 && next != 0xFF && !(next >= M_RST0 && next <= M_RST7))
            return i;
    }
    return len;
}

struct frame {
    int ids[JPEG_MAX_COMPONENTS];
    unsigned long long blocks[JPEG_MAX_COMPONENTS]; /* 8x8 blocks of each padded plane */
    unsigned covered;                               /* bit i: component i is in some scan */
};

/* The frame's components and their padded planes, as a decoder lays them out: the picture is covered
 * by whole MCUs of (8 h_max) x (8 v_max) pixels, and component i has h_i x v_i blocks per MCU. */
static void note_frame(const unsigned char *body, size_t body_len, struct jpeg_layout *out, struct frame *f)
{
    int n = body_len >= 6 ? body[5] : 0, hmax = 1, vmax = 1;
    if (n > JPEG_MAX_COMPONENTS || body_len < 6 + 3 * (size_t)n)
        n = 0;
    for (int i = 0; i < n; i++) {
        int hv = body[6 + 3 * i + 1];
        hmax = hv >> 4 > hmax ? hv >> 4 : hmax;
        vmax = (hv & 15) > vmax ? hv & 15 : vmax;
    }
    unsigned long long mcu_x = ((unsigned)out->width + 8u * hmax - 1) / (8u * hmax);
    unsigned long long mcu_y = ((unsigned)out->height + 8u * vmax - 1) / (8u * vmax);
    for (int i = 0; i < n; i++) {
        int hv = body[6 + 3 * i + 1], h = hv >> 4 ? hv >> 4 : 1, v = hv & 15 ? hv & 15 : 1;
        f->ids[i] = body[6 + 3 * i];
        f->blocks[i] = mcu_x * h * mcu_y * v;
        out->plane_bytes += f->blocks[i] * 64;
    }
    out->components = n;
}

/* A scan: its components (by id) and spectral band Ss..Se. */
static void note_scan(const unsigned char *body, size_t body_len, struct jpeg_layout *out, struct frame *f)
{
    out->scans++;
    int n = body_len >= 1 ? body[0] : 0;
    if (body_len < 1 + 2 * (size_t)n + 3)
        return;
    int ss = body[1 + 2 * n], se = body[2 + 2 * n];
    int progressive = out->sof == 0xC2;
    unsigned long long band = !progressive ? 64 : se >= ss ? (unsigned)(se - ss + 1) : 1;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < out->components; i++)
            if (f->ids[i] == body[1 + 2 * s]) {
                out->work += f->blocks[i] * band;
                f->covered |= 1u << i;
            }
}

static void note_segment(int marker, const unsigned char *body, size_t body_len, struct jpeg_layout *out,
                         struct frame *f)
{
    static const char exif_id[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (marker == M_APP1 && !out->tiff && body_len > sizeof exif_id && !memcmp(body, exif_id, sizeof exif_id)) {
        out->tiff = body + sizeof exif_id;
        out->tiff_len = body_len - sizeof exif_id;
    }
    if (is_sof(marker) && !out->sof && body_len >= 5) { /* precision, height, width, ... */
        out->sof = marker;
        out->height = (int)be16(body + 1);
        out->width = (int)be16(body + 3);
        note_frame(body, body_len, out, f);
    }
    if (marker == M_SOS)
        note_scan(body, body_len, out, f);
}

int jpeg_layout_scan(const unsigned char *p, size_t len, struct jpeg_layout *out)
{
    memset(out, 0, sizeof *out);
    if (len < 2 || p[0] != 0xFF || p[1] != M_SOI)
        return -1;
    size_t i = 2;
    struct frame f = {0};
    while (i < len) {
        if (p[i] != 0xFF) { /* stray byte between segments: tolerated, as decoders do */
            i++;
            continue;
        }
        while (i < len && p[i] == 0xFF) /* fill bytes */
            i++;
        if (i >= len)
            break;
        int marker = p[i++];
        if (marker == M_EOI) {
            out->complete = 1;
            break;
        }
        if (marker == M_TEM || marker == M_SOI || (marker >= M_RST0 && marker <= M_RST7))
            continue; /* markers without a length */
        if (len - i < 2)
            break;
        size_t seg_len = be16(p + i);
        if (seg_len < 2 || seg_len > len - i)
            break; /* truncated (or nonsense) segment: not complete */
        note_segment(marker, p + i + 2, seg_len - 2, out, &f);
        i += seg_len;
        if (marker == M_SOS)
            i = skip_entropy_data(p, len, i);
    }
    for (int c = 0; c < out->components; c++)
        out->uncovered += !(f.covered >> c & 1);
    return 0;
}
