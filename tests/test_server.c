/* svc/server in-process: what the programs' integration tests cannot reach from outside. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "net/loop.h"
#include "net/server.h"

#define MAX_FDS 64

static void never_called(struct srv_conn *c, struct srv_request *r, void *data)
{
    (void)c;
    (void)r;
    (void)data;
    ck_abort_msg("no request was sent");
}

/* A connection the loop cannot watch (its fd is past the loop's table) is closed at once, not kept
 * open forever with no timer and no events. */
START_TEST(unwatchable_connection_is_closed)
{
    struct loop *l = loop_create(MAX_FDS);
    ck_assert_ptr_nonnull(l);
    struct srv_config cfg = { .host = "127.0.0.1", .limits = HTTP_LIMITS_DEFAULT, .timeout_ms = 60000,
                              .max_conns = 16 };
    char err[256];
    struct srv *s = srv_create(l, &cfg, never_called, NULL, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    int fillers[MAX_FDS], n = 0, fd;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && fd < MAX_FDS)
        fillers[n++] = fd; /* every fd the loop could watch is taken: the accepted one lands past them */
    ck_assert_int_ge(fd, MAX_FDS);
    close(fd);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port(s)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(client, (struct sockaddr *)&a, sizeof a), 0);
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 20);
    struct pollfd p = { .fd = client, .events = POLLIN };
    ck_assert_msg(poll(&p, 1, 0) == 1, "the server keeps a connection it cannot watch");
    char byte;
    ck_assert_int_le(recv(client, &byte, 1, 0), 0);
    close(client);
    while (n > 0)
        close(fillers[--n]);
    srv_destroy(s);
    loop_destroy(l);
}
END_TEST

static void answer_ok(struct srv_conn *c, struct srv_request *r, void *data)
{
    (void)r;
    (*(int *)data)++;
    srv_respond(c, 200, "text/plain", "ok\n", 3, NULL);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* 1 when the server has closed fd (EOF or reset), 0 while it is open and silent. */
static int closed_by_server(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 0) != 1)
        return 0;
    char b;
    return recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

/* At the connection cap a newcomer is admitted by shedding the longest-idle connection, oldest first;
 * a connection with a request in progress is never shed; the newcomer is served. */
START_TEST(cap_sheds_the_longest_idle_connection)
{
    enum { CAP = 8, NEW = 3 };
    struct loop *l = loop_create(MAX_FDS);
    ck_assert_ptr_nonnull(l);
    int served = 0;
    struct srv_config cfg = { .host = "127.0.0.1", .limits = HTTP_LIMITS_DEFAULT, .timeout_ms = 60000,
                              .idle_timeout_ms = 60000, .max_conns = CAP };
    char err[256];
    struct srv *s = srv_create(l, &cfg, answer_ok, &served, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    int idle[CAP];
    for (int i = 0; i < CAP; i++) {
        idle[i] = connect_to(srv_port(s));
        for (int k = 0; k < 3; k++)
            loop_run_once(l, 5); /* accepted one by one: the idle list is in connect order */
    }
    static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    int fresh[NEW];
    for (int n = 0; n < NEW; n++) {
        int fd = fresh[n] = connect_to(srv_port(s)); /* kept open: each newcomer needs its own slot */
        ck_assert_int_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
        char buf[512];
        ssize_t got = 0;
        for (int k = 0; k < 200 && got <= 0; k++) {
            loop_run_once(l, 5);
            got = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        }
        ck_assert_msg(got > 0, "newcomer %d was not served at the cap", n);
        buf[got] = '\0';
        ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
        for (int k = 0; k < 5; k++)
            loop_run_once(l, 5);
    }
    ck_assert_int_eq(served, NEW);
    for (int i = 0; i < CAP; i++)
        ck_assert_msg(closed_by_server(idle[i]) == (i < NEW), "idle connection %d: shed %d, expected %d", i,
                      closed_by_server(idle[i]), i < NEW);
    struct srv_stats st;
    srv_stats(s, &st);
    ck_assert_int_eq(st.shed, NEW);
    ck_assert_int_eq(st.refused, 0);
    for (int i = 0; i < CAP; i++)
        close(idle[i]);
    for (int n = 0; n < NEW; n++)
        close(fresh[n]);
    srv_destroy(s);
    loop_destroy(l);
}
END_TEST

/* A keep-alive connection with no request closes after the idle timeout, long before the request
 * timeout; a request that has begun keeps the (longer) request deadline. */
START_TEST(idle_timeout_is_apart_from_the_request_timeout)
{
    struct loop *l = loop_create(MAX_FDS);
    ck_assert_ptr_nonnull(l);
    int served = 0;
    struct srv_config cfg = { .host = "127.0.0.1", .limits = HTTP_LIMITS_DEFAULT, .timeout_ms = 60000,
                              .idle_timeout_ms = 50, .max_conns = 16 };
    char err[256];
    struct srv *s = srv_create(l, &cfg, answer_ok, &served, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    int idle = connect_to(srv_port(s)), busy = connect_to(srv_port(s));
    for (int k = 0; k < 5; k++)
        loop_run_once(l, 5);
    ck_assert_int_eq(send(busy, "GET / HT", 8, MSG_NOSIGNAL), 8); /* a request begun, not finished */
    for (int k = 0; k < 40; k++)
        loop_run_once(l, 10);
    ck_assert_msg(closed_by_server(idle), "an idle connection outlived --idle-timeout");
    ck_assert_msg(!closed_by_server(busy), "a request in progress was cut at the idle timeout");
    close(idle);
    close(busy);
    srv_destroy(s);
    loop_destroy(l);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("connections");
    tcase_add_test(tc, unwatchable_connection_is_closed);
    tcase_add_test(tc, cap_sheds_the_longest_idle_connection);
    tcase_add_test(tc, idle_timeout_is_apart_from_the_request_timeout);
    suite_add_tcase(s, tc);
    return s;
}
