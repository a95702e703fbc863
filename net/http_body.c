/* http_body: one incremental reader for every body framing; the chunked decoder is a byte-at-a-time
 * state machine for the framing and a bulk copy for the data, so any split of the input works. */
#include "net/http.h"

#include <string.h>

#include "net/http_lex.h"

#define CHUNK_LINE_MAX 4096     /* chunk-size line including extensions */
#define TRAILER_MAX (8u * 1024) /* all trailer lines together */

enum chunk_state {
    CH_SIZE,        /* hex digits of the chunk size */
    CH_SIZE_WS,     /* whitespace after the size, before ';' or CR */
    CH_EXT,         /* chunk extensions, ignored up to CR */
    CH_SIZE_LF,     /* LF after the size line */
    CH_DATA,        /* chunk data */
    CH_DATA_CR,     /* CR after the data */
    CH_DATA_LF,     /* LF after the data */
    CH_TRAILER_START,
    CH_TRAILER,     /* a trailer field line, ignored up to CR */
    CH_TRAILER_LF,
    CH_END_LF,      /* LF of the final empty line */
};

static int fail(struct http_body *b, int status, const char *why)
{
    b->error = why;
    b->state = status; /* sticky: later feeds answer the same error */
    return status;
}

void http_body_init(struct http_body *b, enum http_framing framing, uint64_t content_length, uint64_t max_body)
{
    memset(b, 0, sizeof *b);
    b->framing = framing;
    b->max_body = max_body;
    b->state = CH_SIZE;
    if (framing == HTTP_BODY_LENGTH)
        b->remaining = content_length;
    b->done = framing == HTTP_BODY_NONE || (framing == HTTP_BODY_LENGTH && content_length == 0);
}

/* A byte that must be exactly `want` before moving to state `next`. */
static int expect(struct http_body *b, char c, char want, int next, const char *why)
{
    if (c != want)
        return fail(b, -400, why);
    b->state = next;
    return 0;
}

/* A byte of a skipped line (extension, trailer): text up to CR, at most max bytes. */
static int skip_text(struct http_body *b, char c, size_t max, int on_cr, const char *why)
{
    if (++b->line_len > max)
        return fail(b, -400, why);
    if (c == '\r')
        b->state = on_cr;
    else if (c != '\t' && ((unsigned char)c < 0x20 || c == 0x7f))
        return fail(b, -400, why);
    return 0;
}

/* One framing byte of a chunked body.  0 to go on, 1 when the body ended, or -status. */
static int chunk_byte(struct http_body *b, char c)
{
    switch (b->state) {
    case CH_SIZE: {
        int d = http_hex_value(c);
        if (d >= 0) {
            if (b->remaining > (UINT64_MAX >> 4) || b->line_len >= CHUNK_LINE_MAX)
                return fail(b, -400, "chunk size overflows");
            b->remaining = b->remaining * 16 + (uint64_t)d;
            b->line_len++;
            return 0;
        }
        if (b->line_len == 0)
            return fail(b, -400, "invalid chunk size");
        if (c == '\r')
            b->state = CH_SIZE_LF;
        else if (c == ';')
            b->state = CH_EXT;
        else if (c == ' ' || c == '\t')
            b->state = CH_SIZE_WS;
        else
            return fail(b, -400, "invalid chunk size");
        return 0;
    }
    case CH_SIZE_WS:
        if (c == ';')
            b->state = CH_EXT;
        else if (c == '\r')
            b->state = CH_SIZE_LF;
        else if (c != ' ' && c != '\t')
            return fail(b, -400, "invalid chunk size line");
        return 0;
    case CH_EXT:
        return skip_text(b, c, CHUNK_LINE_MAX, CH_SIZE_LF, "invalid chunk extension");
    case CH_SIZE_LF:
        if (c != '\n')
            return fail(b, -400, "bare CR in chunk size line");
        b->line_len = 0;
        if (b->remaining == 0) {
            b->state = CH_TRAILER_START;
            return 0;
        }
        if (b->max_body && b->remaining > b->max_body - b->decoded)
            return fail(b, -413, "request body too large");
        b->state = CH_DATA;
        return 0;
    case CH_DATA_CR:
        return expect(b, c, '\r', CH_DATA_LF, "chunk data longer than its size");
    case CH_DATA_LF:
        return expect(b, c, '\n', CH_SIZE, "bare CR after chunk data");
    case CH_TRAILER_START:
        if (c == '\r') {
            b->state = CH_END_LF;
            return 0;
        }
        b->state = CH_TRAILER;
        /* this byte starts a trailer line */
        __attribute__((fallthrough));
    case CH_TRAILER:
        return skip_text(b, c, TRAILER_MAX, CH_TRAILER_LF, "invalid or too large chunked trailer");
    case CH_TRAILER_LF:
        return expect(b, c, '\n', CH_TRAILER_START, "bare CR in chunked trailer");
    case CH_END_LF:
        if (c != '\n')
            return fail(b, -400, "bare CR at end of chunked body");
        return 1;
    default:
        return fail(b, -400, "chunked decoder in a bad state");
    }
}

/* Copies (or skips) up to `avail` data bytes; returns how many. */
static size_t take_data(struct http_body *b, const char *in, size_t avail, char *out, size_t *produced)
{
    size_t n = avail < b->remaining ? avail : (size_t)b->remaining;
    if (out != NULL && n > 0)
        memmove(out + *produced, in, n);
    *produced += n;
    b->remaining -= n;
    b->decoded += n;
    return n;
}

static int feed_chunked(struct http_body *b, const char *in, size_t len, char *out,
                        size_t *consumed, size_t *produced)
{
    size_t i = 0;
    while (i < len) {
        if (b->state == CH_DATA) {
            i += take_data(b, in + i, len - i, out, produced);
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            continue;
        }
        int rc = chunk_byte(b, in[i++]);
        if (rc < 0) {
            *consumed = i;
            return rc;
        }
        if (rc == 1) {
            b->done = true;
            break;
        }
    }
    *consumed = i;
    return b->done ? 1 : HTTP_INCOMPLETE;
}

int http_body_feed(struct http_body *b, const char *in, size_t len, char *out,
                   size_t *consumed, size_t *produced)
{
    *consumed = 0;
    *produced = 0;
    if (b->state < 0)
        return b->state;
    if (b->done)
        return 1;
    switch (b->framing) {
    case HTTP_BODY_LENGTH:
        if (b->max_body && b->remaining > b->max_body)
            return fail(b, -413, "request body too large");
        *consumed = take_data(b, in, len, out, produced);
        b->done = b->remaining == 0;
        return b->done ? 1 : HTTP_INCOMPLETE;
    case HTTP_BODY_CHUNKED:
        return feed_chunked(b, in, len, out, consumed, produced);
    case HTTP_BODY_UNTIL_CLOSE:
        b->remaining = len;
        *consumed = take_data(b, in, len, out, produced);
        if (b->max_body && b->decoded > b->max_body)
            return fail(b, -413, "body too large");
        return HTTP_INCOMPLETE;
    default:
        return 1;
    }
}
