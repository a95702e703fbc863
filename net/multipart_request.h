/* multipart_request: builds one HTTP request that uploads a file as a multipart/form-data field, the way
 * browsers and the original Python client do (field "image" in the service).  The builder of the bytes
 * net/multipart parses: built once, sent many times (through net/http_client). */
#ifndef NET_MULTIPART_REQUEST_H
#define NET_MULTIPART_REQUEST_H

#include <stddef.h>

#include "net/buf.h"
#include "net/url.h"

/* Replaces out's content with "POST <u's target> HTTP/1.1" with Host, keep-alive, Accept: application/json and a multipart
 * body holding bytes[0..len) as field `field` named filename (its base name, unsafe bytes replaced; the
 * part's Content-Type from its extension) into out (buf_init'ed; its max bounds the size).  *head_len
 * gets the length of the head (blank line included): the body is out[*head_len..].  Returns 0 or -1. */
int mp_request_build(const struct url *u, const char *field, const void *bytes, size_t len, const char *filename,
                     struct buf *out, size_t *head_len);

#endif
