/* test_multipart: multipart/form-data — the boundary from Content-Type, parts and their parameters,
 * a body fed in two reads split everywhere, preamble/epilogue, binary data, missing field, malformed; and the
 * upload request net/multipart_request builds, read back with the server's parsers. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "net/buf.h"
#include "net/multipart.h"
#include "net/multipart_request.h"
#include "net/url.h"
#include "tests/http_testlib.h"

#define CT "multipart/form-data; boundary=----WebKitFormBoundaryX3"
#define B "------WebKitFormBoundaryX3"

/* What a browser sends: a number field, then the image (binary, with CR, LF and dashes in it). */
static const char form[] =
    B "\r\n"
    "Content-Disposition: form-data; name=\"number_backend_servers\"\r\n\r\n"
    "2\r\n"
    B "\r\n"
    "Content-Disposition: form-data; name=\"image\"; filename=\"ski.jpg\"\r\n"
    "Content-Type: image/jpeg\r\n\r\n"
    "\xff\xd8\r\n--\r\n-" B "x\r\n\0\xff\xd9\r\n"
    B "--\r\n";
#define IMAGE_DATA "\xff\xd8\r\n--\r\n-" B "x\r\n\0\xff\xd9"
#define IMAGE_LEN (sizeof IMAGE_DATA - 1)

static struct http_str view(const char *s)
{
    return http_str_from(s, strlen(s));
}

static int find(const char *ct, const char *body, size_t len, const char *name, struct mp_part *p, const char **why)
{
    static char *copy;
    free(copy);
    copy = exact_copy(body, len);
    return mp_find_field(view(ct), copy, len, name, p, why);
}

START_TEST(browser_form)
{
    struct mp_part p;
    const char *why;
    ck_assert_int_eq(find(CT, form, sizeof form - 1, "image", &p, &why), MP_PART);
    ck_assert_uint_eq(p.data.len, IMAGE_LEN);
    ck_assert(memcmp(p.data.p, IMAGE_DATA, IMAGE_LEN) == 0);
    ck_assert(mp_param_eq(p.filename, "ski.jpg"));
    ck_assert_view(p.content_type, "image/jpeg");
    ck_assert_int_eq(find(CT, form, sizeof form - 1, "number_backend_servers", &p, &why), MP_PART);
    ck_assert_view(p.data, "2");
    ck_assert_ptr_null(p.filename.p);
}
END_TEST

START_TEST(iterate_parts)
{
    struct mp_parser mp;
    struct mp_part p;
    ck_assert_int_eq(mp_init(&mp, view(CT)), 0);
    ck_assert_int_eq(mp_next(&mp, form, sizeof form - 1, &p), MP_PART);
    ck_assert(mp_param_eq(p.name, "number_backend_servers"));
    ck_assert_int_eq(mp_next(&mp, form, sizeof form - 1, &p), MP_PART);
    ck_assert(mp_param_eq(p.name, "image"));
    ck_assert_int_eq(mp_next(&mp, form, sizeof form - 1, &p), MP_DONE);
    ck_assert_int_eq(mp_next(&mp, form, sizeof form - 1, &p), MP_DONE);
}
END_TEST

/* The body arrives in two reads split at k: the parser answers INCOMPLETE until it has a part, and the
 * parts it returns are the same whatever k is. */
START_TEST(split_across_reads)
{
    size_t n = sizeof form - 1;
    for (size_t k = 0; k <= n; k++) {
        struct mp_parser mp;
        struct mp_part p;
        ck_assert_int_eq(mp_init(&mp, view(CT)), 0);
        char *first = exact_copy(form, k);
        int parts = 0, rc;
        while ((rc = mp_next(&mp, first, k, &p)) == MP_PART)
            parts++;
        ck_assert_msg(rc == MP_INCOMPLETE || (rc == MP_DONE && parts == 2), "k=%zu rc=%d", k, rc);
        free(first);
        char *all = exact_copy(form, n);
        while ((rc = mp_next(&mp, all, n, &p)) == MP_PART) {
            parts++;
            if (mp_param_eq(p.name, "image")) {
                ck_assert_uint_eq(p.data.len, IMAGE_LEN);
                ck_assert(memcmp(p.data.p, IMAGE_DATA, IMAGE_LEN) == 0);
            }
        }
        ck_assert_int_eq(rc, MP_DONE);
        ck_assert_msg(parts == 2, "k=%zu parts=%d", k, parts);
        free(all);
    }
}
END_TEST

START_TEST(quoted_boundary_and_params)
{
    const char *ct = "Multipart/Form-Data ; charset=utf-8; boundary=\"a b:c\"";
    const char *body = "--a b:c\r\n"
                       "content-disposition: form-data; filename=\"x\\\"y\\\\z.png\" ; name=\"im\\age\"\r\n\r\n"
                       "PNG\r\n--a b:c--";
    struct mp_part p;
    const char *why;
    ck_assert_int_eq(find(ct, body, strlen(body), "image", &p, &why), MP_PART);
    ck_assert_view(p.data, "PNG");
    char name[32];
    ck_assert_uint_eq(mp_param_copy(p.filename, name, sizeof name), 9);
    ck_assert_str_eq(name, "x\"y\\z.png");
    ck_assert(mp_param_eq(p.filename, "x\"y\\z.png"));
    ck_assert(!mp_param_eq(p.filename, "x\"y\\z.pn"));
    ck_assert_uint_eq(mp_param_copy(p.filename, name, 4), 9); /* truncated, still terminated */
    ck_assert_str_eq(name, "x\"y");
}
END_TEST

START_TEST(unquoted_token_name)
{
    const char *body = "--b\r\nContent-Disposition: form-data; name=image\r\n\r\nDATA\r\n--b--\r\n";
    struct mp_part p;
    const char *why;
    ck_assert_int_eq(find("multipart/form-data;boundary=b", body, strlen(body), "image", &p, &why), MP_PART);
    ck_assert_view(p.data, "DATA");
    ck_assert_view(p.content_type, "");
}
END_TEST

START_TEST(preamble_and_epilogue)
{
    const char *body = "This is a preamble.\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
                       "1\r\n--b  \r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n\r\n--b--\r\nepilogue --b\r\n";
    struct mp_part p;
    const char *why;
    ck_assert_int_eq(find("multipart/form-data; boundary=b", body, strlen(body), "image", &p, &why), MP_PART);
    ck_assert_uint_eq(p.data.len, 0); /* an empty part */
    ck_assert_int_eq(find("multipart/form-data; boundary=b", body, strlen(body), "a", &p, &why), MP_PART);
    ck_assert_view(p.data, "1");
}
END_TEST

START_TEST(missing_field)
{
    struct mp_part p;
    const char *why = NULL;
    ck_assert_int_eq(find(CT, form, sizeof form - 1, "file", &p, &why), MP_DONE);
    ck_assert_ptr_nonnull(why);
    const char *empty = "--b--\r\n";
    ck_assert_int_eq(find("multipart/form-data; boundary=b", empty, strlen(empty), "image", &p, &why), MP_DONE);
}
END_TEST

/* Asserts the body is rejected (MP_MALFORMED with a reason). */
static void check_malformed(const char *ct, const char *body)
{
    struct mp_part p;
    const char *why = NULL;
    ck_assert_int_eq(find(ct, body, strlen(body), "image", &p, &why), MP_MALFORMED);
    ck_assert_ptr_nonnull(why);
}

#define MCT "multipart/form-data; boundary=b"
#define MALFORMED(name, ct, body) \
    START_TEST(name) { check_malformed(ct, body); } END_TEST

MALFORMED(not_multipart, "application/json", "--b\r\n")
MALFORMED(no_boundary, "multipart/form-data", "--b\r\n")
MALFORMED(empty_boundary, "multipart/form-data; boundary=\"\"", "--\r\n")
MALFORMED(boundary_too_long, "multipart/form-data; boundary=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--b\r\n")
MALFORMED(boundary_bad_char, "multipart/form-data; boundary=\"a\\\"b\"", "--a\"b\r\n")
MALFORMED(unterminated_quote, "multipart/form-data; boundary=\"b", "--b\r\n")
MALFORMED(truncated, MCT, "--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nDATA")
MALFORMED(no_delimiter_at_all, MCT, "just some bytes")
MALFORMED(part_without_disposition, MCT, "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--")
MALFORMED(part_without_name, MCT, "--b\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--b--")
MALFORMED(disposition_not_form_data, MCT, "--b\r\nContent-Disposition: attachment; name=\"image\"\r\n\r\nx\r\n--b--")
MALFORMED(garbage_after_boundary, MCT, "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--bogus\r\n")
MALFORMED(part_header_bare_lf, MCT, "--b\r\nContent-Disposition: form-data; name=\"image\"\n\r\nx\r\n--b--")
MALFORMED(bad_disposition_params, MCT, "--b\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--b--")

START_TEST(part_headers_too_large)
{
    static char body[MP_MAX_PART_HEAD + 200];
    strcpy(body, "--b\r\nContent-Disposition: form-data; name=\"image\"\r\nX: ");
    size_t n = strlen(body);
    memset(body + n, 'a', MP_MAX_PART_HEAD);
    strcpy(body + n + MP_MAX_PART_HEAD, "\r\n\r\nx\r\n--b--");
    check_malformed(MCT, body);
}
END_TEST

/* ---- building: the client's upload request ---------------------------------------------------------- */

/* The request the client builds, read back with the server's own parsers. */
START_TEST(upload_request_parses_with_the_servers_parsers)
{
    struct url u;
    char err[128];
    ck_assert_int_eq(url_parse("http://127.0.0.1:5000/submit?backends=1", "/submit", &u, err, sizeof err), 0);
    unsigned char image[3000];
    for (size_t i = 0; i < sizeof image; i++)
        image[i] = (unsigned char)(i * 7 + (i >> 3)); /* includes CR, LF and '-' bytes */
    struct buf b;
    buf_init(&b, 1 << 20);
    size_t head_len;
    ck_assert_int_eq(mp_request_build(&u, "image", image, sizeof image, "/tmp/x\"y.png", &b, &head_len), 0);
    struct http_request req;
    struct http_header hdrs[16];
    int head = http_parse_request(buf_ptr(&b), buf_len(&b), NULL, &req, hdrs, 16);
    ck_assert_int_gt(head, 0);
    ck_assert_uint_eq((size_t)head, head_len);
    ck_assert(http_str_eq(req.method, "POST"));
    ck_assert(http_str_eq(req.path, "/submit"));
    ck_assert(http_str_eq(req.query, "backends=1"));
    ck_assert(req.keep_alive);
    ck_assert_int_eq(req.framing, HTTP_BODY_LENGTH);
    ck_assert_uint_eq(req.content_length, buf_len(&b) - (size_t)head);
    const struct http_header *ct = http_find_header(req.headers, req.num_headers, "Content-Type");
    ck_assert_ptr_nonnull(ct);
    struct mp_part part;
    const char *why = NULL;
    int rc = mp_find_field(ct->value, buf_ptr(&b) + head, buf_len(&b) - (size_t)head, "image", &part, &why);
    ck_assert_msg(rc == MP_PART, "multipart: %s", why ? why : "?");
    ck_assert_uint_eq(part.data.len, sizeof image);
    ck_assert_mem_eq(part.data.p, image, sizeof image);
    ck_assert(mp_param_eq(part.filename, "x_y.png"));
    buf_free(&b);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("multipart");
    TCase *ok = tcase_create("valid");
    tcase_add_test(ok, browser_form);
    tcase_add_test(ok, iterate_parts);
    tcase_add_test(ok, split_across_reads);
    tcase_add_test(ok, quoted_boundary_and_params);
    tcase_add_test(ok, unquoted_token_name);
    tcase_add_test(ok, preamble_and_epilogue);
    tcase_add_test(ok, missing_field);
    tcase_add_test(ok, upload_request_parses_with_the_servers_parsers);
    suite_add_tcase(s, ok);
    TCase *bad = tcase_create("malformed");
    tcase_add_test(bad, not_multipart);
    tcase_add_test(bad, no_boundary);
    tcase_add_test(bad, empty_boundary);
    tcase_add_test(bad, boundary_too_long);
    tcase_add_test(bad, boundary_bad_char);
    tcase_add_test(bad, unterminated_quote);
    tcase_add_test(bad, truncated);
    tcase_add_test(bad, no_delimiter_at_all);
    tcase_add_test(bad, part_without_disposition);
    tcase_add_test(bad, part_without_name);
    tcase_add_test(bad, disposition_not_form_data);
    tcase_add_test(bad, garbage_after_boundary);
    tcase_add_test(bad, part_header_bare_lf);
    tcase_add_test(bad, bad_disposition_params);
    tcase_add_test(bad, part_headers_too_large);
    suite_add_tcase(s, bad);
    return s;
}
