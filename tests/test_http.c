/* test_http: the request-head parser — fields, keep-alive, pipelining, every split, every limit, and
 * one test per malformed case (each must be rejected with the right status, never accepted). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "net/http.h"
#include "net/http_cond.h"
#include "tests/http_testlib.h"

#define MAX_HDRS 16

static struct http_header hdrs[MAX_HDRS];

/* Parses an exact-size copy of s (so ASan catches any read past the input) with the given limits
 * (NULL = defaults).  The copy lives until the next call, so the views stay valid. */
static int parse_lim(const char *s, size_t n, const struct http_limits *lim, struct http_request *req)
{
    static char *copy;
    free(copy);
    copy = exact_copy(s, n);
    return http_parse_request(copy, n, lim, req, hdrs, MAX_HDRS);
}

static int parse(const char *s, struct http_request *req)
{
    return parse_lim(s, strlen(s), NULL, req);
}

/* Every prefix answers INCOMPLETE (or, for a bad request, already the final error); the whole answers
 * `expect`.  This is the "split at every byte boundary" property. */
static void check_every_split(const char *s, const struct http_limits *lim, int expect)
{
    struct http_request req;
    size_t n = strlen(s);
    for (size_t k = 0; k < n; k++) {
        int rc = parse_lim(s, k, lim, &req);
        if (expect > 0 && k < (size_t)expect)
            ck_assert_msg(rc == HTTP_INCOMPLETE, "prefix %zu of %zu: rc %d", k, n, rc);
        else
            ck_assert_msg(rc == HTTP_INCOMPLETE || rc == expect, "prefix %zu: rc %d, want %d", k, rc, expect);
    }
    ck_assert_int_eq(parse_lim(s, n, lim, &req), expect);
}

/* Asserts s is rejected with -status, whole and at every split. */
static void check_rejected(const char *s, int status)
{
    struct http_request req;
    int rc = parse(s, &req);
    ck_assert_msg(rc == -status, "want -%d, got %d (%s) for %s", status, rc, req.error ? req.error : "", s);
    ck_assert_ptr_nonnull(req.error);
    check_every_split(s, NULL, -status);
}

START_TEST(simple_get)
{
    struct http_request req;
    const char *s = "GET /predict?backends=2&x=y HTTP/1.1\r\nHost: localhost:5000\r\nUser-Agent: t\r\n\r\n";
    ck_assert_int_eq(parse(s, &req), (int)strlen(s));
    ck_assert_view(req.method, "GET");
    ck_assert_view(req.target, "/predict?backends=2&x=y");
    ck_assert_view(req.path, "/predict");
    ck_assert_view(req.query, "backends=2&x=y");
    ck_assert_int_eq(req.minor_version, 1);
    ck_assert_uint_eq(req.num_headers, 2);
    ck_assert_view(req.headers[0].name, "Host");
    ck_assert_view(req.headers[0].value, "localhost:5000");
    ck_assert_int_eq(req.framing, HTTP_BODY_NONE);
    ck_assert(req.keep_alive);
    ck_assert(!req.expect_continue);
    ck_assert_uint_eq(req.head_len, strlen(s));
}
END_TEST

START_TEST(post_content_length)
{
    struct http_request req;
    const char *s = "POST /predict HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
    int rc = parse(s, &req);
    ck_assert_int_eq(rc, (int)strlen(s) - 11);
    ck_assert_int_eq(req.framing, HTTP_BODY_LENGTH);
    ck_assert_uint_eq(req.content_length, 11);
    ck_assert_view(req.query, "");
}
END_TEST

START_TEST(post_chunked)
{
    struct http_request req;
    const char *s = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    ck_assert_int_gt(parse(s, &req), 0);
    ck_assert_int_eq(req.framing, HTTP_BODY_CHUNKED);
}
END_TEST

START_TEST(header_values_trimmed_and_found)
{
    struct http_request req;
    const char *s = "GET / HTTP/1.1\r\nHost:h\r\nX-A: \t spaced value \t\r\nx-empty:\r\n\r\n";
    ck_assert_int_gt(parse(s, &req), 0);
    const struct http_header *h = http_find_header(req.headers, req.num_headers, "X-a");
    ck_assert_ptr_nonnull(h);
    ck_assert_view(h->value, "spaced value");
    h = http_find_header(req.headers, req.num_headers, "X-EMPTY");
    ck_assert_ptr_nonnull(h);
    ck_assert_view(h->value, "");
    ck_assert_ptr_null(http_find_header(req.headers, req.num_headers, "missing"));
}
END_TEST

START_TEST(pipelined_requests)
{
    const char *s = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                    "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
                    "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    const char *want[] = { "/a", "/b", "/c" };
    size_t off = 0, len = strlen(s);
    for (int i = 0; i < 3; i++) {
        struct http_request req;
        int rc = http_parse_request(s + off, len - off, NULL, &req, hdrs, MAX_HDRS);
        ck_assert_int_gt(rc, 0);
        ck_assert_view(req.path, want[i]);
        ck_assert(req.keep_alive == (i < 2));
        off += (size_t)rc + (req.framing == HTTP_BODY_LENGTH ? req.content_length : 0);
    }
    ck_assert_uint_eq(off, len);
}
END_TEST

START_TEST(every_split_valid)
{
    const char *s = "\r\nPOST /submit?backends=1 HTTP/1.1\r\nHost: example\r\nContent-Type: multipart/form-data; "
                    "boundary=xyz\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
    check_every_split(s, NULL, (int)strlen(s));
}
END_TEST

START_TEST(keep_alive_semantics)
{
    struct http_request req;
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\n\r\n", &req), 0);
    ck_assert(!req.keep_alive);
    ck_assert_int_eq(req.minor_version, 0);
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req), 0);
    ck_assert(req.keep_alive);
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: TE, close\r\n\r\n", &req), 0);
    ck_assert(!req.keep_alive);
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n", &req), 0);
    ck_assert(req.keep_alive);
}
END_TEST

START_TEST(expect_continue)
{
    struct http_request req;
    ck_assert_int_gt(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\nExpect: 100-Continue\r\n\r\n", &req), 0);
    ck_assert(req.expect_continue);
    ck_assert_int_gt(parse("POST / HTTP/1.0\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n", &req), 0);
    ck_assert(!req.expect_continue);
}
END_TEST

/* RFC 9110 §2.5: a later 1.x minor version is answered as the highest we speak, 1.1. */
START_TEST(version_1_2_is_served_as_1_1)
{
    struct http_request req;
    ck_assert_int_gt(parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n", &req), 0);
    ck_assert_int_eq(req.minor_version, 1);
    ck_assert(req.keep_alive);
}
END_TEST

START_TEST(target_forms)
{
    struct http_request req;
    ck_assert_int_gt(parse("GET http://example.com/x/y?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", &req), 0);
    ck_assert_view(req.path, "/x/y");
    ck_assert_view(req.query, "q=1");
    ck_assert_int_gt(parse("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", &req), 0);
    ck_assert_view(req.path, "/");
    ck_assert_int_gt(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &req), 0);
    ck_assert_view(req.path, "*");
    check_rejected("CONNECT example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", 501);
    check_rejected("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400); /* '*' is for OPTIONS only */
    check_rejected("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

/* ---- limits ---------------------------------------------------------------------------------------- */

START_TEST(limit_target_414)
{
    struct http_limits lim = { 1024, 16, 100 };
    struct http_request req;
    const char *ok = "GET /0123456789abcde HTTP/1.1\r\nHost: h\r\n\r\n"; /* target of exactly 16 */
    ck_assert_int_gt(parse_lim(ok, strlen(ok), &lim, &req), 0);
    const char *bad = "GET /0123456789abcdef HTTP/1.1\r\nHost: h\r\n\r\n";
    ck_assert_int_eq(parse_lim(bad, strlen(bad), &lim, &req), -414);
    check_every_split(bad, &lim, -414);
    /* still incomplete, but already too long */
    ck_assert_int_eq(parse_lim(bad, 22, &lim, &req), -414);
}
END_TEST

/* The first problem in the input decides, so a longer read never changes the answer. */
START_TEST(verdict_in_input_order)
{
    struct http_limits lim = { 64, 8, 100 };
    check_every_split("GET /0123456789 HTTP/1.1\nHost: h\r\n\r\n", &lim, -414);    /* long target, then bare LF */
    check_every_split("GET /0123456789\r HTTP/1.1\r\n\r\n", &lim, -414);            /* long target, then bare CR */
    check_every_split("GET /a\001bcdefghijk HTTP/1.1\r\n\r\n", &lim, -400);         /* bad byte before the limit */
    check_every_split("GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789012345678901234567890123456789\n\r\n",
                      &lim, -431); /* the line crosses max_head before its bare LF */
}
END_TEST

START_TEST(limit_head_431)
{
    struct http_limits lim = { 64, 32, 100 };
    struct http_request req;
    const char *bad = "GET / HTTP/1.1\r\nHost: h\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    ck_assert_int_eq(parse_lim(bad, strlen(bad), &lim, &req), -431);
    check_every_split(bad, &lim, -431);
    /* an incomplete head already over the limit */
    char big[200];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    ck_assert_int_eq(parse_lim(big, sizeof big, &lim, &req), -431);
}
END_TEST

START_TEST(limit_header_count_431)
{
    char s[2048] = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < MAX_HDRS; i++)
        snprintf(s + strlen(s), sizeof s - strlen(s), "X-%d: v\r\n", i);
    strcat(s, "\r\n");
    check_rejected(s, 431);
}
END_TEST

START_TEST(limit_body_413)
{
    struct http_limits lim = { 1024, 64, 1000 };
    struct http_request req;
    const char *ok = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n";
    ck_assert_int_gt(parse_lim(ok, strlen(ok), &lim, &req), 0);
    const char *bad = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n";
    ck_assert_int_eq(parse_lim(bad, strlen(bad), &lim, &req), -413);
}
END_TEST

/* ---- malformed: one case per test ------------------------------------------------------------------ */
#define REJECT(name, status, text) \
    START_TEST(name) { check_rejected(text, status); } END_TEST

REJECT(bare_lf_request_line, 400, "GET / HTTP/1.1\nHost: h\r\n\r\n")
REJECT(bare_lf_header, 400, "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n")
REJECT(bare_lf_end_of_head, 400, "GET / HTTP/1.1\r\nHost: h\r\n\n")
REJECT(bare_cr_request_line, 400, "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n")
REJECT(bare_cr_header_value, 400, "GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n")
REJECT(space_before_colon, 400, "GET / HTTP/1.1\r\nHost : h\r\n\r\n")
REJECT(obs_fold, 400, "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  folded\r\n\r\n")
REJECT(header_without_colon, 400, "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n")
REJECT(empty_header_name, 400, "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n")
REJECT(control_char_in_value, 400, "GET / HTTP/1.1\r\nHost: h\r\nX: a\001b\r\n\r\n")
REJECT(bad_method_char, 400, "G(T / HTTP/1.1\r\nHost: h\r\n\r\n")
REJECT(double_space, 400, "GET  / HTTP/1.1\r\nHost: h\r\n\r\n")
REJECT(missing_version, 400, "GET /\r\nHost: h\r\n\r\n")
REJECT(target_not_slash, 400, "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n")
REJECT(target_high_byte, 400, "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n")
REJECT(version_garbage, 400, "GET / HTTP/1.x\r\nHost: h\r\n\r\n")
REJECT(version_lowercase, 400, "GET / http/1.1\r\nHost: h\r\n\r\n")
REJECT(version_trailing, 400, "GET / HTTP/1.11\r\nHost: h\r\n\r\n")
REJECT(version_2, 505, "GET / HTTP/2.0\r\nHost: h\r\n\r\n")
REJECT(version_3_1, 505, "GET / HTTP/3.1\r\nHost: h\r\n\r\n")
REJECT(te_chunked_not_last, 400, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
REJECT(te_gzip_alone, 400, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n")
REJECT(missing_host, 400, "GET / HTTP/1.1\r\n\r\n")
REJECT(duplicate_host, 400, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
REJECT(cl_not_number, 400, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12a\r\n\r\n")
REJECT(cl_negative, 400, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n")
REJECT(cl_empty, 400, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n")
REJECT(cl_list, 400, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n")
REJECT(cl_duplicate, 400, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n")
REJECT(cl_overflow, 400, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n")
REJECT(cl_and_te, 400, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
REJECT(te_unsupported, 501, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
REJECT(te_chunked_twice, 400, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")
REJECT(te_empty, 400, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n")
REJECT(te_on_http10, 400, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n")

/* ---- conditional GET (net/http_cond) ---------------------------------------------------------------- */

static struct http_header hdr(const char *name, const char *value)
{
    return (struct http_header){ http_str_from(name, strlen(name)), http_str_from(value, strlen(value)) };
}

START_TEST(http_dates_in_all_three_forms)
{
    time_t t;
    char out[HTTP_DATE_LEN + 1];
    ck_assert_int_eq(http_date_format(784111777, out, sizeof out), 0);
    ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    static const char *const forms[] = { "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                                         "Sun Nov  6 08:49:37 1994" };
    for (size_t i = 0; i < 3; i++) {
        ck_assert_msg(http_date_parse(http_str_from(forms[i], strlen(forms[i])), &t) == 0, "%s", forms[i]);
        ck_assert_int_eq(t, 784111777);
    }
    static const char *const bad[] = { "", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 GMT x" };
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(http_date_parse(http_str_from(bad[i], strlen(bad[i])), &t) == -1, "%s", bad[i]);
}
END_TEST

START_TEST(not_modified_by_etag_or_date)
{
    const char *etag = "\"1a-2b\"";
    time_t lm = 784111777;
    struct http_header h[3] = { hdr("Accept", "*/*") };
    ck_assert(!http_not_modified(h, 1, etag, lm)); /* unconditional */
    h[0] = hdr("If-None-Match", "\"1a-2b\"");
    ck_assert(http_not_modified(h, 1, etag, lm));
    h[0] = hdr("if-none-match", "\"x\", W/\"1a-2b\""); /* a list; weak comparison */
    ck_assert(http_not_modified(h, 1, etag, lm));
    h[0] = hdr("If-None-Match", "*");
    ck_assert(http_not_modified(h, 1, etag, lm));
    h[0] = hdr("If-None-Match", "\"1a-2c\"");
    ck_assert(!http_not_modified(h, 1, etag, lm));
    h[0] = hdr("If-None-Match", "\"x\"");
    h[1] = hdr("If-None-Match", "\"1a-2b\""); /* a second header line extends the list */
    ck_assert(http_not_modified(h, 2, etag, lm));
    h[0] = hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_assert(http_not_modified(h, 1, etag, lm));
    ck_assert(!http_not_modified(h, 1, etag, lm + 1)); /* changed a second later */
    h[0] = hdr("If-Modified-Since", "not a date");
    ck_assert(!http_not_modified(h, 1, etag, lm));
    /* RFC 9110 13.2.2: with If-None-Match present, If-Modified-Since is not looked at */
    h[0] = hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    h[1] = hdr("If-None-Match", "\"other\"");
    ck_assert(!http_not_modified(h, 2, etag, lm));
    h[1] = hdr("If-None-Match", "\"1a-2b\"");
    h[0] = hdr("If-Modified-Since", "Sat, 01 Jan 1994 00:00:00 GMT");
    ck_assert(http_not_modified(h, 2, etag, lm));
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("http_request");
    TCase *ok = tcase_create("valid");
    tcase_add_test(ok, simple_get);
    tcase_add_test(ok, post_content_length);
    tcase_add_test(ok, post_chunked);
    tcase_add_test(ok, version_1_2_is_served_as_1_1);
    tcase_add_test(ok, header_values_trimmed_and_found);
    tcase_add_test(ok, pipelined_requests);
    tcase_add_test(ok, every_split_valid);
    tcase_add_test(ok, keep_alive_semantics);
    tcase_add_test(ok, expect_continue);
    tcase_add_test(ok, target_forms);
    tcase_add_test(ok, http_dates_in_all_three_forms);
    tcase_add_test(ok, not_modified_by_etag_or_date);
    suite_add_tcase(s, ok);

    TCase *lim = tcase_create("limits");
    tcase_add_test(lim, limit_target_414);
    tcase_add_test(lim, verdict_in_input_order);
    tcase_add_test(lim, limit_head_431);
    tcase_add_test(lim, limit_header_count_431);
    tcase_add_test(lim, limit_body_413);
    suite_add_tcase(s, lim);

    TCase *bad = tcase_create("malformed");
    tcase_add_test(bad, bare_lf_request_line);
    tcase_add_test(bad, bare_lf_header);
    tcase_add_test(bad, bare_lf_end_of_head);
    tcase_add_test(bad, bare_cr_request_line);
    tcase_add_test(bad, bare_cr_header_value);
    tcase_add_test(bad, space_before_colon);
    tcase_add_test(bad, obs_fold);
    tcase_add_test(bad, header_without_colon);
    tcase_add_test(bad, empty_header_name);
    tcase_add_test(bad, control_char_in_value);
    tcase_add_test(bad, bad_method_char);
    tcase_add_test(bad, double_space);
    tcase_add_test(bad, missing_version);
    tcase_add_test(bad, target_not_slash);
    tcase_add_test(bad, target_high_byte);
    tcase_add_test(bad, version_garbage);
    tcase_add_test(bad, version_lowercase);
    tcase_add_test(bad, version_trailing);
    tcase_add_test(bad, version_2);
    tcase_add_test(bad, missing_host);
    tcase_add_test(bad, duplicate_host);
    tcase_add_test(bad, cl_not_number);
    tcase_add_test(bad, cl_negative);
    tcase_add_test(bad, cl_empty);
    tcase_add_test(bad, cl_list);
    tcase_add_test(bad, cl_duplicate);
    tcase_add_test(bad, cl_overflow);
    tcase_add_test(bad, cl_and_te);
    tcase_add_test(bad, te_unsupported);
    tcase_add_test(bad, te_chunked_twice);
    tcase_add_test(bad, te_chunked_not_last);
    tcase_add_test(bad, te_gzip_alone);
    tcase_add_test(bad, version_3_1);
    tcase_add_test(bad, te_empty);
    tcase_add_test(bad, te_on_http10);
    suite_add_tcase(s, bad);
    return s;
}
