/* stb_decoder: see stb_decoder.h.  STB_IMAGE_STATIC keeps these stbi_* functions private to this file,
 * so they never clash with libstb.so's (which tests and stb_image_write still use). */
#include "nn/image/stb_decoder.h"
#include "nn/image/budget.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_PIC
#define STBI_MALLOC(n) img_budget_malloc(n)
#define STBI_REALLOC(p, n) img_budget_realloc(p, n)
#define STBI_FREE(p) img_budget_free(p)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include <stb/stb_image.h>
/* no pop: GCC reports stb_image's declared-but-undefined statics at the end of the file */

int img_stb_info(const unsigned char *bytes, int len, int *w, int *h, int *comp)
{
    return stbi_info_from_memory(bytes, len, w, h, comp);
}

unsigned char *img_stb_load(const unsigned char *bytes, int len, int *w, int *h, int channels)
{
    int comp;
    return stbi_load_from_memory(bytes, len, w, h, &comp, channels);
}

const char *img_stb_failure(void) { return stbi_failure_reason(); }
