/* upload: builds the bytes of one HTTP request that uploads an image to the service, the way the
 * original Python client did (multipart/form-data, field "image").  Built once, sent many times. */
#ifndef STUDY_UPLOAD_H
#define STUDY_UPLOAD_H

#include <stddef.h>

#include "net/buf.h"
#include "net/url.h"

/* Appends "POST <target> HTTP/1.1" with Host, keep-alive, and a multipart body holding image[0..len)
 * named filename into out (which must be buf_init'ed; its max bounds the size).  Returns 0 or -1. */
int upload_build(const struct url *u, const void *image, size_t len, const char *filename, struct buf *out);
/* The same request with image[0..len) as the raw body (Content-Type from filename's extension), for
 * servers that take no forms. */
int upload_build_raw(const struct url *u, const void *image, size_t len, const char *filename, struct buf *out);

#endif
