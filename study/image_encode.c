/* JPEG/PNG encoding through stb_image_write's callback writers into one growing malloc'd buffer. */
#include "study/image_encode.h"
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>
#include <stb/stb_image_write.h>

struct growbuf {
    unsigned char *data;
    size_t len, cap;
    int failed; /* an allocation failed: the rest of the stream is dropped */
};

static void append(void *ctx, void *bytes, int n)
{
    struct growbuf *b = ctx;
    if (b->failed || n <= 0)
        return;
    if ((size_t)n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while ((size_t)n > cap - b->len)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, (size_t)n);
    b->len += (size_t)n;
}

/* Hands the buffer to the caller if the writer succeeded and nothing failed; frees it otherwise. */
static int finish(struct growbuf *b, int written, unsigned char **buf, size_t *len)
{
    if (!written || b->failed || b->len == 0) {
        free(b->data);
        return b->failed ? NN_ERR_NOMEM : NN_ERR_BAD_IMAGE;
    }
    *buf = b->data;
    *len = b->len;
    return 0;
}

static int valid(const struct img *in) { return in && in->rgb && in->w > 0 && in->h > 0; }

int img_encode_jpeg(const struct img *in, int quality, unsigned char **buf, size_t *len)
{
    *buf = NULL, *len = 0;
    if (!valid(in) || quality < 1 || quality > 100)
        return NN_ERR_BAD_IMAGE;
    struct growbuf b = {0};
    int ok = stbi_write_jpg_to_func(append, &b, in->w, in->h, 3, in->rgb, quality);
    return finish(&b, ok, buf, len);
}

int img_encode_png(const struct img *in, unsigned char **buf, size_t *len)
{
    *buf = NULL, *len = 0;
    if (!valid(in))
        return NN_ERR_BAD_IMAGE;
    struct growbuf b = {0};
    int ok = stbi_write_png_to_func(append, &b, in->w, in->h, 3, in->rgb, in->w * 3);
    return finish(&b, ok, buf, len);
}
