/* upstream: requests to one backend over pooled keep-alive connections (see upstream.h).
 *
 * A connection goes CONNECTING → SENDING → RECEIVING → back to the idle pool (or closed).  While sending
 * it also reads, so a backend that answers early (413) and closes is seen rather than waited on. */
#define _GNU_SOURCE
#include "balance/upstream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/sock.h"

#define MAX_IDLE 64
#define MAX_RESPONSE_HEAD (16u * 1024)
#define MAX_RESPONSE_HEADERS 64
#define READ_CHUNK (64u * 1024)
#define KEEP_IDLE_BUF (256u * 1024) /* a pooled connection keeps at most this much of a buffer */
#define MAX_REQUEST_HEAD (64u * 1024) /* the head we send (the body is not copied) */

enum up_state { UP_CONNECTING, UP_SENDING, UP_RECEIVING, UP_IDLE };

struct up_conn {
    struct upstream *u;
    struct up_conn *prev, *next; /* every connection of u, idle or busy, for upstream_free */
    struct up_conn *next_idle;
    int fd;
    int watched;              /* the mask the loop has for fd (epoll_ctl only when it changes) */
    enum up_state state;
    bool reused;              /* taken from the pool: an early close is retried once on a fresh one */
    struct buf req;           /* the request head */
    const char *req_body;     /* the caller's body, sent after the head (valid until done is called) */
    size_t req_body_len;
    size_t sent;              /* bytes of head and body sent */
    struct buf resp;
    struct loop_timer timer;
    upstream_done_fn *done;
    void *data;
    /* parsing the answer */
    bool head_done;
    struct http_response res;
    struct http_header headers[MAX_RESPONSE_HEADERS];
    struct http_body body;
    size_t body_used;         /* raw body bytes after the head */
};

struct upstream {
    struct loop *loop;
    char name[SOCK_HOST_MAX + 8];
    struct sock_addr addr;
    int timeout_ms;
    struct up_conn *conns;     /* all of them: upstream_free must end the calls still in flight too */
    struct up_conn *idle;
    int nidle;
};

static void on_event(struct loop *l, int fd, int mask, void *data);

static int up_watch(struct up_conn *c, int mask)
{
    if (mask == c->watched)
        return 0;
    if (loop_watch(c->u->loop, c->fd, mask, on_event, c) != 0)
        return -1;
    c->watched = mask;
    return 0;
}

static void close_fd(struct up_conn *c)
{
    if (c->fd < 0)
        return;
    loop_unwatch(c->u->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    c->watched = 0;
}

static void conn_free(struct up_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->u->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close_fd(c);
    loop_timer_stop(c->u->loop, &c->timer);
    buf_free(&c->req);
    buf_free(&c->resp);
    free(c);
}

static void finish_error(struct up_conn *c, int status, const char *detail)
{
    struct upstream_reply r = { .status = status, .detail = detail };
    upstream_done_fn *done = c->done;
    void *data = c->data;
    conn_free(c);
    done(data, &r);
}

/* finish_error with a formatted detail. */
static void finish_errorf(struct up_conn *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish_errorf(struct up_conn *c, int status, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    finish_error(c, status, why);
}

static void fail_connect(struct up_conn *c, int err)
{
    finish_errorf(c, 502, "cannot connect to backend %s: %s", c->u->name, strerror(err));
}

/* Empties b, giving its memory back when it grew large (after a big upload). */
static void reset(struct buf *b)
{
    size_t max = b->max;
    if (b->cap > KEEP_IDLE_BUF) {
        buf_free(b);
        buf_init(b, max);
    }
    buf_clear(b);
}

static void release(struct up_conn *c)
{
    struct upstream *u = c->u;
    loop_timer_stop(u->loop, &c->timer);
    reset(&c->req);
    reset(&c->resp);
    c->req_body = NULL; /* the caller's: it may be gone once done has run */
    c->req_body_len = 0;
    if (u->nidle >= MAX_IDLE || up_watch(c, LOOP_READABLE) != 0) {
        conn_free(c);
        return;
    }
    c->state = UP_IDLE;
    c->next_idle = u->idle;
    u->idle = c;
    u->nidle++;
}

static void unlink_idle(struct up_conn *c)
{
    struct upstream *u = c->u;
    for (struct up_conn **p = &u->idle; *p; p = &(*p)->next_idle) {
        if (*p == c) {
            *p = c->next_idle;
            u->nidle--;
            return;
        }
    }
}

/* Starts a fresh connection for the request in c; false (and c finished) if that fails at once. */
static bool connect_fresh(struct up_conn *c)
{
    close_fd(c);
    c->reused = false;
    c->sent = 0;
    c->head_done = false;
    c->body_used = 0;
    buf_clear(&c->resp);
    c->fd = sock_connect_addr(&c->u->addr);
    if (c->fd < 0 || up_watch(c, LOOP_WRITABLE) != 0) {
        fail_connect(c, errno);
        return false;
    }
    c->state = UP_CONNECTING;
    return true;
}

/* The backend closed or reset before answering: retry once if the connection was a pooled one. */
static void lost(struct up_conn *c, const char *what)
{
    if (c->reused && buf_len(&c->resp) == 0) {
        connect_fresh(c);
        return;
    }
    finish_errorf(c, 502, "backend %s %s", c->u->name, what);
}

static void complete(struct up_conn *c)
{
    /* Re-parse: reads since the head was parsed may have moved the buffer; the views must be fresh. */
    size_t head_len = c->res.head_len;
    if (http_parse_response(buf_ptr(&c->resp), head_len, false, MAX_RESPONSE_HEAD, &c->res, c->headers,
                            MAX_RESPONSE_HEADERS) != (int)head_len) {
        finish_error(c, 502, "the backend's answer changed while it was read");
        return;
    }
    size_t total = c->res.head_len + c->body_used;
    bool reusable = c->res.keep_alive && c->state == UP_RECEIVING && buf_len(&c->resp) == total;
    struct upstream_reply r = {
        .status = c->res.status, .res = &c->res, .raw = buf_ptr(&c->resp), .raw_len = total,
    };
    c->done(c->data, &r);
    if (reusable)
        release(c);
    else
        conn_free(c);
}

/* Parses what has arrived; 1 when the answer is complete, 0 for more, -1 when c was finished with 502. */
static int parse(struct up_conn *c, bool eof)
{
    while (!c->head_done) {
        int rc = http_parse_response(buf_ptr(&c->resp), buf_len(&c->resp), false, MAX_RESPONSE_HEAD,
                                     &c->res, c->headers, MAX_RESPONSE_HEADERS);
        if (rc == HTTP_INCOMPLETE)
            return 0;
        if (rc < 0) {
            finish_error(c, 502, "the backend's answer is not valid HTTP");
            return -1;
        }
        if (c->res.status == 101) { /* we never ask to upgrade: what follows is no HTTP answer of ours */
            finish_error(c, 502, "the backend switched protocols unasked");
            return -1;
        }
        if (c->res.status < 200) { /* an interim 1xx: skip it */
            buf_consume(&c->resp, (size_t)rc);
            continue;
        }
        c->head_done = true;
        http_body_init(&c->body, c->res.framing, c->res.content_length, 0);
        if (c->res.framing == HTTP_BODY_NONE || (c->res.framing == HTTP_BODY_LENGTH && c->res.content_length == 0))
            return 1;
    }
    size_t avail = buf_len(&c->resp) - c->res.head_len - c->body_used;
    size_t consumed = 0, produced = 0;
    int rc = http_body_feed(&c->body, buf_ptr(&c->resp) + c->res.head_len + c->body_used, avail, NULL,
                            &consumed, &produced);
    c->body_used += consumed;
    if (rc < 0) {
        finish_error(c, 502, "the backend's answer has a malformed body");
        return -1;
    }
    if (rc == 1 || (eof && c->res.framing == HTTP_BODY_UNTIL_CLOSE))
        return 1;
    return 0;
}

static void receive(struct up_conn *c)
{
    bool eof = false;
    for (;;) {
        ssize_t n = buf_read_fd(&c->resp, c->fd, READ_CHUNK);
        if (n > 0 && c->resp.end < c->resp.cap)
            break; /* a short read: the socket is empty (saves an EAGAIN read) */
        if (n > 0)
            continue;
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        if (errno == ENOBUFS) {
            finish_error(c, 502, "the backend's answer is too large");
            return;
        }
        lost(c, "reset the connection");
        return;
    }
    int rc = parse(c, eof);
    if (rc == 1)
        complete(c);
    else if (rc == 0 && eof)
        lost(c, buf_len(&c->resp) ? "closed the connection mid-answer" : "closed the connection");
}

/* The next unsent bytes: the rest of the head (flagged MSG_MORE when a body follows, so the head and the
 * body's start share a segment), else the rest of the body. */
static size_t next_piece(const struct up_conn *c, const char **p, int *flags)
{
    size_t head_len = buf_len(&c->req);
    *flags = MSG_NOSIGNAL;
    if (c->sent < head_len) {
        *p = buf_ptr(&c->req) + c->sent;
        if (c->req_body_len > 0)
            *flags |= MSG_MORE;
        return head_len - c->sent;
    }
    *p = c->req_body + (c->sent - head_len);
    return head_len + c->req_body_len - c->sent;
}

static void send_some(struct up_conn *c)
{
    while (c->sent < buf_len(&c->req) + c->req_body_len) {
        const char *p;
        int flags;
        size_t len = next_piece(c, &p, &flags);
        ssize_t n = send(c->fd, p, len, flags);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (up_watch(c, LOOP_READABLE | LOOP_WRITABLE) != 0)
                    finish_error(c, 502, "cannot watch the backend connection");
                return;
            }
            lost(c, "refused the request");
            return;
        }
        c->sent += (size_t)n;
    }
    c->state = UP_RECEIVING;
    if (up_watch(c, LOOP_READABLE) != 0)
        finish_error(c, 502, "cannot watch the backend connection");
}

static void on_event(struct loop *l, int fd, int mask, void *data)
{
    (void)l;
    (void)fd;
    struct up_conn *c = data;
    switch (c->state) {
    case UP_IDLE: /* readable while idle: the backend closed it (or misbehaves) */
        unlink_idle(c);
        conn_free(c);
        return;
    case UP_CONNECTING: {
        int err = sock_connect_result(c->fd);
        if (err != 0) {
            fail_connect(c, err);
            return;
        }
        c->state = UP_SENDING;
        send_some(c);
        return;
    }
    case UP_SENDING:
        if (mask & LOOP_READABLE) { /* an early answer: take it, never reuse the connection */
            receive(c);
            return;
        }
        send_some(c);
        return;
    case UP_RECEIVING:
        receive(c);
        return;
    }
}

static void on_timeout(struct loop *l, void *data)
{
    (void)l;
    struct up_conn *c = data;
    finish_errorf(c, 504, "backend %s gave no answer within %d ms", c->u->name, c->u->timeout_ms);
}

void upstream_call(struct upstream *u, const char *head, size_t head_len, const char *body, size_t body_len,
                   upstream_done_fn *done, void *data)
{
    struct up_conn *c = u->idle;
    if (c) {
        u->idle = c->next_idle;
        u->nidle--;
        c->reused = true;
    } else {
        c = calloc(1, sizeof *c);
        if (!c) {
            struct upstream_reply r = { .status = 502, .detail = "out of memory" };
            done(data, &r);
            return;
        }
        c->u = u;
        c->fd = -1;
        c->next = u->conns;
        if (u->conns)
            u->conns->prev = c;
        u->conns = c;
        buf_init(&c->req, MAX_REQUEST_HEAD);
        buf_init(&c->resp, UPSTREAM_MAX_RESPONSE);
        loop_timer_init(&c->timer, on_timeout, c);
    }
    c->done = done;
    c->data = data;
    c->sent = 0;
    c->head_done = false;
    c->body_used = 0;
    c->req_body = body; /* not copied: the caller keeps it alive until done (the balancer's client request) */
    c->req_body_len = body_len;
    if (buf_append(&c->req, head, head_len) != 0) {
        finish_error(c, 502, "request head too large to forward");
        return;
    }
    if (loop_timer_arm(u->loop, &c->timer, (uint64_t)u->timeout_ms) != 0) {
        finish_error(c, 502, "out of memory");
        return;
    }
    if (!c->reused) {
        connect_fresh(c);
        return;
    }
    c->state = UP_SENDING; /* a pooled connection is writable almost always: try at once */
    send_some(c);
}

struct upstream *upstream_create(struct loop *l, const char *hostport, int timeout_ms, char *err, size_t errlen)
{
    char host[SOCK_HOST_MAX];
    int port;
    if (sock_parse_hostport(hostport, host, sizeof host, &port, err, errlen) != 0)
        return NULL;
    struct upstream *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sock_resolve(host[0] ? host : "127.0.0.1", port, &u->addr, err, errlen) != 0) {
        free(u);
        return NULL;
    }
    u->loop = l;
    u->timeout_ms = timeout_ms;
    snprintf(u->name, sizeof u->name, "%s", hostport);
    return u;
}

void upstream_free(struct upstream *u)
{
    if (!u)
        return;
    while (u->conns) /* the calls in flight end unanswered: their callers are gone at shutdown */
        conn_free(u->conns);
    free(u);
}

const char *upstream_name(const struct upstream *u)
{
    return u->name;
}
