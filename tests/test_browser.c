/* Integration in a real browser: headless Chromium (driven by tests/browser.js through playwright-core)
 * uploads the seed skier photo on the page, with and without JavaScript, and must read the engine's
 * answer off the page. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define OUT_CAP (64 * 1024)

static struct service svc;

static void setup(void)
{
    ck_assert_msg(service_start(&svc) == 0, "the service did not start");
}

static void teardown(void)
{
    service_stop(&svc);
}

/* The label the engine gives the image, in-process. */
static void engine_label(const char *image, char *out, size_t cap)
{
    char err[256];
    struct nn_model *m = nn_load(fx_env("IMGREC_MODEL"), err, sizeof err);
    ck_assert_msg(m != NULL, "nn_load: %s", err);
    char *bytes;
    size_t len;
    ck_assert_int_eq(sh_read_file(image, &bytes, &len), 0);
    struct nn_result r;
    ck_assert_int_eq(nn_classify_image(m, bytes, len, 1, &r, err, sizeof err), 0);
    snprintf(out, cap, "%s", r.top[0].label);
    free(bytes);
    nn_free(m);
}

START_TEST(chromium_uploads_the_skier_and_reads_the_answer)
{
    char image[512], script[512], url[64], want[256], needle[300];
    snprintf(image, sizeof image, "%s/eval/seed_test_images/test_224.jpg", fx_env("IMGREC_SHARED"));
    snprintf(script, sizeof script, "%s/browser.js", fx_env("IMGREC_TESTS"));
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", svc.balancer_port);
    engine_label(image, want, sizeof want);

    const char *argv[] = { "node", script, url, image, NULL };
    char *out = malloc(OUT_CAP);
    ck_assert_int_eq(sh_run(argv, out, OUT_CAP, 100000), 0);
    /* {"scripted":{...},"plain":{...}}: split so each half is checked on its own. */
    char *split = strstr(out, "\"plain\":");
    ck_assert_msg(split != NULL, "no plain-form result: %s", out);
    char *plain = strdup(split);
    *split = '\0';
    /* With JavaScript: the headline and the first bar name the engine's class. */
    snprintf(needle, sizeof needle, "\"answer\":\"%s (", want);
    ck_assert_msg(strstr(out, needle), "page headline lacks %s: %s", want, out);
    snprintf(needle, sizeof needle, "\"top5\":[{\"text\":\"%s", want);
    ck_assert_msg(strstr(out, needle), "first bar is not %s: %s", want, out);
    ck_assert_msg(strstr(out, "answered by 127.0.0.1:"), "no worker shown: %s", out);
    ck_assert_msg(strstr(out, "round trip "), "no round-trip time shown: %s", out);
    /* The study results section lists the fixture's study with links to its files. */
    ck_assert_msg(strstr(out, "\"text\":\"demo: \",\"links\":[\"/results/demo/plot.svg\",\"/results/demo/table.md\"]"),
                  "study list: %s", out);
    /* Without JavaScript: the plain form posts to /submit and the answer is a page with the same bars. */
    snprintf(needle, sizeof needle, "\"url\":\"%ssubmit\"", url);
    ck_assert_msg(strstr(plain, needle), "the form did not post to /submit: %s", plain);
    snprintf(needle, sizeof needle, "\"answer\":\"%s (", want);
    ck_assert_msg(strstr(plain, needle), "no-script answer page lacks %s: %s", want, plain);
    ck_assert_msg(strstr(plain, "\"bars\":5"), "no-script page lacks the 5 bars: %s", plain);
    ck_assert_msg(strstr(plain, "answered by 127.0.0.1:"), "no-script page lacks the worker: %s", plain);
    free(plain);
    free(out);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("browser");
    TCase *tc = tcase_create("headless chromium");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chromium_uploads_the_skier_and_reads_the_answer);
    suite_add_tcase(s, tc);
    return s;
}
