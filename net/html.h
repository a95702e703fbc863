/* html: the bits of HTML the servers write — for a browser that posted the page's plain form without
 * JavaScript (its Accept header prefers text/html): escaping, and a small error page. */
#ifndef NET_HTML_H
#define NET_HTML_H

#include <stdbool.h>

#include "net/buf.h"
#include "net/http.h"

/* True when an Accept header value asks for HTML before JSON ("text/html,...;q=0.9" from a form
 * navigation) — false for fetch's "application/json", curl's "* / *" and a missing header. */
bool http_accepts_html(const struct http_header *accept);

/* Appends s with & < > " ' escaped.  0, or -1 when it does not fit. */
int buf_append_html(struct buf *b, const char *s);

/* Replaces out's content with an error page: the status in words, detail (escaped), a link back to the
 * page.  It uses the page's /style.css and /favicon.svg.  0, or -1 when it does not fit. */
int html_error_page(struct buf *out, int status, const char *detail);

#endif
