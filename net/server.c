/* server: accept, read whole requests, hand them to the program, write answers back (see server.h).
 *
 * A connection is in one state at a time:
 *   READING   waiting for (the rest of) a request; the timer is the request deadline (→ 408), or the
 *             idle timeout when no byte of a request has come (the connection is then on the idle list,
 *             oldest first, and may be shed for a newcomer at the connection cap)
 *   HANDLING  the handler has the request; nothing is read or timed (the handler bounds its own work)
 *   WRITING   the answer is going out; the timer fires if the client stops reading
 *   DRAINING  we answered and will close: our side is shut, what the client still sends is discarded
 *             for a moment so the kernel does not reset the connection before the answer is read
 *
 * Answers are never flushed from inside srv_respond*: conn_answered arms the connection's zero-delay
 * `flush` timer, which runs after the current round of callbacks; only there (and in the event and
 * timeout callbacks) is a connection advanced or closed. */
#define _GNU_SOURCE
#include "net/server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/clock.h"
#include "net/html.h"
#include "net/oip.h"
#include "net/sock.h"

#define READ_CHUNK (64u * 1024)
#define PIPELINE_SLACK (64u * 1024)        /* room for the next pipelined request behind a full one */
#define OUT_MAX (40u * 1024 * 1024)        /* largest answer we buffer (static files are capped below it) */
#define DRAIN_MS 1000
#define ACCEPTS_PER_WAKE 64
#define READS_PER_WAKE 16
#define KEEP_IDLE_BUF (64u * 1024)          /* an idle connection keeps at most this much of a buffer */
#define TRIM_AFTER (8u * 1024 * 1024)       /* give freed memory back to the system after a burst this big */

enum conn_state { CONN_READING, CONN_HANDLING, CONN_WRITING, CONN_DRAINING };

struct srv {
    struct loop *loop;
    struct srv_config cfg;
    int listen_fd;            /* -1 once draining */
    bool draining;            /* srv_drain: every connection closes after its current answer */
    int spare_fd;             /* released to accept-and-close when out of fds */
    srv_handler_fn *fn;
    void *data;
    struct srv_conn *conns;   /* every open connection, for srv_destroy */
    int nconns;
    struct srv_conn *idle_old, *idle_new; /* connections with no request in progress, oldest first */
    size_t held;              /* bytes charged by all connections (<= cfg.max_memory when set) */
    size_t peak;              /* most held since the last malloc_trim */
    long shed, refused, over_memory;
    int log_fd;               /* the access log (2 = stderr) */
    struct buf log_line;      /* one line, reused (loop thread only) */
};

struct srv_conn {
    struct srv *srv;
    struct srv_conn *prev, *next;
    struct srv_conn *idle_prev, *idle_next; /* on the idle list when idle is true */
    bool idle;
    int fd;
    char peer[64];
    struct buf in, out;
    struct loop_timer timer;
    struct loop_timer flush;  /* zero-delay: an answer was queued, advance the connection after this round */
    enum conn_state state;
    int watched;              /* the mask the loop has for fd (epoll_ctl only when it changes) */
    /* a borrowed body sent after out (srv_respond_borrowed) */
    const char *tail;
    size_t tail_len;
    void (*tail_release)(void *);
    void *tail_ref;
    bool peer_eof;            /* the client has shut its side: answer what is whole, then close */
    bool close_after;         /* close once the current answer is out */
    bool head_only;           /* the request is HEAD: answers carry their headers but no body */
    bool message_errors;      /* the request is the Open Inference Protocol's: errors as {"error":"<message>"} */
    /* the request being read or handled */
    bool head_done;
    bool request_valid;       /* req holds a parsed request (for the access log) */
    size_t head_len;
    const char *head_at;      /* where the head lay when it was parsed (its views are rebased from there) */
    struct http_body body;
    size_t raw_used;          /* raw body bytes consumed after the head */
    size_t decoded;           /* decoded body bytes, written in place after the head */
    size_t charged;           /* this request's share of srv.held */
    struct srv_request req;
};

static void on_conn_event(struct loop *l, int fd, int mask, void *data);
static void conn_process(struct srv_conn *c);

/* Gives back the memory of a large, now empty buffer (after a big upload or answer). */
static void trim(struct buf *b)
{
    if (buf_len(b) == 0 && b->cap > KEEP_IDLE_BUF) {
        size_t max = b->max;
        buf_free(b);
        buf_init(b, max);
    }
}

/* Charges n more body bytes to the server-wide budget; false (nothing charged) when it would cross it. */
static bool charge(struct srv_conn *c, size_t n)
{
    struct srv *s = c->srv;
    if (s->cfg.max_memory > 0 && n > s->cfg.max_memory - s->held)
        return false;
    s->held += n;
    c->charged += n;
    if (s->held > s->peak)
        s->peak = s->held;
    return true;
}

/* What the connection held (a request body, or an answer now sent) no longer counts.  When the whole
 * server is back to holding little after a burst, the freed memory goes back to the system. */
static void uncharge(struct srv_conn *c)
{
    struct srv *s = c->srv;
    s->held -= c->charged;
    c->charged = 0;
    if (s->peak >= TRIM_AFTER && s->held < TRIM_AFTER / 8) {
        s->peak = s->held;
        malloc_trim(0);
    }
}

static void release_tail(struct srv_conn *c)
{
    if (c->tail_release)
        c->tail_release(c->tail_ref);
    c->tail = NULL;
    c->tail_len = 0;
    c->tail_release = NULL;
    c->tail_ref = NULL;
}

static void idle_leave(struct srv_conn *c)
{
    struct srv *s = c->srv;
    if (!c->idle)
        return;
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else
        s->idle_old = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        s->idle_new = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
    c->idle = false;
}

static void idle_enter(struct srv_conn *c)
{
    struct srv *s = c->srv;
    idle_leave(c);
    c->idle = true;
    c->idle_prev = s->idle_new;
    if (s->idle_new)
        s->idle_new->idle_next = c;
    else
        s->idle_old = c;
    s->idle_new = c;
}

static void conn_close(struct srv_conn *c)
{
    struct srv *s = c->srv;
    uncharge(c);
    release_tail(c);
    idle_leave(c);
    loop_timer_stop(s->loop, &c->timer);
    loop_timer_stop(s->loop, &c->flush);
    loop_unwatch(s->loop, c->fd);
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c);
}

static int set_watch(struct srv_conn *c, int mask)
{
    if (mask == c->watched)
        return 0;
    if (loop_watch(c->srv->loop, c->fd, mask, on_conn_event, c) != 0)
        return -1;
    c->watched = mask;
    return 0;
}

/* Watches for what the state needs; -1 if the loop refuses (the caller closes).  While the handler has
 * the request the mask is left as it is (usually nothing fires; on_conn_event turns it off if something
 * does), which saves two epoll_ctl calls per request. */
static int conn_watch(struct srv_conn *c)
{
    if (c->state == CONN_HANDLING)
        return 0;
    int mask = 0;
    if ((c->state == CONN_READING || c->state == CONN_DRAINING) && !c->peer_eof)
        mask |= LOOP_READABLE;
    if (buf_len(&c->out) > 0 || c->tail_len > 0)
        mask |= LOOP_WRITABLE;
    return set_watch(c, mask);
}

static void conn_arm(struct srv_conn *c, int ms)
{
    if (loop_timer_arm(c->srv->loop, &c->timer, (uint64_t)ms) != 0)
        loop_timer_stop(c->srv->loop, &c->timer);
}

/* Ready for a request: idle (idle timeout, sheddable) when none has begun, else its deadline runs. */
static void conn_await_request(struct srv_conn *c)
{
    c->state = CONN_READING;
    if (buf_len(&c->in) == 0) {
        idle_enter(c);
        conn_arm(c, c->srv->cfg.idle_timeout_ms);
    } else {
        conn_arm(c, c->srv->cfg.timeout_ms);
    }
}

/* One access-log line (one write, so lines from several processes sharing a file do not mix), then
 * the program's hook. */
static void log_access(struct srv_conn *c, int status, size_t body_len)
{
    struct srv *s = c->srv;
    struct srv_request *r = &c->req;
    double seconds = c->request_valid ? (double)(clock_now_ns() - r->start_ns) / 1e9 : 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct alog_entry e = { .unix_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9, .client = c->peer,
                            .status = status, .bytes = body_len, .total_ms = -1, .queue_ms = -1, .inference_ms = -1 };
    if (c->request_valid)
        e = (struct alog_entry){ e.unix_time, c->peer, &r->http, status, body_len, seconds * 1e3, r->log.worker,
                                 r->log.tries, r->log.queue_ms, r->log.inference_ms, r->note };
    if (alog_format_line(&s->log_line, s->cfg.log_format, &e) == 0 &&
        write(s->log_fd, buf_ptr(&s->log_line), buf_len(&s->log_line)) < 0) {
        /* a full disk or a closed pipe must not stop the service: the line is lost */
    }
    if (s->cfg.on_answer) {
        struct srv_answer a = { c->request_valid ? r : NULL, status, body_len, seconds };
        s->cfg.on_answer(s->data, &a);
    }
}

/* Appends status line + headers (+ Content-Length) to out.  0, or -1 if it does not fit. */
static int append_head(struct srv_conn *c, int status, const char *content_type, size_t body_len,
                       const char *extra)
{
    bool bodiless = status == 304 || status == 204;
    struct http_response_head h = {
        .status = status, .content_type = content_type, .content_length = bodiless ? -1 : (int64_t)body_len,
        .keep_alive = !c->close_after, .date = true, .extra = extra,
    };
    size_t need = 512 + (extra ? strlen(extra) : 0);
    if (buf_reserve(&c->out, need) != 0)
        return -1;
    ssize_t n = http_write_head(c->out.data + c->out.end, c->out.cap - c->out.end, &h);
    if (n < 0)
        return -1;
    c->out.end += (size_t)n;
    return 0;
}

/* The request is answered (its bytes are queued): log, drop the request bytes, and have the loop flush
 * after this round of callbacks — never from here, so the caller's c stays valid (see server.h). */
static void conn_answered(struct srv_conn *c, int status, size_t body_len)
{
    log_access(c, status, body_len);
    if (c->close_after)
        buf_clear(&c->in);
    else
        buf_consume(&c->in, c->head_len + c->raw_used);
    trim(&c->in);
    c->head_done = false;
    c->request_valid = false;
    c->head_only = false;
    c->message_errors = false;
    c->state = CONN_WRITING;
    conn_arm(c, c->srv->cfg.timeout_ms);
    if (loop_timer_arm(c->srv->loop, &c->flush, 0) != 0)
        c->close_after = true; /* only short of memory; the deadline timer still ends the connection */
}

/* Appends an answer's body, unless the request was HEAD (RFC 9110 9.3.2: the head alone, with the
 * Content-Length a GET would get; a body would be read as the next answer on a kept-alive connection). */
static int append_body(struct srv_conn *c, const void *body, size_t len)
{
    return c->head_only ? 0 : buf_append(&c->out, body, len);
}

/* An error answer: small and never charged, so it always goes out (or the connection closes). */
static void respond_error_now(struct srv_conn *c, enum err_code e, const char *detail, const char *extra)
{
    const struct err_info *info = err_info(e);
    int status = info->status;
    uncharge(c); /* the request body is dropped */
    /* A browser that posted the plain form (no JavaScript) gets a page it can show; everyone else JSON. */
    if (c->request_valid && !c->head_only && !c->message_errors &&
        http_accepts_html(http_find_header(c->req.headers, c->req.http.num_headers, "Accept"))) {
        struct buf page;
        buf_init(&page, 8192);
        size_t keep = buf_len(&c->out);
        int ok = html_error_page(&page, status, detail) == 0 &&
                 append_head(c, status, "text/html; charset=utf-8", buf_len(&page), extra) == 0 &&
                 buf_append(&c->out, buf_ptr(&page), buf_len(&page)) == 0;
        size_t n = buf_len(&page);
        buf_free(&page);
        if (ok) {
            conn_answered(c, status, n);
            return;
        }
        c->out.end = c->out.start + keep; /* fall back to the small JSON body */
    }
    char body[768];
    ssize_t n = http_error_json(body, sizeof body, c->message_errors ? NULL : info->code, detail, info->meaning);
    if (n < 0)
        n = 0;
    size_t keep = buf_len(&c->out); /* a length: appending may compact the buffer */
    if (append_head(c, info->status, "application/json", (size_t)n, extra) != 0 ||
        append_body(c, body, (size_t)n) != 0) {
        c->close_after = true; /* not even an error fits: just close */
        c->out.end = c->out.start + keep;
    }
    conn_answered(c, info->status, (size_t)n);
}

void srv_respond_error(struct srv_conn *c, enum err_code e, const char *detail, const char *extra)
{
    respond_error_now(c, e, detail, extra);
}

/* The request's charge becomes the answer's: n bytes about to be queued.  false (nothing charged) when
 * that would cross the budget. */
static bool charge_answer(struct srv_conn *c, size_t n)
{
    uncharge(c);
    return charge(c, n);
}

static void respond_busy(struct srv_conn *c)
{
    c->srv->over_memory++;
    respond_error_now(c, ERR_SERVER_BUSY, "the server holds too many answers at once (--max-memory); try again shortly",
                      "Retry-After: 1\r\n");
}

/* Queues status line and headers; false when answered with an error instead. */
static bool queue_head(struct srv_conn *c, int status, const char *content_type, size_t len, const char *extra,
                       size_t copied)
{
    if (!charge_answer(c, copied + 512)) {
        respond_busy(c);
        return false;
    }
    size_t keep = buf_len(&c->out); /* a length: appending may compact the buffer */
    if (append_head(c, status, content_type, len, extra) != 0) {
        c->out.end = c->out.start + keep;
        respond_error_now(c, ERR_RESPONSE_TOO_LARGE, "the answer's head does not fit the output buffer", NULL);
        return false;
    }
    return true;
}

static bool has_body(const struct srv_conn *c, int status, size_t len)
{
    return !c->head_only && status != 304 && status != 204 && len > 0;
}

void srv_respond(struct srv_conn *c, int status, const char *content_type, const void *body, size_t len,
                 const char *extra)
{
    bool copy = has_body(c, status, len);
    if (copy && len > c->out.max / 2) {
        respond_error_now(c, ERR_RESPONSE_TOO_LARGE, "the answer does not fit the output buffer", NULL);
        return;
    }
    if (!queue_head(c, status, content_type, len, extra, copy ? len : 0))
        return;
    if (copy && buf_append(&c->out, body, len) != 0) {
        c->close_after = true; /* the head is queued: the client sees a short answer and a close */
        fprintf(stderr, "%s: an answer of %zu bytes does not fit the output buffer\n", c->peer, len);
    }
    conn_answered(c, status, len);
}

void srv_respond_borrowed(struct srv_conn *c, int status, const char *content_type, const void *body,
                          size_t len, const char *extra, void (*release)(void *ref), void *ref)
{
    if (!queue_head(c, status, content_type, len, extra, 0)) {
        if (release)
            release(ref);
        return;
    }
    if (has_body(c, status, len)) {
        c->tail = body;
        c->tail_len = len;
        c->tail_release = release;
        c->tail_ref = ref;
    } else if (release) {
        release(ref);
    }
    conn_answered(c, status, len);
}

void srv_respond_relay(struct srv_conn *c, int status, const char *head, size_t head_len, const char *body,
                       size_t body_len)
{
    if (!charge_answer(c, head_len + body_len + 64)) {
        respond_busy(c);
        return;
    }
    size_t keep = buf_len(&c->out); /* a length: appending may compact the buffer */
    int ok = buf_append(&c->out, head, head_len) == 0 &&
             buf_printf(&c->out, "Content-Length: %zu\r\nConnection: %s\r\n" HTTP_ALWAYS_HEADERS "\r\n", body_len,
                        c->close_after ? "close" : "keep-alive") == 0 &&
             append_body(c, body, body_len) == 0;
    if (!ok) {
        c->out.end = c->out.start + keep;
        respond_error_now(c, ERR_BAD_GATEWAY, "the backend's answer does not fit the output buffer", NULL);
        return;
    }
    conn_answered(c, status, body_len);
}

struct srv_request *srv_conn_request(struct srv_conn *c)
{
    return c->state == CONN_HANDLING ? &c->req : NULL;
}

bool srv_conn_peer_closed(struct srv_conn *c)
{
    char byte;
    ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void srv_stats(const struct srv *s, struct srv_stats *out)
{
    *out = (struct srv_stats){ .conns = s->nconns, .shed = s->shed, .refused = s->refused,
                               .over_memory = s->over_memory, .held = s->held,
                               .max_memory = s->cfg.max_memory };
}

/* Fails the request being read and closes after the answer (the rest of its body is never read, so the
 * connection cannot carry another request). */
static void conn_fail(struct srv_conn *c, enum err_code e, const char *why)
{
    c->close_after = true;
    respond_error_now(c, e, why, err_info(e)->status == 503 ? "Retry-After: 1\r\n" : NULL);
}

/* Charges the body bytes the request holds now (its declared length, or what has arrived of a chunked
 * one); false when answered with 503 (or 413 for a body that could never fit the budget). */
static bool charge_body(struct srv_conn *c, size_t held)
{
    if (held <= c->charged || charge(c, held - c->charged))
        return true;
    if (held > c->srv->cfg.max_memory)
        conn_fail(c, ERR_BODY_TOO_LARGE, "request body larger than the server's memory budget (--max-memory)");
    else {
        c->srv->over_memory++;
        conn_fail(c, ERR_SERVER_BUSY, "the server holds too many request bodies at once (--max-memory); try again shortly");
    }
    return false;
}

static void dispatch(struct srv_conn *c)
{
    struct srv_request *r = &c->req;
    http_request_rebase(&r->http, c->head_at, buf_ptr(&c->in)); /* the buffer may have grown since */
    r->head = buf_ptr(&c->in);
    r->head_len = c->head_len;
    r->body = buf_ptr(&c->in) + c->head_len;
    r->body_len = c->decoded;
    r->peer = c->peer;
    r->start_ms = loop_now_ms(c->srv->loop);
    r->start_ns = clock_now_ns();
    r->log = (struct srv_log_fields){ .queue_ms = -1, .inference_ms = -1 };
    r->note[0] = '\0';
    c->request_valid = true;
    c->close_after = !r->http.keep_alive || c->srv->draining; /* a half-closed client still gets every whole request answered */
    c->head_only = http_str_eq(r->http.method, "HEAD");
    c->state = CONN_HANDLING;
    loop_timer_stop(c->srv->loop, &c->timer);
    c->srv->fn(c, r, c->srv->data);
}

static bool in_full(const struct srv_conn *c)
{
    return buf_len(&c->in) >= c->in.max;
}

/* Parses the head if needed; 1 when parsed, 0 when more bytes are needed, -1 when answered with an error. */
static int read_head(struct srv_conn *c)
{
    if (c->head_done)
        return 1;
    const struct http_limits *lim = &c->srv->cfg.limits;
    int rc = http_parse_request(buf_ptr(&c->in), buf_len(&c->in), lim, &c->req.http, c->req.headers,
                                SRV_MAX_HEADERS);
    if (rc == HTTP_INCOMPLETE) {
        if (buf_len(&c->in) > lim->max_head) {
            conn_fail(c, ERR_HEADERS_TOO_LARGE, "request head too large");
            return -1;
        }
        return 0;
    }
    /* A request line under /v2 gets its errors in the protocol's shape from here on, a 413 for its
     * Content-Length or a bad header included (the path is empty when the request line itself failed). */
    c->message_errors = oip_path(c->req.http.path);
    if (rc < 0) {
        conn_fail(c, err_for_status(-rc), c->req.http.error);
        return -1;
    }
    c->head_done = true;
    c->head_len = (size_t)rc;
    c->head_at = buf_ptr(&c->in);
    c->raw_used = c->decoded = 0;
    http_body_init(&c->body, c->req.http.framing, c->req.http.content_length, lim->max_body);
    bool has_body = c->req.http.framing == HTTP_BODY_CHUNKED ||
                    (c->req.http.framing == HTTP_BODY_LENGTH && c->req.http.content_length > 0);
    if (!has_body)
        c->body.done = true;
    else if (c->req.http.framing == HTTP_BODY_LENGTH && !charge_body(c, (size_t)c->req.http.content_length))
        return -1; /* before any 100 Continue: the client need not send what we will not read */
    else if (c->req.http.expect_continue && buf_len(&c->in) == c->head_len)
        buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n"); /* best effort: curl goes on after 1 s */
    return 1;
}

/* Decodes what has arrived of the body in place; 1 when complete, 0 when more is needed, -1 when answered. */
static int read_body(struct srv_conn *c)
{
    if (c->body.done)
        return 1;
    char *base = buf_ptr(&c->in) + c->head_len;
    size_t avail = buf_len(&c->in) - c->head_len - c->raw_used;
    size_t consumed = 0, produced = 0;
    int rc = http_body_feed(&c->body, base + c->raw_used, avail, base + c->decoded, &consumed, &produced);
    c->raw_used += consumed;
    c->decoded += produced;
    if (rc < 0) {
        conn_fail(c, err_for_status(-rc), c->body.error);
        return -1;
    }
    if (!charge_body(c, c->raw_used)) /* a chunked body is charged as it grows */
        return -1;
    if (rc == HTTP_INCOMPLETE) {
        if (in_full(c)) {
            conn_fail(c, ERR_BODY_TOO_LARGE, "request body too large (--max-body)");
            return -1;
        }
        return 0;
    }
    c->body.done = true;
    return 1;
}

/* Flushes out and moves on from WRITING; 0, or -1 when the connection must be closed. */
static int conn_flush(struct srv_conn *c)
{
    while (buf_len(&c->out) > 0 || c->tail_len > 0) {
        ssize_t n;
        if (buf_len(&c->out) > 0) {
            n = buf_write_fd(&c->out, c->fd);
        } else {
            n = send(c->fd, c->tail, c->tail_len, MSG_NOSIGNAL);
            if (n > 0) {
                c->tail += n;
                c->tail_len -= (size_t)n;
                if (c->tail_len == 0)
                    release_tail(c);
            }
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        if (c->state == CONN_WRITING)
            conn_arm(c, c->srv->cfg.timeout_ms); /* progress: the client is reading */
    }
    if (buf_len(&c->out) == 0 && c->tail_len == 0 && c->state == CONN_WRITING) {
        uncharge(c); /* the answer is out */
        trim(&c->out);
        if (c->close_after) {
            if (c->peer_eof)
                return -1;
            shutdown(c->fd, SHUT_WR);
            c->state = CONN_DRAINING;
            conn_arm(c, DRAIN_MS);
        } else {
            conn_await_request(c);
        }
    }
    return conn_watch(c);
}

/* Runs the connection as far as the bytes at hand allow; false when it must be closed. */
static bool conn_advance(struct srv_conn *c)
{
    for (;;) {
        if (conn_flush(c) != 0)
            return false;
        if (c->state != CONN_READING || buf_len(&c->out) > 0 || c->tail_len > 0)
            return true; /* handling, draining, or waiting for the client to take our bytes */
        int rc = buf_len(&c->in) == 0 ? 0 : read_head(c);
        if (rc == 1)
            rc = read_body(c);
        if (rc == 1)
            dispatch(c);
        else if (rc == 0)
            return !c->peer_eof && conn_flush(c) == 0; /* maybe a 100 Continue to send */
    }
}

/* Advances the connection as far as it goes, closing it when it must.  Called only from the loop's own
 * callbacks (events, timers): nothing above it on the stack holds c. */
static void conn_process(struct srv_conn *c)
{
    if (!conn_advance(c))
        conn_close(c);
}

static void on_flush(struct loop *l, void *data)
{
    (void)l;
    conn_process(data);
}

static void on_timeout(struct loop *l, void *data)
{
    (void)l;
    struct srv_conn *c = data;
    if (c->state == CONN_READING && (c->head_done || buf_len(&c->in) > 0)) {
        conn_fail(c, ERR_REQUEST_TIMEOUT, "the request did not arrive in time (--timeout)");
        return;
    }
    conn_close(c); /* idle keep-alive, a client that stopped reading, or the end of draining */
}

static void conn_read(struct srv_conn *c)
{
    for (int i = 0; i < READS_PER_WAKE; i++) {
        ssize_t n = buf_read_fd(&c->in, c->fd, READ_CHUNK);
        if (n > 0 && c->idle) { /* a request begins: its deadline runs from its first byte */
            idle_leave(c);
            conn_arm(c, c->srv->cfg.timeout_ms);
        }
        if (n > 0) {
            bool drained = c->in.end < c->in.cap; /* a short read: the socket is empty (saves an EAGAIN read) */
            if (c->state == CONN_DRAINING)
                buf_clear(&c->in);
            if (drained)
                break;
            continue;
        }
        if (n == 0) {
            c->peer_eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
            break;
        conn_close(c);
        return;
    }
    if (c->state == CONN_DRAINING) {
        if (c->peer_eof)
            conn_close(c);
        return;
    }
    conn_process(c);
}

static void on_conn_event(struct loop *l, int fd, int mask, void *data)
{
    (void)l;
    (void)fd;
    struct srv_conn *c = data;
    if (c->state == CONN_HANDLING) { /* more bytes or a close while we answer: look at them later */
        if (set_watch(c, 0) != 0)
            c->close_after = true; /* never freed under the handler: closed once it has answered */
        return;
    }
    if (mask & LOOP_READABLE && (c->state == CONN_READING || c->state == CONN_DRAINING)) {
        conn_read(c);
        return; /* conn_read flushes through conn_process; c may be gone */
    }
    if (mask & LOOP_WRITABLE)
        conn_process(c);
}

static void conn_open(struct srv *s, int fd, const char *peer)
{
    struct srv_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    const struct http_limits *lim = &s->cfg.limits;
    buf_init(&c->in, lim->max_head + lim->max_body + PIPELINE_SLACK);
    buf_init(&c->out, OUT_MAX);
    loop_timer_init(&c->timer, on_timeout, c);
    loop_timer_init(&c->flush, on_flush, c);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (conn_watch(c) != 0) { /* never woken, never timed: it would stay open for good */
        conn_close(c);
        return;
    }
    conn_await_request(c);
}

static void on_accept(struct loop *l, int fd, int mask, void *data)
{
    (void)l;
    (void)fd;
    (void)mask;
    struct srv *s = data;
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        char peer[64];
        int cfd = sock_accept(s->listen_fd, peer, sizeof peer);
        if (cfd < 0) {
            if ((errno == EMFILE || errno == ENFILE) && s->spare_fd >= 0) {
                /* Out of fds: free the spare, take the connection off the queue and close it. */
                close(s->spare_fd);
                int drop = accept(s->listen_fd, NULL, NULL);
                if (drop >= 0)
                    close(drop);
                s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "accept: %s\n", strerror(errno));
            return;
        }
        if (s->nconns >= s->cfg.max_conns) {
            if (!s->idle_old) { /* every connection has a request in progress: nothing to shed */
                s->refused++;
                close(cfd);
                continue;
            }
            s->shed++; /* nginx's reusable connections: the longest-idle one makes room */
            conn_close(s->idle_old);
        }
        conn_open(s, cfd, peer);
    }
}

struct srv *srv_create(struct loop *l, const struct srv_config *cfg, srv_handler_fn *fn, void *data,
                       char *err, size_t errlen)
{
    struct srv *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = l;
    s->cfg = *cfg;
    if (s->cfg.idle_timeout_ms <= 0)
        s->cfg.idle_timeout_ms = cfg->timeout_ms;
    s->fn = fn;
    s->data = data;
    s->log_fd = 2;
    buf_init(&s->log_line, 2048); /* a line is at most about 700 bytes */
    if (cfg->access_log && strcmp(cfg->access_log, "-") != 0 &&
        (s->log_fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        snprintf(err, errlen, "cannot open the access log %s: %s", cfg->access_log, strerror(errno));
        free(s);
        return NULL;
    }
    s->listen_fd = sock_listen(cfg->host, cfg->port, 511, err, errlen);
    if (s->listen_fd < 0) {
        if (s->log_fd != 2)
            close(s->log_fd);
        free(s);
        return NULL;
    }
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (loop_watch(l, s->listen_fd, LOOP_READABLE, on_accept, s) != 0) {
        snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(errno));
        srv_destroy(s);
        return NULL;
    }
    return s;
}

void srv_destroy(struct srv *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_close(s->conns);
    if (s->listen_fd >= 0) {
        loop_unwatch(s->loop, s->listen_fd);
        close(s->listen_fd);
    }
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    if (s->log_fd != 2)
        close(s->log_fd);
    buf_free(&s->log_line);
    free(s);
}

int srv_drain(struct srv *s, int timeout_ms)
{
    struct loop *l = s->loop;
    uint64_t end = loop_now_ms(l) + (uint64_t)timeout_ms;
    if (s->listen_fd >= 0) {
        loop_unwatch(l, s->listen_fd);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    s->draining = true;
    for (struct srv_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_READING && !c->head_done && buf_len(&c->in) == 0 && buf_len(&c->out) == 0)
            conn_close(c); /* idle keep-alive: nothing owed */
        else
            c->close_after = true;
    }
    while (s->conns && loop_now_ms(l) < end)
        if (loop_run_once(l, 50) < 0)
            break;
    return s->conns ? -1 : 0;
}

int srv_port(const struct srv *s)
{
    return sock_local_port(s->listen_fd);
}
