/* http_lex: character classes and the header-block scanner shared by the request and response parsers
 * (and the multipart part headers).  Internal to net/. */
#ifndef NET_HTTP_LEX_H
#define NET_HTTP_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/http.h"

/* tchar (RFC 9110 §5.6.2): the characters of a token such as a method or a header name. */
bool http_is_tchar(unsigned char c);
/* A byte allowed inside a field value: HTAB, SP, VCHAR, obs-text. */
static inline bool http_is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* 0..15 for a hex digit, else -1. */
int http_hex_value(char c);

/* Where a header block scan stopped. */
struct http_scan {
    size_t end;          /* position just after the blank line ending the block */
    size_t num_headers;
    const char *error;   /* why, when the scan failed */
};

/* Scans header lines from buf[pos..len) up to and including the empty line, filling headers[].
 * Returns 1 (complete; scan->end set), HTTP_INCOMPLETE, -400 (malformed) or -431 (more than max_headers,
 * or the block runs past max_end). */
int http_scan_headers(const char *buf, size_t len, size_t pos, size_t max_end,
                      struct http_header *headers, size_t max_headers, struct http_scan *scan);

/* Calls fn on each element of a comma-separated list (RFC 9110 §5.6.1), trimmed; empty elements are
 * skipped.  Stops early (returning what fn returned) when fn returns non-zero. */
int http_list_each(struct http_str value, int (*fn)(struct http_str item, void *ctx), void *ctx);

/* Notes the "close" and "keep-alive" options of a Connection header (sets the flags it finds). */
void http_connection_options(struct http_str value, bool *close, bool *keep_alive);

/* Parses "HTTP/d.d" exactly.  Returns the minor version (0, or 1 for 1.1 and any later 1.x, which is
 * answered as 1.1), -505 for another major version,
 * -400 when it is not an HTTP version at all. */
int http_parse_version(const char *p, size_t len);

/* Content-Length value: 1..19 digits, nothing else.  0 or -1. */
int http_parse_content_length(struct http_str v, uint64_t *out);

#endif
