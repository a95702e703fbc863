/* test_loop: the event loop and socket helpers over real sockets on 127.0.0.1 — an echo server with
 * a megabyte through it (partial writes), timers (order, stop, re-arm), cross-thread posts, connect
 * errors, and HOST:PORT parsing. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/loop.h"
#include "net/sock.h"

/* Fails the test if the loop is still running after this long. */
#define WATCHDOG_MS 3000

static void watchdog_fired(struct loop *l, void *data)
{
    (void)data;
    loop_stop(l);
    ck_abort_msg("watchdog: the loop did not finish in time");
}

static struct loop *new_loop(struct loop_timer *watchdog)
{
    struct loop *l = loop_create(1024);
    ck_assert_ptr_nonnull(l);
    loop_timer_init(watchdog, watchdog_fired, NULL);
    ck_assert_int_eq(loop_timer_arm(l, watchdog, WATCHDOG_MS), 0);
    return l;
}

/* ---- echo ------------------------------------------------------------------------------------------ */

#define PAYLOAD (1u << 20)

struct echo_conn {
    int fd;
    struct buf b;
};

struct echo_client {
    int fd;
    struct buf out;
    size_t received;
    bool connected, mismatch;
};

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + i / 251);
}

static void server_io(struct loop *l, int fd, int mask, void *data)
{
    struct echo_conn *c = data;
    if (mask & LOOP_READABLE) {
        ssize_t n = buf_read_fd(&c->b, fd, 64 * 1024);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != ENOBUFS)) {
            loop_unwatch(l, fd);
            return;
        }
    }
    if (buf_len(&c->b) > 0 && buf_write_fd(&c->b, fd) < 0 && errno != EAGAIN)
        ck_abort_msg("server write: %s", strerror(errno));
    /* wait for writability only while output is pending (level-triggered) */
    ck_assert_int_eq(loop_watch(l, fd, LOOP_READABLE | (buf_len(&c->b) ? LOOP_WRITABLE : 0), server_io, c), 0);
}

static void server_accept(struct loop *l, int fd, int mask, void *data)
{
    (void)mask;
    struct echo_conn *c = data;
    char peer[64];
    c->fd = sock_accept(fd, peer, sizeof peer);
    ck_assert_int_ge(c->fd, 0);
    ck_assert(strncmp(peer, "127.0.0.1:", 10) == 0);
    ck_assert_int_eq(sock_accept(fd, NULL, 0), -1); /* only one pending */
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    ck_assert_int_eq(loop_watch(l, c->fd, LOOP_READABLE, server_io, c), 0);
}

static void client_io(struct loop *l, int fd, int mask, void *data)
{
    struct echo_client *c = data;
    if (!c->connected && (mask & LOOP_WRITABLE)) {
        ck_assert_int_eq(sock_connect_result(fd), 0);
        c->connected = true;
    }
    if ((mask & LOOP_WRITABLE) && buf_len(&c->out) > 0 && buf_write_fd(&c->out, fd) < 0 && errno != EAGAIN)
        ck_abort_msg("client write: %s", strerror(errno));
    if (mask & LOOP_READABLE) {
        unsigned char tmp[65536];
        ssize_t n = read(fd, tmp, sizeof tmp);
        for (ssize_t i = 0; i < n; i++)
            c->mismatch |= tmp[i] != pattern(c->received + (size_t)i);
        if (n > 0)
            c->received += (size_t)n;
        if (c->received == PAYLOAD) {
            loop_stop(l);
            return;
        }
    }
    ck_assert_int_eq(loop_watch(l, fd, LOOP_READABLE | (buf_len(&c->out) ? LOOP_WRITABLE : 0), client_io, c), 0);
}

START_TEST(echo_megabyte)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    char err[128];
    int lfd = sock_listen("127.0.0.1", 0, 16, err, sizeof err);
    ck_assert_msg(lfd >= 0, "%s", err);
    int port = sock_local_port(lfd);
    ck_assert_int_gt(port, 0);

    struct echo_conn server = { -1, { 0 } };
    buf_init(&server.b, 256 * 1024);
    ck_assert_int_eq(loop_watch(l, lfd, LOOP_READABLE, server_accept, &server), 0);

    struct echo_client client = { -1, { 0 }, 0, false, false };
    buf_init(&client.out, PAYLOAD);
    unsigned char *payload = malloc(PAYLOAD);
    ck_assert_ptr_nonnull(payload);
    for (size_t i = 0; i < PAYLOAD; i++)
        payload[i] = pattern(i);
    ck_assert_int_eq(buf_append(&client.out, payload, PAYLOAD), 0); /* no ck_assert per byte: each one is a pipe write */
    free(payload);
    client.fd = sock_connect("127.0.0.1", port, err, sizeof err);
    ck_assert_msg(client.fd >= 0, "%s", err);
    ck_assert_int_eq(loop_watch(l, client.fd, LOOP_READABLE | LOOP_WRITABLE, client_io, &client), 0);

    ck_assert_int_eq(loop_run(l), 0);
    ck_assert_uint_eq(client.received, PAYLOAD);
    ck_assert(!client.mismatch);

    loop_unwatch(l, client.fd);
    loop_unwatch(l, server.fd);
    loop_unwatch(l, lfd);
    close(client.fd);
    close(server.fd);
    close(lfd);
    buf_free(&server.b);
    buf_free(&client.out);
    loop_destroy(l);
}
END_TEST

/* ---- timers ---------------------------------------------------------------------------------------- */

struct timer_log {
    struct loop_timer t[4];
    int order[8];
    int n;
    int repeats;
    uint64_t start;
};

#define DEFINE_MARK(k)                                   \
    static void mark_##k(struct loop *l, void *data)    \
    {                                                    \
        struct timer_log *log = data;                    \
        (void)l;                                         \
        log->order[log->n++] = k;                        \
    }
DEFINE_MARK(0)
DEFINE_MARK(1)
DEFINE_MARK(2)

static void finish(struct loop *l, void *data)
{
    (void)data;
    loop_stop(l);
}

START_TEST(timers_fire_in_order)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    struct timer_log log = { .n = 0 };
    loop_timer_init(&log.t[0], mark_0, &log);
    loop_timer_init(&log.t[1], mark_1, &log);
    loop_timer_init(&log.t[2], mark_2, &log);
    loop_timer_init(&log.t[3], finish, &log);
    uint64_t start = loop_now_ms(l);
    ck_assert_int_eq(loop_timer_arm(l, &log.t[0], 60), 0);
    ck_assert_int_eq(loop_timer_arm(l, &log.t[1], 10), 0);
    ck_assert_int_eq(loop_timer_arm(l, &log.t[2], 30), 0);
    ck_assert_int_eq(loop_timer_arm(l, &log.t[3], 90), 0);
    ck_assert(loop_timer_armed(&log.t[2]));
    loop_timer_stop(l, &log.t[2]);
    ck_assert(!loop_timer_armed(&log.t[2]));
    loop_timer_stop(l, &log.t[2]); /* stopping twice is harmless */
    ck_assert_int_eq(loop_timer_arm(l, &log.t[1], 40), 0); /* re-arming moves the deadline */
    ck_assert_int_eq(loop_run(l), 0);
    ck_assert_int_eq(log.n, 2);
    ck_assert_int_eq(log.order[0], 1);
    ck_assert_int_eq(log.order[1], 0);
    ck_assert_uint_ge(loop_now_ms(l) - start, 90);
    loop_destroy(l);
}
END_TEST

static void repeat(struct loop *l, void *data)
{
    struct timer_log *log = data;
    if (++log->repeats < 5)
        ck_assert_int_eq(loop_timer_arm(l, &log->t[0], 1), 0);
    else
        loop_stop(l);
}

START_TEST(timer_rearmed_from_callback)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    struct timer_log log = { .repeats = 0 };
    loop_timer_init(&log.t[0], repeat, &log);
    ck_assert_int_eq(loop_timer_arm(l, &log.t[0], 0), 0);
    ck_assert_int_eq(loop_run(l), 0);
    ck_assert_int_eq(log.repeats, 5);
    loop_destroy(l);
}
END_TEST

static void count_fire(struct loop *l, void *data)
{
    (void)l;
    ++*(int *)data;
}

START_TEST(many_timers_heap)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    enum { N = 300 };
    static struct loop_timer ts[N];
    int count = 0;
    /* more timers than the heap's first allocation; stop every third one */
    for (int i = 0; i < N; i++) {
        loop_timer_init(&ts[i], count_fire, &count);
        ck_assert_int_eq(loop_timer_arm(l, &ts[i], (uint64_t)(i % 7)), 0);
    }
    for (int i = 0; i < N; i += 3)
        loop_timer_stop(l, &ts[i]);
    int fired = 0;
    for (int round = 0; round < 100 && fired < N - N / 3; round++) {
        int n = loop_run_once(l, 10);
        ck_assert_int_ge(n, 0);
        fired += n;
    }
    ck_assert_int_eq(fired, N - N / 3);
    ck_assert_int_eq(count, N - N / 3);
    for (int i = 0; i < N; i++)
        ck_assert(!loop_timer_armed(&ts[i]));
    loop_destroy(l);
}
END_TEST

/* ---- unwatching from a callback -------------------------------------------------------------------- */

struct pair_test {
    int a[2], b[2];
    int calls;
};

/* Whichever of the two readable sockets fires first unwatches both. */
static void on_either(struct loop *l, int fd, int mask, void *data)
{
    struct pair_test *p = data;
    (void)fd, (void)mask;
    p->calls++;
    loop_unwatch(l, p->a[0]);
    loop_unwatch(l, p->b[0]);
}

START_TEST(unwatch_drops_pending_events)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    struct pair_test p = { .calls = 0 };
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p.a), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p.b), 0);
    ck_assert_int_eq(write(p.a[1], "x", 1), 1);
    ck_assert_int_eq(write(p.b[1], "y", 1), 1);
    ck_assert_int_eq(loop_watch(l, p.a[0], LOOP_READABLE, on_either, &p), 0);
    ck_assert_int_eq(loop_watch(l, p.b[0], LOOP_READABLE, on_either, &p), 0);
    /* both are ready before the first epoll_wait, so they come back in one batch */
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(loop_run_once(l, 10), 0);
    ck_assert_int_eq(p.calls, 1);
    for (int i = 0; i < 2; i++) {
        close(p.a[i]);
        close(p.b[i]);
    }
    loop_destroy(l);
}
END_TEST

struct repost_test {
    struct loop_task task;
    int runs;
};

static void repost(struct loop *l, void *data)
{
    struct repost_test *r = data;
    if (++r->runs < 3)
        loop_post(l, &r->task, repost, r); /* a task may post itself again from its callback */
}

START_TEST(task_reposts_itself)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    struct repost_test r = { .runs = 0 };
    loop_post(l, &r.task, repost, &r);
    for (int i = 0; i < 10 && r.runs < 3; i++)
        ck_assert_int_ge(loop_run_once(l, 100), 0);
    ck_assert_int_eq(r.runs, 3);
    loop_destroy(l);
}
END_TEST

/* ---- cross-thread posts ---------------------------------------------------------------------------- */

enum { POSTS = 100 };

struct post_test {
    struct loop *l;
    pthread_t loop_thread;
    struct loop_task tasks[POSTS];
    int ran, wrong_thread, in_order;
};

static struct post_test *current;

static void count_post(struct loop *l, void *data)
{
    int i = (int)(intptr_t)data;
    if (!pthread_equal(pthread_self(), current->loop_thread))
        current->wrong_thread++;
    if (i == current->ran)
        current->in_order++;
    if (++current->ran == POSTS)
        loop_stop(l);
}

static void *poster(void *arg)
{
    struct post_test *pt = arg;
    usleep(20 * 1000); /* the loop is asleep in epoll_wait by now */
    for (int i = 0; i < POSTS; i++)
        loop_post(pt->l, &pt->tasks[i], count_post, (void *)(intptr_t)i);
    return NULL;
}

START_TEST(post_from_another_thread)
{
    struct loop_timer wd;
    struct post_test pt = { .ran = 0 };
    pt.l = new_loop(&wd);
    pt.loop_thread = pthread_self();
    current = &pt;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, poster, &pt), 0);
    ck_assert_int_eq(loop_run(pt.l), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(pt.ran, POSTS);
    ck_assert_int_eq(pt.wrong_thread, 0);
    ck_assert_int_eq(pt.in_order, POSTS);
    loop_destroy(pt.l);
}
END_TEST

static void *stopper(void *arg)
{
    usleep(20 * 1000);
    loop_stop(arg);
    return NULL;
}

START_TEST(stop_from_another_thread)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, stopper, l), 0);
    ck_assert_int_eq(loop_run(l), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    loop_destroy(l);
}
END_TEST

/* ---- sockets --------------------------------------------------------------------------------------- */

static void connect_done(struct loop *l, int fd, int mask, void *data)
{
    (void)mask;
    *(int *)data = sock_connect_result(fd);
    loop_unwatch(l, fd);
    loop_stop(l);
}

START_TEST(connect_refused_reported)
{
    struct loop_timer wd;
    struct loop *l = new_loop(&wd);
    char err[128];
    int lfd = sock_listen("127.0.0.1", 0, 1, err, sizeof err);
    ck_assert_int_ge(lfd, 0);
    int port = sock_local_port(lfd);
    close(lfd); /* nothing listens there now */
    struct sock_addr a;
    ck_assert_int_eq(sock_resolve("127.0.0.1", port, &a, err, sizeof err), 0);
    int fd = sock_connect_addr(&a);
    if (fd < 0) { /* the kernel may refuse at once instead of through the loop: both are fine */
        ck_assert_int_eq(errno, ECONNREFUSED);
    } else {
        int result = -1;
        ck_assert_int_eq(loop_watch(l, fd, LOOP_WRITABLE, connect_done, &result), 0);
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(result, ECONNREFUSED);
        close(fd);
    }
    loop_destroy(l);
}
END_TEST

START_TEST(watch_rejects_large_fd)
{
    struct loop *l = loop_create(8);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(loop_watch(l, 8, LOOP_READABLE, connect_done, NULL), -1);
    ck_assert_int_eq(errno, ERANGE);
    ck_assert_int_eq(loop_watch(l, -1, LOOP_READABLE, connect_done, NULL), -1);
    loop_unwatch(l, 5); /* never watched: harmless */
    loop_destroy(l);
}
END_TEST

START_TEST(bad_port_refused)
{
    char err[256] = "";
    struct sock_addr a;
    ck_assert_int_eq(sock_resolve("127.0.0.1", 70000, &a, err, sizeof err), -1);
    ck_assert(err[0] != '\0');
    ck_assert_int_eq(sock_listen("127.0.0.1", -1, 1, err, sizeof err), -1);
}
END_TEST

START_TEST(parse_hostport)
{
    char host[SOCK_HOST_MAX], err[128];
    int port;
    ck_assert_int_eq(sock_parse_hostport("localhost:5001", host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "localhost");
    ck_assert_int_eq(port, 5001);
    ck_assert_int_eq(sock_parse_hostport("[::1]:80", host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 80);
    ck_assert_int_eq(sock_parse_hostport(":5000", host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "");
    const char *bad[] = { "localhost", "host:", "host:0", "host:65536", "host:12x", "::1:80", "[::1]80",
                          "host:+80", "host:-1" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        ck_assert_msg(sock_parse_hostport(bad[i], host, sizeof host, &port, err, sizeof err) == -1, "%s", bad[i]);
        ck_assert(err[0] != '\0');
    }
    ck_assert_int_eq(sock_parse_hostport("averylonghostname:1", host, 8, &port, err, sizeof err), -1);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *io = tcase_create("io");
    tcase_add_test(io, echo_megabyte);
    tcase_add_test(io, connect_refused_reported);
    tcase_add_test(io, watch_rejects_large_fd);
    tcase_add_test(io, bad_port_refused);
    tcase_add_test(io, parse_hostport);
    tcase_add_test(io, unwatch_drops_pending_events);
    suite_add_tcase(s, io);
    TCase *t = tcase_create("timers");
    tcase_add_test(t, timers_fire_in_order);
    tcase_add_test(t, timer_rearmed_from_callback);
    tcase_add_test(t, many_timers_heap);
    suite_add_tcase(s, t);
    TCase *x = tcase_create("threads");
    tcase_add_test(x, post_from_another_thread);
    tcase_add_test(x, stop_from_another_thread);
    tcase_add_test(x, task_reposts_itself);
    suite_add_tcase(s, x);
    return s;
}
