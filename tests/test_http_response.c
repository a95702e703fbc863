/* test_http_response: the response-head parser (framing a proxy relies on), the response writer,
 * JSON escaping, and the small helpers (query parameters, percent-decoding, numbers, reasons). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "net/http.h"
#include "net/json_write.h"
#include "tests/http_testlib.h"

static struct http_header hdrs[16];

static int parse_resp(const char *s, size_t n, bool head, struct http_response *res)
{
    static char *copy;
    free(copy);
    copy = exact_copy(s, n);
    return http_parse_response(copy, n, head, 4096, res, hdrs, 16);
}

static int parse(const char *s, struct http_response *res)
{
    return parse_resp(s, strlen(s), false, res);
}

START_TEST(response_content_length)
{
    struct http_response res;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    ck_assert_int_eq(parse(s, &res), (int)strlen(s) - 2);
    ck_assert_int_eq(res.status, 200);
    ck_assert_view(res.reason, "OK");
    ck_assert_int_eq(res.framing, HTTP_BODY_LENGTH);
    ck_assert_uint_eq(res.content_length, 2);
    ck_assert(res.keep_alive);
    ck_assert_uint_eq(res.num_headers, 2);
}
END_TEST

START_TEST(response_every_split)
{
    const char *s = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
    size_t n = strlen(s);
    struct http_response res;
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(parse_resp(s, k, false, &res), HTTP_INCOMPLETE);
    ck_assert_int_eq(parse_resp(s, n, false, &res), (int)n);
    ck_assert_int_eq(res.status, 404);
}
END_TEST

START_TEST(response_chunked)
{
    struct http_response res;
    ck_assert_int_gt(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &res), 0);
    ck_assert_int_eq(res.framing, HTTP_BODY_CHUNKED);
    ck_assert(res.keep_alive);
}
END_TEST

START_TEST(response_until_close)
{
    struct http_response res;
    ck_assert_int_gt(parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", &res), 0);
    ck_assert_int_eq(res.framing, HTTP_BODY_UNTIL_CLOSE);
    ck_assert(!res.keep_alive);
    ck_assert_int_gt(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &res), 0);
    ck_assert_int_eq(res.framing, HTTP_BODY_UNTIL_CLOSE);
}
END_TEST

START_TEST(response_without_body)
{
    struct http_response res;
    ck_assert_int_gt(parse("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", &res), 0);
    ck_assert_int_eq(res.framing, HTTP_BODY_NONE);
    ck_assert_int_gt(parse("HTTP/1.1 304 Not Modified\r\n\r\n", &res), 0);
    ck_assert_int_eq(res.framing, HTTP_BODY_NONE);
    ck_assert(res.keep_alive);
    ck_assert_int_gt(parse("HTTP/1.1 100 Continue\r\n\r\n", &res), 0);
    ck_assert_int_eq(res.framing, HTTP_BODY_NONE);
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    ck_assert_int_gt(parse_resp(s, strlen(s), true, &res), 0); /* answer to HEAD */
    ck_assert_int_eq(res.framing, HTTP_BODY_NONE);
}
END_TEST

START_TEST(response_http10_and_close)
{
    struct http_response res;
    ck_assert_int_gt(parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", &res), 0);
    ck_assert(!res.keep_alive);
    ck_assert_int_gt(parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", &res), 0);
    ck_assert(res.keep_alive);
    ck_assert_int_gt(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", &res), 0);
    ck_assert(!res.keep_alive);
    ck_assert_int_gt(parse("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", &res), 0);
    ck_assert_view(res.reason, "");
}
END_TEST

#define BAD_RESPONSE(name, text) \
    START_TEST(name) { struct http_response r; ck_assert_int_eq(parse(text, &r), -502); ck_assert_ptr_nonnull(r.error); } END_TEST

BAD_RESPONSE(response_bad_version, "HTTP/2 200 OK\r\n\r\n")
BAD_RESPONSE(response_bad_status, "HTTP/1.1 2x0 OK\r\n\r\n")
BAD_RESPONSE(response_status_too_small, "HTTP/1.1 099 OK\r\n\r\n")
BAD_RESPONSE(response_bare_lf, "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n")
BAD_RESPONSE(response_cl_and_te, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
BAD_RESPONSE(response_cl_duplicate, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
BAD_RESPONSE(response_cl_garbage, "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n")
BAD_RESPONSE(response_space_before_colon, "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n")

START_TEST(response_head_too_large)
{
    char big[5000];
    memset(big, 'a', sizeof big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    struct http_response res;
    ck_assert_int_eq(parse_resp(big, sizeof big, false, &res), -502);
}
END_TEST

/* ---- writer ---------------------------------------------------------------------------------------- */

START_TEST(write_head_and_parse_back)
{
    char buf[512];
    struct http_response_head h = { 200, "text/html", 1234, true, true, "X-Worker: w1\r\n" };
    ssize_t n = http_write_head(buf, sizeof buf, &h);
    ck_assert_int_gt(n, 0);
    struct http_response res;
    ck_assert_int_eq(parse_resp(buf, (size_t)n, false, &res), n);
    ck_assert_int_eq(res.status, 200);
    ck_assert_uint_eq(res.content_length, 1234);
    ck_assert(res.keep_alive);
    ck_assert_ptr_nonnull(http_find_header(res.headers, res.num_headers, "date"));
    ck_assert_view(http_find_header(res.headers, res.num_headers, "x-worker")->value, "w1");
    ck_assert_view(http_find_header(res.headers, res.num_headers, "content-type")->value, "text/html");
}
END_TEST

START_TEST(write_head_too_small)
{
    char buf[512];
    struct http_response_head h = { 200, "text/html", 10, false, false, NULL };
    ssize_t n = http_write_head(buf, sizeof buf, &h);
    ck_assert_int_gt(n, 0);
    for (size_t cap = 0; cap < (size_t)n; cap++)
        ck_assert_int_eq(http_write_head(buf, cap, &h), -1);
    ck_assert_int_eq(http_write_head(buf, (size_t)n, &h), n);
}
END_TEST

START_TEST(write_response_with_body)
{
    char buf[256];
    ssize_t n = http_write_response(buf, sizeof buf, 404, "text/plain", "nope", 4, false);
    ck_assert_int_gt(n, 0);
    ck_assert(memcmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
    ck_assert(memcmp(buf + n - 8, "\r\n\r\nnope", 8) == 0);
    struct http_response res;
    ck_assert_int_eq(parse_resp(buf, (size_t)n, false, &res), n - 4);
    ck_assert(!res.keep_alive);
    ck_assert_int_eq(http_write_response(buf, 20, 404, "text/plain", "nope", 4, false), -1);
}
END_TEST

START_TEST(write_json_error)
{
    char buf[512];
    ssize_t n = http_write_error(buf, sizeof buf, 413, "image_too_large", "20000x20000 \"big\"", true);
    ck_assert_int_gt(n, 0);
    struct http_response res;
    int head = parse_resp(buf, (size_t)n, false, &res);
    ck_assert_int_gt(head, 0);
    ck_assert_int_eq(res.status, 413);
    const char *body = "{\"error\":\"image_too_large\",\"detail\":\"20000x20000 \\\"big\\\"\"}\n";
    ck_assert_uint_eq(res.content_length, strlen(body));
    ck_assert_int_eq(n - head, (ssize_t)strlen(body));
    ck_assert(memcmp(buf + head, body, strlen(body)) == 0);
    ck_assert_view(http_find_header(res.headers, res.num_headers, "content-type")->value, "application/json");
    /* no detail: the reason phrase */
    n = http_write_error(buf, sizeof buf, 404, "not_found", NULL, false);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "\"detail\":\"Not Found\""));
}
END_TEST

START_TEST(json_escape_cases)
{
    char out[64];
    ck_assert_int_eq(json_escape(out, sizeof out, "a\"b\\c", 5), 7);
    ck_assert_str_eq(out, "a\\\"b\\\\c");
    ck_assert_int_eq(json_escape(out, sizeof out, "\n\t\r\x01\x1f", 5), 18);
    ck_assert_str_eq(out, "\\n\\t\\r\\u0001\\u001f");
    ck_assert_int_eq(json_escape(out, sizeof out, "caf\xc3\xa9 \xe2\x82\xac", 9), 9); /* valid UTF-8 kept */
    ck_assert_str_eq(out, "caf\xc3\xa9 \xe2\x82\xac");
    ck_assert_int_eq(json_escape(out, sizeof out, "a\xff\xc3", 3), 7); /* invalid bytes → U+FFFD */
    ck_assert_str_eq(out, "a\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_int_eq(json_escape(out, sizeof out, "\xed\xa0\x80", 3), 9); /* a surrogate is not UTF-8 */
    ck_assert_int_eq(json_escape(out, sizeof out, "a\0b", 3), 8);
    ck_assert_str_eq(out, "a\\u0000b");
    ck_assert_int_eq(json_escape(out, 3, "abc\"", 4), -1);
    ck_assert_int_eq(json_escape(out, 3, "abc", 3), 3);
}
END_TEST

START_TEST(json_error_body_exact)
{
    char out[128];
    ck_assert_int_eq(json_error_body(out, sizeof out, "bad", "x\ny"), 31);
    ck_assert_str_eq(out, "{\"error\":\"bad\",\"detail\":\"x\\ny\"}");
    ck_assert_int_eq(json_error_body(out, 10, "bad", "x"), -1);
}
END_TEST

/* ---- helpers --------------------------------------------------------------------------------------- */

START_TEST(query_params)
{
    const char *q = "a=1&backends=2&empty=&flag&sp%61ce=x+y%21&number_backend_servers=3";
    struct http_str query = http_str_from(q, strlen(q)), v;
    ck_assert(http_query_param(query, "backends", &v));
    ck_assert_view(v, "2");
    ck_assert(http_query_param(query, "empty", &v));
    ck_assert_view(v, "");
    ck_assert(http_query_param(query, "flag", &v));
    ck_assert_view(v, "");
    ck_assert(http_query_param(query, "space", &v)); /* the name is compared decoded */
    char out[16];
    ck_assert_int_eq(http_percent_decode(v, out, sizeof out, true), 4);
    ck_assert(memcmp(out, "x y!", 4) == 0);
    ck_assert(http_query_param(query, "number_backend_servers", &v));
    ck_assert_view(v, "3");
    ck_assert(!http_query_param(query, "back", &v));
    ck_assert(!http_query_param(http_str_from("", 0), "a", &v));
}
END_TEST

START_TEST(percent_decoding)
{
    char out[8];
    struct http_str s = http_str_from("%2Fa+b%7e", 9);
    ck_assert_int_eq(http_percent_decode(s, out, sizeof out, false), 5);
    ck_assert(memcmp(out, "/a+b~", 5) == 0);
    ck_assert_int_eq(http_percent_decode(http_str_from("%2", 2), out, sizeof out, false), -1);
    ck_assert_int_eq(http_percent_decode(http_str_from("%zz", 3), out, sizeof out, false), -1);
    ck_assert_int_eq(http_percent_decode(http_str_from("abc", 3), out, 2, false), -1);
}
END_TEST

START_TEST(uint_parsing)
{
    uint64_t v;
    ck_assert_int_eq(http_parse_uint(http_str_from("42", 2), 100, &v), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(http_parse_uint(http_str_from("101", 3), 100, &v), -1);
    ck_assert_int_eq(http_parse_uint(http_str_from("", 0), 100, &v), -1);
    ck_assert_int_eq(http_parse_uint(http_str_from("4x", 2), 100, &v), -1);
    ck_assert_int_eq(http_parse_uint(http_str_from("18446744073709551615", 20), UINT64_MAX, &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(http_parse_uint(http_str_from("18446744073709551616", 20), UINT64_MAX, &v), -1);
}
END_TEST

START_TEST(reasons)
{
    ck_assert_str_eq(http_reason(200), "OK");
    ck_assert_str_eq(http_reason(413), "Content Too Large");
    ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(http_reason(505), "HTTP Version Not Supported");
    ck_assert_str_eq(http_reason(299), "Unknown");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("http_response");
    TCase *p = tcase_create("parse");
    tcase_add_test(p, response_content_length);
    tcase_add_test(p, response_every_split);
    tcase_add_test(p, response_chunked);
    tcase_add_test(p, response_until_close);
    tcase_add_test(p, response_without_body);
    tcase_add_test(p, response_http10_and_close);
    tcase_add_test(p, response_bad_version);
    tcase_add_test(p, response_bad_status);
    tcase_add_test(p, response_status_too_small);
    tcase_add_test(p, response_bare_lf);
    tcase_add_test(p, response_cl_and_te);
    tcase_add_test(p, response_cl_duplicate);
    tcase_add_test(p, response_cl_garbage);
    tcase_add_test(p, response_space_before_colon);
    tcase_add_test(p, response_head_too_large);
    suite_add_tcase(s, p);
    TCase *w = tcase_create("write");
    tcase_add_test(w, write_head_and_parse_back);
    tcase_add_test(w, write_head_too_small);
    tcase_add_test(w, write_response_with_body);
    tcase_add_test(w, write_json_error);
    tcase_add_test(w, json_escape_cases);
    tcase_add_test(w, json_error_body_exact);
    suite_add_tcase(s, w);
    TCase *h = tcase_create("helpers");
    tcase_add_test(h, query_params);
    tcase_add_test(h, percent_decoding);
    tcase_add_test(h, uint_parsing);
    tcase_add_test(h, reasons);
    suite_add_tcase(s, h);
    return s;
}
