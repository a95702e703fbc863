/* stb_decoder: our own build of Debian's stb_image (the header-only library, compiled here rather than
 * taken from libstb.so) so that every allocation it makes goes through img_budget: capped, counted
 * and zero-filled.  HDR and Softimage PIC are compiled out. */
#ifndef NN_IMAGE_STB_DECODER_H
#define NN_IMAGE_STB_DECODER_H

#include <stddef.h>

/* Size and channels from the header, 1 on success (stbi_info_from_memory).  Call inside a budget. */
int img_stb_info(const unsigned char *bytes, int len, int *w, int *h, int *comp);
/* Pixels with `channels` per pixel (stbi_load_from_memory), allocated inside the current budget, or NULL. */
unsigned char *img_stb_load(const unsigned char *bytes, int len, int *w, int *h, int channels);
/* stb_image's reason for the last failure on this thread. */
const char *img_stb_failure(void);

#endif
