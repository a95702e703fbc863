/* multipart: a multipart/form-data parser (RFC 7578 / RFC 2046) in the picohttpparser shape.
 *
 * Pure and allocation-free: parts come back as views into the caller's body buffer.  Incremental: when
 * the body so far ends inside a part, mp_next answers MP_INCOMPLETE; call it again with the same parser
 * and the longer body (the same bytes first; the buffer may have moved).  So a boundary split across
 * reads is fine.  Strict: delimiters need CRLF; the close delimiter must come before the body ends.
 *
 * Typical use (whole body in memory):
 *     struct mp_part img;
 *     int rc = mp_find_field(content_type, body, body_len, "image", &img, &why);
 *     if (rc == MP_PART) ...use img.data...   else 400 with why ("missing field image", ...) */
#ifndef NET_MULTIPART_H
#define NET_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"

#define MP_MAX_PART_HEADERS 16        /* per part; more → MP_MALFORMED */
#define MP_MAX_PART_HEAD (8u * 1024)  /* bytes of one part's header block; more → MP_MALFORMED */

enum mp_status {
    MP_PART = 1,         /* a part was returned */
    MP_DONE = 0,         /* the close delimiter was seen: no more parts (mp_find_field: field missing) */
    MP_INCOMPLETE = -1,  /* need more bytes */
    MP_MALFORMED = -2,   /* .error / *why says what is wrong (→ 400) */
};

struct mp_part {
    /* Content-Disposition parameters, raw: for a quoted-string the view is between the quotes with any
     * backslash escapes still in it (compare with mp_param_eq, copy out with mp_param_copy). */
    struct http_str name;
    struct http_str filename;      /* p == NULL when there was no filename parameter */
    struct http_str content_type;  /* the part's Content-Type value, or empty */
    struct http_str data;          /* the part's bytes */
    struct http_header headers[MP_MAX_PART_HEADERS];
    size_t num_headers;
};

struct mp_parser {
    char delim[76];        /* private: "\r\n--" + boundary (1..70 chars), set by mp_init */
    size_t delim_len;      /* private */
    size_t pos;            /* private: body bytes consumed so far */
    int state;             /* private */
    const char *error;     /* on MP_MALFORMED */
};

/* Reads the boundary from a Content-Type value ("multipart/form-data; boundary=xyz", quoted or not).
 * Returns 0, or -1 when it is not multipart/form-data or the boundary is missing/invalid (.error set). */
int mp_init(struct mp_parser *p, struct http_str content_type);

/* Returns the next part (MP_PART), MP_DONE, MP_INCOMPLETE or MP_MALFORMED.  Preamble before the first
 * delimiter and the epilogue after the last are ignored. */
int mp_next(struct mp_parser *p, const char *body, size_t len, struct mp_part *part);

/* Whole-body convenience: the first part whose name is `name`.  Returns MP_PART, MP_DONE (no such field),
 * or MP_MALFORMED (not multipart, bad boundary, truncated body, ...).  *why (may be NULL) gets a short
 * static reason for anything but MP_PART. */
int mp_find_field(struct http_str content_type, const char *body, size_t len, const char *name,
                  struct mp_part *out, const char **why);

/* Compares a raw parameter value (escapes resolved) with a C string. */
bool mp_param_eq(struct http_str raw, const char *want);
/* Copies a raw parameter value with escapes resolved into out (NUL-terminated, truncated to fit).
 * Returns the full unescaped length. */
size_t mp_param_copy(struct http_str raw, char *out, size_t cap);

#endif
