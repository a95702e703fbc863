/* server: accept, read whole requests, hand them to the program, write answers back (see server.h).
 *
 * A connection is in one state at a time:
 *   READING   waiting for (the rest of) a request; the timer is the request deadline (→ 408)
 *   HANDLING  the handler has the request; nothing is read or timed (the handler bounds its own work)
 *   WRITING   the answer is going out; the timer fires if the client stops reading
 *   DRAINING  we answered and will close: our side is shut, what the client still sends is discarded
 *             for a moment so the kernel does not reset the connection before the answer is read */
#define _GNU_SOURCE
#include "net/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/html.h"
#include "net/json_write.h"
#include "net/sock.h"

#define READ_CHUNK (64u * 1024)
#define PIPELINE_SLACK (64u * 1024)        /* room for the next pipelined request behind a full one */
#define OUT_MAX (40u * 1024 * 1024)        /* largest answer we buffer (static files are capped below it) */
#define DRAIN_MS 1000
#define ACCEPTS_PER_WAKE 64
#define READS_PER_WAKE 16
#define KEEP_IDLE_BUF (256u * 1024)         /* an idle connection keeps at most this much of a buffer */

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
    size_t held;              /* body bytes charged by all connections (<= cfg.max_memory when set) */
};

struct srv_conn {
    struct srv *srv;
    struct srv_conn *prev, *next;
    int fd;
    char peer[64];
    struct buf in, out;
    struct loop_timer timer;
    enum conn_state state;
    int watched;              /* the mask the loop has for fd (epoll_ctl only when it changes) */
    bool busy;                /* conn_process is on the stack: answers are flushed by it */
    bool peer_eof;            /* the client has shut its side: answer what is whole, then close */
    bool close_after;         /* close once the current answer is out */
    bool head_only;           /* the request is HEAD: answers carry their headers but no body */
    /* the request being read or handled */
    bool head_done;
    bool request_valid;       /* req holds a parsed request (for the access log) */
    size_t head_len;
    struct http_body body;
    size_t raw_used;          /* raw body bytes consumed after the head */
    size_t decoded;           /* decoded body bytes, written in place after the head */
    size_t charged;           /* this request's share of srv.held */
    struct srv_request req;
};

static void on_conn_event(struct loop *l, int fd, int mask, void *data);
static void conn_process(struct srv_conn *c);

/* Gives back the memory of a large, now empty buffer (after a big upload or file). */
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
    return true;
}

/* The request is answered or gone: its body no longer counts. */
static void uncharge(struct srv_conn *c)
{
    c->srv->held -= c->charged;
    c->charged = 0;
}

static void conn_close(struct srv_conn *c)
{
    struct srv *s = c->srv;
    uncharge(c);
    loop_timer_stop(s->loop, &c->timer);
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
    if (buf_len(&c->out) > 0)
        mask |= LOOP_WRITABLE;
    return set_watch(c, mask);
}

static void conn_arm(struct srv_conn *c, int ms)
{
    if (loop_timer_arm(c->srv->loop, &c->timer, (uint64_t)ms) != 0)
        loop_timer_stop(c->srv->loop, &c->timer);
}

static void log_access(struct srv_conn *c, int status, size_t body_len)
{
    struct srv_request *r = &c->req;
    double ms = c->request_valid ? (double)(loop_now_ms(c->srv->loop) - r->start_ms) : 0.0;
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    if (c->request_valid) {
        int tlen = r->http.target.len > 200 ? 200 : (int)r->http.target.len;
        fprintf(stderr, "%s %s \"%.*s %.*s HTTP/1.%d\" %d %zu %.0fms%s%s\n", when, c->peer,
                (int)r->http.method.len, r->http.method.p, tlen, r->http.target.p, r->http.minor_version,
                status, body_len, ms, r->note[0] ? " " : "", r->note);
    } else {
        fprintf(stderr, "%s %s \"-\" %d %zu -\n", when, c->peer, status, body_len);
    }
}

/* Appends status line + headers (+ Content-Length) to out.  0, or -1 if it does not fit. */
static int append_head(struct srv_conn *c, int status, const char *content_type, size_t body_len,
                       const char *extra)
{
    struct http_response_head h = {
        .status = status, .content_type = content_type, .content_length = (int64_t)body_len,
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

/* The request is answered (its bytes are in out): log, drop the request bytes, and flush — unless
 * conn_process is on the stack, which flushes when control returns to it. */
static void conn_answered(struct srv_conn *c, int status, size_t body_len)
{
    log_access(c, status, body_len);
    uncharge(c);
    if (c->close_after)
        buf_clear(&c->in);
    else
        buf_consume(&c->in, c->head_len + c->raw_used);
    trim(&c->in);
    c->head_done = false;
    c->request_valid = false;
    c->head_only = false;
    c->state = CONN_WRITING;
    conn_arm(c, c->srv->cfg.timeout_ms);
    conn_process(c);
}

/* Appends an answer's body, unless the request was HEAD (RFC 9110 9.3.2: the head alone, with the
 * Content-Length a GET would get; a body would be read as the next answer on a kept-alive connection). */
static int append_body(struct srv_conn *c, const void *body, size_t len)
{
    return c->head_only ? 0 : buf_append(&c->out, body, len);
}

static void respond_error_now(struct srv_conn *c, int status, const char *code, const char *detail,
                              const char *extra)
{
    /* A browser that posted the plain form (no JavaScript) gets a page it can show; everyone else JSON. */
    if (c->request_valid && !c->head_only &&
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
    ssize_t n = json_error_body(body, sizeof body - 1, code, detail ? detail : http_reason(status));
    if (n < 0)
        n = json_error_body(body, sizeof body - 1, code, http_reason(status));
    if (n < 0)
        n = 0;
    body[n++] = '\n';
    size_t keep = buf_len(&c->out); /* a length: appending may compact the buffer */
    if (append_head(c, status, "application/json", (size_t)n, extra) != 0 ||
        append_body(c, body, (size_t)n) != 0) {
        c->close_after = true; /* not even an error fits: just close */
        c->out.end = c->out.start + keep;
    }
    conn_answered(c, status, (size_t)n);
}

void srv_respond_error(struct srv_conn *c, int status, const char *code, const char *detail, const char *extra)
{
    respond_error_now(c, status, code, detail, extra);
}

void srv_respond(struct srv_conn *c, int status, const char *content_type, const void *body, size_t len,
                 const char *extra)
{
    size_t keep = buf_len(&c->out); /* a length: appending may compact the buffer */
    if (append_head(c, status, content_type, len, extra) != 0 || append_body(c, body, len) != 0) {
        c->out.end = c->out.start + keep;
        respond_error_now(c, 500, "response_too_large", "the answer does not fit the output buffer", NULL);
        return;
    }
    conn_answered(c, status, len);
}

void srv_respond_relay(struct srv_conn *c, int status, const char *head, size_t head_len, const char *body,
                       size_t body_len)
{
    size_t keep = buf_len(&c->out); /* a length: appending may compact the buffer */
    int ok = buf_append(&c->out, head, head_len) == 0 &&
             buf_printf(&c->out, "Content-Length: %zu\r\nConnection: %s\r\n\r\n", body_len,
                        c->close_after ? "close" : "keep-alive") == 0 &&
             append_body(c, body, body_len) == 0;
    if (!ok) {
        c->out.end = c->out.start + keep;
        respond_error_now(c, 502, "bad_gateway", "the backend's answer does not fit the output buffer", NULL);
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

struct loop *srv_conn_loop(struct srv_conn *c)
{
    return c->srv->loop;
}

/* Fails the request being read with a status and closes after the answer (the rest of its body is
 * never read, so the connection cannot carry another request). */
static void conn_fail(struct srv_conn *c, int status, const char *why)
{
    static const struct { int status; const char *code; } codes[] = {
        { 400, "bad_request" }, { 408, "request_timeout" }, { 413, "body_too_large" },
        { 414, "uri_too_long" }, { 431, "headers_too_large" }, { 501, "not_implemented" },
        { 503, "server_busy" }, { 505, "http_version_not_supported" },
    };
    const char *code = "bad_request";
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].status == status)
            code = codes[i].code;
    c->close_after = true;
    respond_error_now(c, status, code, why, status == 503 ? "Retry-After: 1\r\n" : NULL);
}

/* Charges the body bytes the request holds now (its declared length, or what has arrived of a chunked
 * one); false when answered with 503 (or 413 for a body that could never fit the budget). */
static bool charge_body(struct srv_conn *c, size_t held)
{
    if (held <= c->charged || charge(c, held - c->charged))
        return true;
    if (held > c->srv->cfg.max_memory)
        conn_fail(c, 413, "request body larger than the server's memory budget");
    else
        conn_fail(c, 503, "the server holds too many request bodies at once; try again shortly");
    return false;
}

static void dispatch(struct srv_conn *c)
{
    struct srv_request *r = &c->req;
    /* Re-parse: the buffer may have moved since the head was first parsed; views must be fresh. */
    if (http_parse_request(buf_ptr(&c->in), c->head_len, &c->srv->cfg.limits, &r->http, r->headers,
                           SRV_MAX_HEADERS) != (int)c->head_len) {
        conn_fail(c, 400, "request head changed while reading");
        return;
    }
    r->head = buf_ptr(&c->in);
    r->head_len = c->head_len;
    r->body = buf_ptr(&c->in) + c->head_len;
    r->body_len = c->decoded;
    r->peer = c->peer;
    r->start_ms = loop_now_ms(c->srv->loop);
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
            conn_fail(c, 431, "request head too large");
            return -1;
        }
        return 0;
    }
    if (rc < 0) {
        conn_fail(c, -rc, c->req.http.error);
        return -1;
    }
    c->head_done = true;
    c->head_len = (size_t)rc;
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
        conn_fail(c, -rc, c->body.error);
        return -1;
    }
    if (!charge_body(c, c->raw_used)) /* a chunked body is charged as it grows */
        return -1;
    if (rc == HTTP_INCOMPLETE) {
        if (in_full(c)) {
            conn_fail(c, 413, "request body too large");
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
    while (buf_len(&c->out) > 0) {
        ssize_t n = buf_write_fd(&c->out, c->fd);
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
    if (buf_len(&c->out) == 0 && c->state == CONN_WRITING) {
        trim(&c->out);
        if (c->close_after) {
            if (c->peer_eof)
                return -1;
            shutdown(c->fd, SHUT_WR);
            c->state = CONN_DRAINING;
            conn_arm(c, DRAIN_MS);
        } else {
            c->state = CONN_READING;
            conn_arm(c, c->srv->cfg.timeout_ms);
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
        if (c->state != CONN_READING || buf_len(&c->out) > 0)
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

static void conn_process(struct srv_conn *c)
{
    if (c->busy)
        return; /* an answer given from inside the handler: the outer call goes on */
    c->busy = true;
    bool alive = conn_advance(c);
    c->busy = false;
    if (!alive)
        conn_close(c);
}

static void on_timeout(struct loop *l, void *data)
{
    (void)l;
    struct srv_conn *c = data;
    if (c->state == CONN_READING && (c->head_done || buf_len(&c->in) > 0)) {
        conn_fail(c, 408, "the request did not arrive in time");
        return;
    }
    conn_close(c); /* idle keep-alive, a client that stopped reading, or the end of draining */
}

static void conn_read(struct srv_conn *c)
{
    for (int i = 0; i < READS_PER_WAKE; i++) {
        ssize_t n = buf_read_fd(&c->in, c->fd, READ_CHUNK);
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
            conn_close(c);
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
    c->state = CONN_READING;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (conn_watch(c) != 0) { /* never woken, never timed: it would stay open for good */
        conn_close(c);
        return;
    }
    conn_arm(c, s->cfg.timeout_ms);
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
            close(cfd);
            continue;
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
    s->fn = fn;
    s->data = data;
    s->listen_fd = sock_listen(cfg->host, cfg->port, 511, err, errlen);
    if (s->listen_fd < 0) {
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
