/* Integration: bad input and bad peers get the right status and a JSON body, never a crash or a hang —
 * 400/404/405/413/415 from the programs, 502/504 for a dead or silent backend, 503 when the inference
 * queue is full, 408 for a client too slow to send its request, and one slow client stalls nobody. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define REPLY_CAP (64 * 1024)

static struct service svc;

static void setup(void)
{
    ck_assert_msg(service_start(&svc) == 0, "the service did not start");
}

static void teardown(void)
{
    service_stop(&svc);
}

static char *read_seed(const char *name, size_t *len)
{
    char path[512], *bytes;
    snprintf(path, sizeof path, "%s/eval/seed_test_images/%s", fx_env("IMGREC_SHARED"), name);
    ck_assert_msg(sh_read_file(path, &bytes, len) == 0, "cannot read %s", path);
    return bytes;
}

/* One request (head + optional body) to port; checks the status and the JSON error code. */
static void expect_error(int port, const char *head, const void *body, size_t body_len, int status,
                         const char *code)
{
    size_t head_len = strlen(head);
    char *req = malloc(head_len + body_len);
    memcpy(req, head, head_len);
    if (body_len)
        memcpy(req + head_len, body, body_len);
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(port, req, head_len + body_len, &r, 10000), 0);
    ck_assert_msg(r.status == status, "status %d, wanted %d: %s", r.status, status, r.body);
    char type[128], got[64];
    ck_assert_int_eq(sh_header(&r, "Content-Type", type, sizeof type), 0);
    ck_assert_str_eq(type, "application/json");
    ck_assert_int_eq(sh_json_str(r.body, "error", got, sizeof got), 0);
    ck_assert_str_eq(got, code);
    sh_reply_free(&r);
    free(req);
}

static void post_raw(int port, const char *target, const void *body, size_t len, int status, const char *code)
{
    char head[256];
    snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", target, len);
    expect_error(port, head, body, len, status, code);
}

START_TEST(bad_images_and_forms_through_the_balancer)
{
    int port = svc.balancer_port;
    static const char text[] = "this is not an image at all";
    post_raw(port, "/submit", text, sizeof text - 1, 415, "unsupported_media_type");
    size_t len;
    char *jpg = read_seed("test_224.jpg", &len);
    post_raw(port, "/submit", jpg, len / 3, 400, "bad_image"); /* truncated */
    free(jpg);
    post_raw(port, "/predict", "", 0, 400, "empty_image");
    static const char form[] = "--XyZ\r\nContent-Disposition: form-data; name=\"picture\"\r\n\r\nabc\r\n--XyZ--\r\n";
    char head[256];
    snprintf(head, sizeof head,
             "POST /submit HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
             "Content-Length: %zu\r\n\r\n", sizeof form - 1);
    expect_error(port, head, form, sizeof form - 1, 400, "missing_field");
    post_raw(port, "/submit?backends=zero", text, sizeof text - 1, 400, "bad_backend_count");
}
END_TEST

START_TEST(unknown_paths_and_wrong_methods)
{
    expect_error(svc.balancer_port, "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", NULL, 0, 404, "not_found");
    expect_error(svc.worker_port[0], "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", NULL, 0, 404, "not_found");
    const char *get_submit = "GET /submit HTTP/1.1\r\nHost: t\r\n\r\n";
    expect_error(svc.balancer_port, get_submit, NULL, 0, 405, "method_not_allowed");
    expect_error(svc.worker_port[0], "DELETE /predict HTTP/1.1\r\nHost: t\r\n\r\n", NULL, 0, 405,
                 "method_not_allowed");
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(svc.balancer_port, get_submit, strlen(get_submit), &r, 5000), 0);
    char allow[64];
    ck_assert_int_eq(sh_header(&r, "Allow", allow, sizeof allow), 0);
    ck_assert_str_eq(allow, "POST");
    sh_reply_free(&r);
}
END_TEST

START_TEST(body_over_the_limit_is_413_before_it_is_sent)
{
    /* Only the head: the 413 must come without waiting for 17 MiB that never arrive. */
    expect_error(svc.balancer_port, "POST /submit HTTP/1.1\r\nHost: t\r\nContent-Length: 17825792\r\n\r\n", NULL, 0,
                 413, "body_too_large");
    expect_error(svc.worker_port[0], "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: 17825792\r\n\r\n", NULL,
                 0, 413, "body_too_large");
}
END_TEST

START_TEST(body_over_the_limit_sent_by_curl_gets_413)
{
    const char *extra[] = { "--max-body", "1000", NULL };
    int port = service_extra_worker(&svc, extra);
    ck_assert_int_gt(port, 0);
    char data[600], u[128], out[REPLY_CAP];
    snprintf(data, sizeof data, "@%s/eval/seed_test_images/test_2000.jpg", fx_env("IMGREC_SHARED"));
    snprintf(u, sizeof u, "http://127.0.0.1:%d/predict", port);
    const char *args[] = { "--data-binary", data, u, NULL };
    ck_assert_int_eq(sh_curl(args, out, sizeof out), 413);
    ck_assert_ptr_nonnull(strstr(out, "body_too_large"));
}
END_TEST

START_TEST(malformed_http_gets_400_and_close)
{
    static const char *bad[] = {
        "GET / HTTP/1.1\nHost: t\n\n",                         /* bare LF */
        "GARBAGE\r\n\r\n",                                     /* no request line */
        "POST /submit HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",                              /* HTTP/1.1 without Host */
    };
    int ports[] = { svc.balancer_port, svc.worker_port[0] };
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            struct sh_conn *c = malloc(sizeof *c);
            ck_assert_int_eq(sh_connect(c, ports[p]), 0);
            ck_assert_int_eq(sh_send(c, bad[i], strlen(bad[i]), 2000), 0);
            struct sh_reply r;
            ck_assert_int_eq(sh_read_reply(c, &r, 5000), 0);
            ck_assert_msg(r.status == 400, "case %zu: status %d", i, r.status);
            ck_assert_ptr_nonnull(strstr(r.body, "\"error\""));
            sh_reply_free(&r);
            ck_assert_msg(sh_peer_closed(c, 3000), "case %zu: connection left open", i);
            sh_close(c);
            free(c);
        }
    }
}
END_TEST

/* Limits from the parser reach the client as statuses: a long target → 414, a huge head → 431. */
START_TEST(oversized_target_and_head_get_414_and_431)
{
    size_t cap = 40 * 1024;
    char *req = malloc(cap);
    int ports[] = { svc.balancer_port, svc.worker_port[0] };
    for (int p = 0; p < 2; p++) {
        int n = snprintf(req, cap, "GET /%0*d HTTP/1.1\r\nHost: t\r\n\r\n", 5000, 7);
        ck_assert_int_lt(n, (int)cap);
        expect_error(ports[p], req, NULL, 0, 414, "uri_too_long");
        n = snprintf(req, cap, "GET / HTTP/1.1\r\nHost: t\r\n");
        for (int i = 0; i < 400; i++)
            n += snprintf(req + n, cap - (size_t)n, "X-Filler-%03d: %060d\r\n", i, i);
        n += snprintf(req + n, cap - (size_t)n, "\r\n");
        ck_assert_int_lt(n, (int)cap);
        expect_error(ports[p], req, NULL, 0, 431, "headers_too_large");
    }
    free(req);
}
END_TEST


START_TEST(backend_down_gives_503_json)
{
    char dead[32];
    snprintf(dead, sizeof dead, "127.0.0.1:%d", sh_free_port());
    const char *backends[] = { dead };
    int port = service_extra_balancer(&svc, backends, 1, NULL);
    ck_assert_int_gt(port, 0);
    size_t len;
    char *jpg = read_seed("test_64.jpg", &len);
    post_raw(port, "/submit", jpg, len, 503, "no_worker_answered");
    free(jpg);
}
END_TEST

/* A socket listening on a free port of 127.0.0.1; the port goes to *port. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

START_TEST(silent_backend_gives_504_json)
{
    /* A socket that listens but never answers: connects succeed, answers never come. */
    int silent_port;
    int fd = listen_loopback(&silent_port);
    char silent[32];
    snprintf(silent, sizeof silent, "127.0.0.1:%d", silent_port);
    const char *backends[] = { silent };
    const char *extra[] = { "--backend-timeout", "400", "--probe-interval", "3600000", NULL };
    int port = service_extra_balancer(&svc, backends, 1, extra);
    ck_assert_int_gt(port, 0);
    long long start = sh_now_ms();
    post_raw(port, "/submit", "x", 1, 504, "backend_timeout");
    long long took = sh_now_ms() - start;
    ck_assert_msg(took >= 350 && took < 3000, "504 after %lld ms", took);
    /* The try was cancelled at the deadline: its connection is closed (a worker would drop the job). */
    int c = accept(fd, NULL, NULL);
    ck_assert_int_ge(c, 0);
    struct timeval tv = { .tv_sec = 2 };
    ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    char drain[4096];
    ssize_t n;
    while ((n = read(c, drain, sizeof drain)) > 0)
        ;
    ck_assert_msg(n == 0, "the balancer kept the timed-out try's connection open");
    close(c);
    close(fd);
}
END_TEST

/* A backend that never answers holds only the requests sent to it: the balancer keeps serving the rest. */
START_TEST(silent_backend_does_not_stall_the_balancer)
{
    int silent_port;
    int fd = listen_loopback(&silent_port);
    char good[32], silent[32];
    snprintf(good, sizeof good, "127.0.0.1:%d", svc.worker_port[0]);
    snprintf(silent, sizeof silent, "127.0.0.1:%d", silent_port);
    const char *backends[] = { good, silent };
    const char *extra[] = { "--backend-timeout", "2500", NULL };
    int port = service_extra_balancer(&svc, backends, 2, extra);
    ck_assert_int_gt(port, 0);
    static const char spread[] = "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
    static const char first[] = "POST /predict?backends=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
    enum { N = 12 };
    struct sh_conn *c = malloc((N + 1) * sizeof *c);
    for (int i = 0; i < N; i++) { /* about half of these wait on the silent backend */
        ck_assert_int_eq(sh_connect(&c[i], port), 0);
        ck_assert_int_eq(sh_send(&c[i], spread, sizeof spread - 1, 2000), 0);
    }
    long long start = sh_now_ms();
    struct sh_reply r;
    ck_assert_int_eq(sh_connect(&c[N], port), 0);
    ck_assert_int_eq(sh_send(&c[N], first, sizeof first - 1, 2000), 0);
    ck_assert_int_eq(sh_read_reply(&c[N], &r, 5000), 0);
    ck_assert_int_eq(r.status, 400); /* the worker's answer to an empty body */
    ck_assert_msg(sh_now_ms() - start < 1500, "the good backend's answer took %lld ms", sh_now_ms() - start);
    sh_reply_free(&r);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(sh_read_reply(&c[i], &r, 10000), 0);
        ck_assert_msg(r.status == 400 || r.status == 504, "status %d", r.status);
        sh_reply_free(&r);
    }
    for (int i = 0; i <= N; i++)
        sh_close(&c[i]);
    free(c);
    close(fd);
}
END_TEST

/* SIGTERM while a call waits on the backend: the balancer frees that call too and exits 0 (under
 * SANITIZE=1 a leaked connection would make the exit status non-zero). */
START_TEST(stop_with_a_backend_call_in_flight_exits_cleanly)
{
    int silent_port, port = sh_free_port();
    int fd = listen_loopback(&silent_port);
    char bin[PATH_MAX], portstr[16], silent[32];
    fx_bin("balancer", bin, sizeof bin);
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(silent, sizeof silent, "127.0.0.1:%d", silent_port);
    const char *argv[] = { bin, "--port", portstr, "--host", "127.0.0.1", "--www", fx_env("IMGREC_WWW"),
                           "--backend", silent, NULL };
    pid_t pid = sh_spawn(argv, NULL);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(sh_wait_healthy(port, pid, 10000), 0);
    static const char req[] = "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx";
    struct sh_conn *c = malloc(sizeof *c);
    ck_assert_int_eq(sh_connect(c, port), 0);
    ck_assert_int_eq(sh_send(c, req, sizeof req - 1, 2000), 0);
    usleep(300 * 1000); /* the request reaches the backend's accept queue and waits there */
    int status = sh_stop(pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %#x", status);
    sh_close(c);
    free(c);
    close(fd);
}
END_TEST

START_TEST(full_queue_answers_503_with_retry_after)
{
    const char *extra[] = { "--queue", "0", "--batch-max", "1", NULL }; /* pool: 0 + 1 decoder + 1 engine slot */
    int port = service_extra_worker(&svc, extra);
    ck_assert_int_gt(port, 0);
    size_t len;
    char *jpg = read_seed("test_2000.jpg", &len);
    char head[256];
    int head_len = snprintf(head, sizeof head, "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", len);
    enum { N = 4 };
    struct sh_conn *c = malloc(N * sizeof *c);
    for (int i = 0; i < N; i++) { /* all but the last byte, so that all complete at the same moment */
        ck_assert_int_eq(sh_connect(&c[i], port), 0);
        ck_assert_int_eq(sh_send(&c[i], head, (size_t)head_len, 2000), 0);
        ck_assert_int_eq(sh_send(&c[i], jpg, len - 1, 5000), 0);
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(sh_send(&c[i], jpg + len - 1, 1, 2000), 0);
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        struct sh_reply r;
        ck_assert_int_eq(sh_read_reply(&c[i], &r, 20000), 0);
        char retry[16];
        if (r.status == 200)
            ok++;
        if (r.status == 503) {
            busy++;
            ck_assert_int_eq(sh_header(&r, "Retry-After", retry, sizeof retry), 0);
            ck_assert_ptr_nonnull(strstr(r.body, "\"server_busy\""));
        }
        sh_reply_free(&r);
        sh_close(&c[i]);
    }
    ck_assert_int_ge(ok, 1);
    ck_assert_int_ge(busy, 1);
    ck_assert_int_eq(ok + busy, N);
    free(c);
    free(jpg);
}
END_TEST

START_TEST(slow_client_does_not_stall_others)
{
    int ports[] = { svc.balancer_port, svc.worker_port[0] };
    size_t len;
    char *jpg = read_seed("test_64.jpg", &len);
    char head[256];
    int head_len = snprintf(head, sizeof head, "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", len);
    for (int p = 0; p < 2; p++) {
        struct sh_conn *slow = malloc(sizeof *slow);
        ck_assert_int_eq(sh_connect(slow, ports[p]), 0);
        ck_assert_int_eq(sh_send(slow, head, (size_t)head_len, 2000), 0);
        ck_assert_int_eq(sh_send(slow, jpg, len / 2, 2000), 0); /* half the body, then silence */

        long long start = sh_now_ms();
        char *req = malloc((size_t)head_len + len);
        memcpy(req, head, (size_t)head_len);
        memcpy(req + head_len, jpg, len);
        struct sh_reply r;
        ck_assert_int_eq(sh_exchange(ports[p], req, (size_t)head_len + len, &r, 5000), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(sh_now_ms() - start < 3000, "a fast client waited %lld ms", sh_now_ms() - start);
        sh_reply_free(&r);

        ck_assert_int_eq(sh_send(slow, jpg + len / 2, len - len / 2, 2000), 0); /* the slow one finishes */
        ck_assert_int_eq(sh_read_reply(slow, &r, 10000), 0);
        ck_assert_int_eq(r.status, 200);
        sh_reply_free(&r);
        sh_close(slow);
        free(slow);
        free(req);
    }
    free(jpg);
}
END_TEST

START_TEST(too_slow_request_gets_408_and_idle_connection_closes)
{
    const char *extra[] = { "--timeout", "300", "--idle-timeout", "200", NULL };
    int port = service_extra_worker(&svc, extra);
    ck_assert_int_gt(port, 0);
    struct sh_conn *c = malloc(sizeof *c);
    ck_assert_int_eq(sh_connect(c, port), 0);
    static const char partial[] = "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Le";
    ck_assert_int_eq(sh_send(c, partial, sizeof partial - 1, 2000), 0);
    struct sh_reply r;
    ck_assert_int_eq(sh_read_reply(c, &r, 3000), 0);
    ck_assert_int_eq(r.status, 408);
    ck_assert_ptr_nonnull(strstr(r.body, "request_timeout"));
    sh_reply_free(&r);
    ck_assert(sh_peer_closed(c, 3000));
    sh_close(c);

    ck_assert_int_eq(sh_connect(c, port), 0); /* idle: closed without a word */
    ck_assert(sh_peer_closed(c, 3000));
    ck_assert_int_eq((int)c->len, 0);
    sh_close(c);
    free(c);
}
END_TEST

START_TEST(expect_100_continue_gets_the_interim_answer_first)
{
    size_t len;
    char *jpg = read_seed("test_96.jpg", &len);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n", len);
    int ports[] = { svc.balancer_port, svc.worker_port[0] };
    for (int p = 0; p < 2; p++) {
        struct sh_conn *c = malloc(sizeof *c);
        ck_assert_int_eq(sh_connect(c, ports[p]), 0);
        ck_assert_int_eq(sh_send(c, head, (size_t)n, 2000), 0);
        struct sh_reply r;
        ck_assert_int_eq(sh_read_reply(c, &r, 2000), 0); /* before any body byte is sent */
        ck_assert_int_eq(r.status, 100);
        sh_reply_free(&r);
        ck_assert_int_eq(sh_send(c, jpg, len, 2000), 0);
        ck_assert_int_eq(sh_read_reply(c, &r, 10000), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"top5\""));
        sh_reply_free(&r);
        sh_close(c);
        free(c);
    }
    free(jpg);
}
END_TEST

/* A worker that dies: 502 while it is down, answers again once it is back on the same port. */
START_TEST(balancer_recovers_when_a_worker_comes_back)
{
    int wport;
    pid_t pid;
    int port = service_balancer_over_own_worker(&svc, NULL, &wport, &pid);
    ck_assert_int_gt(port, 0);
    post_raw(port, "/predict", "", 0, 400, "empty_image"); /* reaches the worker: keeps a pooled connection */
    sh_stop(pid);
    post_raw(port, "/predict", "", 0, 503, "no_worker_answered");
    ck_assert_int_eq(service_worker_on(&svc, wport, &pid), 0);
    /* Marked down by the failed tries; its next health probe (every second) brings it back. */
    ck_assert_int_eq(sh_wait_healthy(port, -1, 5000), 0);
    post_raw(port, "/predict", "", 0, 400, "empty_image");
    post_raw(port, "/predict", "", 0, 400, "empty_image");
}
END_TEST

/* A backend played by a child process: it accepts one connection, reads a request head, and lets play
 * answer on the connection.  Returns its port. */
static int fake_backend(void (*play)(int c))
{
    int port;
    int fd = listen_loopback(&port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(10); /* never outlives the test */
        int c = accept(fd, NULL, NULL);
        char req[4096];
        size_t got = 0;
        while (got < sizeof req - 1 && !memmem(req, got, "\r\n\r\n", 4)) {
            ssize_t n = read(c, req + got, sizeof req - 1 - got);
            if (n <= 0)
                _exit(1);
            got += (size_t)n;
        }
        play(c);
        _exit(0);
    }
    close(fd);
    return port;
}

/* A chunked body of 3 x 40000 bytes, written in pieces with pauses between them. */
static void play_chunked(int c)
{
    static char chunk[40000];
    memset(chunk, 'x', sizeof chunk);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (write(c, head, strlen(head)) < 0)
        _exit(1);
    for (int i = 0; i < 3; i++) {
        usleep(50 * 1000);
        char size[16];
        int n = snprintf(size, sizeof size, "%zx\r\n", sizeof chunk);
        if (write(c, size, (size_t)n) < 0 || write(c, chunk, sizeof chunk) < 0 || write(c, "\r\n", 2) < 0)
            _exit(1);
    }
    if (write(c, "0\r\n\r\n", 5) < 0)
        _exit(1);
    usleep(200 * 1000);
}

START_TEST(chunked_backend_answer_is_relayed_whole)
{
    char backend[32];
    snprintf(backend, sizeof backend, "127.0.0.1:%d", fake_backend(play_chunked));
    const char *backends[] = { backend };
    const char *extra[] = { "--probe-interval", "3600000", NULL }; /* the fake takes one connection */
    int port = service_extra_balancer(&svc, backends, 1, extra);
    ck_assert_int_gt(port, 0);
    static const char req[] = "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(port, req, sizeof req - 1, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    char length[32], type[64];
    ck_assert_int_eq(sh_header(&r, "Content-Length", length, sizeof length), 0);
    ck_assert_str_eq(length, "120000");
    ck_assert_int_eq(sh_header(&r, "Content-Type", type, sizeof type), 0);
    ck_assert_str_eq(type, "text/plain");
    ck_assert_int_eq(sh_header(&r, "Transfer-Encoding", type, sizeof type), -1);
    ck_assert_uint_eq(r.body_len, 120000);
    for (size_t i = 0; i < r.body_len; i++)
        ck_assert_int_eq(r.body[i], 'x');
    sh_reply_free(&r);
}
END_TEST

/* Everything port sends for req until it closes (at most cap - 1 bytes, NUL-terminated); the length. */
static size_t read_until_close(int port, const char *req, char *out, size_t cap)
{
    struct sh_conn *c = malloc(sizeof *c);
    ck_assert_int_eq(sh_connect(c, port), 0);
    ck_assert_int_eq(sh_send(c, req, strlen(req), 2000), 0);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = recv(c->fd, out + len, cap - 1 - len, 0)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    sh_close(c);
    free(c);
    return len;
}

/* A HEAD answer is the head alone (with the GET's Content-Length): a body would be read as the next answer
 * on a kept-alive connection. */
START_TEST(head_gets_the_head_without_a_body)
{
    static const char *heads[] = { "HEAD / HTTP/1.1\r\n", "HEAD /healthz HTTP/1.1\r\n", "HEAD /nowhere HTTP/1.1\r\n" };
    int ports[] = { svc.balancer_port, svc.worker_port[0], svc.worker_port[0] };
    static const int statuses[] = { 200, 200, 404 };
    for (int i = 0; i < 3; i++) {
        char req[256], out[8192];
        snprintf(req, sizeof req, "%sHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                 heads[i]);
        read_until_close(ports[i], req, out, sizeof out);
        int status = 0;
        ck_assert_int_eq(sscanf(out, "HTTP/1.1 %d", &status), 1);
        ck_assert_msg(status == statuses[i], "case %d: status %d", i, status);
        ck_assert_ptr_nonnull(strstr(out, "Content-Length: "));
        ck_assert_ptr_null(strstr(out, "Content-Length: 0\r\n"));
        char *next = strstr(out, "\r\n\r\n");
        ck_assert_ptr_nonnull(next);
        ck_assert_msg(strncmp(next + 4, "HTTP/1.1 200 ", 13) == 0, "case %d: after the head: %.40s", i, next + 4);
        ck_assert_ptr_nonnull(strstr(next, "\"status\":\"ok\""));
    }
}
END_TEST

/* A 101 that nobody asked for, then bytes of some other protocol, and the connection held open. */
static void play_switching(int c)
{
    const char *answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nraw";
    if (write(c, answer, strlen(answer)) < 0)
        _exit(1);
    sleep(5);
}

/* A 101 the balancer never asked for is no interim answer to wait past: 502 at once, not 504 later (and
 * not retried: an answer had begun). */
START_TEST(backend_switching_protocols_gives_502_at_once)
{
    char backend[32];
    snprintf(backend, sizeof backend, "127.0.0.1:%d", fake_backend(play_switching));
    const char *backends[] = { backend };
    const char *extra[] = { "--backend-timeout", "3000", "--probe-interval", "3600000", NULL };
    int port = service_extra_balancer(&svc, backends, 1, extra);
    ck_assert_int_gt(port, 0);
    long long start = sh_now_ms();
    post_raw(port, "/predict", "x", 1, 502, "bad_gateway");
    ck_assert_msg(sh_now_ms() - start < 2000, "502 after %lld ms", sh_now_ms() - start);
}
END_TEST

/* ---- the server-wide memory budget (--max-memory) ------------------------------------------------------ */

#define BUDGET_BODY 400000 /* two of these fit a 1 MiB budget, a third does not */

/* Starts an upload of BUDGET_BODY bytes and waits for its 100 Continue: by then its body is charged. */
static void hold_upload(struct sh_conn *c, int port)
{
    char head[256];
    int n = snprintf(head, sizeof head, "POST /predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                     "Content-Length: %d\r\n\r\n", BUDGET_BODY);
    ck_assert_int_eq(sh_connect(c, port), 0);
    ck_assert_int_eq(sh_send(c, head, (size_t)n, 2000), 0);
    struct sh_reply r;
    ck_assert_int_eq(sh_read_reply(c, &r, 5000), 0);
    ck_assert_int_eq(r.status, 100);
    sh_reply_free(&r);
}

/* Sends the body of an upload and expects the worker's 415 (the bytes are no image): it got through. */
static void finish_upload(struct sh_conn *c, const char *body)
{
    ck_assert_int_eq(sh_send(c, body, BUDGET_BODY, 5000), 0);
    struct sh_reply r;
    ck_assert_int_eq(sh_read_reply(c, &r, 10000), 0);
    ck_assert_msg(r.status == 415, "status %d: %s", r.status, r.body);
    sh_reply_free(&r);
}

/* Sends head and as much of body as the server takes, then expects 503 server_busy, Retry-After, close. */
static void expect_busy(int port, const char *head, const char *body, size_t body_len)
{
    struct sh_conn *c = malloc(sizeof *c);
    ck_assert_int_eq(sh_connect(c, port), 0);
    ck_assert_int_eq(sh_send(c, head, strlen(head), 2000), 0);
    if (body_len > 0)
        (void)sh_send(c, body, body_len, 2000); /* the server may stop reading once it has answered */
    struct sh_reply r;
    ck_assert_int_eq(sh_read_reply(c, &r, 5000), 0);
    ck_assert_msg(r.status == 503, "status %d: %s", r.status, r.body);
    char got[64];
    ck_assert_int_eq(sh_header(&r, "Retry-After", got, sizeof got), 0);
    ck_assert_int_eq(sh_json_str(r.body, "error", got, sizeof got), 0);
    ck_assert_str_eq(got, "server_busy");
    ck_assert_int_eq(sh_peer_closed(c, 3000), 1);
    sh_reply_free(&r);
    sh_close(c);
    free(c);
}

/* Held uploads fill the budget: the next one (declared or chunked) gets 503 at once; once the held ones
 * are answered their charge is released and a new upload goes through. */
START_TEST(memory_budget_answers_503_and_releases_the_charge)
{
    const char *extra[] = { "--max-memory", "1", NULL };
    char backend[32];
    snprintf(backend, sizeof backend, "127.0.0.1:%d", svc.worker_port[0]);
    const char *backends[] = { backend };
    int ports[] = { service_extra_worker(&svc, extra), service_extra_balancer(&svc, backends, 1, extra) };
    char *body = malloc(BUDGET_BODY);
    memset(body, 'x', BUDGET_BODY);
    char head[256], chunked[256];
    snprintf(head, sizeof head, "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", BUDGET_BODY);
    snprintf(chunked, sizeof chunked, "POST /predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "%x\r\n", BUDGET_BODY);
    for (int p = 0; p < 2; p++) {
        ck_assert_int_gt(ports[p], 0);
        struct sh_conn *held = malloc(2 * sizeof *held);
        for (int i = 0; i < 2; i++)
            hold_upload(&held[i], ports[p]);
        expect_busy(ports[p], head, NULL, 0);
        expect_busy(ports[p], chunked, body, BUDGET_BODY);
        for (int i = 0; i < 2; i++) {
            finish_upload(&held[i], body);
            sh_close(&held[i]);
        }
        post_raw(ports[p], "/predict", body, BUDGET_BODY, 415, "unsupported_media_type");
        struct sh_conn again;
        hold_upload(&again, ports[p]); /* all of the budget is free again: two fit at once */
        hold_upload(&held[0], ports[p]);
        finish_upload(&again, body);
        finish_upload(&held[0], body);
        sh_close(&again);
        sh_close(&held[0]);
        free(held);
    }
    free(body);
}
END_TEST

START_TEST(help_and_bad_options)
{
    const char *progs[] = { "worker", "balancer" };
    for (int i = 0; i < 2; i++) {
        char bin[512], out[8192];
        fx_bin(progs[i], bin, sizeof bin);
        const char *help[] = { bin, "--help", NULL };
        ck_assert_int_eq(sh_run(help, out, sizeof out, 5000), 0);
        ck_assert_ptr_nonnull(strstr(out, "usage:"));
        const char *bad[] = { bin, "--port", "not-a-number", NULL };
        ck_assert_int_eq(sh_run(bad, out, sizeof out, 5000), 2);
        const char *h[] = { bin, "-h", NULL };
        ck_assert_int_eq(sh_run(h, out, sizeof out, 5000), 0);
        ck_assert_ptr_nonnull(strstr(out, "usage:"));
        /* what a person sees (stderr): the mistake named once, then a one-line hint, not the usage */
        char cmd[1200], want[512];
        snprintf(cmd, sizeof cmd, "'%s' --port not-a-number 2>&1; '%s' --bogus 2>&1", bin, bin);
        const char *sh[] = { "sh", "-c", cmd, NULL };
        ck_assert_int_eq(sh_run(sh, out, sizeof out, 5000), 2);
        snprintf(want, sizeof want, "%s: --port wants a whole number from 0 to 65535, got 'not-a-number'\n"
                 "%s: see %s --help\n%s: --bogus: unknown option or missing value\n%s: see %s --help\n",
                 progs[i], progs[i], progs[i], progs[i], progs[i], progs[i]);
        ck_assert_str_eq(out, want);
    }
    /* A model that is not there is named once (it was printed twice). */
    char bin[512], out[4096];
    fx_bin("worker", bin, sizeof bin);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "'%s' --port 0 --model /nonexistent/m.tflite 2>&1", bin);
    const char *sh[] = { "sh", "-c", cmd, NULL };
    ck_assert_int_eq(sh_run(sh, out, sizeof out, 5000), 1);
    ck_assert_str_eq(out, "worker: /nonexistent/m.tflite: No such file or directory\n");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("service errors");
    TCase *tc = tcase_create("bad input, bad peers");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bad_images_and_forms_through_the_balancer);
    tcase_add_test(tc, unknown_paths_and_wrong_methods);
    tcase_add_test(tc, body_over_the_limit_is_413_before_it_is_sent);
    tcase_add_test(tc, body_over_the_limit_sent_by_curl_gets_413);
    tcase_add_test(tc, malformed_http_gets_400_and_close);
    tcase_add_test(tc, oversized_target_and_head_get_414_and_431);
    tcase_add_test(tc, backend_down_gives_503_json);
    tcase_add_test(tc, silent_backend_gives_504_json);
    tcase_add_test(tc, silent_backend_does_not_stall_the_balancer);
    tcase_add_test(tc, stop_with_a_backend_call_in_flight_exits_cleanly);
    tcase_add_test(tc, full_queue_answers_503_with_retry_after);
    tcase_add_test(tc, slow_client_does_not_stall_others);
    tcase_add_test(tc, too_slow_request_gets_408_and_idle_connection_closes);
    tcase_add_test(tc, expect_100_continue_gets_the_interim_answer_first);
    tcase_add_test(tc, balancer_recovers_when_a_worker_comes_back);
    tcase_add_test(tc, chunked_backend_answer_is_relayed_whole);
    tcase_add_test(tc, backend_switching_protocols_gives_502_at_once);
    tcase_add_test(tc, head_gets_the_head_without_a_body);
    tcase_add_test(tc, memory_budget_answers_503_and_releases_the_charge);
    tcase_add_test(tc, help_and_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
