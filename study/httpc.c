/* httpc: a pool of client connections on net/loop.  Each connection carries one exchange at a time
 * (no pipelining: a slow answer must not delay the next request's RTT).  A request that finds its reused
 * keep-alive connection already closed by the server is retried once on a fresh one; that is the only retry. */
#include "study/httpc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/http.h"
#include "net/sock.h"

#define RESPONSE_MAX (1u << 20)   /* replies are small JSON; anything bigger is refused */
#define READ_CHUNK (16u * 1024)
#define MAX_RESPONSE_HEADERS 32

enum conn_state { CONN_CLOSED, CONN_IDLE, CONN_CONNECTING, CONN_SENDING, CONN_RECEIVING, CONN_FINISHING };

struct conn {
    struct httpc *client;
    int fd;
    enum conn_state state;
    bool reused;              /* this exchange runs on a connection that served an earlier one */
    const char *req;
    size_t req_len, req_off;
    struct buf in;
    size_t head_len;          /* 0 until the response head has been parsed */
    int status;
    bool keep_alive;
    struct http_body body;
    size_t raw_off, dec_len;  /* body bytes consumed / decoded in place after the head */
    struct loop_timer timer;
    uint64_t start_ns;
    httpc_done_fn *fn;
    void *data;
};

struct httpc {
    struct loop *loop;
    struct sock_addr addr;
    int max_conns;
    int busy;
    struct conn *conns;
};

uint64_t httpc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_io(struct loop *l, int fd, int mask, void *data);
static void on_timeout(struct loop *l, void *data);

struct httpc *httpc_create(struct loop *l, const char *host, int port, int max_conns, char *err, size_t errlen)
{
    if (max_conns < 1) {
        snprintf(err, errlen, "max_conns must be at least 1");
        return NULL;
    }
    struct httpc *c = calloc(1, sizeof *c);
    if (!c || !(c->conns = calloc((size_t)max_conns, sizeof *c->conns))) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sock_resolve(host, port, &c->addr, err, errlen) < 0) {
        free(c->conns);
        free(c);
        return NULL;
    }
    c->loop = l;
    c->max_conns = max_conns;
    for (int i = 0; i < max_conns; i++) {
        struct conn *k = &c->conns[i];
        k->client = c;
        k->fd = -1;
        buf_init(&k->in, RESPONSE_MAX);
        loop_timer_init(&k->timer, on_timeout, k);
    }
    return c;
}

static void conn_close_fd(struct conn *k)
{
    if (k->fd >= 0) {
        loop_unwatch(k->client->loop, k->fd);
        close(k->fd);
        k->fd = -1;
    }
}

static void conn_close(struct conn *k)
{
    conn_close_fd(k);
    loop_timer_stop(k->client->loop, &k->timer);
    buf_clear(&k->in);
    k->state = CONN_CLOSED;
}

void httpc_free(struct httpc *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->max_conns; i++) {
        conn_close(&c->conns[i]);
        buf_free(&c->conns[i].in);
    }
    free(c->conns);
    free(c);
}

int httpc_busy(const struct httpc *c)
{
    return c->busy;
}

/* Ends the exchange: the callback sees the result, then the connection is kept (idle) or closed.  The
 * state is FINISHING during the callback so a send from inside it cannot take this connection. */
static void finish(struct conn *k, const char *error)
{
    struct httpc *c = k->client;
    struct httpc_result r = {
        .status = error ? 0 : k->status,
        .error = error,
        .body = error ? NULL : buf_ptr(&k->in) + k->head_len,
        .body_len = error ? 0 : k->dec_len,
        .rtt_ms = (double)(httpc_now_ns() - k->start_ns) / 1e6,
    };
    bool keep = !error && k->keep_alive && k->head_len + k->raw_off == buf_len(&k->in);
    loop_timer_stop(c->loop, &k->timer);
    k->state = CONN_FINISHING;
    c->busy--;
    k->fn(&r, k->data);
    if (keep && k->fd >= 0) {
        buf_clear(&k->in);
        k->state = CONN_IDLE;
        /* Watch the idle connection so a server-side close is noticed (and the fd reclaimed) at once. */
        if (loop_watch(c->loop, k->fd, LOOP_READABLE, on_io, k) == 0)
            return;
    }
    conn_close(k);
}

static int conn_open(struct conn *k)
{
    k->fd = sock_connect_addr(&k->client->addr);
    if (k->fd < 0)
        return -1;
    k->state = CONN_CONNECTING;
    k->reused = false;
    if (loop_watch(k->client->loop, k->fd, LOOP_WRITABLE, on_io, k) < 0) {
        close(k->fd);
        k->fd = -1;
        return -1;
    }
    return 0;
}

static void start_exchange(struct conn *k)
{
    k->req_off = 0;
    k->head_len = 0;
    k->raw_off = k->dec_len = 0;
    buf_clear(&k->in);
}

int httpc_send(struct httpc *c, const char *req, size_t len, uint64_t start_ns, uint64_t timeout_ms,
               httpc_done_fn *fn, void *data)
{
    struct conn *pick = NULL;
    for (int i = 0; i < c->max_conns && (!pick || pick->state != CONN_IDLE); i++) {
        enum conn_state s = c->conns[i].state;
        if (s == CONN_IDLE || (s == CONN_CLOSED && !pick))
            pick = &c->conns[i];
    }
    if (!pick)
        return -1;
    pick->req = req;
    pick->req_len = len;
    pick->start_ns = start_ns ? start_ns : httpc_now_ns();
    pick->fn = fn;
    pick->data = data;
    start_exchange(pick);
    c->busy++;
    if (loop_timer_arm(c->loop, &pick->timer, timeout_ms) < 0) {
        finish(pick, "out of memory");
        return 0;
    }
    if (pick->state == CONN_IDLE) {
        pick->reused = true;
        pick->state = CONN_SENDING;
        if (loop_watch(c->loop, pick->fd, LOOP_WRITABLE, on_io, pick) < 0)
            finish(pick, strerror(errno));
        return 0;
    }
    if (conn_open(pick) < 0)
        finish(pick, strerror(errno));
    return 0;
}

/* A reused connection that dies before any byte of the answer was closed by the server while idle:
 * not the request's fault, so it goes out once more on a new connection. */
static void fail_or_retry(struct conn *k, const char *error)
{
    if (k->reused && buf_len(&k->in) == 0) {
        conn_close_fd(k); /* the exchange and its timer go on */
        start_exchange(k);
        if (conn_open(k) == 0)
            return;
        error = strerror(errno);
    }
    finish(k, error);
}

static void on_timeout(struct loop *l, void *data)
{
    (void)l;
    finish(data, "timeout");
}

static void do_receive(struct conn *k);

static void do_send(struct conn *k)
{
    while (k->req_off < k->req_len) {
        ssize_t n = send(k->fd, k->req + k->req_off, k->req_len - k->req_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            /* The server may have answered early (413) and closed: read what it said, if anything. */
            k->state = CONN_RECEIVING;
            do_receive(k);
            return;
        }
        if (n < 0) {
            fail_or_retry(k, strerror(errno));
            return;
        }
        k->req_off += (size_t)n;
    }
    k->state = CONN_RECEIVING;
    if (loop_watch(k->client->loop, k->fd, LOOP_READABLE, on_io, k) < 0)
        finish(k, strerror(errno));
}

/* Parses what has arrived.  Returns 1 when the response is complete, 0 for more, or -1 (error set). */
static int parse_progress(struct conn *k, bool eof, const char **error)
{
    char *p = buf_ptr(&k->in);
    size_t len = buf_len(&k->in);
    if (k->head_len == 0) {
        struct http_response res;
        struct http_header hdrs[MAX_RESPONSE_HEADERS];
        int rc = http_parse_response(p, len, false, HTTP_DEFAULT_MAX_HEAD, &res, hdrs, MAX_RESPONSE_HEADERS);
        if (rc < 0) {
            *error = "malformed response";
            return -1;
        }
        if (rc == HTTP_INCOMPLETE) {
            *error = "connection closed before the response";
            return eof ? -1 : 0;
        }
        k->head_len = (size_t)rc;
        k->status = res.status;
        k->keep_alive = res.keep_alive;
        http_body_init(&k->body, res.framing, res.content_length, RESPONSE_MAX);
    }
    char *body = p + k->head_len;
    size_t consumed = 0, produced = 0;
    int rc = http_body_feed(&k->body, body + k->raw_off, len - k->head_len - k->raw_off, body + k->dec_len,
                            &consumed, &produced);
    k->raw_off += consumed;
    k->dec_len += produced;
    if (rc < 0) {
        *error = "malformed response body";
        return -1;
    }
    if (rc == 1)
        return 1;
    if (eof && k->body.framing == HTTP_BODY_UNTIL_CLOSE) {
        k->keep_alive = false;
        return 1;
    }
    *error = "connection closed mid-response";
    return eof ? -1 : 0;
}

static void do_receive(struct conn *k)
{
    for (;;) {
        ssize_t n = buf_read_fd(&k->in, k->fd, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == ENOBUFS) {
            finish(k, "response too large");
            return;
        }
        if (n < 0) {
            fail_or_retry(k, strerror(errno));
            return;
        }
        if (n == 0 && buf_len(&k->in) == 0) {
            fail_or_retry(k, "connection closed before the response");
            return;
        }
        const char *error = NULL;
        int rc = parse_progress(k, n == 0, &error);
        if (rc != 0) {
            finish(k, rc < 0 ? error : NULL);
            return;
        }
    }
}

static void on_io(struct loop *l, int fd, int mask, void *data)
{
    (void)l;
    (void)fd;
    (void)mask;
    struct conn *k = data;
    switch (k->state) {
    case CONN_IDLE: /* the server closed (or sent junk on) an idle connection: drop it */
        conn_close(k);
        break;
    case CONN_CONNECTING: {
        int e = sock_connect_result(k->fd);
        if (e != 0) {
            finish(k, strerror(e));
            break;
        }
        k->state = CONN_SENDING;
        do_send(k);
        break;
    }
    case CONN_SENDING:
        do_send(k);
        break;
    case CONN_RECEIVING:
        do_receive(k);
        break;
    default:
        break;
    }
}

struct roundtrip {
    bool done;
    struct httpc_reply *out;
};

static void roundtrip_done(const struct httpc_result *r, void *data)
{
    struct roundtrip *rt = data;
    struct httpc_reply *o = rt->out;
    rt->done = true;
    o->status = r->status;
    o->rtt_ms = r->rtt_ms;
    snprintf(o->error, sizeof o->error, "%s", r->error ? r->error : "");
    if (r->error)
        return;
    o->body = malloc(r->body_len + 1);
    if (!o->body) {
        o->status = 0;
        snprintf(o->error, sizeof o->error, "out of memory");
        return;
    }
    memcpy(o->body, r->body, r->body_len);
    o->body[r->body_len] = '\0';
    o->body_len = r->body_len;
}

int httpc_roundtrip(struct httpc *c, const char *req, size_t len, uint64_t timeout_ms, struct httpc_reply *out)
{
    memset(out, 0, sizeof *out);
    struct roundtrip rt = { false, out };
    if (httpc_send(c, req, len, 0, timeout_ms, roundtrip_done, &rt) < 0) {
        snprintf(out->error, sizeof out->error, "all connections busy");
        return -1;
    }
    /* The request's own timer ends the exchange, so this loop is bounded by timeout_ms. */
    while (!rt.done)
        if (loop_run_once(c->loop, -1) < 0) {
            snprintf(out->error, sizeof out->error, "event loop failed");
            return -1;
        }
    return out->status ? 0 : -1;
}

void httpc_reply_free(struct httpc_reply *r)
{
    free(r->body);
    r->body = NULL;
}
