/* Failover, worker side, with the real worker and the real model on loopback: a job whose caller (the
 * balancer, recognised by its X-Imgrec-Deadline-Ms header) has closed the connection, or whose deadline
 * passed while it waited, is not run; a direct client's request without the header always runs. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/service_fixture.h"
#include "tests/service_harness.h"

static struct service svc;
static char *jpg;
static size_t jpg_len;

static void setup(void)
{
    memset(&svc, 0, sizeof svc);
    snprintf(svc.dir, sizeof svc.dir, "/tmp/imgrec-failover-XXXXXX");
    ck_assert_msg(mkdtemp(svc.dir) != NULL, "scratch folder");
    char path[512];
    snprintf(path, sizeof path, "%s/eval/seed_test_images/test_224.jpg", fx_env("IMGREC_SHARED"));
    ck_assert_msg(sh_read_file(path, &jpg, &jpg_len) == 0, "cannot read %s", path);
}

static void teardown(void)
{
    service_stop(&svc);
    free(jpg);
}

/* Sends POST /predict with the JPEG on c, with X-Imgrec-Deadline-Ms when deadline_ms > 0. */
static void send_predict(struct sh_conn *c, int deadline_ms)
{
    char head[256], extra[64] = "";
    if (deadline_ms > 0)
        snprintf(extra, sizeof extra, "X-Imgrec-Deadline-Ms: %d\r\n", deadline_ms);
    int n = snprintf(head, sizeof head,
                     "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n%sContent-Length: %zu\r\n\r\n",
                     extra, jpg_len);
    ck_assert_int_eq(sh_send(c, head, (size_t)n, 2000), 0);
    ck_assert_int_eq(sh_send(c, jpg, jpg_len, 2000), 0);
}

/* The worker's /healthz "abandoned" count. */
static double abandoned(int port)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    struct sh_reply r;
    double n = -1;
    ck_assert_int_eq(sh_exchange(port, req, sizeof req - 1, &r, 5000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(sh_json_num(r.body, "abandoned", &n), 0);
    sh_reply_free(&r);
    return n;
}

#define GONE 4

/* While the worker is frozen, the balancer-like callers send their requests and hang up; after SIGCONT
 * none of those jobs runs (abandoned count, access log), and a later request is answered as usual. */
START_TEST(jobs_of_callers_gone_are_not_run)
{
    int port = sh_free_port();
    pid_t pid;
    ck_assert_int_eq(service_worker_on(&svc, port, &pid), 0);
    ck_assert_int_eq(abandoned(port), 0);
    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    struct sh_conn *c = malloc(sizeof *c * GONE);
    for (int i = 0; i < GONE; i++) {
        ck_assert_int_eq(sh_connect(&c[i], port), 0); /* the kernel accepts into the backlog */
        send_predict(&c[i], 30000);
        sh_close(&c[i]);
    }
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    /* The worker answers in order on each connection; one more request on a fresh one comes after. */
    struct sh_conn *live = malloc(sizeof *live);
    ck_assert_int_eq(sh_connect(live, port), 0);
    send_predict(live, 30000);
    struct sh_reply r;
    ck_assert_int_eq(sh_read_reply(live, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strstr(r.body, "\"label\"") != NULL);
    sh_reply_free(&r);
    sh_close(live);
    ck_assert_int_eq(abandoned(port), GONE);
    free(live);
    free(c);
}
END_TEST

/* Three requests arrive together at a frozen worker: the first (no deadline) runs; the two behind it,
 * which the caller wants within 1 ms, wait a whole inference and are answered 504 "abandoned" unrun. */
START_TEST(jobs_past_their_deadline_are_not_run)
{
    int port = sh_free_port();
    pid_t pid;
    ck_assert_int_eq(service_worker_on(&svc, port, &pid), 0);
    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    struct sh_conn *c = malloc(sizeof *c * 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(sh_connect(&c[i], port), 0);
        send_predict(&c[i], i == 0 ? 0 : 1);
    }
    usleep(100 * 1000); /* all three whole in the socket buffers before the worker wakes */
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    for (int i = 0; i < 3; i++) {
        struct sh_reply r;
        ck_assert_int_eq(sh_read_reply(&c[i], &r, 10000), 0);
        char code[32] = "";
        if (r.status != 200)
            sh_json_str(r.body, "error", code, sizeof code);
        if (i == 0)
            ck_assert_int_eq(r.status, 200);
        else
            ck_assert_msg(r.status == 504 && strcmp(code, "abandoned") == 0, "request %d: %d %s", i, r.status, code);
        sh_reply_free(&r);
        sh_close(&c[i]);
    }
    ck_assert_int_eq(abandoned(port), 2);
    free(c);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("failover");
    TCase *t = tcase_create("worker");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, jobs_of_callers_gone_are_not_run);
    tcase_add_test(t, jobs_past_their_deadline_are_not_run);
    suite_add_tcase(s, t);
    return s;
}
