/* Integration: the real worker and balancer programs on 127.0.0.1 classify the seed images the same way
 * the engine does in-process; backends=N routing; keep-alive with pipelining; the page and the study
 * results; `client classify --url`. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nn/nn.h"
#include "nn/kernels/isa.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define REPLY_CAP (64 * 1024)

static struct service svc;
static struct nn_model *engine;

static void setup(void)
{
    char err[256];
    engine = nn_load(fx_env("IMGREC_MODEL"), err, sizeof err);
    ck_assert_msg(engine != NULL, "nn_load: %s", err);
    ck_assert_msg(service_start(&svc) == 0, "the service did not start");
}

static void teardown(void)
{
    service_stop(&svc);
    nn_free(engine);
}

static void seed_path(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/eval/seed_test_images/%s", fx_env("IMGREC_SHARED"), name);
}

/* The service's JSON answer names the same top class, with the same probability, as the engine. */
static void assert_matches_engine(const char *json, const char *image_path)
{
    char *bytes;
    size_t len;
    ck_assert_msg(sh_read_file(image_path, &bytes, &len) == 0, "cannot read %s", image_path);
    struct nn_result want;
    char err[256];
    ck_assert_int_eq(nn_classify_image(engine, bytes, len, NN_TOPK_MAX, &want, err, sizeof err), 0);
    free(bytes);
    char label[256];
    double class_index, prob;
    ck_assert_msg(sh_json_str(json, "label", label, sizeof label) == 0, "no label in %s", json);
    ck_assert_int_eq(sh_json_num(json, "class_index", &class_index), 0);
    ck_assert_int_eq(sh_json_num(json, "prob", &prob), 0);
    ck_assert_msg(strcmp(label, want.top[0].label) == 0, "%s: label %s, engine %s", image_path, label,
                  want.top[0].label);
    ck_assert_msg((int)class_index == want.top[0].class_index, "%s: class %d, engine %d", image_path,
                  (int)class_index, want.top[0].class_index);
    ck_assert_msg(fabs(prob - want.top[0].prob) < 1e-4, "%s: prob %f, engine %f", image_path, prob,
                  (double)want.top[0].prob);
    ck_assert_ptr_nonnull(strstr(json, "\"top5\":["));
    ck_assert_ptr_nonnull(strstr(json, "\"timing_ms\":{"));
}

static void url(char *out, size_t cap, int port, const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%d%s", port, path);
}

START_TEST(every_seed_image_via_curl_form_matches_engine)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/eval/seed_test_images", fx_env("IMGREC_SHARED"));
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int classified = 0;
    struct dirent *e;
    char *out = malloc(REPLY_CAP);
    while ((e = readdir(d)) != NULL) {
        if (!strstr(e->d_name, ".jpg"))
            continue;
        char path[1024], field[1100], u[128];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(field, sizeof field, "image=@%s", path);
        url(u, sizeof u, svc.balancer_port, "/submit");
        const char *args[] = { "-F", field, u, NULL };
        ck_assert_int_eq(sh_curl(args, out, REPLY_CAP), 200);
        assert_matches_engine(out, path);
        classified++;
    }
    closedir(d);
    free(out);
    ck_assert_int_ge(classified, 7);
}
END_TEST

START_TEST(raw_body_via_curl_data_binary_matches_engine)
{
    char path[512], data[600], u[128], out[REPLY_CAP];
    seed_path("test_224.jpg", path, sizeof path);
    snprintf(data, sizeof data, "@%s", path);
    url(u, sizeof u, svc.balancer_port, "/predict");
    const char *args[] = { "--data-binary", data, "-H", "Content-Type: image/jpeg", u, NULL };
    ck_assert_int_eq(sh_curl(args, out, sizeof out), 200);
    assert_matches_engine(out, path);
}
END_TEST

/* A multipart request written by hand, with an optional number_backend_servers field first. */
static char *multipart_request(const char *target, const char *image, size_t image_len, const char *backends,
                               size_t *len)
{
    static const char b[] = "----imgrecTestBoundary7MA4YWxk";
    size_t cap = image_len + 2048;
    char *req = malloc(cap);
    char head[1024];
    int field = 0;
    if (backends)
        field = snprintf(head, sizeof head,
                         "--%s\r\nContent-Disposition: form-data; name=\"number_backend_servers\"\r\n\r\n%s\r\n", b,
                         backends);
    field += snprintf(head + field, sizeof head - (size_t)field,
                      "--%s\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.jpg\"\r\n"
                      "Content-Type: image/jpeg\r\n\r\n", b);
    char tail[128];
    int tail_len = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", b);
    size_t body_len = (size_t)field + image_len + (size_t)tail_len;
    int n = snprintf(req, cap,
                     "POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=%s\r\n"
                     "Content-Length: %zu\r\n\r\n%s", target, b, body_len, head);
    memcpy(req + n, image, image_len);
    memcpy(req + n + image_len, tail, (size_t)tail_len);
    *len = (size_t)n + image_len + (size_t)tail_len;
    return req;
}

static char *read_seed(const char *name, size_t *len)
{
    char path[512], *bytes;
    seed_path(name, path, sizeof path);
    ck_assert_msg(sh_read_file(path, &bytes, len) == 0, "cannot read %s", path);
    return bytes;
}

/* Sends n requests through the balancer and counts how many each worker answered. */
static void count_workers(const char *target, const char *backends, int n, int counts[2])
{
    size_t img_len, req_len;
    char *img = read_seed("test_16.jpg", &img_len);
    char *req = multipart_request(target, img, img_len, backends, &req_len);
    counts[0] = counts[1] = 0;
    for (int i = 0; i < n; i++) {
        struct sh_reply r;
        ck_assert_int_eq(sh_exchange(svc.balancer_port, req, req_len, &r, 10000), 0);
        ck_assert_int_eq(r.status, 200);
        char worker[64];
        ck_assert_int_eq(sh_json_str(r.body, "worker", worker, sizeof worker), 0);
        int known = 0;
        for (int w = 0; w < 2; w++) {
            if (strcmp(worker, svc.worker_id[w]) == 0) {
                counts[w]++;
                known = 1;
            }
        }
        ck_assert_msg(known, "answer from unknown worker %s", worker);
        sh_reply_free(&r);
    }
    free(req);
    free(img);
}

START_TEST(number_backend_servers_one_always_reaches_first_worker)
{
    int counts[2];
    count_workers("/submit", "1", 12, counts);
    ck_assert_int_eq(counts[0], 12);
    ck_assert_int_eq(counts[1], 0);
}
END_TEST

START_TEST(query_backends_one_always_reaches_first_worker)
{
    int counts[2];
    count_workers("/predict?backends=1", NULL, 12, counts);
    ck_assert_int_eq(counts[0], 12);
}
END_TEST

START_TEST(number_backend_servers_two_uses_both_workers)
{
    /* Uniform choice: the chance that 30 requests all land on one worker is 2^-29. */
    int counts[2];
    count_workers("/submit", "2", 30, counts);
    ck_assert_int_gt(counts[0], 0);
    ck_assert_int_gt(counts[1], 0);
}
END_TEST

START_TEST(raw_socket_multipart_matches_engine)
{
    size_t img_len, req_len;
    char *img = read_seed("test_224.jpg", &img_len);
    char *req = multipart_request("/submit", img, img_len, NULL, &req_len);
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(svc.balancer_port, req, req_len, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    char path[512];
    seed_path("test_224.jpg", path, sizeof path);
    assert_matches_engine(r.body, path);
    char type[128];
    ck_assert_int_eq(sh_header(&r, "Content-Type", type, sizeof type), 0);
    ck_assert_str_eq(type, "application/json");
    sh_reply_free(&r);
    free(req);
    free(img);
}
END_TEST

/* A worker's /healthz names the engine path it runs: the one this CPU takes when nothing forces it. */
START_TEST(worker_healthz_names_the_engine_path)
{
    struct sh_conn c;
    ck_assert_int_eq(sh_connect(&c, svc.worker_port[0]), 0);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    ck_assert_int_eq(sh_send(&c, req, sizeof req - 1, 5000), 0);
    struct sh_reply r;
    ck_assert_int_eq(sh_read_reply(&c, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    char want[64];
    snprintf(want, sizeof want, "\"isa\":\"%s\"", nn_isa_name(nn_isa_best()));
    ck_assert_msg(strstr(r.body, want), "healthz: %s (wanted %s)", r.body, want);
    sh_reply_free(&r);
    sh_close(&c);
}
END_TEST

/* Three requests written at once on one connection come back complete and in order; so do two
 * classifications pipelined straight to a worker. */
START_TEST(keep_alive_pipelined_requests_answer_in_order)
{
    size_t img_len, req_len;
    char *img = read_seed("test_32.jpg", &img_len);
    char *predict = multipart_request("/submit", img, img_len, NULL, &req_len);
    static const char get_css[] = "GET /style.css HTTP/1.1\r\nHost: t\r\n\r\n";
    static const char health[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    size_t all_len = sizeof health - 1 + req_len + sizeof get_css - 1;
    char *all = malloc(all_len);
    memcpy(all, health, sizeof health - 1);
    memcpy(all + sizeof health - 1, predict, req_len);
    memcpy(all + sizeof health - 1 + req_len, get_css, sizeof get_css - 1);

    struct sh_conn *c = malloc(sizeof *c);
    ck_assert_int_eq(sh_connect(c, svc.balancer_port), 0);
    ck_assert_int_eq(sh_send(c, all, all_len, 5000), 0);
    struct sh_reply r;
    char type[128];
    ck_assert_int_eq(sh_read_reply(c, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"ok\""));
    sh_reply_free(&r);
    ck_assert_int_eq(sh_read_reply(c, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"top5\""));
    sh_reply_free(&r);
    ck_assert_int_eq(sh_read_reply(c, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(sh_header(&r, "Content-Type", type, sizeof type), 0);
    ck_assert_ptr_nonnull(strstr(type, "text/css"));
    sh_reply_free(&r);
    sh_close(c);

    /* Two classifications pipelined to a worker directly. */
    size_t two_len = 2 * req_len;
    char *two = malloc(two_len);
    memcpy(two, predict, req_len);
    memcpy(two + req_len, predict, req_len);
    ck_assert_int_eq(sh_connect(c, svc.worker_port[1]), 0);
    ck_assert_int_eq(sh_send(c, two, two_len, 5000), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(sh_read_reply(c, &r, 10000), 0);
        ck_assert_int_eq(r.status, 200);
        char worker[64];
        ck_assert_int_eq(sh_json_str(r.body, "worker", worker, sizeof worker), 0);
        ck_assert_str_eq(worker, svc.worker_id[1]);
        sh_reply_free(&r);
    }
    sh_close(c);
    free(c);
    free(two);
    free(all);
    free(predict);
    free(img);
}
END_TEST

/* 64 clients at once, each with a request the workers answer on their event loop (an empty body → 400):
 * every one gets its own answer, from one of the two workers. */
START_TEST(many_concurrent_clients_all_answered)
{
    enum { N = 64 };
    static const char req[] = "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
    struct sh_conn *c = malloc(N * sizeof *c);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(sh_connect(&c[i], svc.balancer_port), 0);
        ck_assert_int_eq(sh_send(&c[i], req, sizeof req - 1, 2000), 0);
    }
    for (int i = 0; i < N; i++) {
        struct sh_reply r;
        ck_assert_int_eq(sh_read_reply(&c[i], &r, 10000), 0);
        ck_assert_int_eq(r.status, 400);
        ck_assert_ptr_nonnull(strstr(r.body, "\"empty_image\""));
        sh_reply_free(&r);
        sh_close(&c[i]);
    }
    free(c);
}
END_TEST

/* printf '...' | nc -N: the client shuts its side right after the requests; all of them are answered. */
START_TEST(half_closed_client_gets_every_pipelined_answer)
{
    static const char two[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /app.js HTTP/1.1\r\nHost: t\r\n\r\n";
    int ports[] = { svc.balancer_port, svc.worker_port[0] };
    for (int p = 0; p < 2; p++) {
        struct sh_conn *c = malloc(sizeof *c);
        ck_assert_int_eq(sh_connect(c, ports[p]), 0);
        ck_assert_int_eq(sh_send(c, two, sizeof two - 1, 2000), 0);
        ck_assert_int_eq(shutdown(c->fd, SHUT_WR), 0);
        struct sh_reply r;
        for (int i = 0; i < 2; i++) {
            ck_assert_msg(sh_read_reply(c, &r, 5000) == 0, "port %d: answer %d missing", ports[p], i + 1);
            ck_assert_int_eq(r.status, p == 0 ? 200 : 404);
            sh_reply_free(&r);
        }
        ck_assert(sh_peer_closed(c, 3000));
        sh_close(c);
        free(c);
    }
}
END_TEST

/* GET path on the balancer: status and Content-Type (type may be NULL when not checked). */
static void assert_get(const char *path, int status, const char *type_part, const char *body_part)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(svc.balancer_port, req, (size_t)n, &r, 5000), 0);
    ck_assert_msg(r.status == status, "GET %s: %d, wanted %d", path, r.status, status);
    char type[128];
    ck_assert_int_eq(sh_header(&r, "Content-Type", type, sizeof type), 0);
    if (type_part)
        ck_assert_msg(strstr(type, type_part), "GET %s: Content-Type %s", path, type);
    if (body_part)
        ck_assert_msg(strstr(r.body, body_part), "GET %s: body lacks %s", path, body_part);
    sh_reply_free(&r);
}

START_TEST(page_and_static_files_with_content_types)
{
    assert_get("/", 200, "text/html", "enctype=\"multipart/form-data\"");
    assert_get("/index.html", 200, "text/html", "action=\"/submit\"");
    assert_get("/style.css", 200, "text/css", NULL);
    assert_get("/app.js", 200, "text/javascript", "/submit");
    assert_get("/no-such-file.txt", 404, "application/json", "\"error\"");
}
END_TEST

START_TEST(no_path_escapes_the_www_or_results_folder)
{
    assert_get("/../Makefile", 404, "application/json", "not_found");
    assert_get("/%2e%2e/Makefile", 404, "application/json", "not_found");
    assert_get("/%2E%2E/%2E%2E/etc/passwd", 404, "application/json", "not_found");
    assert_get("/..%2fMakefile", 404, "application/json", "not_found");
    assert_get("/results/../../etc/passwd", 404, "application/json", "not_found");
    assert_get("/results/demo/escape.txt", 404, "application/json", "not_found"); /* symlink out */
    assert_get("/%00", 404, "application/json", NULL);
    assert_get("/%zz", 400, "application/json", NULL);
}
END_TEST

START_TEST(results_index_and_files)
{
    assert_get("/results/", 200, "application/json", "{\"studies\":[{\"name\":\"demo\"");
    assert_get("/results/", 200, "application/json", "\"plot.svg\"");
    assert_get("/results/demo/table.md", 200, "text/markdown", "| 224 | 0.71 |");
    assert_get("/results/demo/plot.svg", 200, "image/svg+xml", "<svg");
}
END_TEST

START_TEST(client_classify_through_the_service)
{
    char client[512], u[128], path[512];
    fx_bin("client", client, sizeof client);
    url(u, sizeof u, svc.balancer_port, "");
    seed_path("test_224.jpg", path, sizeof path);
    const char *argv[] = { client, "classify", "--url", u, path, NULL };
    char *out = malloc(REPLY_CAP);
    ck_assert_int_eq(sh_run(argv, out, REPLY_CAP, 20000), 0);
    assert_matches_engine(out, path);
    free(out);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("end to end");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, worker_healthz_names_the_engine_path);
    tcase_add_test(tc, every_seed_image_via_curl_form_matches_engine);
    tcase_add_test(tc, raw_body_via_curl_data_binary_matches_engine);
    tcase_add_test(tc, raw_socket_multipart_matches_engine);
    tcase_add_test(tc, number_backend_servers_one_always_reaches_first_worker);
    tcase_add_test(tc, query_backends_one_always_reaches_first_worker);
    tcase_add_test(tc, number_backend_servers_two_uses_both_workers);
    tcase_add_test(tc, keep_alive_pipelined_requests_answer_in_order);
    tcase_add_test(tc, many_concurrent_clients_all_answered);
    tcase_add_test(tc, half_closed_client_gets_every_pipelined_answer);
    tcase_add_test(tc, page_and_static_files_with_content_types);
    tcase_add_test(tc, no_path_escapes_the_www_or_results_folder);
    tcase_add_test(tc, results_index_and_files);
    tcase_add_test(tc, client_classify_through_the_service);
    suite_add_tcase(s, tc);
    return s;
}
