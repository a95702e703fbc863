/* buf: a bounded growable byte buffer with fd I/O helpers. */
#include "net/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/json_write.h"

void buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void buf_free(struct buf *b)
{
    free(b->data);
    size_t max = b->max;
    buf_init(b, max);
}

void buf_compact(struct buf *b)
{
    if (b->start == 0)
        return;
    memmove(b->data, b->data + b->start, b->end - b->start);
    b->end -= b->start;
    b->start = 0;
}

void buf_clear(struct buf *b)
{
    b->start = b->end = 0;
}

void buf_shrink(struct buf *b, size_t keep)
{
    if (buf_len(b) == 0 && b->cap > keep)
        buf_free(b); /* keeps max */
}

void buf_consume(struct buf *b, size_t n)
{
    if (n > buf_len(b))
        n = buf_len(b);
    b->start += n;
    if (b->start == b->end)
        b->start = b->end = 0;
}

int buf_reserve(struct buf *b, size_t n)
{
    if (b->cap - b->end >= n)
        return 0;
    if (b->cap - buf_len(b) >= n) {
        buf_compact(b);
        return 0;
    }
    size_t need = buf_len(b) + n;
    if (need < n || need > b->max) {
        errno = ENOBUFS;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    if (cap > b->max)
        cap = b->max;
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    buf_compact(b);
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n + 1) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->end, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->end += (size_t)n;
    return 0;
}

int buf_append_json_str(struct buf *b, const char *s, size_t n)
{
    /* worst case: every byte becomes \u00XX (6 bytes), plus the quotes and json_escape's NUL */
    size_t need = n * 6 + 3;
    if (n > (SIZE_MAX - 3) / 6 || buf_reserve(b, need) < 0)
        return -1;
    char *o = b->data + b->end;
    o[0] = '"';
    ssize_t len = json_escape(o + 1, need - 1, s, n);
    if (len < 0)
        return -1;
    o[1 + len] = '"';
    b->end += (size_t)len + 2;
    return 0;
}

ssize_t buf_read_fd(struct buf *b, int fd, size_t chunk)
{
    if (b->end == b->cap) {
        size_t want = chunk;
        if (want > b->max - buf_len(b))
            want = b->max - buf_len(b);
        if (want == 0 || buf_reserve(b, want) < 0) {
            errno = ENOBUFS;
            return -1;
        }
    }
    ssize_t n;
    do
        n = read(fd, b->data + b->end, b->cap - b->end);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        b->end += (size_t)n;
    return n;
}

ssize_t buf_write_fd(struct buf *b, int fd)
{
    ssize_t n;
    do
        n = send(fd, buf_ptr(b), buf_len(b), MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == ENOTSOCK) {
        do
            n = write(fd, buf_ptr(b), buf_len(b));
        while (n < 0 && errno == EINTR);
    }
    if (n > 0)
        buf_consume(b, (size_t)n);
    return n;
}
