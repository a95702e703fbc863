/* svc/server in-process: what the programs' integration tests cannot reach from outside. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
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

Suite *test_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("connections");
    tcase_add_test(tc, unwatchable_connection_is_closed);
    suite_add_tcase(s, tc);
    return s;
}
