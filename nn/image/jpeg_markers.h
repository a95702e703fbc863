/* jpeg_markers: walk a JPEG's segment structure (no pixel decoding) to learn what stb_image won't say:
 * whether the file reaches its end-of-image marker, which frame type it is, and where its EXIF is. */
#ifndef NN_JPEG_MARKERS_H
#define NN_JPEG_MARKERS_H

#include <stddef.h>

enum { JPEG_MAX_COMPONENTS = 4 };

struct jpeg_layout {
    int sof;                   /* first start-of-frame marker (0xC0..0xCF), 0 if none was reached */
    int width, height;         /* from that frame header, 0 if none */
    int components;            /* in that frame (0..4 counted; more is left to the decoder to refuse) */
    int complete;              /* 1 when the end-of-image marker (FFD9) was reached */
    int scans;                 /* start-of-scan segments before the end */
    int uncovered;             /* frame components that no scan codes (their pixels would never be written) */
    unsigned long long plane_bytes; /* sum over components of the plane a decoder allocates, padded to
                                       whole MCUs (what stb_image allocates per component) */
    unsigned long long work;   /* coefficients decoded over all scans: per scan, the blocks of each
                                  component it codes times its spectral band (64 when sequential) */
    const unsigned char *tiff; /* TIFF header inside the first APP1 "Exif\0\0" segment, or NULL */
    size_t tiff_len;
};

/* Fills out from bytes (which must start with the SOI marker FFD8).  Stops at EOI or at the first
 * segment that runs past the end.  Never reads outside bytes[0..len).  Returns 0, or -1 if not a JPEG. */
int jpeg_layout_scan(const unsigned char *bytes, size_t len, struct jpeg_layout *out);

/* 1 for the frame types stb_image decodes: baseline, extended sequential and progressive Huffman. */
int jpeg_sof_supported(int sof);

#endif
