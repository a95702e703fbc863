/* http_cond: validators and conditional GET (RFC 9110 §8.8 and §13).
 *
 * A representation carries an entity tag (ETag, a quoted opaque string such as "1a2b-5f3e") and a
 * Last-Modified date; a client that has it sends them back as If-None-Match / If-Modified-Since and gets
 * 304 Not Modified, without a body, when nothing changed.  Pure functions over a parsed request's headers;
 * nothing allocates. */
#ifndef NET_HTTP_COND_H
#define NET_HTTP_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "net/http.h"

#define HTTP_DATE_LEN 29 /* strlen("Sun, 06 Nov 1994 08:49:37 GMT") */

/* t as an IMF-fixdate into out (at least HTTP_DATE_LEN + 1 bytes).  0, or -1. */
int http_date_format(time_t t, char *out, size_t cap);
/* An HTTP-date in any of the three forms a recipient must accept (IMF-fixdate, RFC 850, asctime).
 * 0 with *out set, or -1 when s is not one. */
int http_date_parse(struct http_str s, time_t *out);

/* True when a GET or HEAD with these headers must be answered 304 for the representation with strong
 * entity tag etag (with its quotes) last modified at last_modified.  RFC 9110 §13.2.2: If-None-Match,
 * when present (in any number of header lines), decides alone — weak comparison, "*" matches; only
 * without it is If-Modified-Since compared (an unparseable date is ignored).  Only whole seconds count. */
bool http_not_modified(const struct http_header *h, size_t n, const char *etag, time_t last_modified);

#endif
