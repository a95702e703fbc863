/* http_client: calls to one origin over pooled keep-alive connections (see http_client.h).
 *
 * A connection goes CONNECTING → SENDING → RECEIVING → FINISHING (during the callback) → back to the idle
 * pool, to the first waiting call, or closed.  While sending it also reads, so a server that answers early
 * (413) and closes is heard rather than waited on.  The answer's head is parsed once; its views are kept
 * valid across buffer growth by re-basing them (views_save / views_restore), never by parsing again.
 * Calls and their head buffers are recycled through a free list, so a steady load allocates nothing. */
#define _GNU_SOURCE
#include "net/http_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/clock.h"
#include "net/sock.h"

#define MAX_RESPONSE_HEAD (16u * 1024)
#define MAX_RESPONSE_HEADERS 64
#define READ_CHUNK (64u * 1024)
#define KEEP_IDLE_BUF (256u * 1024)   /* a pooled connection keeps at most this much of a buffer */
#define MAX_IDLE 64                   /* idle connections kept per client (so at most 32 MiB held idle) */
#define MAX_REQUEST_HEAD (64u * 1024) /* the head we send (the body is not copied) */

enum hc_state { HC_IDLE, HC_CONNECTING, HC_SENDING, HC_RECEIVING, HC_FINISHING };

struct hc_conn {
    struct http_client *c;
    struct hc_conn *prev, *next; /* every connection of c */
    struct hc_conn *next_idle;
    int fd;
    enum hc_state state;
    bool reused;                 /* this exchange runs on a pooled connection: an early close is retried once */
    struct http_call *call;      /* the exchange on it, NULL when idle */
    size_t sent;                 /* bytes of head and body sent */
    struct buf resp;             /* the answer as received (interim 1xx answers dropped) */
    struct buf dec;              /* a chunked body, decoded */
    bool head_done;
    struct http_response res;
    struct http_header headers[MAX_RESPONSE_HEADERS];
    size_t view_off[1 + 2 * MAX_RESPONSE_HEADERS];
    struct http_body body;
    size_t body_used;            /* raw body bytes after the head */
};

struct http_call {
    struct http_client *c;
    struct http_call *prev, *next; /* the waiting FIFO */
    struct http_call *next_free;
    struct http_call *next_all;    /* every call struct c allocated, for http_client_free */
    struct hc_conn *conn;          /* NULL while waiting or after a deferred failure */
    bool waiting;
    bool starting;                 /* inside http_client_send: a failure is deferred to the loop */
    bool failed;                   /* a deferred failure is armed on the timer */
    enum http_client_error error;
    char detail[512];
    struct buf head;
    const char *body;
    size_t body_len;
    uint64_t start_ns, timeout_ms;
    struct loop_timer timer;
    http_client_done_fn *done;
    void *data;
};

struct http_client {
    struct loop *loop;
    char name[SOCK_HOST_MAX + 8];
    struct sock_addr addr;
    struct http_client_opts o;
    struct hc_conn *conns;
    int nconns;
    struct hc_conn *idle;
    int nidle;
    struct http_call *wait_head, *wait_tail;
    int nwaiting;
    int in_flight;
    struct http_call *free_calls;
    struct http_call *all_calls;
    struct loop_timer pump;        /* hands a closed connection's slot to a waiting call, on the loop */
};

static void on_event(struct loop *l, int fd, int mask, void *data);
static void start_on(struct hc_conn *k, struct http_call *call);

const char *http_client_error_name(enum http_client_error e)
{
    switch (e) {
    case HTTP_CLIENT_OK: return "ok";
    case HTTP_CLIENT_CONNECT: return "connect";
    case HTTP_CLIENT_TIMEOUT: return "timeout";
    case HTTP_CLIENT_CLOSED: return "closed";
    case HTTP_CLIENT_MALFORMED: return "malformed";
    case HTTP_CLIENT_TOO_LARGE: return "too_large";
    case HTTP_CLIENT_BUSY: return "busy";
    }
    return "unknown";
}

/* ---- connections ---------------------------------------------------------------------------------- */

static int k_watch(struct hc_conn *k, int mask)
{
    return loop_watch(k->c->loop, k->fd, mask, on_event, k); /* no epoll_ctl when the mask is unchanged */
}

static void close_fd(struct hc_conn *k)
{
    if (k->fd < 0)
        return;
    loop_unwatch(k->c->loop, k->fd);
    close(k->fd);
    k->fd = -1;
}

static void unlink_idle(struct hc_conn *k)
{
    for (struct hc_conn **p = &k->c->idle; *p; p = &(*p)->next_idle)
        if (*p == k) {
            *p = k->next_idle;
            k->c->nidle--;
            return;
        }
}

/* Closes and frees k (its call, if any, is the caller's business).  A waiting call gets the slot. */
static void conn_free(struct hc_conn *k)
{
    struct http_client *c = k->c;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    if (k->state == HC_IDLE)
        unlink_idle(k);
    c->nconns--;
    close_fd(k);
    buf_free(&k->resp);
    buf_free(&k->dec);
    free(k);
    if (c->nwaiting > 0)
        loop_timer_arm(c->loop, &c->pump, 0); /* on failure the waiters still end by their own timers */
}

static struct hc_conn *conn_new(struct http_client *c)
{
    struct hc_conn *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->c = c;
    k->fd = -1;
    k->state = HC_CONNECTING;
    buf_init(&k->resp, c->o.max_response);
    buf_init(&k->dec, c->o.max_response);
    k->next = c->conns;
    if (c->conns)
        c->conns->prev = k;
    c->conns = k;
    c->nconns++;
    return k;
}

/* ---- calls ---------------------------------------------------------------------------------------- */

static void wait_unlink(struct http_call *call)
{
    struct http_client *c = call->c;
    if (call->prev)
        call->prev->next = call->next;
    else
        c->wait_head = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        c->wait_tail = call->prev;
    call->prev = call->next = NULL;
    call->waiting = false;
    c->nwaiting--;
}

static void call_release(struct http_call *call)
{
    struct http_client *c = call->c;
    loop_timer_stop(c->loop, &call->timer);
    buf_clear(&call->head);
    buf_shrink(&call->head, KEEP_IDLE_BUF);
    call->conn = NULL;
    call->body = NULL; /* the caller's: it may be gone once done has run */
    call->next_free = c->free_calls;
    c->free_calls = call;
    c->in_flight--;
}

/* Ends call with an error (its connection already detached).  Inside http_client_send the callback is
 * deferred to the loop through the call's own timer, armed at 0. */
static void fail_call(struct http_call *call, enum http_client_error e, bool answer_started, const char *detail)
{
    call->conn = NULL;
    if (call->starting) {
        call->failed = true;
        call->error = e;
        snprintf(call->detail, sizeof call->detail, "%s", detail);
        if (loop_timer_arm(call->c->loop, &call->timer, 0) == 0)
            return;
        /* cannot defer (out of memory): the call's timeout timer is gone too, so end it now */
    }
    struct http_client_result r = {
        .error = e, .answer_started = answer_started, .detail = detail,
        .elapsed_ns = clock_now_ns() - call->start_ns,
    };
    http_client_done_fn *done = call->done;
    void *data = call->data;
    call_release(call);
    done(data, &r);
}

/* Ends k's call with an error and closes k. */
static void fail(struct hc_conn *k, enum http_client_error e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct hc_conn *k, enum http_client_error e, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    struct http_call *call = k->call;
    bool started = buf_len(&k->resp) > 0;
    k->call = NULL;
    conn_free(k);
    fail_call(call, e, started, why);
}

/* k is done with its exchange: hand it to the first waiting call, pool it, or close it. */
static void conn_release(struct hc_conn *k)
{
    struct http_client *c = k->c;
    k->call = NULL;
    buf_clear(&k->resp);
    buf_clear(&k->dec);
    buf_shrink(&k->resp, KEEP_IDLE_BUF);
    buf_shrink(&k->dec, KEEP_IDLE_BUF);
    if (c->wait_head) {
        struct http_call *call = c->wait_head;
        wait_unlink(call);
        k->reused = true;
        start_on(k, call);
        return;
    }
    if (c->nidle >= MAX_IDLE || k_watch(k, LOOP_READABLE) != 0) { /* watched: a server's close is noticed */
        conn_free(k);
        return;
    }
    k->state = HC_IDLE;
    k->next_idle = c->idle;
    c->idle = k;
    c->nidle++;
}

/* (Re)starts k's exchange on a fresh connection; false when it failed at once (k and its call ended). */
static bool connect_fresh(struct hc_conn *k)
{
    close_fd(k);
    k->reused = false;
    k->sent = 0;
    k->head_done = false;
    k->body_used = 0;
    buf_clear(&k->resp);
    buf_clear(&k->dec);
    k->state = HC_CONNECTING;
    k->fd = sock_connect_addr(&k->c->addr);
    if (k->fd < 0 || k_watch(k, LOOP_WRITABLE) != 0) {
        fail(k, HTTP_CLIENT_CONNECT, "cannot connect to %s: %s", k->c->name, strerror(errno));
        return false;
    }
    return true;
}

/* The server closed or reset before answering: retry once if the connection was a pooled one. */
static void lost(struct hc_conn *k, const char *what)
{
    if (k->reused && buf_len(&k->resp) == 0) {
        connect_fresh(k);
        return;
    }
    fail(k, HTTP_CLIENT_CLOSED, "%s %s", k->c->name, what);
}

/* ---- the answer ----------------------------------------------------------------------------------- */

/* Views into resp as offsets, so they survive a read that moves the buffer (parse once, re-base after). */
static void views_save(struct hc_conn *k)
{
    const char *base = buf_ptr(&k->resp);
    size_t *o = k->view_off;
    *o++ = (size_t)(k->res.reason.p - base);
    for (size_t i = 0; i < k->res.num_headers; i++) {
        *o++ = (size_t)(k->headers[i].name.p - base);
        *o++ = (size_t)(k->headers[i].value.p - base);
    }
}

static void views_restore(struct hc_conn *k)
{
    const char *base = buf_ptr(&k->resp);
    const size_t *o = k->view_off;
    k->res.reason.p = base + *o++;
    for (size_t i = 0; i < k->res.num_headers; i++) {
        k->headers[i].name.p = base + *o++;
        k->headers[i].value.p = base + *o++;
    }
}

static void complete(struct hc_conn *k)
{
    struct http_call *call = k->call;
    size_t total = k->res.head_len + k->body_used;
    bool chunked = k->res.framing == HTTP_BODY_CHUNKED;
    bool reusable = k->res.keep_alive && k->res.framing != HTTP_BODY_UNTIL_CLOSE && k->state == HC_RECEIVING &&
                    buf_len(&k->resp) == total;
    struct http_client_result r = {
        .answer_started = 1, .res = &k->res, .raw = buf_ptr(&k->resp), .raw_len = total,
        .body = chunked ? (k->dec.data ? buf_ptr(&k->dec) : "") : buf_ptr(&k->resp) + k->res.head_len,
        .body_len = chunked ? buf_len(&k->dec) : k->body_used,
        .elapsed_ns = clock_now_ns() - call->start_ns,
    };
    http_client_done_fn *done = call->done;
    void *data = call->data;
    k->state = HC_FINISHING; /* a send from inside done does not take k: its views are still in use */
    k->call = NULL;
    call_release(call);
    done(data, &r);
    if (reusable)
        conn_release(k);
    else
        conn_free(k);
}

/* Parses what has arrived: 1 when the answer is complete, 0 for more, -1 when k was ended. */
static int parse(struct hc_conn *k, bool eof)
{
    while (!k->head_done) {
        int rc = http_parse_response(buf_ptr(&k->resp), buf_len(&k->resp), false, MAX_RESPONSE_HEAD, &k->res,
                                     k->headers, MAX_RESPONSE_HEADERS);
        if (rc == HTTP_INCOMPLETE)
            return 0;
        if (rc < 0) {
            fail(k, HTTP_CLIENT_MALFORMED, "the answer of %s is not valid HTTP: %s", k->c->name,
                 k->res.error ? k->res.error : "bad head");
            return -1;
        }
        if (k->res.status == 101) { /* we never ask to upgrade: what follows is no HTTP answer of ours */
            fail(k, HTTP_CLIENT_MALFORMED, "%s switched protocols unasked", k->c->name);
            return -1;
        }
        if (k->res.status < 200) { /* an interim 1xx (100 Continue): skip it */
            buf_consume(&k->resp, (size_t)rc);
            continue;
        }
        k->head_done = true;
        http_body_init(&k->body, k->res.framing, k->res.content_length, 0);
        if (k->res.framing == HTTP_BODY_NONE || (k->res.framing == HTTP_BODY_LENGTH && k->res.content_length == 0))
            return 1;
    }
    const char *in = buf_ptr(&k->resp) + k->res.head_len + k->body_used;
    size_t avail = buf_len(&k->resp) - k->res.head_len - k->body_used;
    char *out = NULL;
    if (k->res.framing == HTTP_BODY_CHUNKED) { /* decoded output is never longer than its input */
        if (avail > 0 && buf_reserve(&k->dec, avail) != 0) {
            fail(k, HTTP_CLIENT_TOO_LARGE, "the answer of %s is over %zu bytes", k->c->name, k->c->o.max_response);
            return -1;
        }
        out = k->dec.data + k->dec.end;
    }
    size_t consumed = 0, produced = 0;
    int rc = avail || eof ? http_body_feed(&k->body, in, avail, out, &consumed, &produced) : HTTP_INCOMPLETE;
    k->body_used += consumed;
    k->dec.end += out ? produced : 0;
    if (rc < 0) {
        fail(k, HTTP_CLIENT_MALFORMED, "the answer of %s has a malformed body", k->c->name);
        return -1;
    }
    if (rc == 1 || (eof && k->res.framing == HTTP_BODY_UNTIL_CLOSE))
        return 1;
    return 0;
}

static void receive(struct hc_conn *k)
{
    bool eof = false;
    for (;;) {
        if (k->head_done)
            views_save(k);
        ssize_t n = buf_read_fd(&k->resp, k->fd, READ_CHUNK);
        int e = errno;
        if (k->head_done)
            views_restore(k);
        if (n > 0 && k->resp.end < k->resp.cap)
            break; /* a short read: the socket is empty (saves an EAGAIN read) */
        if (n > 0)
            continue;
        if (n == 0) {
            eof = true;
            break;
        }
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK)
            break;
        if (e == ENOBUFS) {
            fail(k, HTTP_CLIENT_TOO_LARGE, "the answer of %s is over %zu bytes", k->c->name, k->c->o.max_response);
            return;
        }
        lost(k, "reset the connection");
        return;
    }
    int rc = parse(k, eof);
    if (rc == 1)
        complete(k);
    else if (rc == 0 && eof)
        lost(k, buf_len(&k->resp) ? "closed the connection mid-answer" : "closed the connection");
}

/* ---- the request ---------------------------------------------------------------------------------- */

/* The next unsent bytes: the rest of the head (flagged MSG_MORE when a body follows, so the head and the
 * body's start share a segment), else the rest of the body. */
static size_t next_piece(const struct hc_conn *k, const char **p, int *flags)
{
    const struct http_call *call = k->call;
    size_t head_len = buf_len(&call->head);
    *flags = MSG_NOSIGNAL;
    if (k->sent < head_len) {
        *p = buf_ptr(&call->head) + k->sent;
        if (call->body_len > 0)
            *flags |= MSG_MORE;
        return head_len - k->sent;
    }
    *p = call->body + (k->sent - head_len);
    return head_len + call->body_len - k->sent;
}

static void send_some(struct hc_conn *k)
{
    while (k->sent < buf_len(&k->call->head) + k->call->body_len) {
        const char *p;
        int flags;
        size_t len = next_piece(k, &p, &flags);
        ssize_t n = send(k->fd, p, len, flags);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (k_watch(k, LOOP_READABLE | LOOP_WRITABLE) != 0)
                    fail(k, HTTP_CLIENT_CLOSED, "cannot watch the connection to %s", k->c->name);
                return;
            }
            receive(k); /* it may have answered early (413) and closed: take what it said */
            return;
        }
        k->sent += (size_t)n;
    }
    k->state = HC_RECEIVING;
    if (k_watch(k, LOOP_READABLE) != 0)
        fail(k, HTTP_CLIENT_CLOSED, "cannot watch the connection to %s", k->c->name);
}

static void start_on(struct hc_conn *k, struct http_call *call)
{
    k->call = call;
    call->conn = k;
    k->sent = 0;
    k->head_done = false;
    k->body_used = 0;
    if (!k->reused) {
        connect_fresh(k);
        return;
    }
    k->state = HC_SENDING; /* a pooled connection is writable almost always: try at once */
    send_some(k);
}

static void on_event(struct loop *l, int fd, int mask, void *data)
{
    (void)l;
    (void)fd;
    struct hc_conn *k = data;
    switch (k->state) {
    case HC_IDLE: /* readable while idle: the server closed it (or misbehaves) */
    case HC_FINISHING:
        conn_free(k);
        return;
    case HC_CONNECTING: {
        int err = sock_connect_result(k->fd);
        if (err != 0) {
            fail(k, HTTP_CLIENT_CONNECT, "cannot connect to %s: %s", k->c->name, strerror(err));
            return;
        }
        k->state = HC_SENDING;
        send_some(k);
        return;
    }
    case HC_SENDING:
        if (mask & LOOP_READABLE) { /* an early answer: take it (the connection is not reused then) */
            receive(k);
            return;
        }
        send_some(k);
        return;
    case HC_RECEIVING:
        receive(k);
        return;
    }
}

static void on_call_timer(struct loop *l, void *data)
{
    (void)l;
    struct http_call *call = data;
    if (call->failed) { /* a failure from inside http_client_send, delivered now */
        call->failed = false;
        call->starting = false;
        fail_call(call, call->error, false, call->detail);
        return;
    }
    if (call->waiting) {
        wait_unlink(call);
        char why[512];
        snprintf(why, sizeof why, "no connection to %s came free within %llu ms", call->c->name,
                 (unsigned long long)call->timeout_ms);
        fail_call(call, HTTP_CLIENT_TIMEOUT, false, why);
        return;
    }
    struct hc_conn *k = call->conn;
    if (!k)
        return; /* cannot happen: a call is waiting, deferred or on a connection while its timer is armed */
    if (k->state == HC_CONNECTING)
        fail(k, HTTP_CLIENT_CONNECT, "cannot connect to %s within %llu ms", call->c->name,
             (unsigned long long)call->timeout_ms);
    else
        fail(k, HTTP_CLIENT_TIMEOUT, "%s gave no whole answer within %llu ms", call->c->name,
             (unsigned long long)call->timeout_ms);
}

/* A connection closed while calls wait: the first one gets the free slot. */
static void on_pump(struct loop *l, void *data)
{
    (void)l;
    struct http_client *c = data;
    while (c->wait_head && c->nconns < c->o.max_conns) {
        struct http_call *call = c->wait_head;
        wait_unlink(call);
        struct hc_conn *k = conn_new(c);
        if (!k) {
            fail_call(call, HTTP_CLIENT_CONNECT, false, "out of memory");
            continue;
        }
        start_on(k, call);
    }
}

struct http_call *http_client_send(struct http_client *c, const char *head, size_t head_len,
                                   const char *body, size_t body_len, uint64_t timeout_ms,
                                   http_client_done_fn *done, void *data)
{
    struct http_call *call = c->free_calls;
    if (call) {
        c->free_calls = call->next_free;
    } else {
        call = calloc(1, sizeof *call);
        if (!call)
            return NULL;
        call->c = c;
        call->next_all = c->all_calls;
        c->all_calls = call;
        buf_init(&call->head, MAX_REQUEST_HEAD);
        loop_timer_init(&call->timer, on_call_timer, call);
    }
    call->next_free = NULL;
    call->done = done;
    call->data = data;
    call->body = body;
    call->body_len = body_len;
    call->timeout_ms = timeout_ms;
    call->start_ns = clock_now_ns();
    call->failed = false;
    call->waiting = false;
    call->conn = NULL;
    c->in_flight++;
    if (loop_timer_arm(c->loop, &call->timer, timeout_ms) != 0) {
        call_release(call);
        return NULL;
    }
    call->starting = true;
    if (buf_append(&call->head, head, head_len) != 0) {
        fail_call(call, HTTP_CLIENT_CONNECT, false, "request head over 64 KiB: nothing was sent");
    } else if (c->idle) {
        struct hc_conn *k = c->idle;
        c->idle = k->next_idle;
        c->nidle--;
        k->reused = true;
        start_on(k, call);
    } else if (c->nconns < c->o.max_conns) {
        struct hc_conn *k = conn_new(c);
        if (k) {
            k->reused = false;
            start_on(k, call);
        } else {
            fail_call(call, HTTP_CLIENT_CONNECT, false, "out of memory");
        }
    } else if (c->nwaiting < c->o.max_waiting) {
        call->waiting = true;
        call->prev = c->wait_tail;
        if (c->wait_tail)
            c->wait_tail->next = call;
        else
            c->wait_head = call;
        c->wait_tail = call;
        c->nwaiting++;
    } else {
        char why[512];
        snprintf(why, sizeof why, "%d connections to %s busy and %d calls waiting", c->o.max_conns, c->name,
                 c->nwaiting);
        fail_call(call, HTTP_CLIENT_BUSY, false, why);
    }
    call->starting = false;
    return call;
}

void http_call_cancel(struct http_call *call)
{
    if (call->waiting)
        wait_unlink(call);
    struct hc_conn *k = call->conn;
    if (k) {
        k->call = NULL;
        conn_free(k);
    }
    call->failed = false;
    call_release(call);
}

/* ---- the client ----------------------------------------------------------------------------------- */

struct http_client *http_client_create(struct loop *l, const char *host, int port,
                                       const struct http_client_opts *o, char *err, size_t errlen)
{
    struct http_client_opts d = { HTTP_CLIENT_DEFAULT_MAX_CONNS, HTTP_CLIENT_DEFAULT_MAX_WAITING,
                                  HTTP_CLIENT_DEFAULT_MAX_RESPONSE };
    if (!o)
        o = &d;
    if (o->max_conns < 1 || o->max_waiting < 0 || o->max_response < 64) {
        snprintf(err, errlen, "http client: max_conns must be >= 1, max_waiting >= 0, max_response >= 64");
        return NULL;
    }
    struct http_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sock_resolve(host, port, &c->addr, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    c->loop = l;
    c->o = *o;
    bool v6 = strchr(host, ':') != NULL;
    snprintf(c->name, sizeof c->name, v6 ? "[%s]:%d" : "%s:%d", host, port);
    loop_timer_init(&c->pump, on_pump, c);
    return c;
}

struct http_client *http_client_create_hostport(struct loop *l, const char *hostport,
                                                const struct http_client_opts *o, char *err, size_t errlen)
{
    char host[SOCK_HOST_MAX];
    int port;
    if (sock_parse_hostport(hostport, host, sizeof host, &port, err, errlen) != 0)
        return NULL;
    return http_client_create(l, host[0] ? host : "127.0.0.1", port, o, err, errlen);
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    c->nwaiting = 0; /* no pump from conn_free now */
    c->idle = NULL;
    c->nidle = 0;
    while (c->conns) { /* the calls in flight end unanswered: their callers are gone at shutdown */
        c->conns->state = HC_CONNECTING; /* the idle list is dropped whole above */
        conn_free(c->conns);
    }
    loop_timer_stop(c->loop, &c->pump);
    while (c->all_calls) { /* in flight, waiting, deferred or free alike */
        struct http_call *call = c->all_calls;
        c->all_calls = call->next_all;
        loop_timer_stop(c->loop, &call->timer);
        buf_free(&call->head);
        free(call);
    }
    free(c);
}

const char *http_client_name(const struct http_client *c)
{
    return c->name;
}

int http_client_in_flight(const struct http_client *c)
{
    return c->in_flight;
}

/* ---- one request at a time -------------------------------------------------------------------------- */

struct roundtrip {
    bool done;
    struct http_reply *out;
};

static void roundtrip_done(void *data, const struct http_client_result *r)
{
    struct roundtrip *rt = data;
    struct http_reply *o = rt->out;
    rt->done = true;
    o->error = r->error;
    o->elapsed_ns = r->elapsed_ns;
    snprintf(o->detail, sizeof o->detail, "%s", r->detail ? r->detail : "");
    if (!r->res)
        return;
    o->body = malloc(r->body_len + 1);
    if (!o->body) {
        snprintf(o->detail, sizeof o->detail, "out of memory");
        return;
    }
    memcpy(o->body, r->body, r->body_len);
    o->body[r->body_len] = '\0';
    o->body_len = r->body_len;
    o->status = r->res->status;
}

int http_client_roundtrip(struct http_client *c, const char *head, size_t head_len, const char *body,
                          size_t body_len, uint64_t timeout_ms, struct http_reply *out)
{
    memset(out, 0, sizeof *out);
    struct roundtrip rt = { false, out };
    if (!http_client_send(c, head, head_len, body, body_len, timeout_ms, roundtrip_done, &rt)) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return -1;
    }
    /* The call's own timer ends it, so this loop is bounded by timeout_ms. */
    while (!rt.done)
        if (loop_run_once(c->loop, -1) < 0) {
            snprintf(out->detail, sizeof out->detail, "event loop failed");
            return -1; /* the call is still in flight: http_client_free ends it */
        }
    return out->status ? 0 : -1;
}

void http_reply_free(struct http_reply *r)
{
    free(r->body);
    r->body = NULL;
}
