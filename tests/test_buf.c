/* test_buf: the bounded connection buffer — growth up to max and never past it, consume/compact,
 * builders (printf, JSON strings), and fd I/O through a real pipe (full buffer → ENOBUFS). */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "net/buf.h"

START_TEST(grows_to_max_and_no_further)
{
    struct buf b;
    buf_init(&b, 1000);
    ck_assert_ptr_null(b.data);
    char chunk[300];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(buf_append(&b, chunk, sizeof chunk), 0);
    ck_assert_uint_eq(buf_len(&b), 900);
    ck_assert_uint_le(b.cap, 1000);
    ck_assert_int_eq(buf_append(&b, chunk, 101), -1);
    ck_assert_int_eq(errno, ENOBUFS);
    ck_assert_uint_eq(buf_len(&b), 900); /* nothing appended on failure */
    ck_assert_int_eq(buf_append(&b, chunk, 100), 0);
    ck_assert_uint_eq(buf_len(&b), 1000);
    buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.max, 1000);
}
END_TEST

START_TEST(consume_then_reuse_front)
{
    struct buf b;
    buf_init(&b, 16);
    ck_assert_int_eq(buf_append_str(&b, "0123456789abcdef"), 0);
    buf_consume(&b, 10);
    ck_assert_uint_eq(buf_len(&b), 6);
    ck_assert(memcmp(buf_ptr(&b), "abcdef", 6) == 0);
    /* the consumed front is reclaimed (compaction), so 10 more bytes fit under max 16 */
    ck_assert_int_eq(buf_append_str(&b, "ghijklmnop"), 0);
    ck_assert(memcmp(buf_ptr(&b), "abcdefghijklmnop", 16) == 0);
    buf_consume(&b, 100); /* more than there is: empties it */
    ck_assert_uint_eq(buf_len(&b), 0);
    ck_assert_uint_eq(b.start, 0);
    buf_free(&b);
}
END_TEST

START_TEST(printf_and_json)
{
    struct buf b;
    buf_init(&b, 4096);
    ck_assert_int_eq(buf_printf(&b, "{\"n\":%d,\"s\":", 42), 0);
    ck_assert_int_eq(buf_append_json_str(&b, "a\"b\n", 4), 0);
    ck_assert_int_eq(buf_append_str(&b, "}"), 0);
    ck_assert_uint_eq(buf_len(&b), strlen("{\"n\":42,\"s\":\"a\\\"b\\n\"}"));
    ck_assert(memcmp(buf_ptr(&b), "{\"n\":42,\"s\":\"a\\\"b\\n\"}", buf_len(&b)) == 0);
    buf_free(&b);
    buf_init(&b, 8);
    ck_assert_int_eq(buf_printf(&b, "%s", "too long for it"), -1);
    ck_assert_uint_eq(buf_len(&b), 0);
    buf_free(&b);
}
END_TEST

START_TEST(fd_io_through_a_pipe)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    struct buf out, in;
    buf_init(&out, 64);
    buf_init(&in, 10);
    ck_assert_int_eq(buf_append_str(&out, "hello, pipe!"), 0); /* 12 bytes */
    ck_assert_int_eq(buf_write_fd(&out, p[1]), 12); /* not a socket: falls back to write() */
    ck_assert_uint_eq(buf_len(&out), 0);
    ck_assert_int_eq(buf_read_fd(&in, p[0], 4), 10); /* grows (at least by the chunk), capped at max */
    ck_assert(memcmp(buf_ptr(&in), "hello, pip", 10) == 0);
    ck_assert_int_eq(buf_read_fd(&in, p[0], 100), -1); /* full at max */
    ck_assert_int_eq(errno, ENOBUFS);
    buf_consume(&in, 10);
    ck_assert_int_eq(buf_read_fd(&in, p[0], 100), 2);
    ck_assert(memcmp(buf_ptr(&in), "e!", 2) == 0);
    close(p[1]);
    ck_assert_int_eq(buf_read_fd(&in, p[0], 100), 0); /* EOF */
    close(p[0]);
    buf_free(&out);
    buf_free(&in);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *t = tcase_create("buf");
    tcase_add_test(t, grows_to_max_and_no_further);
    tcase_add_test(t, consume_then_reuse_front);
    tcase_add_test(t, printf_and_json);
    tcase_add_test(t, fd_io_through_a_pipe);
    suite_add_tcase(s, t);
    return s;
}
