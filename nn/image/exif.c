/* EXIF is a little TIFF file: byte-order mark ("II" little / "MM" big endian), the number 42, the offset
 * of IFD0; an IFD is a 16-bit entry count then 12-byte entries (tag, type, count, value-or-offset).
 * Offsets are relative to the TIFF header, so every one is checked against the block's length. */
#include "nn/image/exif.h"
#include "nn/image/image.h"
#include "nn/image/jpeg_markers.h"

#include <stdint.h>

enum { TAG_ORIENTATION = 0x0112, TYPE_SHORT = 3, IFD_ENTRY_SIZE = 12 };

struct tiff {
    const unsigned char *p;
    size_t len;
    int big_endian;
};

static unsigned u16_at(const struct tiff *t, size_t off)
{
    const unsigned char *b = t->p + off;
    return t->big_endian ? (unsigned)b[0] << 8 | b[1] : (unsigned)b[1] << 8 | b[0];
}

static uint32_t u32_at(const struct tiff *t, size_t off)
{
    const unsigned char *b = t->p + off;
    if (t->big_endian)
        return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

int exif_orientation(const unsigned char *tiff, size_t len)
{
    if (!tiff || len < 8)
        return 1;
    struct tiff t = {tiff, len, 0};
    if (tiff[0] == 'M' && tiff[1] == 'M')
        t.big_endian = 1;
    else if (!(tiff[0] == 'I' && tiff[1] == 'I'))
        return 1;
    if (u16_at(&t, 2) != 42)
        return 1;
    uint32_t ifd = u32_at(&t, 4);
    if (ifd > len - 2)
        return 1;
    unsigned count = u16_at(&t, ifd);
    size_t entries = ifd + 2;
    for (unsigned i = 0; i < count; i++) {
        size_t e = entries + (size_t)i * IFD_ENTRY_SIZE;
        if (e > len || len - e < IFD_ENTRY_SIZE)
            return 1;
        if (u16_at(&t, e) != TAG_ORIENTATION)
            continue;
        if (u16_at(&t, e + 2) != TYPE_SHORT || u32_at(&t, e + 4) < 1)
            return 1;
        unsigned v = u16_at(&t, e + 8); /* a single SHORT sits in the first half of the value field */
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int img_jpeg_orientation(const void *bytes, size_t len)
{
    struct jpeg_layout layout;
    if (!bytes || jpeg_layout_scan(bytes, len, &layout) < 0)
        return 1;
    return exif_orientation(layout.tiff, layout.tiff_len);
}
