/* svc/forward: what the balancer changes in relayed messages (only hop-by-hop parts), and how a request
 * says how many backends it may go to. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "balance/forward.h"

/* Parses raw (a whole request) into r as the server would hand it over. */
static void request(struct srv_request *r, const char *raw)
{
    memset(r, 0, sizeof *r);
    int n = http_parse_request(raw, strlen(raw), NULL, &r->http, r->headers, SRV_MAX_HEADERS);
    ck_assert_int_gt(n, 0);
    r->head = raw;
    r->head_len = (size_t)n;
    r->body = (char *)raw + n;
    r->body_len = strlen(raw) - (size_t)n;
    r->peer = "10.1.2.3:4567";
}

START_TEST(request_head_drops_hop_by_hop_headers_and_sets_length)
{
    struct srv_request r;
    request(&r, "POST /submit?backends=2 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                "Content-Type: image/jpeg\r\nExpect: 100-continue\r\nContent-Length: 3\r\nX-Trace: abc\r\n\r\nxyz");
    struct buf out;
    buf_init(&out, 4096);
    ck_assert_int_eq(forward_request_head(&r, &out), 0);
    ck_assert_int_eq(buf_append(&out, "", 1), 0);
    const char *h = buf_ptr(&out);
    ck_assert_str_eq(h, "POST /submit?backends=2 HTTP/1.1\r\nHost: h\r\nContent-Type: image/jpeg\r\nX-Trace: abc\r\n"
                        "X-Forwarded-For: 10.1.2.3\r\nVia: 1.1 imgrec-balancer\r\nContent-Length: 3\r\n\r\n");
    buf_free(&out);
}
END_TEST

/* The head forward_request_head builds for raw, NUL-terminated in out (freed by the caller). */
static const char *forwarded(struct buf *out, const char *raw, const char *peer)
{
    static struct srv_request r;
    request(&r, raw);
    r.peer = peer;
    buf_init(out, 4096);
    ck_assert_int_eq(forward_request_head(&r, out), 0);
    ck_assert_int_eq(buf_append(out, "", 1), 0);
    return buf_ptr(out);
}

/* RFC 9110 §7.6.1: headers the client names in Connection describe its connection and stop here. */
START_TEST(headers_named_in_connection_are_removed)
{
    struct buf out;
    const char *h = forwarded(&out, "POST /predict HTTP/1.1\r\nHost: h\r\nConnection: X-Secret, keep-alive, x-other\r\n"
                                    "X-Secret: 1\r\nX-OTHER: 2\r\nX-Kept: 3\r\nContent-Length: 0\r\n\r\n", "10.0.0.1:9");
    ck_assert_ptr_null(strcasestr(h, "X-Secret"));
    ck_assert_ptr_null(strcasestr(h, "X-Other"));
    ck_assert_ptr_nonnull(strstr(h, "X-Kept: 3\r\n"));
    buf_free(&out);
}
END_TEST

/* One X-Forwarded-For, "client, proxy" order, bare addresses (no ports), IPv6 without brackets. */
START_TEST(x_forwarded_for_is_extended)
{
    struct buf out;
    const char *h = forwarded(&out, "POST /predict HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.7\r\n"
                                    "x-forwarded-for: 198.51.100.2\r\nContent-Length: 0\r\n\r\n", "10.1.2.3:4567");
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-For: 203.0.113.7, 198.51.100.2, 10.1.2.3\r\n"));
    ck_assert_ptr_null(strcasestr(strcasestr(h, "X-Forwarded-For") + 1, "X-Forwarded-For"));
    buf_free(&out);
    h = forwarded(&out, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "[::1]:8080");
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-For: ::1\r\n"));
    buf_free(&out);
}
END_TEST

/* A HEAD goes to the backend as GET: the backend client reads every answer with its body, so a HEAD's
 * answer (a Content-Length and no body) would stall the try until its timeout and count as a failure. */
START_TEST(head_is_forwarded_as_get)
{
    struct buf out;
    const char *h = forwarded(&out, "HEAD /v2/models/mobilenet_v2?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", "10.0.0.1:9");
    ck_assert_msg(strncmp(h, "GET /v2/models/mobilenet_v2?x=1 HTTP/1.1\r\n", 42) == 0, "%s", h);
    buf_free(&out);
}
END_TEST

/* RFC 9112 §3.2.2: a proxy's absolute-form target goes on to the origin as origin-form; Via names the
 * protocol the request came in (RFC 9110 §7.6.3). */
START_TEST(absolute_form_goes_out_as_origin_form_with_via)
{
    struct buf out;
    const char *h = forwarded(&out, "POST http://example.com/predict?backends=1 HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
                              "10.0.0.1:9");
    ck_assert_msg(strncmp(h, "POST /predict?backends=1 HTTP/1.1\r\n", strlen("POST /predict?backends=1 HTTP/1.1\r\n")) == 0, "%s", h);
    ck_assert_ptr_nonnull(strstr(h, "\r\nVia: 1.0 imgrec-balancer\r\n"));
    buf_free(&out);
    h = forwarded(&out, "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", "10.0.0.1:9");
    ck_assert_msg(strncmp(h, "GET / HTTP/1.1\r\n", strlen("GET / HTTP/1.1\r\n")) == 0, "%s", h);
    buf_free(&out);
}
END_TEST

/* Relays a backend's whole answer raw: the head to send on (NUL-terminated) and the body. */
struct relayed {
    char head[1024];
    char body[1024];
    size_t body_len;
};

static void relay(const char *raw, struct relayed *out)
{
    struct http_response res;
    struct http_header h[16];
    ck_assert_int_gt(http_parse_response(raw, strlen(raw), false, 16384, &res, h, 16), 0);
    struct buf head, scratch;
    buf_init(&head, sizeof out->head - 1);
    buf_init(&scratch, 4096);
    ck_assert_int_eq(forward_response_head(&res, raw, &head), 0);
    memcpy(out->head, buf_ptr(&head), buf_len(&head));
    out->head[buf_len(&head)] = '\0';
    const char *body;
    ck_assert_int_eq(forward_response_body(&res, raw, strlen(raw), &scratch, &body, &out->body_len), 0);
    ck_assert_uint_lt(out->body_len, sizeof out->body);
    memcpy(out->body, body, out->body_len);
    buf_free(&head);
    buf_free(&scratch);
}

START_TEST(response_head_keeps_status_line_and_end_to_end_headers)
{
    struct relayed r;
    relay("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
          "Retry-After: 1\r\nContent-Length: 2\r\n\r\n{}", &r);
    ck_assert_str_eq(r.head, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                             "Via: 1.1 imgrec-balancer\r\n");
    ck_assert_uint_eq(r.body_len, 2);
    ck_assert_int_eq(memcmp(r.body, "{}", 2), 0);
}
END_TEST

START_TEST(chunked_response_body_is_dechunked)
{
    struct relayed r;
    relay("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", &r);
    ck_assert_str_eq(r.head, "HTTP/1.1 200 OK\r\nVia: 1.1 imgrec-balancer\r\n");
    ck_assert_uint_eq(r.body_len, 11);
    ck_assert_int_eq(memcmp(r.body, "hello world", 11), 0);
}
END_TEST

static long limit_of(const char *raw)
{
    struct srv_request r;
    request(&r, raw);
    return forward_backend_limit(&r);
}

/* A multipart form with one number_backend_servers field of the given value, then an image field. */
static long limit_of_form(const char *value)
{
    static char raw[1024];
    char body[512];
    int n = snprintf(body, sizeof body,
                     "--B\r\nContent-Disposition: form-data; name=\"number_backend_servers\"\r\n\r\n%s\r\n"
                     "--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\nJPEG\r\n--B--\r\n",
                     value);
    snprintf(raw, sizeof raw, "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                              "Content-Length: %d\r\n\r\n%s", n, body);
    return limit_of(raw);
}

START_TEST(backend_limit_from_query_or_form_field)
{
    ck_assert_int_eq(limit_of("POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), 0);
    ck_assert_int_eq(limit_of("POST /submit?backends=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), 1);
    ck_assert_int_eq(limit_of("POST /submit?x=y&backends=3 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), 3);
    ck_assert_int_eq(limit_of("POST /submit?backends= HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), 0);
    ck_assert_int_eq(limit_of("POST /submit?backends=0 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), -1);
    ck_assert_int_eq(limit_of("POST /submit?backends=-1 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), -1);
    ck_assert_int_eq(limit_of("POST /submit?backends=two HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), -1);
    /* a count past any real number of backends means all of them, however many digits it has */
    long huge = limit_of("POST /submit?backends=99999999999999999999999 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    ck_assert_int_ge(huge, 64);
    ck_assert_int_eq(limit_of_form("4294967297"), huge);
    ck_assert_int_eq(limit_of_form("000000000000000000000000"), -1);
    ck_assert_int_eq(limit_of_form("2"), 2);
    ck_assert_int_eq(limit_of_form(" 1 "), 1);
    ck_assert_int_eq(limit_of_form(""), 0);
    ck_assert_int_eq(limit_of_form("many"), -1);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("forward");
    TCase *tc = tcase_create("relay");
    tcase_add_test(tc, request_head_drops_hop_by_hop_headers_and_sets_length);
    tcase_add_test(tc, headers_named_in_connection_are_removed);
    tcase_add_test(tc, x_forwarded_for_is_extended);
    tcase_add_test(tc, absolute_form_goes_out_as_origin_form_with_via);
    tcase_add_test(tc, head_is_forwarded_as_get);
    tcase_add_test(tc, response_head_keeps_status_line_and_end_to_end_headers);
    tcase_add_test(tc, chunked_response_body_is_dechunked);
    tcase_add_test(tc, backend_limit_from_query_or_form_field);
    suite_add_tcase(s, tc);
    return s;
}
