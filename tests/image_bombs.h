/* image_bombs: small hostile pictures built in memory (nothing big is committed): decode bombs whose
 * headers or scans promise far more work or memory than their size suggests, and pictures whose pixels
 * a decoder would otherwise never write.  Used by test_image, bench_image (cost before/after) and to seed
 * the image fuzz target.  Each builder returns malloc'd bytes the caller frees; on allocation failure
 * they abort (tests only). */
#ifndef TESTS_IMAGE_BOMBS_H
#define TESTS_IMAGE_BOMBS_H

#include <stddef.h>

struct ib_buf {
    unsigned char *p;
    size_t len, cap;
};

void ib_put(struct ib_buf *b, const void *src, size_t n);
void ib_byte(struct ib_buf *b, unsigned v);

/* PNG w x h, 8 or 16 bits, colour type 0 (grey), 2 (RGB) or 6 (RGBA), every pixel 0; its one IDAT is a
 * hand-made fixed-Huffman deflate stream (13 bits per 258 zeros) that inflates to inflate_bytes zeros
 * (0: exactly what the header needs). */
struct ib_buf ib_png_zeros(unsigned w, unsigned h, unsigned depth, unsigned colour_type, size_t inflate_bytes);
/* GIF whose logical screen is screen_w x screen_h, holding one 1x1 frame. */
struct ib_buf ib_gif_canvas(unsigned screen_w, unsigned screen_h);
/* PSD header (colour mode RGB, raw or RLE data) for w x h, channels, depth 8/16, followed by
 * data_bytes of pixel data (raw: zeros; RLE: runs of zeros, 2 bytes per run of 128). */
struct ib_buf ib_psd(unsigned w, unsigned h, unsigned channels, unsigned depth, int rle, size_t data_bytes);
/* The bytes a complete PSD of that shape needs after its header (raw), or the RLE bytes. */
size_t ib_psd_data_bytes(unsigned w, unsigned h, unsigned channels, unsigned depth, int rle);
/* Grey progressive JPEG w x h: a DC scan, then `refinements` AC refinement scans over the whole band,
 * each one EOB run over every block (a few bytes per scan, w*h/64*63 coefficient visits each). */
struct ib_buf ib_jpeg_refinement_bomb(unsigned w, unsigned h, unsigned refinements);
/* The same with one refinement scan and no DC scan: no coefficient is ever set, so a decoder that does
 * not zero its coefficient buffer refines (and shows) whatever memory held before. */
struct ib_buf ib_jpeg_without_dc(unsigned w, unsigned h);
/* Grey baseline JPEG w x h sent as `scans` full scans (every block DC 0, EOB: 2 bits per block). */
struct ib_buf ib_jpeg_repeated_scans(unsigned w, unsigned h, unsigned scans);
/* A JPEG with tables and a frame header (w x h, 3 components) but no scan before EOI. */
struct ib_buf ib_jpeg_scanless(unsigned w, unsigned h, int progressive);

#endif
