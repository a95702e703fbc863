/* http_write: response heads and whole small responses, written into a caller's bounded buffer. */
#include "net/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "net/json_write.h"

/* Appends s[0..n) at buf+*o; -1 when it does not fit. */
static int put_raw(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
    if (cap - *o < n)
        return -1;
    memcpy(buf + *o, s, n);
    *o += n;
    return 0;
}

/* Appends a short formatted piece (a status line, a number); -1 when it does not fit. */
static int put(char *buf, size_t cap, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t cap, size_t *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    return put_raw(buf, cap, o, tmp, (size_t)n);
}

/* "Name: value\r\n" with a caller's value of any length. */
static int put_header(char *buf, size_t cap, size_t *o, const char *name, const char *value)
{
    if (put_raw(buf, cap, o, name, strlen(name)) < 0 || put_raw(buf, cap, o, ": ", 2) < 0 ||
        put_raw(buf, cap, o, value, strlen(value)) < 0)
        return -1;
    return put_raw(buf, cap, o, "\r\n", 2);
}

ssize_t http_write_head(char *buf, size_t cap, const struct http_response_head *h)
{
    size_t o = 0;
    if (h->status < 100 || h->status > 999)
        return -1;
    if (put(buf, cap, &o, "HTTP/1.1 %d %s\r\n", h->status, http_reason(h->status)) < 0)
        return -1;
    if (h->date) {
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        if (gmtime_r(&now, &tm) == NULL || strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
            return -1;
        if (put_header(buf, cap, &o, "Date", date) < 0)
            return -1;
    }
    if (h->content_type && put_header(buf, cap, &o, "Content-Type", h->content_type) < 0)
        return -1;
    if (h->content_length >= 0 &&
        put(buf, cap, &o, "Content-Length: %lld\r\n", (long long)h->content_length) < 0)
        return -1;
    if (h->status >= 200 && put_header(buf, cap, &o, "Connection", h->keep_alive ? "keep-alive" : "close") < 0)
        return -1;
    if (h->status >= 200 && put_raw(buf, cap, &o, HTTP_ALWAYS_HEADERS, sizeof HTTP_ALWAYS_HEADERS - 1) < 0)
        return -1;
    if (h->extra && put_raw(buf, cap, &o, h->extra, strlen(h->extra)) < 0)
        return -1;
    if (put_raw(buf, cap, &o, "\r\n", 2) < 0)
        return -1;
    return (ssize_t)o;
}

ssize_t http_write_response(char *buf, size_t cap, int status, const char *content_type,
                            const void *body, size_t body_len, bool keep_alive)
{
    struct http_response_head h = { status, content_type, (int64_t)body_len, keep_alive, false, NULL };
    ssize_t n = http_write_head(buf, cap, &h);
    if (n < 0 || cap - (size_t)n < body_len)
        return -1;
    if (body_len > 0)
        memcpy(buf + n, body, body_len);
    return n + (ssize_t)body_len;
}

ssize_t http_error_json(char *buf, size_t cap, const char *code, const char *detail, const char *fallback)
{
    if (cap == 0)
        return -1;
    ssize_t n = detail ? json_error_body(buf, cap - 1, code, detail) : -1;
    if (n < 0) /* no detail, or one too long for the body: the fallback */
        n = json_error_body(buf, cap - 1, code, fallback);
    if (n < 0)
        return -1;
    buf[n++] = '\n';
    return n;
}

ssize_t http_write_error(char *buf, size_t cap, int status, const char *code, const char *detail,
                         bool keep_alive)
{
    char body[1024];
    ssize_t n = http_error_json(body, sizeof body, code, detail, http_reason(status));
    if (n < 0)
        return -1;
    return http_write_response(buf, cap, status, "application/json", body, (size_t)n, keep_alive);
}
