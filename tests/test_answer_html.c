/* infer/answer_html and net/html: which Accept headers get HTML, and the answer and error pages escape what they show. */
#define _GNU_SOURCE
#include <check.h>
#include <string.h>

#include "infer/answer_html.h"
#include "net/html.h"

static bool wants(const char *accept)
{
    struct http_header h = { http_str_from("Accept", 6), http_str_from(accept, strlen(accept)) };
    return http_accepts_html(&h);
}

START_TEST(only_a_browser_navigation_gets_html)
{
    ck_assert(wants("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
    ck_assert(wants("text/html"));
    ck_assert(!wants("application/json"));
    ck_assert(!wants("application/json, text/html"));
    ck_assert(!wants("*/*"));
    ck_assert(!http_accepts_html(NULL));
}
END_TEST

START_TEST(page_shows_the_top5_escaped)
{
    struct nn_result r = { .k = 2, .decode_ms = 1.0, .inference_ms = 9.0 };
    r.top[0] = (struct nn_class){ 802, "snow<mobile> & \"co\"", 0.5f };
    r.top[1] = (struct nn_class){ 970, "alp", 0.25f };
    struct buf b;
    buf_init(&b, 16 * 1024);
    ck_assert_int_eq(answer_html(&b, &r, "host:5001", 12.0), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    const char *page = buf_ptr(&b);
    ck_assert_ptr_nonnull(strstr(page, "<h2 id=\"answer\">snow&lt;mobile&gt; &amp; &quot;co&quot; (50.0%)</h2>"));
    ck_assert_ptr_nonnull(strstr(page, "style=\"width:25.0%\"></span><span class=\"text\"><span>alp</span>"));
    ck_assert_ptr_nonnull(strstr(page, "answered by host:5001"));
    ck_assert_ptr_null(strstr(page, "<mobile>"));
    buf_free(&b);
}
END_TEST

START_TEST(error_page_shows_the_detail_escaped_with_a_link_back)
{
    struct buf b;
    buf_init(&b, 8192);
    ck_assert_int_eq(html_error_page(&b, 415, "not an image <script>"), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    const char *p = buf_ptr(&b);
    ck_assert_ptr_nonnull(strstr(p, "That did not work (415 Unsupported Media Type)"));
    ck_assert_ptr_nonnull(strstr(p, "Not an image &lt;script&gt;."));
    ck_assert_ptr_null(strstr(p, "<script>"));
    ck_assert_ptr_nonnull(strstr(p, "<a href=\"/\">Back to the page</a>"));
    buf_free(&b);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("answer html");
    TCase *tc = tcase_create("page");
    tcase_add_test(tc, only_a_browser_navigation_gets_html);
    tcase_add_test(tc, page_shows_the_top5_escaped);
    tcase_add_test(tc, error_page_shows_the_detail_escaped_with_a_link_back);
    suite_add_tcase(s, tc);
    return s;
}
