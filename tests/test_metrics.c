/* net/metrics and net/access_log: the histogram, the text writer and the log line in-process; then the
 * real programs' GET /metrics checked by Debian's `promtool check metrics`, their access logs in both
 * formats (the JSON lines parsed back), and a real Prometheus server (Debian's prometheus) scraping a
 * balancer and two workers on loopback, asked over its HTTP API. */
#define _GNU_SOURCE
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "balance/static_files.h"
#include "net/access_log.h"
#include "net/buf.h"
#include "net/json_read.h"
#include "net/metrics.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define OUT_CAP (256 * 1024)

START_TEST(histogram_buckets_are_cumulative_and_end_at_inf)
{
    struct met_hist h = { 0 };
    met_observe(&h, 0.0005);  /* <= 1 ms */
    met_observe(&h, 0.001);   /* exactly on a bound: in it */
    met_observe(&h, 0.02);    /* <= 25 ms */
    met_observe(&h, 60);      /* over 10 s: only +Inf */
    met_observe(&h, -1);      /* clamped to 0 */
    struct buf b;
    buf_init(&b, 64 * 1024);
    ck_assert_int_eq(met_write_hist(&b, "x_seconds", "a=\"1\"", &h), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    const char *t = buf_ptr(&b);
    ck_assert_msg(strstr(t, "x_seconds_bucket{a=\"1\",le=\"0.001\"} 3\n"), "%s", t);
    ck_assert_msg(strstr(t, "x_seconds_bucket{a=\"1\",le=\"0.01\"} 3\n"), "%s", t);
    ck_assert_msg(strstr(t, "x_seconds_bucket{a=\"1\",le=\"0.025\"} 4\n"), "%s", t);
    ck_assert_msg(strstr(t, "x_seconds_bucket{a=\"1\",le=\"10\"} 4\n"), "%s", t);
    ck_assert_msg(strstr(t, "x_seconds_bucket{a=\"1\",le=\"+Inf\"} 5\n"), "%s", t);
    ck_assert_msg(strstr(t, "x_seconds_sum{a=\"1\"} 60.0215\n"), "%s", t);
    ck_assert_msg(strstr(t, "x_seconds_count{a=\"1\"} 5\n"), "%s", t);
    buf_free(&b);
}
END_TEST

START_TEST(requests_by_route_and_code)
{
    static const char *const routes[] = { "/a", "/b", "other" };
    struct met_requests m = { 0 };
    ck_assert_int_eq(met_route(routes, 3, http_str_from("/b", 2)), 1);
    ck_assert_int_eq(met_route(routes, 3, http_str_from("/zz", 3)), 2);
    met_count_request(&m, 0, 200);
    met_count_request(&m, 0, 200);
    met_count_request(&m, 2, 418); /* not in the code list */
    struct buf b;
    buf_init(&b, 64 * 1024);
    ck_assert_int_eq(met_write_requests(&b, "r_total", "help.", routes, 3, &m), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    const char *t = buf_ptr(&b);
    ck_assert_msg(strstr(t, "# HELP r_total help.\n# TYPE r_total counter\n"), "%s", t);
    ck_assert_msg(strstr(t, "r_total{route=\"/a\",code=\"200\"} 2\n"), "%s", t);
    ck_assert_msg(strstr(t, "r_total{route=\"other\",code=\"other\"} 1\n"), "%s", t);
    ck_assert_ptr_null(strstr(t, "/b")); /* pairs never seen are not written */
    buf_free(&b);
}
END_TEST

START_TEST(a_full_buffer_is_an_error_not_a_cut_line)
{
    struct met_hist h = { 0 };
    struct buf b;
    buf_init(&b, 64);
    ck_assert_int_eq(met_write_hist(&b, "x_seconds", NULL, &h), -1);
    buf_free(&b);
}
END_TEST

START_TEST(label_values_are_escaped)
{
    char l[64];
    size_t n = met_label(l, sizeof l, 0, "a", "x\"y\\z\nw");
    met_label(l, sizeof l, n, "b", "2");
    ck_assert_str_eq(l, "a=\"x\\\"y\\\\z\\nw\",b=\"2\"");
    char tiny[8];
    met_label(tiny, sizeof tiny, 0, "name", "long value");
    ck_assert_uint_lt(strlen(tiny), sizeof tiny); /* cut, still a string */
}
END_TEST

START_TEST(server_timing_durations)
{
    struct http_str v = http_str_from("queue;dur=0.101, decode;dur=8.5 , inference;desc=\"x\";dur=14.900", 63);
    double ms = -1;
    ck_assert_int_eq(http_server_timing(v, "queue", &ms), 0);
    ck_assert_double_eq_tol(ms, 0.101, 1e-9);
    ck_assert_int_eq(http_server_timing(v, "decode", &ms), 0);
    ck_assert_double_eq_tol(ms, 8.5, 1e-9);
    ck_assert_int_eq(http_server_timing(v, "inference", &ms), 0);
    ck_assert_double_eq_tol(ms, 14.9, 1e-9);
    ck_assert_int_eq(http_server_timing(v, "total", &ms), -1);
    ck_assert_int_eq(http_server_timing(http_str_from("queue;dur=abc", 13), "queue", &ms), -1);
    ck_assert_int_eq(http_server_timing(http_str_from("queue", 5), "queue", &ms), -1);
}
END_TEST

static struct http_request log_request(const char *method, const char *target)
{
    struct http_request r = { .method = http_str_from(method, strlen(method)),
                              .target = http_str_from(target, strlen(target)), .minor_version = 1 };
    return r;
}

START_TEST(text_log_line_has_every_field_in_order)
{
    struct http_request req = log_request("POST", "/predict?backends=1");
    struct alog_entry e = { .unix_time = 1796320400.123, .client = "127.0.0.1:40522", .req = &req, .status = 200,
                            .bytes = 1187, .total_ms = 23.6014, .worker = "vm:5001", .tries = 2, .queue_ms = 0.101,
                            .inference_ms = 14.9, .note = "snowmobile" };
    struct buf b;
    buf_init(&b, 2048);
    ck_assert_int_eq(alog_format_line(&b, ALOG_TEXT, &e), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    ck_assert_str_eq(buf_ptr(&b), "2026-12-03T17:53:20.123Z 127.0.0.1:40522 \"POST /predict?backends=1 HTTP/1.1\" 200 1187 "
                                  "23.601 vm:5001 2 0.101 14.900 snowmobile\n");
    /* unknown fields are "-"; a quote in the target cannot end the quoted request line */
    req = log_request("GET", "/a\"b");
    e = (struct alog_entry){ .unix_time = 1796320400, .client = "1.2.3.4:5", .req = &req, .status = 404, .bytes = 9,
                             .total_ms = 0.5, .queue_ms = -1, .inference_ms = -1 };
    ck_assert_int_eq(alog_format_line(&b, ALOG_TEXT, &e), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    ck_assert_str_eq(buf_ptr(&b), "2026-12-03T17:53:20.000Z 1.2.3.4:5 \"GET /a\\x22b HTTP/1.1\" 404 9 0.500 - - - -\n");
    e = (struct alog_entry){ .unix_time = 1796320400, .client = "1.2.3.4:5", .status = 408, .total_ms = -1,
                             .queue_ms = -1, .inference_ms = -1 };
    ck_assert_int_eq(alog_format_line(&b, ALOG_TEXT, &e), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    ck_assert_str_eq(buf_ptr(&b), "2026-12-03T17:53:20.000Z 1.2.3.4:5 \"-\" 408 0 - - - - -\n");
    /* a worker named with a space stays one field; the note (a label) is the rest of the line */
    req = log_request("POST", "/predict");
    e = (struct alog_entry){ .unix_time = 1796320400, .client = "1.2.3.4:5", .req = &req, .status = 200, .bytes = 1,
                             .total_ms = 2, .worker = "my worker", .tries = 1, .queue_ms = 0, .inference_ms = 1,
                             .note = "tiger cat" };
    ck_assert_int_eq(alog_format_line(&b, ALOG_TEXT, &e), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    ck_assert_str_eq(buf_ptr(&b), "2026-12-03T17:53:20.000Z 1.2.3.4:5 \"POST /predict HTTP/1.1\" 200 1 2.000 "
                                  "my\\x20worker 1 0.000 1.000 tiger cat\n");
    buf_free(&b);
}
END_TEST

/* One JSON log line into its fields (every value a string, a number or null). */
struct log_fields {
    char time[40], client[64], method[16], path[256], worker[128], note[128];
    double status, bytes, total_ms, tries, queue_ms, inference_ms; /* -1 = null */
    int nkeys;
};

static int parse_json_line(const char *line, size_t len, struct log_fields *f)
{
    struct jr j;
    jr_init(&j, line, len);
    *f = (struct log_fields){ .status = -1, .bytes = -1, .total_ms = -1, .tries = -1, .queue_ms = -1,
                              .inference_ms = -1 };
    bool first = true;
    char key[32];
    int rc;
    while ((rc = jr_next_key(&j, &first, key, sizeof key)) == 1) {
        f->nkeys++;
        struct { const char *name; char *out; size_t cap; } strs[] = {
            { "time", f->time, sizeof f->time }, { "client", f->client, sizeof f->client },
            { "method", f->method, sizeof f->method }, { "path", f->path, sizeof f->path },
            { "worker", f->worker, sizeof f->worker }, { "note", f->note, sizeof f->note }, { "version", NULL, 0 },
        };
        struct { const char *name; double *out; } nums[] = {
            { "status", &f->status }, { "bytes", &f->bytes }, { "total_ms", &f->total_ms }, { "tries", &f->tries },
            { "queue_ms", &f->queue_ms }, { "inference_ms", &f->inference_ms },
        };
        bool known = false;
        for (size_t i = 0; i < sizeof strs / sizeof strs[0] && !known; i++)
            if (strcmp(key, strs[i].name) == 0) {
                known = true;
                if (strs[i].out && jr_peek(&j) == '"' ? jr_string(&j, strs[i].out, strs[i].cap) < 0
                                                        : jr_skip(&j) != 0) /* null */
                    return -1;
            }
        for (size_t i = 0; i < sizeof nums / sizeof nums[0] && !known; i++)
            if (strcmp(key, nums[i].name) == 0) {
                known = true;
                if (jr_peek(&j) == 'n' ? jr_skip(&j) != 0 : jr_number(&j, nums[i].out) != 0) /* null */
                    return -1;
            }
        if (!known)
            return -1;
    }
    return rc == 0 && jr_at_end(&j) ? 0 : -1;
}

START_TEST(json_log_line_parses_back)
{
    struct http_request req = log_request("POST", "/pre\"dict");
    struct alog_entry e = { .unix_time = 1796320400.5, .client = "[::1]:7", .req = &req, .status = 503, .bytes = 77,
                            .total_ms = 1.25, .worker = "", .tries = 0, .queue_ms = -1, .inference_ms = 3 };
    struct buf b;
    buf_init(&b, 2048);
    ck_assert_int_eq(alog_format_line(&b, ALOG_JSON, &e), 0);
    ck_assert_int_eq(b.data[b.end - 1], '\n');
    struct log_fields f;
    ck_assert_msg(parse_json_line(buf_ptr(&b), buf_len(&b), &f) == 0, "%.*s", (int)buf_len(&b), buf_ptr(&b));
    ck_assert_int_eq(f.nkeys, 13);
    ck_assert_str_eq(f.time, "2026-12-03T17:53:20.500Z");
    ck_assert_str_eq(f.client, "[::1]:7");
    ck_assert_str_eq(f.method, "POST");
    ck_assert_str_eq(f.path, "/pre\"dict");
    ck_assert(f.status == 503 && f.bytes == 77 && f.total_ms == 1.25 && f.inference_ms == 3);
    ck_assert(f.tries == -1 && f.queue_ms == -1 && f.worker[0] == '\0'); /* null */
    buf_free(&b);
}
END_TEST

START_TEST(a_log_inside_a_served_folder_is_seen)
{
    char dir[] = "/tmp/imgrec-logdirXXXXXX", sub[64], path[96];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/www", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    struct static_root root;
    char err[128];
    ck_assert_int_eq(static_root_init(&root, sub, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/access.log", sub);
    ck_assert(static_root_holds(&root, path));
    snprintf(path, sizeof path, "%s/www/../www/./x.log", dir);
    ck_assert(static_root_holds(&root, path));
    snprintf(path, sizeof path, "%s/access.log", dir);
    ck_assert(!static_root_holds(&root, path));
    snprintf(path, sizeof path, "%s/wwwx.log", dir); /* a sibling whose name starts the same */
    ck_assert(!static_root_holds(&root, path));
    ck_assert_int_eq(rmdir(sub), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- the real programs ------------------------------------------------------------------------------ */

static struct service svc;
static char *out;

static void setup(void)
{
    out = malloc(OUT_CAP);
    ck_assert_msg(service_start(&svc) == 0, "the service did not start");
}

static void teardown(void)
{
    service_stop(&svc);
    free(out);
}

static void classify_some(int n)
{
    char image[512], url[128];
    snprintf(image, sizeof image, "@%s/eval/seed_test_images/test_224.jpg", fx_env("IMGREC_SHARED"));
    snprintf(url, sizeof url, "http://127.0.0.1:%d/predict", svc.balancer_port);
    for (int i = 0; i < n; i++) {
        const char *args[] = { "--data-binary", image, url, NULL };
        ck_assert_int_eq(sh_curl(args, out, OUT_CAP), 200);
    }
}

/* GET /metrics of the program on port into out; the text is also saved to path. */
static void scrape(int port, const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    const char *args[] = { "-o", path, url, NULL };
    ck_assert_int_eq(sh_curl(args, out, OUT_CAP), 200);
    char *text;
    size_t len;
    ck_assert_int_eq(sh_read_file(path, &text, &len), 0);
    snprintf(out, OUT_CAP, "%.*s", (int)len, text);
    free(text);
}

static void promtool_accepts(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' 2>&1", path);
    const char *argv[] = { "sh", "-c", cmd, NULL };
    char said[4096];
    int rc = sh_run(argv, said, sizeof said, 20000);
    ck_assert_msg(rc == 0, "promtool check metrics %s: rc %d: %s", path, rc, said);
}

START_TEST(both_endpoints_pass_promtool_after_traffic)
{
    classify_some(3);
    char path[512];
    snprintf(path, sizeof path, "%s/worker.prom", svc.dir);
    /* Either worker may have had all three: sum over both. */
    double total = 0;
    for (int i = 0; i < 2; i++) {
        scrape(svc.worker_port[i], path);
        promtool_accepts(path);
        const char *p = strstr(out, "imgrec_worker_inference_seconds_count ");
        ck_assert_msg(p, "%s", out);
        total += atof(p + strlen("imgrec_worker_inference_seconds_count "));
        ck_assert_ptr_nonnull(strstr(out, "imgrec_worker_jobs_in_pipeline 0\n"));
        ck_assert_ptr_nonnull(strstr(out, "imgrec_worker_engines_busy 0\n"));
        ck_assert_ptr_nonnull(strstr(out, "imgrec_worker_engine_info{worker=\""));
        ck_assert_ptr_nonnull(strstr(out, "imgrec_memory_limit_bytes 268435456\n"));
        ck_assert_ptr_nonnull(strstr(out, "process_start_time_seconds "));
    }
    ck_assert_msg(total == 3, "inferences counted %g, sent 3", total);
    snprintf(path, sizeof path, "%s/balancer.prom", svc.dir);
    scrape(svc.balancer_port, path);
    promtool_accepts(path);
    ck_assert_msg(strstr(out, "imgrec_balancer_requests_total{route=\"/predict\",code=\"200\"} 3\n"), "%s", out);
    ck_assert_msg(strstr(out, "imgrec_balancer_backend_in_flight{backend=\"127.0.0.1:"), "%s", out);
    ck_assert_msg(strstr(out, "imgrec_balancer_backend_up{backend=\"127.0.0.1:"), "%s", out);
    ck_assert_msg(strstr(out, "imgrec_balancer_refusals_total{reason=\"no_backend_up\"} 0\n"), "%s", out);
    ck_assert_msg(strstr(out, "imgrec_open_connections "), "%s", out);
}
END_TEST

/* The lines of a log file that start with prefix (a worker's log also holds its start-up lines). */
static int log_lines(const char *path, const char *prefix, char lines[][1024], int max)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    int n = 0;
    char line[1024];
    while (n < max && fgets(line, sizeof line, f))
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            snprintf(lines[n++], sizeof lines[0], "%s", line);
    fclose(f);
    return n;
}

/* A balancer over [a dead port, a worker] in round-robin order with --log-format json: each request's
 * JSON line is parsed; those whose first try met the dead port say tries 2, and every one names the
 * worker that answered and its queue and inference times (from its Server-Timing).  The worker logs in
 * the text format: its lines are split into their documented fields. */
START_TEST(access_log_in_both_formats_says_worker_tries_and_times)
{
    char wlog[512], blog[512], wlog_arg[600], blog_arg[600], live[32], dead[32];
    snprintf(wlog, sizeof wlog, "%s/worker-access.log", svc.dir);
    snprintf(blog, sizeof blog, "%s/balancer-access.log", svc.dir);
    snprintf(wlog_arg, sizeof wlog_arg, "--access-log=%s", wlog);
    snprintf(blog_arg, sizeof blog_arg, "--access-log=%s", blog);
    const char *wextra[] = { "--log-format", "text", wlog_arg, NULL };
    int wport = service_extra_worker(&svc, wextra);
    ck_assert_int_gt(wport, 0);
    snprintf(live, sizeof live, "127.0.0.1:%d", wport);
    snprintf(dead, sizeof dead, "127.0.0.1:%d", sh_free_port());
    const char *backends[] = { dead, live };
    const char *bextra[] = { "--log-format", "json", blog_arg, "--policy", "round-robin", "--max-fails", "100",
                             "--probe-interval", "3600000", NULL };
    int bport = service_extra_balancer(&svc, backends, 2, bextra);
    ck_assert_int_gt(bport, 0);
    char image[512], url[128];
    snprintf(image, sizeof image, "@%s/eval/seed_test_images/test_224.jpg", fx_env("IMGREC_SHARED"));
    snprintf(url, sizeof url, "http://127.0.0.1:%d/predict", bport);
    for (int i = 0; i < 4; i++) {
        const char *args[] = { "--data-binary", image, url, NULL };
        ck_assert_int_eq(sh_curl(args, out, OUT_CAP), 200);
    }
    usleep(100 * 1000); /* the last line is written as its answer is queued: give the write a moment */
    static char lines[16][1024];
    int n = log_lines(blog, "{", lines, 16), retried = 0;
    ck_assert_int_eq(n, 5); /* the first /healthz the fixture waited on, then the four */
    for (int i = 1; i < n; i++) {
        struct log_fields f;
        ck_assert_msg(parse_json_line(lines[i], strlen(lines[i]), &f) == 0, "%s", lines[i]);
        ck_assert_str_eq(f.method, "POST");
        ck_assert_str_eq(f.path, "/predict");
        ck_assert_str_eq(f.client + strlen(f.client) - strlen(strrchr(f.client, ':')), strrchr(f.client, ':'));
        ck_assert_msg(f.status == 200 && f.bytes > 100, "%s", lines[i]);
        ck_assert_str_eq(f.worker, live);
        ck_assert_msg(f.tries == 1 || f.tries == 2, "%s", lines[i]);
        retried += f.tries == 2;
        ck_assert_msg(f.queue_ms >= 0 && f.inference_ms > 0 && f.total_ms >= f.inference_ms, "%s", lines[i]);
        ck_assert_int_eq(strlen(f.time), 24); /* 2026-12-03T17:53:20.123Z */
    }
    ck_assert_msg(retried == 2, "round-robin sends every other first try to the dead port: %d retried", retried);
    /* The worker's own lines, text: TIME CLIENT "METHOD TARGET HTTP/1.x" STATUS BYTES TOTAL WORKER TRIES QUEUE INFERENCE NOTE */
    n = log_lines(wlog, "20", lines, 16);
    int posts = 0;
    for (int i = 0; i < n; i++) {
        char when[40], client[64], method[16], target[64], version[16], total[16], worker[128], tries[8];
        int status;
        size_t bytes;
        double queue, inference;
        char label[64] = "";
        int got = sscanf(lines[i], "%39s %63s \"%15s %63s %15[^\"]\" %d %zu %15s %127s %7s %lf %lf %63s", when, client,
                         method, target, version, &status, &bytes, total, worker, tries, &queue, &inference, label);
        if (strcmp(method, "POST") != 0)
            continue;
        posts++;
        ck_assert_msg(got == 13, "%d fields in %s", got, lines[i]);
        ck_assert_str_eq(target, "/predict");
        ck_assert_str_eq(version, "HTTP/1.1");
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(tries, "-"); /* a worker makes no tries */
        ck_assert_msg(strstr(worker, ":") && inference > 0 && queue >= 0 && atof(total) >= inference, "%s", lines[i]);
    }
    ck_assert_int_eq(posts, 4);
    /* The balancer's metrics agree: the dead backend failed twice, the live one took two retries. */
    scrape(bport, blog);
    char want[128];
    snprintf(want, sizeof want, "imgrec_balancer_backend_failures_total{backend=\"%s\"} 2\n", dead);
    ck_assert_msg(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "imgrec_balancer_backend_retries_total{backend=\"%s\"} 2\n", live);
    ck_assert_msg(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "imgrec_balancer_backend_answered_total{backend=\"%s\"} 4\n", live);
    ck_assert_msg(strstr(out, want), "%s", out);
}
END_TEST

/* An --access-log inside a folder the balancer serves would be public: refused at start-up. */
START_TEST(balancer_refuses_an_access_log_it_would_serve)
{
    char bin[600], log_arg[PATH_MAX + 64], backend[32], said[2048];
    fx_bin("balancer", bin, sizeof bin);
    snprintf(log_arg, sizeof log_arg, "--access-log=%s/demo/access.log", svc.results);
    snprintf(backend, sizeof backend, "127.0.0.1:%d", svc.worker_port[0]);
    const char *argv[] = { bin, "--port", "0", "--host", "127.0.0.1", "--www", fx_env("IMGREC_WWW"), "--results",
                           svc.results, "--backend", backend, log_arg, NULL };
    int rc = sh_run(argv, said, sizeof said, 5000);
    ck_assert_int_eq(rc, 2);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/demo/access.log", svc.results);
    ck_assert_int_ne(access(path, F_OK), 0); /* not even created */
}
END_TEST

/* A real Prometheus scrapes the balancer and both workers every second; its API then says every target
 * is up and gives a p50 of the workers' inference time.  The server runs with its storage in the
 * service's scratch folder and is stopped by sh_stop_all however the test ends. */
static int prom_query(int port, const char *query, char *res, size_t cap)
{
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/query", port);
    const char *args[] = { "-G", "--data-urlencode", query, url, NULL };
    return sh_curl(args, res, cap);
}

START_TEST(prometheus_scrapes_every_target)
{
    char config[512], storage[512], log[512], listen[64], cfg_text[1024];
    snprintf(config, sizeof config, "%s/prometheus.yml", svc.dir);
    snprintf(storage, sizeof storage, "%s/prometheus-data", svc.dir);
    snprintf(log, sizeof log, "%s/prometheus.log", svc.dir);
    int port = sh_free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    int n = snprintf(cfg_text, sizeof cfg_text,
                     "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                     "scrape_configs:\n  - job_name: imgrec\n    static_configs:\n"
                     "      - targets: ['127.0.0.1:%d', '127.0.0.1:%d', '127.0.0.1:%d']\n",
                     svc.balancer_port, svc.worker_port[0], svc.worker_port[1]);
    FILE *f = fopen(config, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(cfg_text, 1, (size_t)n, f), (size_t)n);
    ck_assert_int_eq(fclose(f), 0);
    char prom[64] = "/usr/bin/prometheus";
    ck_assert_msg(access(prom, X_OK) == 0, "Debian's prometheus is not installed (make deps-check)");
    char storage_arg[600], config_arg[600];
    snprintf(storage_arg, sizeof storage_arg, "--storage.tsdb.path=%s", storage);
    snprintf(config_arg, sizeof config_arg, "--config.file=%s", config);
    const char *argv[] = { prom, config_arg, storage_arg, listen, NULL };
    pid_t pid = sh_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    /* Wait (bounded) until every target has been scraped at least twice and is up. */
    int ok = 0;
    for (int i = 0; i < 60 && !ok; i++) {
        usleep(500 * 1000);
        if (prom_query(port, "query=count(count_over_time(up[1m]) >= 2) == 3 and count(up == 1) == 3",
                       out, OUT_CAP) == 200)
            ok = strstr(out, "\"value\":[") != NULL;
    }
    ck_assert_msg(ok, "Prometheus never saw three targets up twice (log %s): %s", log, out);
    ck_assert_int_eq(prom_query(port, "query=up", out, OUT_CAP), 200);
    ck_assert_msg(!strstr(out, "\"0\"]"), "a target is down: %s", out);
    classify_some(6); /* after scrapes began, so the buckets' rate over the last minute is not 0 */
    /* After the requests, the p50 of inference over the last minute: a few ms to a second here. */
    ok = 0;
    double p50 = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        usleep(500 * 1000);
        if (prom_query(port,
                       "query=histogram_quantile(0.5, sum by (le) (rate(imgrec_worker_inference_seconds_bucket[1m])))",
                       out, OUT_CAP) != 200)
            continue;
        const char *v = strstr(out, "\"value\":[");  /* "value":[<time>,"<number>"] */
        const char *q = v ? strstr(v, ",\"") : NULL;
        if (q) {
            p50 = atof(q + 2);
            ok = p50 > 0.001 && p50 < 1.0;
        }
    }
    ck_assert_msg(ok, "histogram_quantile gave no plausible p50 (%g): %s", p50, out);
    ck_assert_int_ge(sh_stop(pid), 0);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *unit = tcase_create("unit");
    tcase_add_test(unit, histogram_buckets_are_cumulative_and_end_at_inf);
    tcase_add_test(unit, requests_by_route_and_code);
    tcase_add_test(unit, a_full_buffer_is_an_error_not_a_cut_line);
    tcase_add_test(unit, label_values_are_escaped);
    tcase_add_test(unit, server_timing_durations);
    tcase_add_test(unit, text_log_line_has_every_field_in_order);
    tcase_add_test(unit, json_log_line_parses_back);
    tcase_add_test(unit, a_log_inside_a_served_folder_is_seen);
    suite_add_tcase(s, unit);
    TCase *live = tcase_create("live");
    tcase_add_unchecked_fixture(live, setup, teardown);
    tcase_set_timeout(live, 90);
    tcase_add_test(live, both_endpoints_pass_promtool_after_traffic);
    tcase_add_test(live, prometheus_scrapes_every_target);
    tcase_add_test(live, access_log_in_both_formats_says_worker_tries_and_times);
    tcase_add_test(live, balancer_refuses_an_access_log_it_would_serve);
    suite_add_tcase(s, live);
    return s;
}
