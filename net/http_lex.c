/* http_lex: character classes, the header-block scanner and small list/number parsers. */
#include "net/http_lex.h"

#include <string.h>

bool http_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int http_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static struct http_str trim_ows(const char *p, size_t len)
{
    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    return http_str_from(p, len);
}

/* One complete header line [p, p+len) (without its CRLF) into h.  0 or -400 with *why. */
static int parse_header_line(const char *p, size_t len, struct http_header *h, const char **why)
{
    size_t i = 0;
    while (i < len && http_is_tchar((unsigned char)p[i]))
        i++;
    if (i == len) {
        *why = "header line without ':'";
        return -400;
    }
    if (p[i] != ':') {
        *why = (p[i] == ' ' || p[i] == '\t') ? "whitespace before ':' in header" : "invalid character in header name";
        return -400;
    }
    if (i == 0) {
        *why = "empty header name";
        return -400;
    }
    h->name = http_str_from(p, i);
    for (size_t j = i + 1; j < len; j++) {
        if (!http_is_field_char((unsigned char)p[j])) {
            *why = p[j] == '\r' ? "bare CR in header" : "control character in header value";
            return -400;
        }
    }
    h->value = trim_ows(p + i + 1, len - i - 1);
    return 0;
}

int http_scan_headers(const char *buf, size_t len, size_t pos, size_t max_end,
                      struct http_header *headers, size_t max_headers, struct http_scan *scan)
{
    scan->num_headers = 0;
    scan->error = NULL;
    for (;;) {
        if (pos >= len)
            goto incomplete;
        char c = buf[pos];
        if (c == '\r') {
            if (pos + 1 >= len)
                goto incomplete;
            if (buf[pos + 1] != '\n') {
                scan->error = "bare CR in header";
                return -400;
            }
            scan->end = pos + 2;
            if (scan->end > max_end) {
                scan->error = "request header too large";
                return -431;
            }
            return 1;
        }
        if (c == '\n') {
            scan->error = "bare LF in header";
            return -400;
        }
        if (c == ' ' || c == '\t') {
            scan->error = "obsolete line folding in header";
            return -400;
        }
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (nl == NULL)
            goto incomplete;
        size_t eol = (size_t)(nl - buf);
        if (eol + 1 > max_end) {
            scan->error = "request header too large";
            return -431;
        }
        if (buf[eol - 1] != '\r') {
            scan->error = "bare LF in header";
            return -400;
        }
        if (scan->num_headers == max_headers) {
            scan->error = "too many header fields";
            return -431;
        }
        int rc = parse_header_line(buf + pos, eol - 1 - pos, &headers[scan->num_headers], &scan->error);
        if (rc < 0)
            return rc;
        scan->num_headers++;
        pos = eol + 1;
    }
incomplete:
    if (len > max_end) {
        scan->error = "request header too large";
        return -431;
    }
    return HTTP_INCOMPLETE;
}

int http_list_each(struct http_str value, int (*fn)(struct http_str item, void *ctx), void *ctx)
{
    size_t i = 0;
    while (i <= value.len) {
        const char *start = value.p + i;
        const char *comma = memchr(start, ',', value.len - i);
        size_t n = comma ? (size_t)(comma - start) : value.len - i;
        struct http_str item = trim_ows(start, n);
        if (item.len > 0) {
            int rc = fn(item, ctx);
            if (rc != 0)
                return rc;
        }
        i += n + 1;
    }
    return 0;
}

struct connection_flags {
    bool *close, *keep_alive;
};

static int connection_item(struct http_str item, void *ctx)
{
    struct connection_flags *f = ctx;
    if (http_str_ieq(item, "close"))
        *f->close = true;
    else if (http_str_ieq(item, "keep-alive"))
        *f->keep_alive = true;
    return 0;
}

void http_connection_options(struct http_str value, bool *close, bool *keep_alive)
{
    struct connection_flags f = { close, keep_alive };
    http_list_each(value, connection_item, &f);
}

int http_parse_version(const char *p, size_t len)
{
    if (len != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
        p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
        return -400;
    if (p[5] != '1')
        return -505;
    return p[7] == '0' ? 0 : 1; /* 1.2 and up: served as 1.1, the highest 1.x we speak (RFC 9110 §2.5) */
}

int http_parse_content_length(struct http_str v, uint64_t *out)
{
    if (v.len == 0 || v.len > 19)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(v.p[i] - '0');  /* 19 digits cannot overflow 64 bits */
    }
    *out = n;
    return 0;
}
