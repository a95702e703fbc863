/* test_http_client: the one HTTP client over real sockets on 127.0.0.1 against scripted servers (a
 * thread with blocking sockets that plays one answer per connection): keep-alive reuse, the one retry of
 * a pooled connection found closed, 1xx skipped and 101 refused, chunked answers split at every byte and
 * decoded, views that survive buffer growth, answers that end at close, every error kind, the FIFO and
 * its bound, cancel and free with calls in flight, and the early answer of a server that stops reading. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/clock.h"
#include "net/http_client.h"
#include "net/loop.h"
#include "net/sock.h"

/* ---- a scripted server ---------------------------------------------------------------------------- */

struct fake;
typedef void play_fn(struct fake *f, int fd, int nth_conn);

struct fake {
    int listen_fd, port;
    int conns;              /* connections to accept before the thread ends */
    play_fn *play;
    atomic_int accepted;
    atomic_int requests;    /* request heads read */
    pthread_t thread;
};

static void *fake_main(void *data)
{
    struct fake *f = data;
    for (int i = 0; i < f->conns; i++) {
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        struct timeval tv = { .tv_sec = 5 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        atomic_fetch_add(&f->accepted, 1);
        f->play(f, fd, i);
        close(fd);
    }
    return NULL;
}

static void fake_start(struct fake *f, play_fn *play, int conns)
{
    char err[128];
    memset(f, 0, sizeof *f);
    f->listen_fd = sock_listen("127.0.0.1", 0, 16, err, sizeof err);
    ck_assert_int_ge(f->listen_fd, 0);
    int flags = fcntl(f->listen_fd, F_GETFL); /* blocking accepts in the thread */
    ck_assert_int_eq(fcntl(f->listen_fd, F_SETFL, flags & ~O_NONBLOCK), 0);
    f->port = sock_local_port(f->listen_fd);
    f->conns = conns;
    f->play = play;
    ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    shutdown(f->listen_fd, SHUT_RDWR); /* wakes an accept still waiting */
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}

/* Reads one request head (and its Content-Length body); 0, or -1 at EOF / error. */
static int read_request(struct fake *f, int fd)
{
    char buf[8192];
    size_t got = 0;
    char *end;
    while (!(end = memmem(buf, got, "\r\n\r\n", 4))) {
        if (got == sizeof buf)
            return -1;
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    atomic_fetch_add(&f->requests, 1);
    long body = 0;
    char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
    if (cl)
        body = strtol(cl + 16, NULL, 10);
    body -= (long)(got - (size_t)(end + 4 - buf));
    while (body > 0) {
        ssize_t n = read(fd, buf, sizeof buf < (size_t)body ? sizeof buf : (size_t)body);
        if (n <= 0)
            return -1;
        body -= n;
    }
    return 0;
}

static void put(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}
#define PUT(fd, lit) put(fd, lit, strlen(lit))

/* Writes s one byte at a time with a pause, so the client sees the answer split at every boundary. */
static void put_bytewise(int fd, const char *s)
{
    for (; *s; s++) {
        put(fd, s, 1);
        usleep(300);
    }
}

/* ---- the client side ------------------------------------------------------------------------------ */

struct outcome {
    int calls;
    enum http_client_error error;
    int answer_started;
    int status;
    char body[256];
    size_t body_len;
    char header[64];        /* the value of X-Check, read through the parsed views */
    int order;              /* when it finished, among the test's calls */
    bool send_returned;     /* set right after http_client_send: done must never run before */
};
static int finished;

static void record(void *data, const struct http_client_result *r)
{
    struct outcome *o = data;
    ck_assert_msg(o->send_returned, "done ran before http_client_send returned");
    o->calls++;
    o->order = ++finished;
    o->error = r->error;
    o->answer_started = r->answer_started;
    if (!r->res) {
        ck_assert_ptr_nonnull(r->detail);
        ck_assert_ptr_null(r->body);
        return;
    }
    ck_assert_ptr_nonnull(r->raw);
    ck_assert_uint_ge(r->raw_len, r->res->head_len);
    o->status = r->res->status;
    o->body_len = r->body_len;
    memcpy(o->body, r->body, r->body_len < sizeof o->body - 1 ? r->body_len : sizeof o->body - 1);
    const struct http_header *h = http_find_header(r->res->headers, r->res->num_headers, "X-Check");
    if (h)
        snprintf(o->header, sizeof o->header, "%.*s", (int)h->value.len, h->value.p);
}

static const char GET[] = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

static struct http_call *send_get(struct http_client *c, struct outcome *o, uint64_t timeout_ms)
{
    memset(o, 0, sizeof *o);
    struct http_call *call = http_client_send(c, GET, sizeof GET - 1, NULL, 0, timeout_ms, record, o);
    ck_assert_ptr_nonnull(call);
    o->send_returned = true;
    return call;
}

/* Runs the loop until every outcome has its answer (bounded: each call has its own timeout). */
static void run_until(struct loop *l, struct outcome *o, int n)
{
    uint64_t deadline = clock_now_ms() + 10000;
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += o[i].calls;
        if (done == n)
            break;
        ck_assert_msg(clock_now_ms() < deadline, "calls did not end");
        ck_assert_int_ge(loop_run_once(l, 50), 0);
    }
}

static struct http_client *client_for(struct loop *l, int port, int max_conns, int max_waiting, size_t max_response)
{
    char err[256];
    struct http_client_opts o = { max_conns, max_waiting, max_response };
    struct http_client *c = http_client_create(l, "127.0.0.1", port, &o, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

/* A scripted server, a loop and a client for it, set up and torn down together. */
struct rig {
    struct fake f;
    struct loop *l;
    struct http_client *c;
};

static void rig_up(struct rig *r, play_fn *play, int conns, int max_conns, int max_waiting, size_t max_response)
{
    fake_start(&r->f, play, conns);
    r->l = loop_create(256);
    ck_assert_ptr_nonnull(r->l);
    r->c = client_for(r->l, r->f.port, max_conns, max_waiting, max_response);
}

static void rig_down(struct rig *r)
{
    http_client_free(r->c);
    loop_destroy(r->l);
    fake_stop(&r->f);
}

/* ---- keep-alive and the retry ----------------------------------------------------------------------- */

static void play_keepalive(struct fake *f, int fd, int nth)
{
    (void)nth;
    while (read_request(f, fd) == 0)
        PUT(fd, "HTTP/1.1 200 OK\r\nX-Check: kept\r\nContent-Length: 5\r\n\r\nhello");
}

START_TEST(answers_reuse_one_connection)
{
    struct rig r;
    rig_up(&r, play_keepalive, 2, 4, 4, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    for (int i = 0; i < 3; i++) {
        struct outcome o;
        send_get(c, &o, 2000);
        ck_assert_int_eq(http_client_in_flight(c), 1);
        run_until(l, &o, 1);
        ck_assert_int_eq(o.error, HTTP_CLIENT_OK);
        ck_assert_int_eq(o.status, 200);
        ck_assert_str_eq(o.body, "hello");
        ck_assert_str_eq(o.header, "kept");
        ck_assert_int_eq(http_client_in_flight(c), 0);
    }
    ck_assert_int_eq(atomic_load(&r.f.accepted), 1);
    ck_assert_int_eq(atomic_load(&r.f.requests), 3);
    /* the blocking wrapper on the same pool */
    struct http_reply reply;
    ck_assert_int_eq(http_client_roundtrip(c, GET, sizeof GET - 1, NULL, 0, 2000, &reply), 0);
    ck_assert_int_eq(reply.status, 200);
    ck_assert_str_eq(reply.body, "hello");
    http_reply_free(&reply);
    ck_assert_int_eq(atomic_load(&r.f.accepted), 1);
    char name[32];
    snprintf(name, sizeof name, "127.0.0.1:%d", r.f.port);
    ck_assert_str_eq(http_client_name(c), name);
    rig_down(&r);
}
END_TEST

/* Answers the first request and keeps the connection; closes on the second without a word (a server's
 * idle timeout racing the next request).  Its second connection answers. */
static void play_close_on_second(struct fake *f, int fd, int nth)
{
    if (nth == 0) {
        if (read_request(f, fd) == 0)
            PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        read_request(f, fd);
        return; /* closed with the request unanswered */
    }
    if (read_request(f, fd) == 0)
        PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nretry");
}

START_TEST(a_pooled_connection_found_closed_is_retried_once)
{
    struct rig r;
    rig_up(&r, play_close_on_second, 2, 1, 0, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o[2];
    send_get(c, &o[0], 2000);
    run_until(l, &o[0], 1);
    ck_assert_str_eq(o[0].body, "ok");
    send_get(c, &o[1], 2000);
    run_until(l, &o[1], 1);
    ck_assert_int_eq(o[1].error, HTTP_CLIENT_OK);
    ck_assert_str_eq(o[1].body, "retry");
    ck_assert_int_eq(atomic_load(&r.f.accepted), 2);
    ck_assert_int_eq(atomic_load(&r.f.requests), 3);
    rig_down(&r);
}
END_TEST

/* Every connection reads the request and closes: the retry happens once, then the call fails. */
static void play_close_always(struct fake *f, int fd, int nth)
{
    if (nth == 0) {
        if (read_request(f, fd) == 0)
            PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    read_request(f, fd);
}

START_TEST(the_retry_is_made_once_only)
{
    struct rig r;
    rig_up(&r, play_close_always, 3, 1, 0, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o;
    send_get(c, &o, 2000);
    run_until(l, &o, 1);
    send_get(c, &o, 2000);
    run_until(l, &o, 1);
    ck_assert_int_eq(o.error, HTTP_CLIENT_CLOSED);
    ck_assert_int_eq(o.answer_started, 0);
    ck_assert_int_eq(atomic_load(&r.f.accepted), 2);
    rig_down(&r);
}
END_TEST

/* ---- interim answers, bodies, framing -------------------------------------------------------------------- */

static void play_interim(struct fake *f, int fd, int nth)
{
    (void)nth;
    if (read_request(f, fd) == 0)
        put_bytewise(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                         "HTTP/1.1 201 Created\r\nX-Check: final\r\nContent-Length: 4\r\n\r\ndone");
}

START_TEST(interim_answers_are_skipped_split_anywhere)
{
    struct rig r;
    rig_up(&r, play_interim, 1, 1, 0, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o;
    send_get(c, &o, 5000);
    run_until(l, &o, 1);
    ck_assert_int_eq(o.error, HTTP_CLIENT_OK);
    ck_assert_int_eq(o.status, 201);
    ck_assert_str_eq(o.header, "final");
    ck_assert_str_eq(o.body, "done");
    rig_down(&r);
}
END_TEST

static void play_switching(struct fake *f, int fd, int nth)
{
    (void)nth;
    if (read_request(f, fd) == 0)
        PUT(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nraw");
    read_request(f, fd); /* holds the connection open until the client closes it */
}

START_TEST(an_unasked_101_is_malformed_at_once)
{
    struct rig r;
    rig_up(&r, play_switching, 1, 1, 0, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o;
    uint64_t t0 = clock_now_ms();
    send_get(c, &o, 4000);
    run_until(l, &o, 1);
    ck_assert_int_eq(o.error, HTTP_CLIENT_MALFORMED);
    ck_assert_int_eq(o.answer_started, 1);
    ck_assert_msg(clock_now_ms() - t0 < 3000, "the 101 was waited past");
    rig_down(&r);
}
END_TEST

static void play_chunked_bytewise(struct fake *f, int fd, int nth)
{
    (void)nth;
    if (read_request(f, fd) == 0)
        put_bytewise(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Check: chunks\r\n\r\n"
                         "3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n");
    play_keepalive(f, fd, nth); /* kept alive after a chunked answer */
}

START_TEST(a_chunked_answer_split_at_every_byte_is_decoded)
{
    struct rig r;
    rig_up(&r, play_chunked_bytewise, 1, 1, 0, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o;
    send_get(c, &o, 5000);
    run_until(l, &o, 1);
    ck_assert_int_eq(o.error, HTTP_CLIENT_OK);
    ck_assert_str_eq(o.body, "abc0123456789abcdef");
    ck_assert_uint_eq(o.body_len, 19);
    ck_assert_str_eq(o.header, "chunks");
    send_get(c, &o, 2000);
    run_until(l, &o, 1);
    ck_assert_str_eq(o.body, "hello");
    ck_assert_int_eq(atomic_load(&r.f.accepted), 1);
    rig_down(&r);
}
END_TEST

/* 3 x 200000 bytes: the receive buffer grows (and moves) several times after the head was parsed. */
#define BIG_CHUNK 200000
static void play_big_chunked(struct fake *f, int fd, int nth)
{
    (void)nth;
    static char chunk[BIG_CHUNK];
    memset(chunk, 'x', sizeof chunk);
    if (read_request(f, fd) != 0)
        return;
    PUT(fd, "HTTP/1.1 200 OK\r\nX-Check: still-here\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        char size[16];
        int n = snprintf(size, sizeof size, "%x\r\n", BIG_CHUNK);
        put(fd, size, (size_t)n);
        usleep(20000);
        put(fd, chunk, sizeof chunk);
        PUT(fd, "\r\n");
    }
    PUT(fd, "0\r\n\r\n");
    read_request(f, fd);
}

static size_t big_len;
static int big_ok;
static void check_big(void *data, const struct http_client_result *r)
{
    (void)data;
    ck_assert_int_eq(r->error, HTTP_CLIENT_OK);
    const struct http_header *h = http_find_header(r->res->headers, r->res->num_headers, "X-Check");
    ck_assert_ptr_nonnull(h);
    ck_assert_msg(http_str_eq(h->value, "still-here"), "a view went stale");
    ck_assert_msg(h->value.p > r->raw && h->value.p < r->raw + r->res->head_len, "view outside raw");
    ck_assert_uint_gt(r->raw_len, 3 * BIG_CHUNK); /* raw is as received: with its chunk framing */
    big_len = r->body_len;
    for (size_t i = 0; i < r->body_len; i++)
        if (r->body[i] != 'x')
            return;
    big_ok = 1;
}

START_TEST(views_survive_the_buffer_growing_under_them)
{
    struct rig r;
    rig_up(&r, play_big_chunked, 1, 1, 0, 4u << 20);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    ck_assert_ptr_nonnull(http_client_send(c, GET, sizeof GET - 1, NULL, 0, 5000, check_big, NULL));
    uint64_t deadline = clock_now_ms() + 8000;
    while (big_len == 0 && clock_now_ms() < deadline)
        ck_assert_int_ge(loop_run_once(l, 50), 0);
    ck_assert_uint_eq(big_len, 3 * BIG_CHUNK);
    ck_assert_int_eq(big_ok, 1);
    rig_down(&r);
}
END_TEST

static void play_until_close(struct fake *f, int fd, int nth)
{
    (void)nth;
    if (read_request(f, fd) == 0)
        PUT(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close");
}

START_TEST(a_body_that_ends_at_close_is_whole_and_not_pooled)
{
    struct rig r;
    rig_up(&r, play_until_close, 2, 1, 0, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o;
    for (int i = 0; i < 2; i++) {
        send_get(c, &o, 2000);
        run_until(l, &o, 1);
        ck_assert_int_eq(o.error, HTTP_CLIENT_OK);
        ck_assert_str_eq(o.body, "until close");
    }
    ck_assert_int_eq(atomic_load(&r.f.accepted), 2);
    rig_down(&r);
}
END_TEST

/* ---- errors ----------------------------------------------------------------------------------------- */

static void play_big(struct fake *f, int fd, int nth)
{
    (void)nth;
    static char body[5000];
    if (read_request(f, fd) == 0) {
        PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
        put(fd, body, sizeof body);
    }
}
static void play_bare_lf(struct fake *f, int fd, int nth)
{
    (void)nth;
    if (read_request(f, fd) == 0)
        PUT(fd, "HTTP/1.1 200 OK\nContent-Length: 0\n\n");
}
static void play_cut(struct fake *f, int fd, int nth)
{
    (void)nth;
    if (read_request(f, fd) == 0)
        PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
}
static void play_bad_chunk(struct fake *f, int fd, int nth)
{
    (void)nth;
    if (read_request(f, fd) == 0)
        PUT(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    read_request(f, fd);
}

static void expect_error(play_fn *play, size_t max_response, enum http_client_error want, int started)
{
    struct rig r;
    rig_up(&r, play, 1, 1, 0, max_response);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o;
    send_get(c, &o, 3000);
    run_until(l, &o, 1);
    ck_assert_msg(o.error == want, "error %s, wanted %s", http_client_error_name(o.error),
                  http_client_error_name(want));
    ck_assert_int_eq(o.answer_started, started);
    rig_down(&r);
}

START_TEST(oversized_malformed_and_cut_answers_fail_by_kind)
{
    expect_error(play_big, 1024, HTTP_CLIENT_TOO_LARGE, 1);
    expect_error(play_bare_lf, 4096, HTTP_CLIENT_MALFORMED, 1);
    expect_error(play_cut, 4096, HTTP_CLIENT_CLOSED, 1);
    expect_error(play_bad_chunk, 4096, HTTP_CLIENT_MALFORMED, 1);
}
END_TEST

/* (moved from test_study: the client's failure paths on a real socket) */
START_TEST(refused_and_silent_servers_end_with_errors)
{
    char err[128];
    struct loop *l = loop_create(256);
    int fd = sock_listen("127.0.0.1", 0, 8, err, sizeof err);
    ck_assert_int_ge(fd, 0);
    int port = sock_local_port(fd);
    close(fd); /* nobody listens there now */
    struct http_client *c = client_for(l, port, 1, 0, 4096);
    struct http_reply r;
    ck_assert_int_eq(http_client_roundtrip(c, GET, sizeof GET - 1, NULL, 0, 2000, &r), -1);
    ck_assert_int_eq(r.status, 0);
    ck_assert_int_eq(r.error, HTTP_CLIENT_CONNECT);
    ck_assert_msg(strstr(r.detail, "refused") != NULL, "detail '%s'", r.detail);
    http_reply_free(&r);
    http_client_free(c);
    fd = sock_listen("127.0.0.1", 0, 8, err, sizeof err); /* accepts (backlog) but never answers */
    ck_assert_int_ge(fd, 0);
    c = client_for(l, sock_local_port(fd), 1, 0, 4096);
    uint64_t t0 = clock_now_ms();
    ck_assert_int_eq(http_client_roundtrip(c, GET, sizeof GET - 1, NULL, 0, 200, &r), -1);
    ck_assert_int_eq(r.error, HTTP_CLIENT_TIMEOUT);
    ck_assert_uint_ge(r.elapsed_ns, 200u * 1000000u);
    ck_assert(clock_now_ms() - t0 < 1200);
    http_reply_free(&r);
    http_client_free(c);
    close(fd);
    loop_destroy(l);
}
END_TEST

/* ---- the FIFO, its bound, cancel, free --------------------------------------------------------------- */

static void play_slow_keepalive(struct fake *f, int fd, int nth)
{
    (void)nth;
    while (read_request(f, fd) == 0) {
        usleep(30000);
        PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
}

START_TEST(calls_beyond_the_pool_wait_in_order_then_are_refused)
{
    struct rig r;
    rig_up(&r, play_slow_keepalive, 1, 1, 2, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o[4];
    finished = 0;
    for (int i = 0; i < 4; i++)
        send_get(c, &o[i], 3000);
    ck_assert_int_eq(o[3].calls, 0); /* refused, but not before send returned */
    ck_assert_int_eq(http_client_in_flight(c), 4);
    run_until(l, o, 4);
    ck_assert_int_eq(o[3].error, HTTP_CLIENT_BUSY);
    ck_assert_int_eq(o[3].order, 1);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(o[i].error, HTTP_CLIENT_OK);
        ck_assert_int_eq(o[i].order, i + 2);
    }
    ck_assert_int_eq(atomic_load(&r.f.accepted), 1); /* the waiters took the one connection in turn */
    ck_assert_int_eq(http_client_in_flight(c), 0);
    rig_down(&r);
}
END_TEST

START_TEST(a_waiting_call_times_out_without_a_connection)
{
    char err[128];
    int fd = sock_listen("127.0.0.1", 0, 8, err, sizeof err); /* never answers */
    struct loop *l = loop_create(256);
    struct http_client *c = client_for(l, sock_local_port(fd), 1, 1, 4096);
    struct outcome o[2];
    send_get(c, &o[0], 5000);
    send_get(c, &o[1], 100);
    run_until(l, &o[1], 1);
    ck_assert_int_eq(o[1].error, HTTP_CLIENT_TIMEOUT);
    ck_assert_int_eq(o[0].calls, 0);
    http_client_free(c); /* o[0] ends without its callback */
    ck_assert_int_eq(loop_run_once(l, 0), 0);
    ck_assert_int_eq(o[0].calls, 0);
    loop_destroy(l);
    close(fd);
}
END_TEST

START_TEST(a_cancelled_call_never_calls_back)
{
    struct rig r;
    rig_up(&r, play_slow_keepalive, 2, 1, 1, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    struct outcome o[3];
    struct http_call *sent = send_get(c, &o[0], 2000);
    struct http_call *waiting = send_get(c, &o[1], 2000);
    http_call_cancel(waiting);
    for (int i = 0; i < 5; i++)
        loop_run_once(l, 5);
    http_call_cancel(sent); /* on the wire: its connection is closed, not pooled */
    ck_assert_int_eq(http_client_in_flight(c), 0);
    send_get(c, &o[2], 2000);
    run_until(l, &o[2], 1);
    ck_assert_int_eq(o[2].error, HTTP_CLIENT_OK);
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(o[0].calls, 0);
    ck_assert_int_eq(o[1].calls, 0);
    ck_assert_int_eq(atomic_load(&r.f.accepted), 2);
    rig_down(&r);
}
END_TEST

/* A server that refuses a large upload early: answers 413, stops reading, lingers until the client goes. */
static void play_early_413(struct fake *f, int fd, int nth)
{
    (void)nth;
    char head[4096];
    size_t got = 0;
    while (got < sizeof head && !memmem(head, got, "\r\n\r\n", 4)) {
        ssize_t n = read(fd, head + got, sizeof head - got);
        if (n <= 0)
            return;
        got += (size_t)n;
    }
    atomic_fetch_add(&f->requests, 1);
    PUT(fd, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig");
    shutdown(fd, SHUT_WR);
    usleep(300000); /* not reading: the client's send blocks on a full window meanwhile */
    char sink[65536];
    while (read(fd, sink, sizeof sink) > 0) {
    }
}

START_TEST(an_early_answer_is_heard_while_the_body_is_still_going)
{
    struct rig r;
    rig_up(&r, play_early_413, 1, 1, 0, 4096);
    struct loop *l = r.l;
    struct http_client *c = r.c;
    size_t len = 32u << 20;
    char *body = calloc(1, len);
    char head[128];
    int n = snprintf(head, sizeof head, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", len);
    struct outcome o;
    memset(&o, 0, sizeof o);
    ck_assert_ptr_nonnull(http_client_send(c, head, (size_t)n, body, len, 5000, record, &o));
    o.send_returned = true;
    run_until(l, &o, 1);
    ck_assert_int_eq(o.error, HTTP_CLIENT_OK);
    ck_assert_int_eq(o.status, 413);
    ck_assert_str_eq(o.body, "big");
    free(body);
    rig_down(&r);
}
END_TEST

START_TEST(options_are_checked)
{
    char err[256];
    struct loop *l = loop_create(16);
    struct http_client_opts bad = { 0, 0, 4096 };
    ck_assert_ptr_null(http_client_create(l, "127.0.0.1", 80, &bad, err, sizeof err));
    ck_assert_ptr_null(http_client_create_hostport(l, "127.0.0.1:0", NULL, err, sizeof err));
    struct http_client *c = http_client_create_hostport(l, ":8080", NULL, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(http_client_name(c), "127.0.0.1:8080");
    http_client_free(c);
    c = http_client_create_hostport(l, "[::1]:81", NULL, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(http_client_name(c), "[::1]:81");
    http_client_free(c);
    loop_destroy(l);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("http_client");
    TCase *t = tcase_create("pool");
    tcase_set_timeout(t, 20);
    tcase_add_test(t, answers_reuse_one_connection);
    tcase_add_test(t, a_pooled_connection_found_closed_is_retried_once);
    tcase_add_test(t, the_retry_is_made_once_only);
    tcase_add_test(t, calls_beyond_the_pool_wait_in_order_then_are_refused);
    tcase_add_test(t, a_waiting_call_times_out_without_a_connection);
    tcase_add_test(t, a_cancelled_call_never_calls_back);
    tcase_add_test(t, options_are_checked);
    suite_add_tcase(s, t);
    TCase *a = tcase_create("answers");
    tcase_set_timeout(a, 20);
    tcase_add_test(a, interim_answers_are_skipped_split_anywhere);
    tcase_add_test(a, an_unasked_101_is_malformed_at_once);
    tcase_add_test(a, a_chunked_answer_split_at_every_byte_is_decoded);
    tcase_add_test(a, views_survive_the_buffer_growing_under_them);
    tcase_add_test(a, a_body_that_ends_at_close_is_whole_and_not_pooled);
    tcase_add_test(a, oversized_malformed_and_cut_answers_fail_by_kind);
    tcase_add_test(a, refused_and_silent_servers_end_with_errors);
    tcase_add_test(a, an_early_answer_is_heard_while_the_body_is_still_going);
    suite_add_tcase(s, a);
    return s;
}
