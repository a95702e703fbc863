/* The page in a real browser: headless Chromium (driven by tests/browser.js through playwright-core) on
 * desktop, dark-mode and phone viewports and without JavaScript, against a balancer with a study-1
 * result and the seed pictures as examples; the answers it reads must be the engine's.  Screenshots go
 * to build/screenshots/ for a person to look at.  Also the balancer's --cors preflight. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>

#include "nn/nn.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define OUT_CAP (256 * 1024)

static struct service svc;
static int port; /* the balancer with --results (study 1), --examples and --cors */

/* The accuracy study as `make study` writes it (the figures of the README's run). */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

static void setup(void)
{
    ck_assert_msg(service_start(&svc) == 0, "the service did not start");
    static char results[PATH_MAX], acc[PATH_MAX + 16], examples[PATH_MAX];
    snprintf(results, sizeof results, "%s/page-results", svc.dir);
    snprintf(acc, sizeof acc, "%s/accuracy", results);
    ck_assert(mkdir(results, 0755) == 0 && mkdir(acc, 0755) == 0);
    write_file(acc, "accuracy.csv", "size,n,top1,top5\n16,650,4.0,8.8\n32,650,18.5,37.5\n64,650,46.8,74.2\n"
                                    "96,650,63.4,86.5\n128,650,72.9,91.7\n224,650,79.5,94.8\n");
    write_file(acc, "accuracy.md", "## Accuracy vs resolution\n\n| size | n | top1 | top5 |\n|---|---|---|---|\n"
                                   "| 16 | 650 | 4.0 | 8.8 |\n| 224 | 650 | 79.5 | 94.8 |\n\nCentre square, then classified.\n");
    write_file(acc, "run.txt", "date: 2026-11-27 08:00 UTC\nmachine: vm, 2 cores, AMD EPYC\nrun: full\n");
    write_file(acc, "accuracy.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"80\" height=\"40\">"
                                    "<rect width=\"80\" height=\"40\" fill=\"#9c6\"/></svg>\n");
    snprintf(examples, sizeof examples, "%s/eval/seed_test_images", fx_env("IMGREC_SHARED"));
    char w0[32], w1[32];
    snprintf(w0, sizeof w0, "127.0.0.1:%d", svc.worker_port[0]);
    snprintf(w1, sizeof w1, "127.0.0.1:%d", svc.worker_port[1]);
    const char *const backends[] = { w0, w1 };
    const char *const extra[] = { "--results", results, "--examples", examples, "--cors", "http://app.example", NULL };
    port = service_extra_balancer(&svc, backends, 2, extra);
    ck_assert_msg(port > 0, "the balancer with --examples did not start");
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

/* The part of out from "\"key\":" up to the next top-level key of the same object (rough, enough here). */
static char *part(const char *out, const char *key, const char *next)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "\"%s\":", key);
    snprintf(b, sizeof b, "\"%s\":", next);
    const char *p = strstr(out, a);
    ck_assert_msg(p != NULL, "no %s in %s", key, out);
    const char *q = next ? strstr(p + 1, b) : NULL;
    return strndup(p, q ? (size_t)(q - p) : strlen(p));
}

#define HAS(hay, needle) ck_assert_msg(strstr(hay, needle), "missing %s in: %s", needle, hay)
#define LACKS(hay, needle) ck_assert_msg(!strstr(hay, needle), "unexpected %s in: %s", needle, hay)

START_TEST(chromium_uses_the_page_on_desktop_phone_dark_and_without_javascript)
{
    char images[512], image[600], script[512], url[64], shots[PATH_MAX], want[256], needle[400];
    snprintf(images, sizeof images, "%s/eval/seed_test_images", fx_env("IMGREC_SHARED"));
    snprintf(image, sizeof image, "%s/test_224.jpg", images);
    snprintf(script, sizeof script, "%s/browser.js", fx_env("IMGREC_TESTS"));
    snprintf(shots, sizeof shots, "%s/../build/screenshots", fx_env("IMGREC_TESTS"));
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    engine_label(image, want, sizeof want);

    const char *argv[] = { "node", script, url, images, shots, NULL };
    char *out = malloc(OUT_CAP);
    ck_assert_int_eq(sh_run(argv, out, OUT_CAP, 200000), 0);
    char *desk = part(out, "desktop", "dark"), *dark = part(out, "dark", "phone");
    char *phone = part(out, "phone", "plain"), *plain = part(out, "plain", NULL);

    /* The study section: a figure with a plot, the run's date and machine, the table as cells, the CSV. */
    HAS(desk, "\"caption\":\"accuracy — 2026-11-27 08:00 UTC, on vm, 2 cores, AMD EPYC\",\"plot\":true");
    HAS(desk, "\"cells\":[\"16\",\"650\",\"4.0\",\"8.8\",\"224\",\"650\",\"79.5\",\"94.8\"]");
    HAS(desk, "\"csv\":[\"/results/accuracy/accuracy.csv\"]");
    HAS(desk, "\"sizeNote224\":\"expected top-1 accuracy 79.5% (study 1).\"");
    HAS(desk, "\"workersNote\":\"of the service's 2 workers");
    /* A picture is answered with the engine's class and scrolled into view; then a non-picture's error
     * replaces it, in words, without an address. */
    snprintf(needle, sizeof needle, "\"first\":[{\"state\":\"done\",\"answer\":\"%s (", want);
    HAS(desk, needle);
    HAS(desk, "\"firstInView\":true");
    HAS(desk, "\"afterError\":[{\"state\":\"error\",\"answer\":\"README.md\",\"top5\":[],\"meta\":\"\","
              "\"error\":\"This is not a picture we can read.");
    /* Several pictures: a grid of three answers; the WebP went out as JPEG, the 2000 px photo shrunk. */
    HAS(desk, "\"gridIsGrid\":true");
    snprintf(needle, sizeof needle, "\"grid\":[{\"state\":\"done\",\"answer\":\"%s (", want);
    HAS(desk, needle);
    HAS(desk, "\"gridSent\":[{\"bytes\":");
    HAS(desk, "\"type\":\"image/jpeg\",\"name\":\"skier.jpg\"}");
    LACKS(desk, "image/webp\",\"name");
    HAS(desk, "as JPEG 224×224 (original 225.9 KB)");
    /* The size choice: 64 px says what study 1 expects and sends a fraction of the original's bytes. */
    HAS(desk, "\"sizeNote64\":\"expected top-1 accuracy 46.8% (study 1).\"");
    const char *sent = strstr(desk, "\"sizeSent\":[{\"bytes\":");
    ck_assert_msg(sent, "no sizes sent: %s", desk);
    long small = 0, original = 0;
    ck_assert_int_eq(sscanf(sent, "\"sizeSent\":[{\"bytes\":%ld,\"type\":\"image/jpeg\",\"name\":\"test_2000.jpg\"},"
                                  "{\"bytes\":%ld", &small, &original), 2);
    ck_assert_int_eq(original, 231283);
    ck_assert_msg(small > 0 && small * 20 < original, "64 px sent %ld of %ld bytes", small, original);
    HAS(desk, "as JPEG 64×64");
    /* Paste and an example picture classify too; the history and the code panel follow. */
    snprintf(needle, sizeof needle, "\"pasted\":[{\"state\":\"done\",\"answer\":\"%s (", want);
    HAS(desk, needle);
    snprintf(needle, sizeof needle, "\"example\":[{\"state\":\"done\",\"answer\":\"%s (", want);
    HAS(desk, needle);
    HAS(desk, "test_224.jpg · sent 26.4 KB as it is");
    ck_assert_msg(!strstr(desk, "\"history\":0,") && !strstr(desk, "\"history\":1,"), "history: %s", desk);
    snprintf(needle, sizeof needle, "\"curl\":\"curl -F image=@test_224.jpg %ssubmit\"", url);
    HAS(desk, needle);
    snprintf(needle, sizeof needle, "\"json\":\"{\\\"label\\\":\\\"%s", want);
    HAS(desk, needle);

    /* Dark mode: a dark background, and the answer still drawn. */
    HAS(dark, "\"background\":\"rgb(20, 23, 29)\"");
    snprintf(needle, sizeof needle, "\"state\":\"done\",\"answer\":\"%s (", want);
    HAS(dark, needle);
    /* Phone: a camera button, no "drop" wording, the answer scrolled into view. */
    HAS(phone, "\"takePhoto\":true");
    HAS(phone, "\"hintVisible\":[\"Take a photo or\"]");
    HAS(phone, needle);
    HAS(phone, "\"answerInView\":true");
    /* Without JavaScript: the form's answer is a page with the five bars and a favicon; an error is a page
     * with the words, the status and a link back. */
    snprintf(needle, sizeof needle, "\"url\":\"%ssubmit\",\"answer\":\"%s (", url, want);
    HAS(plain, needle);
    HAS(plain, "\"bars\":5,\"icon\":\"/favicon.svg\"");
    HAS(plain, "\"error\":{\"status\":415,\"type\":\"text/html; charset=utf-8\","
               "\"heading\":\"That did not work (415 Unsupported Media Type)\",\"text\":\"Not an image");
    HAS(plain, "\"back\":\"/\"");
    free(desk), free(dark), free(phone), free(plain), free(out);
}
END_TEST

/* --cors ORIGIN: that origin's preflight is answered with what it may do, another's is refused, and an
 * answer to the allowed origin carries Access-Control-Allow-Origin. */
START_TEST(cors_preflight_allows_one_origin)
{
    static const char ok[] = "OPTIONS /submit HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\n"
                             "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n";
    static const char other[] = "OPTIONS /submit HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n"
                                "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n";
    static const char health[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\nConnection: close\r\n\r\n";
    struct sh_reply r;
    char v[256];
    ck_assert_int_eq(sh_exchange(port, ok, sizeof ok - 1, &r, 5000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(sh_header(&r, "Access-Control-Allow-Origin", v, sizeof v), 0);
    ck_assert_str_eq(v, "http://app.example");
    ck_assert_int_eq(sh_header(&r, "Access-Control-Allow-Methods", v, sizeof v), 0);
    ck_assert_str_eq(v, "GET, HEAD, POST");
    sh_reply_free(&r);
    ck_assert_int_eq(sh_exchange(port, other, sizeof other - 1, &r, 5000), 0);
    ck_assert_int_eq(r.status, 403);
    ck_assert_int_ne(sh_header(&r, "Access-Control-Allow-Origin", v, sizeof v), 0);
    ck_assert_msg(strstr(r.body, "\"error\":\"cors_refused\""), "body: %s", r.body);
    sh_reply_free(&r);
    ck_assert_int_eq(sh_exchange(port, health, sizeof health - 1, &r, 5000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(sh_header(&r, "Access-Control-Allow-Origin", v, sizeof v), 0);
    ck_assert_str_eq(v, "http://app.example");
    sh_reply_free(&r);
}
END_TEST

/* The live cluster panel (GET /cluster.json, drawn every second): both workers up with their answers
 * counted; one frozen with SIGSTOP reads as down after its failed probes (1 s interval, 300 ms timeout,
 * 2 in a row: about 2-3 s), and up again after SIGCONT at its next probe. */
START_TEST(chromium_watches_a_worker_go_down_and_come_back)
{
    char images[512], script[512], url[64], shots[PATH_MAX], pidstr[16], w0[32], w1[32];
    int wport = sh_free_port();
    pid_t pid;
    ck_assert_int_eq(service_worker_on(&svc, wport, &pid), 0);
    snprintf(w0, sizeof w0, "127.0.0.1:%d", svc.worker_port[0]);
    snprintf(w1, sizeof w1, "127.0.0.1:%d", wport);
    const char *const backends[] = { w0, w1 };
    snprintf(images, sizeof images, "%s/eval/seed_test_images", fx_env("IMGREC_SHARED"));
    const char *const extra[] = { "--examples", images, NULL };
    int bport = service_extra_balancer(&svc, backends, 2, extra);
    ck_assert_int_gt(bport, 0);
    snprintf(script, sizeof script, "%s/browser.js", fx_env("IMGREC_TESTS"));
    snprintf(shots, sizeof shots, "%s/../build/screenshots", fx_env("IMGREC_TESTS"));
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", bport);
    snprintf(pidstr, sizeof pidstr, "%d", (int)pid);

    const char *argv[] = { "node", script, "--cluster", url, images, shots, pidstr, NULL };
    char *out = malloc(OUT_CAP);
    int rc = sh_run(argv, out, OUT_CAP, 120000);
    kill(pid, SIGCONT); /* whatever happened in the browser */
    ck_assert_msg(rc == 0, "browser: %s", out);
    char *before = part(out, "before", "summary"), *down = part(out, "down", "downSummary");
    char *after = part(out, "after", NULL);
    /* Before: both up, the eight answers shared between them, with a p50 drawn. */
    HAS(before, "{\"state\":\"up\",\"cells\":[\"worker 1\",\"up\"");
    HAS(before, "{\"state\":\"up\",\"cells\":[\"worker 2\",\"up\"");
    HAS(out, "\"summary\":\"2 of 2 workers up");
    long a1 = 0, a2 = 0;
    ck_assert_int_eq(sscanf(strstr(before, "worker 1"), "worker 1\",\"up\",\"%*[0-9]\",\"%ld", &a1), 1);
    ck_assert_int_eq(sscanf(strstr(before, "worker 2"), "worker 2\",\"up\",\"%*[0-9]\",\"%ld", &a2), 1);
    ck_assert_msg(a1 + a2 >= 8, "answered %ld + %ld", a1, a2);
    LACKS(before, "127.0.0.1");
    /* Frozen: worker 2 down, worker 1 still up; then back. */
    HAS(down, "{\"state\":\"up\",\"cells\":[\"worker 1\"");
    HAS(down, "{\"state\":\"down\",\"cells\":[\"worker 2\",\"down\"");
    HAS(out, "\"downSummary\":\"1 of 2 workers up");
    HAS(after, "{\"state\":\"up\",\"cells\":[\"worker 2\",\"up\"");
    long down_ms = 0, up_ms = 0;
    ck_assert_int_eq(sscanf(strstr(out, "\"downAfterMs\":"), "\"downAfterMs\":%ld", &down_ms), 1);
    ck_assert_int_eq(sscanf(strstr(out, "\"upAfterMs\":"), "\"upAfterMs\":%ld", &up_ms), 1);
    printf("cluster panel: worker 2 shown down %ld ms after SIGSTOP, up %ld ms after SIGCONT\n", down_ms, up_ms);
    free(before), free(down), free(after), free(out);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("browser");
    TCase *tc = tcase_create("headless chromium");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, cors_preflight_allows_one_origin);
    tcase_add_test(tc, chromium_uses_the_page_on_desktop_phone_dark_and_without_javascript);
    tcase_add_test(tc, chromium_watches_a_worker_go_down_and_come_back);
    suite_add_tcase(s, tc);
    return s;
}
