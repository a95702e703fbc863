/* buf: a bounded, growable byte buffer for a connection's input or output.
 *
 * Live bytes are data[start..end).  It grows on demand (doubling) but never beyond max, so a peer can
 * never make us allocate without bound.  Consumed bytes at the front are reclaimed by buf_compact (done
 * automatically before growing).  The buf owns data; buf_free releases it.
 *
 * Note for parsers: views into a buf (http_str) are invalidated by anything that can move the bytes
 * (buf_reserve, buf_append*, buf_read_fd, buf_compact).  Re-parse after reading; parses are cheap. */
#ifndef NET_BUF_H
#define NET_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct buf {
    char *data;
    size_t start, end;  /* live bytes are data[start..end) */
    size_t cap;         /* allocated bytes */
    size_t max;         /* cap never exceeds this */
};

void buf_init(struct buf *b, size_t max);  /* allocates nothing yet */
void buf_free(struct buf *b);              /* frees; b can be buf_init'ed again */

static inline char *buf_ptr(const struct buf *b) { return b->data + b->start; }
static inline size_t buf_len(const struct buf *b) { return b->end - b->start; }

/* Makes room for n more bytes after end (compacting, then growing up to max).  0, or -1 (over max / OOM). */
int buf_reserve(struct buf *b, size_t n);
/* Drops n bytes from the front (n <= buf_len).  Empty → start = end = 0. */
void buf_consume(struct buf *b, size_t n);
/* Moves the live bytes to the front of data. */
void buf_compact(struct buf *b);
void buf_clear(struct buf *b);
/* An empty buffer whose allocation grew past keep gives its memory back (after a big upload or file),
 * so an idle connection holds at most keep bytes.  A buffer with live bytes is left alone. */
void buf_shrink(struct buf *b, size_t keep);

/* Appending (for building responses).  0, or -1 when it would exceed max (nothing appended then). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) as a quoted JSON string ("..." with escapes; see json_escape). */
int buf_append_json_str(struct buf *b, const char *s, size_t n);

/* One read() into the free space (when full, first growing by at least `chunk` bytes, never past max).
 * Returns bytes read, 0 at EOF, or -1 with errno (EAGAIN when nothing to read; ENOBUFS when the
 * buffer is at max and full — the caller answers 413/431 or stops reading). */
ssize_t buf_read_fd(struct buf *b, int fd, size_t chunk);
/* One write() of the live bytes (MSG_NOSIGNAL for sockets); consumes what was written.
 * Returns bytes written, or -1 with errno (EAGAIN: wait for LOOP_WRITABLE). */
ssize_t buf_write_fd(struct buf *b, int fd);

#endif
