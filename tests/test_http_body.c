/* test_http_body: the body reader — Content-Length and chunked bodies, split at every byte, decoded in
 * place or only framed, and every malformed chunk. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "net/http.h"
#include "tests/http_testlib.h"

/* Feeds s in two pieces split at k (each an exact-size copy), decoding into out.  Returns the final rc;
 * *used is the raw bytes consumed in total, *got the decoded length. */
static int feed_split(struct http_body *b, const char *s, size_t n, size_t k, char *out, size_t *used, size_t *got)
{
    size_t cuts[3] = { 0, k, n };
    int rc = HTTP_INCOMPLETE;
    *used = *got = 0;
    for (int i = 0; i < 2 && rc == HTTP_INCOMPLETE; i++) {
        size_t len = cuts[i + 1] - cuts[i], c, p;
        char *piece = exact_copy(s + cuts[i], len);
        rc = http_body_feed(b, piece, len, out ? out + *got : NULL, &c, &p);
        free(piece);
        ck_assert_uint_le(c, len);
        ck_assert_uint_le(p, c);
        *used += c;
        *got += p;
        if (rc == HTTP_INCOMPLETE)
            ck_assert_uint_eq(c, len); /* an incomplete body takes every byte it is given */
    }
    return rc;
}

static const char chunked[] = "5\r\nhello\r\n1;ext=\"v\"\r\n \r\nA  \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
#define CHUNKED_DATA "hello 0123456789"

/* Feeds s split in two at every position; each must end with want_rc (and, when 1, decode want_data). */
static void check_chunked_splits(const char *s, int want_rc, const char *want_data)
{
    size_t n = strlen(s);
    for (size_t k = 0; k <= n; k++) {
        struct http_body b;
        char out[128];
        size_t used, got;
        http_body_init(&b, HTTP_BODY_CHUNKED, 0, 1000);
        int rc = feed_split(&b, s, n, k, out, &used, &got);
        ck_assert_msg(rc == want_rc, "split %zu of %s: rc %d (%s)", k, s, rc, b.error ? b.error : "");
        if (want_rc < 0) {
            ck_assert_ptr_nonnull(b.error);
            continue;
        }
        ck_assert_uint_eq(used, n);
        ck_assert_uint_eq(got, strlen(want_data));
        ck_assert(memcmp(out, want_data, got) == 0);
        ck_assert_uint_eq(b.decoded, got);
        ck_assert(b.done);
    }
}

START_TEST(chunked_every_split)
{
    check_chunked_splits(chunked, 1, CHUNKED_DATA);
}
END_TEST

START_TEST(chunked_byte_at_a_time_in_place)
{
    char buf[sizeof chunked];
    memcpy(buf, chunked, sizeof chunked);
    struct http_body b;
    http_body_init(&b, HTTP_BODY_CHUNKED, 0, 0);
    size_t raw = 0, dec = 0, c, p;
    int rc = HTTP_INCOMPLETE;
    while (rc == HTTP_INCOMPLETE && raw < strlen(chunked)) {
        rc = http_body_feed(&b, buf + raw, 1, buf + dec, &c, &p); /* out lies before in: in place */
        raw += c;
        dec += p;
    }
    ck_assert_int_eq(rc, 1);
    ck_assert_uint_eq(dec, strlen(CHUNKED_DATA));
    ck_assert(memcmp(buf, CHUNKED_DATA, dec) == 0);
}
END_TEST

START_TEST(chunked_framing_only_stops_at_end)
{
    /* out NULL: a proxy finds where the message ends; what follows is the next request */
    const char *s = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    struct http_body b;
    size_t c, p;
    http_body_init(&b, HTTP_BODY_CHUNKED, 0, 0);
    ck_assert_int_eq(http_body_feed(&b, s, strlen(s), NULL, &c, &p), 1);
    ck_assert_uint_eq(c, strlen("3\r\nabc\r\n0\r\n\r\n"));
    ck_assert_uint_eq(b.decoded, 3);
    /* a finished body takes nothing more */
    ck_assert_int_eq(http_body_feed(&b, s + c, 3, NULL, &c, &p), 1);
    ck_assert_uint_eq(c, 0);
}
END_TEST

START_TEST(length_body_split)
{
    const char *s = "0123456789NEXT";
    for (size_t k = 0; k <= 14; k++) {
        struct http_body b;
        char out[16];
        size_t used, got;
        http_body_init(&b, HTTP_BODY_LENGTH, 10, 100);
        int rc = feed_split(&b, s, 14, k, out, &used, &got);
        ck_assert_int_eq(rc, 1);
        ck_assert_uint_eq(used, 10);
        ck_assert(memcmp(out, "0123456789", 10) == 0);
    }
}
END_TEST

START_TEST(none_and_empty_are_done)
{
    struct http_body b;
    size_t c, p;
    http_body_init(&b, HTTP_BODY_NONE, 0, 0);
    ck_assert(b.done);
    ck_assert_int_eq(http_body_feed(&b, "xyz", 3, NULL, &c, &p), 1);
    ck_assert_uint_eq(c, 0);
    http_body_init(&b, HTTP_BODY_LENGTH, 0, 10);
    ck_assert_int_eq(http_body_feed(&b, "xyz", 3, NULL, &c, &p), 1);
    ck_assert_uint_eq(c, 0);
}
END_TEST

START_TEST(until_close_takes_everything)
{
    struct http_body b;
    size_t c, p;
    http_body_init(&b, HTTP_BODY_UNTIL_CLOSE, 0, 8);
    ck_assert_int_eq(http_body_feed(&b, "abcde", 5, NULL, &c, &p), HTTP_INCOMPLETE);
    ck_assert_uint_eq(c, 5);
    ck_assert_int_eq(http_body_feed(&b, "fghij", 5, NULL, &c, &p), -413);
}
END_TEST

START_TEST(chunked_over_max_413)
{
    struct http_body b;
    size_t c, p;
    char out[64];
    http_body_init(&b, HTTP_BODY_CHUNKED, 0, 8);
    const char *s = "5\r\nhello\r\n4\r\nabcd\r\n0\r\n\r\n";
    ck_assert_int_eq(http_body_feed(&b, s, strlen(s), out, &c, &p), -413);
    ck_assert_ptr_nonnull(b.error);
    /* the error is sticky */
    ck_assert_int_eq(http_body_feed(&b, "0\r\n\r\n", 5, out, &c, &p), -413);
}
END_TEST

START_TEST(length_over_max_413)
{
    struct http_body b;
    size_t c, p;
    http_body_init(&b, HTTP_BODY_LENGTH, 101, 100);
    ck_assert_int_eq(http_body_feed(&b, "x", 1, NULL, &c, &p), -413);
}
END_TEST

#define BAD_CHUNK(name, text) \
    START_TEST(name) { check_chunked_splits(text, -400, NULL); } END_TEST

BAD_CHUNK(chunk_size_not_hex, "zz\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_size_empty, "\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_size_negative, "-5\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_size_0x, "0x5\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_size_overflow, "10000000000000000\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_size_garbage_after_space, "5 x\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_size_bare_lf, "5\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_data_too_long, "3\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_data_bare_lf, "5\r\nhello\n0\r\n\r\n")
BAD_CHUNK(chunk_end_bare_lf, "5\r\nhello\r\n0\r\n\n")
BAD_CHUNK(chunk_ext_control, "5;a=\001\r\nhello\r\n0\r\n\r\n")
BAD_CHUNK(chunk_trailer_bare_lf, "0\r\nX: y\n\r\n")

Suite *test_suite(void)
{
    Suite *s = suite_create("http_body");
    TCase *ok = tcase_create("valid");
    tcase_add_test(ok, chunked_every_split);
    tcase_add_test(ok, chunked_byte_at_a_time_in_place);
    tcase_add_test(ok, chunked_framing_only_stops_at_end);
    tcase_add_test(ok, length_body_split);
    tcase_add_test(ok, none_and_empty_are_done);
    tcase_add_test(ok, until_close_takes_everything);
    suite_add_tcase(s, ok);
    TCase *lim = tcase_create("limits");
    tcase_add_test(lim, chunked_over_max_413);
    tcase_add_test(lim, length_over_max_413);
    suite_add_tcase(s, lim);
    TCase *bad = tcase_create("malformed");
    tcase_add_test(bad, chunk_size_not_hex);
    tcase_add_test(bad, chunk_size_empty);
    tcase_add_test(bad, chunk_size_negative);
    tcase_add_test(bad, chunk_size_0x);
    tcase_add_test(bad, chunk_size_overflow);
    tcase_add_test(bad, chunk_size_garbage_after_space);
    tcase_add_test(bad, chunk_size_bare_lf);
    tcase_add_test(bad, chunk_data_too_long);
    tcase_add_test(bad, chunk_data_bare_lf);
    tcase_add_test(bad, chunk_end_bare_lf);
    tcase_add_test(bad, chunk_ext_control);
    tcase_add_test(bad, chunk_trailer_bare_lf);
    suite_add_tcase(s, bad);
    return s;
}
