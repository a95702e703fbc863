/* Integration: the Open Inference Protocol (KServe v2) on real workers and a real balancer on 127.0.0.1 —
 * health, metadata, both input forms (BYTES picture as base64 and binary, UINT8 pixels as JSON and binary)
 * compared with /predict's answer for the same picture and with the golden softmax, the classification
 * extension, malformed requests answered in the protocol's {"error":"..."} shape, nosniff on every answer,
 * and the README's curl lines run as written. */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/json_read.h"
#include "nn/image/image.h"
#include "nn/nn.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define PIXELS ((size_t)NN_INPUT_SIZE * NN_INPUT_SIZE * 3)
#define INFER "/v2/models/mobilenet_v2/infer"
#define MAX_K 1001

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

static char *seed(const char *name, size_t *len)
{
    char path[1024], *bytes;
    snprintf(path, sizeof path, "%s/eval/seed_test_images/%s", fx_env("IMGREC_SHARED"), name);
    ck_assert_msg(sh_read_file(path, &bytes, len) == 0, "cannot read %s", path);
    return bytes;
}

struct top;
static void predict(const void *bytes, size_t len, struct top *t);

/* A seed picture and /predict's answer for it. */
static char *seed_predicted(const char *name, size_t *len, struct top *want)
{
    char *bytes = seed(name, len);
    predict(bytes, *len, want);
    return bytes;
}

/* One request on a fresh connection: method path, optional extra header lines, body. */
static void call(int port, const char *method, const char *path, const char *headers, const void *body, size_t len,
                 struct sh_reply *r)
{
    size_t cap = len + 1024;
    char *req = malloc(cap);
    ck_assert_ptr_nonnull(req);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                     method, path, headers ? headers : "", len);
    memcpy(req + n, body, len);
    ck_assert_msg(sh_exchange(port, req, (size_t)n + len, r, 20000) == 0, "%s %s: no answer on port %d", method, path,
                  port);
    free(req);
}

static void get(int port, const char *path, struct sh_reply *r)
{
    call(port, "GET", path, NULL, "", 0, r);
}

/* The header appears exactly once. */
static void assert_nosniff(const struct sh_reply *r)
{
    const char *first = strcasestr(r->head, "\r\nX-Content-Type-Options: nosniff\r\n");
    ck_assert_msg(first != NULL, "no nosniff in %s", r->head);
    ck_assert_msg(strcasestr(first + 2, "\r\nX-Content-Type-Options:") == NULL, "nosniff twice in %s", r->head);
}

/* The body is exactly {"error":"<message>"}; message copied out. */
static void assert_protocol_error(const struct sh_reply *r, int status, const char *says)
{
    ck_assert_msg(r->status == status, "status %d, expected %d: %s", r->status, status, r->body);
    struct jr j;
    jr_init(&j, r->body, r->body_len);
    bool first = true;
    char key[16], message[512];
    ck_assert_msg(jr_next_key(&j, &first, key, sizeof key) == 1 && strcmp(key, "error") == 0, "not {\"error\":..}: %s",
                  r->body);
    ck_assert_int_ge(jr_string(&j, message, sizeof message), 1);
    ck_assert_msg(jr_next_key(&j, &first, key, sizeof key) == 0 && jr_at_end(&j), "more than error in %s", r->body);
    ck_assert_msg(strstr(message, says) != NULL, "'%s' does not say '%s'", message, says);
    ck_assert_msg(strcasestr(r->head, "\r\nContent-Type: application/json\r\n") != NULL, "%s", r->head);
}

/* ---- reading answers ------------------------------------------------------------------------------------ */

struct top {
    int n;
    char text[NN_TOPK_MAX][320]; /* "prob:index:label" as the classification extension writes it */
    char label[NN_TOPK_MAX][256];
    int index1001[NN_TOPK_MAX];
    double prob[NN_TOPK_MAX];
};

/* /predict's top5 through the balancer. */
static void predict(const void *bytes, size_t len, struct top *t)
{
    struct sh_reply r;
    call(svc.balancer_port, "POST", "/predict", "Content-Type: image/jpeg\r\n", bytes, len, &r);
    ck_assert_msg(r.status == 200, "/predict: %d %s", r.status, r.body);
    struct jr j;
    jr_init(&j, r.body, r.body_len);
    bool first = true;
    char key[32];
    *t = (struct top){ 0 };
    while (jr_next_key(&j, &first, key, sizeof key) == 1) {
        if (strcmp(key, "top5") != 0) {
            ck_assert_int_eq(jr_skip(&j), 0);
            continue;
        }
        bool efirst = true;
        while (jr_next_elem(&j, &efirst) == 1) {
            bool kfirst = true;
            int i = t->n++;
            double index = 0;
            while (jr_next_key(&j, &kfirst, key, sizeof key) == 1) {
                if (strcmp(key, "label") == 0)
                    ck_assert_int_ge(jr_string(&j, t->label[i], sizeof t->label[i]), 0);
                else if (strcmp(key, "class_index") == 0)
                    ck_assert_int_eq(jr_number(&j, &index), 0);
                else
                    ck_assert_int_eq(jr_number(&j, &t->prob[i]), 0);
            }
            t->index1001[i] = (int)index + 1;
            char label[256];
            memcpy(label, t->label[i], sizeof label);
            snprintf(t->text[i], sizeof t->text[i], "%.6f:%d:%s", t->prob[i], t->index1001[i], label);
        }
    }
    ck_assert_int_eq(t->n, NN_TOPK_MAX);
    sh_reply_free(&r);
}

struct output {
    char name[64], datatype[16];
    int shape[4], rank;
    int n;
    float *values;          /* FP32: MAX_K */
    char (*strings)[320];   /* BYTES: MAX_K */
    char id[64];
};

static void output_free(struct output *o)
{
    free(o->values);
    free(o->strings);
}

/* The one output of an infer answer (and its id). */
static void read_output(const struct sh_reply *r, struct output *o)
{
    ck_assert_msg(r->status == 200, "infer: %d %s", r->status, r->body);
    *o = (struct output){ .values = calloc(MAX_K, sizeof(float)), .strings = calloc(MAX_K, sizeof *o->strings) };
    struct jr j;
    jr_init(&j, r->body, r->body_len);
    bool first = true, ofirst = true;
    char key[32], model[64] = "";
    int outputs = 0;
    while (jr_next_key(&j, &first, key, sizeof key) == 1) {
        if (strcmp(key, "model_name") == 0) {
            ck_assert_int_ge(jr_string(&j, model, sizeof model), 0);
        } else if (strcmp(key, "id") == 0) {
            ck_assert_int_ge(jr_string(&j, o->id, sizeof o->id), 0);
        } else if (strcmp(key, "outputs") == 0) {
            while (jr_next_elem(&j, &ofirst) == 1) {
                bool kfirst = true;
                outputs++;
                while (jr_next_key(&j, &kfirst, key, sizeof key) == 1) {
                    bool afirst = true;
                    if (strcmp(key, "name") == 0) {
                        ck_assert_int_ge(jr_string(&j, o->name, sizeof o->name), 0);
                    } else if (strcmp(key, "datatype") == 0) {
                        ck_assert_int_ge(jr_string(&j, o->datatype, sizeof o->datatype), 0);
                    } else if (strcmp(key, "shape") == 0) {
                        double d;
                        while (jr_next_elem(&j, &afirst) == 1 && o->rank < 4 && jr_number(&j, &d) == 0)
                            o->shape[o->rank++] = (int)d;
                    } else if (strcmp(key, "data") == 0) {
                        while (jr_next_elem(&j, &afirst) == 1) {
                            ck_assert_int_lt(o->n, MAX_K);
                            double d;
                            if (jr_peek(&j) == '"')
                                ck_assert_int_ge(jr_string(&j, o->strings[o->n++], sizeof o->strings[0]), 0);
                            else if (jr_number(&j, &d) == 0)
                                o->values[o->n++] = (float)d;
                            else
                                ck_abort_msg("bad data in %s", r->body);
                        }
                    } else {
                        ck_assert_int_eq(jr_skip(&j), 0);
                    }
                }
            }
        } else {
            ck_assert_int_eq(jr_skip(&j), 0);
        }
    }
    ck_assert_msg(jr_at_end(&j), "malformed answer %s", r->body);
    ck_assert_str_eq(model, "mobilenet_v2");
    ck_assert_int_eq(outputs, 1);
    ck_assert_str_eq(o->name, "probabilities");
}

/* ---- building requests ---------------------------------------------------------------------------------- */

static char *base64(const unsigned char *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(n / 3 * 4 + 8), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = a[v >> 18];
        *o++ = a[v >> 12 & 63];
        *o++ = i + 1 < n ? a[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? a[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static const char *outputs_for(int k)
{
    static char text[128];
    if (k == 0)
        return "";
    snprintf(text, sizeof text, ",\"outputs\":[{\"name\":\"probabilities\",\"parameters\":{\"classification\":%d}}]", k);
    return text;
}

/* The picture as a base64 BYTES element in JSON. */
static void infer_base64(int port, const void *bytes, size_t len, int k, struct output *o)
{
    char *b64 = base64(bytes, len);
    size_t cap = strlen(b64) + 512;
    char *body = malloc(cap);
    int n = snprintf(body, cap,
                     "{\"id\":\"t1\",\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],"
                     "\"parameters\":{\"content_type\":\"base64\"},\"data\":[\"%s\"]}]%s}",
                     b64, outputs_for(k));
    struct sh_reply r;
    call(port, "POST", INFER, "Content-Type: application/json\r\n", body, (size_t)n, &r);
    assert_nosniff(&r);
    read_output(&r, o);
    ck_assert_str_eq(o->id, "t1");
    sh_reply_free(&r);
    free(body);
    free(b64);
}

/* Triton's binary data extension: JSON, then the one input's bytes. */
static void infer_binary(int port, const char *json, const void *bin, size_t bin_len, struct sh_reply *r)
{
    size_t jl = strlen(json);
    char *body = malloc(jl + bin_len), headers[128];
    memcpy(body, json, jl);
    memcpy(body + jl, bin, bin_len);
    snprintf(headers, sizeof headers, "Inference-Header-Content-Length: %zu\r\nContent-Type: application/octet-stream\r\n", jl);
    call(port, "POST", INFER, headers, body, jl + bin_len, r);
    free(body);
}

/* 224x224 RGB pixels of a picture exactly as the worker's decoder makes them before scaling. */
static unsigned char *decoded_pixels(const void *bytes, size_t len)
{
    struct img pic, small;
    int orientation, x0, y0, side;
    char err[256];
    ck_assert_int_eq(img_decode_stored(bytes, len, &pic, &orientation, err, sizeof err), 0);
    img_center_square_oriented(pic.w, pic.h, orientation, &x0, &y0, &side);
    ck_assert_int_eq(img_resize_rect(&pic, x0, y0, side, side, NN_INPUT_SIZE, NN_INPUT_SIZE, &small), 0);
    img_free(&pic);
    ck_assert_int_eq(img_apply_orientation(&small, orientation), 0);
    unsigned char *px = malloc(PIXELS);
    memcpy(px, small.rgb, PIXELS);
    img_free(&small);
    return px;
}

static const char pixels_binary_json[] =
    "{\"inputs\":[{\"name\":\"pixels\",\"datatype\":\"UINT8\",\"shape\":[1,224,224,3],"
    "\"parameters\":{\"binary_data_size\":150528}}]}";

/* ---- the tests ---------------------------------------------------------------------------------------- */

START_TEST(health_and_metadata_on_worker_and_balancer)
{
    int ports[2] = { svc.worker_port[0], svc.balancer_port };
    for (int i = 0; i < 2; i++) {
        struct sh_reply r;
        const char *empty[] = { "/v2/health/live", "/v2/health/ready", "/v2/models/mobilenet_v2/ready",
                                "/v2/models/mobilenet_v2/versions/1/ready" };
        for (size_t e = 0; e < sizeof empty / sizeof empty[0]; e++) {
            get(ports[i], empty[e], &r);
            ck_assert_msg(r.status == 200 && r.body_len == 0, "%s on %d: %d '%s'", empty[e], ports[i], r.status, r.body);
            assert_nosniff(&r);
            sh_reply_free(&r);
        }
        const char *meta[] = { "/v2/models/mobilenet_v2", "/v2/models/mobilenet_v2/versions/1" };
        for (int m = 0; m < 2; m++) {
            get(ports[i], meta[m], &r);
            ck_assert_int_eq(r.status, 200);
            char name[64];
            ck_assert_int_eq(sh_json_str(r.body, "name", name, sizeof name), 0);
            ck_assert_str_eq(name, "mobilenet_v2");
            ck_assert_ptr_nonnull(strstr(r.body, "{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1]}"));
            ck_assert_ptr_nonnull(strstr(r.body, "{\"name\":\"pixels\",\"datatype\":\"UINT8\",\"shape\":[1,224,224,3]}"));
            char out[96];
            snprintf(out, sizeof out, "{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[1,%d]}",
                     nn_num_classes(engine));
            ck_assert_msg(strstr(r.body, out) != NULL, "%s lacks %s", r.body, out);
            sh_reply_free(&r);
        }
        get(ports[i], "/v2", &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"classification\""));
        sh_reply_free(&r);
        get(ports[i], "/v2/models/resnet50", &r);
        assert_protocol_error(&r, 404, "unknown model 'resnet50'");
        sh_reply_free(&r);
        get(ports[i], "/v2/models/mobilenet_v2/versions/7/infer", &r);
        assert_protocol_error(&r, 404, "version '1' only");
        sh_reply_free(&r);
        get(ports[i], INFER, &r);
        assert_protocol_error(&r, 405, "use POST");
        sh_reply_free(&r);
        call(ports[i], "POST", "/v2/health/ready", NULL, "", 0, &r);
        assert_protocol_error(&r, 405, "use GET");
        sh_reply_free(&r);
    }
}
END_TEST

/* HEAD path on a fresh connection, read until the server closes: the whole answer, NUL-terminated. */
static size_t head_request(int port, const char *path, char *out, size_t cap)
{
    struct sh_conn *c = malloc(sizeof *c);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(sh_connect(c, port), 0);
    char req[512];
    int n = snprintf(req, sizeof req, "HEAD %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    ck_assert_int_eq(sh_send(c, req, (size_t)n, 5000), 0);
    size_t len = 0;
    for (;;) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        ck_assert_msg(poll(&p, 1, 20000) == 1, "HEAD %s on %d: no answer or no close in 20 s", path, port);
        ssize_t got = recv(c->fd, out + len, cap - 1 - len, 0);
        ck_assert_msg(got >= 0 && len + (size_t)got < cap - 1, "HEAD %s on %d: a read failed or overflowed", path, port);
        if (got == 0)
            break;
        len += (size_t)got;
    }
    out[len] = '\0';
    sh_close(c);
    free(c);
    return len;
}

/* RFC 9110 §9.3.2: HEAD gets GET's head (its Content-Length) and no body, from the worker and through the
 * balancer alike; the balancer must not wait for a body that never comes (it once answered 504 after
 * --try-timeout and counted the try as the worker's failure: a few HEADs marked the worker down). */
START_TEST(head_of_metadata_on_worker_and_balancer)
{
    int ports[2] = { svc.worker_port[0], svc.balancer_port };
    for (int i = 0; i < 2; i++) {
        struct sh_reply r;
        get(ports[i], "/v2/models/mobilenet_v2", &r);
        ck_assert_int_eq(r.status, 200);
        char want[64], head[4096];
        snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", r.body_len);
        sh_reply_free(&r);
        size_t len = head_request(ports[i], "/v2/models/mobilenet_v2", head, sizeof head);
        ck_assert_msg(strncmp(head, "HTTP/1.1 200 ", 13) == 0, "HEAD on %d: %s", ports[i], head);
        ck_assert_msg(strstr(head, want) != NULL, "HEAD on %d lacks the GET's length (%s): %s", ports[i], want, head);
        const char *end = strstr(head, "\r\n\r\n");
        ck_assert_msg(end && (size_t)(end + 4 - head) == len, "HEAD on %d has a body: %s", ports[i], head);
    }
    struct sh_reply r; /* and the worker is still up for real work */
    get(svc.balancer_port, "/v2/health/ready", &r);
    ck_assert_int_eq(r.status, 200);
    sh_reply_free(&r);
}
END_TEST

/* The balancer answers /v2/health/live and /ready from its backends' health: ready turns false (400) when its only
 * worker dies, live stays true, and an infer then fails in the protocol's shape. */
START_TEST(balancer_readiness_follows_its_backends)
{
    const char *extra[] = { "--probe-interval", "100", "--max-fails", "1", NULL };
    int port;
    pid_t pid;
    int bal = service_balancer_over_own_worker(&svc, extra, &port, &pid);
    ck_assert_int_gt(bal, 0);
    struct sh_reply r;
    get(bal, "/v2/health/ready", &r);
    ck_assert_int_eq(r.status, 200);
    sh_reply_free(&r);
    sh_stop(pid);
    int status = 0;
    for (long long end = sh_now_ms() + 5000; sh_now_ms() < end && status != 400; usleep(50 * 1000)) {
        get(bal, "/v2/health/ready", &r);
        status = r.status;
        ck_assert_msg(r.body_len == 0, "health has a body: %s", r.body);
        sh_reply_free(&r);
    }
    ck_assert_int_eq(status, 400);
    get(bal, "/v2/health/live", &r);
    ck_assert_int_eq(r.status, 200);
    sh_reply_free(&r);
    call(bal, "POST", INFER, NULL, "{}", 2, &r);
    assert_protocol_error(&r, 503, "no worker");
    assert_nosniff(&r);
    sh_reply_free(&r);
}
END_TEST

/* Every seed picture as a base64 BYTES input: the classification extension's top 5 is /predict's top 5,
 * string for string ("prob:index:label", index into the 1001 outputs). */
START_TEST(image_bytes_base64_match_predict)
{
    static const char *const names[] = { "test_16.jpg", "test_64.jpg", "test_224.jpg", "test_2000.jpg" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t len;
        struct top want;
        char *bytes = seed_predicted(names[i], &len, &want);
        struct output o;
        infer_base64(svc.balancer_port, bytes, len, 5, &o);
        ck_assert_str_eq(o.datatype, "BYTES");
        ck_assert_int_eq(o.rank, 2);
        ck_assert_int_eq(o.shape[1], 5);
        ck_assert_int_eq(o.n, 5);
        for (int k = 0; k < 5; k++)
            ck_assert_msg(strcmp(o.strings[k], want.text[k]) == 0, "%s #%d: %s, /predict %s", names[i], k, o.strings[k],
                          want.text[k]);
        output_free(&o);
        free(bytes);
    }
}
END_TEST

/* The picture raw after the JSON (binary data extension), answered as the FP32 probabilities: the
 * engine's whole softmax, and /predict's top 5 at their indices. */
START_TEST(image_bytes_binary_fp32_match_predict_and_engine)
{
    size_t len;
    struct top want;
    char *bytes = seed_predicted("test_2000.jpg", &len, &want);
    char json[256];
    snprintf(json, sizeof json,
             "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":{\"binary_data_size\":%zu}}]}",
             len + 4);
    unsigned char *bin = malloc(len + 4);
    bin[0] = (unsigned char)len, bin[1] = (unsigned char)(len >> 8), bin[2] = (unsigned char)(len >> 16), bin[3] = 0;
    memcpy(bin + 4, bytes, len);
    struct sh_reply r;
    infer_binary(svc.worker_port[1], json, bin, len + 4, &r);
    struct output o;
    read_output(&r, &o);
    ck_assert_str_eq(o.datatype, "FP32");
    ck_assert_int_eq(o.n, nn_num_classes(engine));
    struct nn_result res;
    char err[256];
    ck_assert_int_eq(nn_classify_image(engine, bytes, len, NN_TOPK_MAX, &res, err, sizeof err), 0);
    const float *probs = nn_probs(engine);
    for (int i = 0; i < o.n; i++)
        ck_assert_msg(o.values[i] == probs[i], "output %d: %.9g, engine %.9g", i, (double)o.values[i], (double)probs[i]);
    for (int k = 0; k < 5; k++)
        ck_assert_msg(fabs(o.values[want.index1001[k]] - want.prob[k]) <= 5e-7, "index %d", want.index1001[k]);
    output_free(&o);
    sh_reply_free(&r);
    free(bin);
    free(bytes);
}
END_TEST

/* A 2000 px photo decoded, cropped and resized here as the worker does, sent as UINT8 pixels in JSON
 * (flat through the balancer, nested [1][224][224][3] to a worker): the same answer as /predict of the
 * photo itself. */
START_TEST(pixels_of_a_decoded_picture_match_predict)
{
    size_t len;
    struct top want;
    char *bytes = seed_predicted("test_2000.jpg", &len, &want);
    unsigned char *px = decoded_pixels(bytes, len);
    size_t cap = PIXELS * 6 + 512;
    for (int nested = 0; nested < 2; nested++) {
        char *body = malloc(cap);
        size_t n = (size_t)snprintf(body, cap, "{\"inputs\":[{\"datatype\":\"UINT8\",\"data\":[%s", nested ? "[" : "");
        for (int y = 0; y < NN_INPUT_SIZE; y++) {
            n += (size_t)snprintf(body + n, cap - n, "%s%s", y ? "," : "", nested ? "[" : "");
            for (int x = 0; x < NN_INPUT_SIZE; x++) {
                const unsigned char *q = px + ((size_t)y * NN_INPUT_SIZE + (size_t)x) * 3;
                n += (size_t)snprintf(body + n, cap - n, nested ? "%s[%u,%u,%u]" : "%s%u,%u,%u", x ? "," : "", q[0],
                                      q[1], q[2]);
            }
            n += (size_t)snprintf(body + n, cap - n, "%s", nested ? "]" : "");
        }
        /* keys in another order than the spec lists them: data first, name last */
        n += (size_t)snprintf(body + n, cap - n, "%s],\"shape\":[1,224,224,3],\"name\":\"pixels\"}]%s}",
                              nested ? "]" : "", outputs_for(5));
        struct sh_reply r;
        call(nested ? svc.worker_port[0] : svc.balancer_port, "POST", INFER, NULL, body, n, &r);
        struct output o;
        read_output(&r, &o);
        ck_assert_int_eq(o.n, 5);
        for (int k = 0; k < 5; k++)
            ck_assert_msg(strcmp(o.strings[k], want.text[k]) == 0, "nested %d #%d: %s, /predict %s", nested, k,
                          o.strings[k], want.text[k]);
        output_free(&o);
        sh_reply_free(&r);
        free(body);
    }
    free(px);
    free(bytes);
}
END_TEST

/* The golden inputs are pixel/127.5 - 1 of 8-bit pictures: their pixels, sent in binary, give the golden
 * softmax on all 1001 outputs (within the engine tests' 1e-4). */
START_TEST(pixels_from_golden_inputs_match_golden_softmax)
{
    static const char *const cases[] = { "test_224", "ILSVRC2012_val_00000347", "n01491361_tiger_shark" };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[1024];
        char *in, *gold;
        size_t in_len, gold_len;
        snprintf(path, sizeof path, "%s/golden/%s.input.f32", fx_env("IMGREC_SHARED"), cases[c]);
        ck_assert_int_eq(sh_read_file(path, &in, &in_len), 0);
        snprintf(path, sizeof path, "%s/golden/%s.prob1001.f32", fx_env("IMGREC_SHARED"), cases[c]);
        ck_assert_int_eq(sh_read_file(path, &gold, &gold_len), 0);
        ck_assert_uint_eq(in_len, PIXELS * 4);
        unsigned char *px = malloc(PIXELS);
        for (size_t i = 0; i < PIXELS; i++) {
            float x;
            memcpy(&x, in + i * 4, 4);
            long v = lroundf((x + 1.0f) * 127.5f);
            ck_assert_msg(v >= 0 && v <= 255 && fabsf(v / 127.5f - 1.0f - x) < 1e-6f, "%s: %g is no pixel", cases[c], x);
            px[i] = (unsigned char)v;
        }
        struct sh_reply r;
        infer_binary(svc.balancer_port, pixels_binary_json, px, PIXELS, &r);
        struct output o;
        read_output(&r, &o);
        ck_assert_str_eq(o.datatype, "FP32");
        ck_assert_int_eq(o.n * 4, (int)gold_len);
        for (int i = 0; i < o.n; i++) {
            float g;
            memcpy(&g, gold + i * 4, 4);
            ck_assert_msg(fabsf(o.values[i] - g) < 1e-4f, "%s output %d: %g, golden %g", cases[c], i, (double)o.values[i],
                          (double)g);
        }
        output_free(&o);
        sh_reply_free(&r);
        free(px);
        free(in);
        free(gold);
    }
}
END_TEST

/* classification K: K strings, most probable first, each "prob:index:label" with the model's label. */
START_TEST(classification_extension_orders_and_labels)
{
    size_t len;
    char *bytes = seed("test_224.jpg", &len);
    int ks[] = { 1, 3, 1001 };
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        struct output o;
        infer_base64(svc.worker_port[0], bytes, len, ks[t], &o);
        ck_assert_str_eq(o.datatype, "BYTES");
        ck_assert_int_eq(o.n, ks[t]);
        ck_assert_int_eq(o.shape[1], ks[t]);
        double last = 2;
        bool seen[MAX_K] = { false };
        for (int k = 0; k < o.n; k++) {
            double p;
            int index, used = 0;
            ck_assert_msg(sscanf(o.strings[k], "%lf:%d:%n", &p, &index, &used) == 2 && used > 0, "%s", o.strings[k]);
            ck_assert_msg(index >= 0 && index < MAX_K && !seen[index], "%s", o.strings[k]);
            seen[index] = true;
            ck_assert_str_eq(o.strings[k] + used, nn_label(engine, index));
            ck_assert_msg(p <= last, "not in order at %d: %s", k, o.strings[k]);
            last = p;
        }
        output_free(&o);
    }
    free(bytes);
}
END_TEST

struct bad_case {
    const char *body;
    int status;
    const char *says;
};

/* Malformed requests: the right status and a message naming the problem, in {"error":"..."}. */
START_TEST(malformed_requests_answered_in_the_protocol_shape)
{
    static char deep[200], long_number[120], long_id[400];
    snprintf(deep, sizeof deep, "{\"parameters\":");
    memset(deep + strlen(deep), '[', 40);
    snprintf(long_number, sizeof long_number, "{\"inputs\":[{\"shape\":[1%070d]}]}", 0);
    snprintf(long_id, sizeof long_id, "{\"id\":\"%0300d\"}", 0);
    const struct bad_case cases[] = {
        { "{\"inputs\":[{\"name\":\"pixels\",\"datatype\":\"FP32\",\"shape\":[1,224,224,3],\"data\":[0]}]}", 400,
          "datatype FP32" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"UINT8\",\"shape\":[1],\"data\":[0]}]}", 400, "datatype UINT8" },
        { "{\"inputs\":[{\"name\":\"pixels\",\"datatype\":\"UINT8\",\"shape\":[1,224,224],\"data\":[0]}]}", 400,
          "shape [1,224,224]" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"a\",\"b\"]}]}", 400, "shape [2]" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"data\":[\"a\"]}]}", 400, "has no shape" },
        { "{}", 400, "missing input" },
        { "{\"inputs\":[]}", 400, "missing input" },
        { "{\"inputs\":[{\"name\":\"photo\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"a\"]}]}", 400, "unknown input 'photo'" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"a\"]},"
          "{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"a\"]}]}", 400, "not 2" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1]}]}", 400, "either \"data\"" },
        { "{\"inputs\":[{\"name\":\"pixels\",\"datatype\":\"UINT8\",\"shape\":[1,224,224,3],\"data\":[1,2,256]}]}", 400,
          "element 2 is not a whole number from 0 to 255" },
        { "{\"inputs\":[{\"name\":\"pixels\",\"datatype\":\"UINT8\",\"shape\":[1,224,224,3],\"data\":[1,2,3]}]}", 400,
          "has 3 elements; its shape says 150528" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[5]}]}", 400, "strings (BYTES)" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":{\"content_type\":\"base64\"},"
          "\"data\":[\"not base64!\"]}]}", 400, "not base64" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"a\"]}],"
          "\"outputs\":[{\"name\":\"logits\"}]}", 400, "unknown output 'logits'" },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"a\"]}],"
          "\"outputs\":[{\"name\":\"probabilities\",\"parameters\":{\"classification\":0}}]}", 400, "from 1 to 1001" },
        { "{\"inputs\":[{\"name\":\"image\"", 400, "not valid JSON" },
        { "{\"inputs\":[]} x", 400, "more after its JSON" },
        { "[1]", 400, "expected an object at byte 0" },
        { "", 400, "body is empty" },
        { deep, 400, "nested deeper than 32" },
        { long_number, 400, "longer than 63 characters" },
        { "{\"inputs\":[{\"shape\":[01]}]}", 400, "leading zero" }, /* RFC 8259: no leading zeros */
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"\"]}]}", 400, "is empty" },
        { "{\"inputs\":[{\"shape\":[-00]}]}", 400, "leading zero" },
        { long_id, 400, "id is longer than 255 bytes" },
        /* well-formed, but not a picture: the decoder's answer, in the protocol's shape */
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"hello\"]}]}", 415, "not an image" },
    };
    int ports[2] = { svc.worker_port[1], svc.balancer_port };
    for (int p = 0; p < 2; p++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct sh_reply r;
            call(ports[p], "POST", INFER, "Content-Type: application/json\r\n", cases[i].body, strlen(cases[i].body), &r);
            assert_protocol_error(&r, cases[i].status, cases[i].says);
            assert_nosniff(&r);
            sh_reply_free(&r);
        }
        /* the binary extension's own mistakes */
        struct sh_reply r;
        infer_binary(ports[p], pixels_binary_json, "abc", 3, &r);
        assert_protocol_error(&r, 400, "binary_data_size 150528 but 3 bytes follow");
        sh_reply_free(&r);
        call(ports[p], "POST", INFER, "Inference-Header-Content-Length: 99\r\n", "{}", 2, &r);
        assert_protocol_error(&r, 400, "more than the body's 2 bytes");
        sh_reply_free(&r);
    }
}
END_TEST

/* The server's own errors under /v2 (here 413 for a body over --max-body) come in the protocol's shape
 * too, and /predict's keep theirs; a picture over the decoder's --max-decode-mb is refused by the same
 * pipeline stage as on /predict. */
START_TEST(server_errors_under_v2_use_the_protocol_shape)
{
    const char *extra[] = { "--max-body", "400000", "--max-decode-mb", "4", NULL };
    int port = service_extra_worker(&svc, extra);
    ck_assert_int_gt(port, 0);
    size_t len;
    char *photo = seed("test_2000.jpg", &len);
    struct sh_reply r;
    call(port, "POST", "/predict", NULL, photo, len, &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "--max-decode-mb"));
    sh_reply_free(&r);
    char *b64 = base64((const unsigned char *)photo, len);
    size_t cap = strlen(b64) + 256;
    char *json = malloc(cap);
    int n = snprintf(json, cap, "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],"
                                "\"parameters\":{\"content_type\":\"base64\"},\"data\":[\"%s\"]}]}", b64);
    call(port, "POST", INFER, NULL, json, (size_t)n, &r);
    assert_protocol_error(&r, 413, "--max-decode-mb");
    sh_reply_free(&r);
    free(json);
    free(b64);
    free(photo);
    static char body[500000];
    memset(body, ' ', sizeof body);
    call(port, "POST", INFER, NULL, body, sizeof body, &r);
    assert_protocol_error(&r, 413, "");
    sh_reply_free(&r);
    call(port, "POST", "/predict", NULL, body, sizeof body, &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"body_too_large\",\"detail\":"));
    sh_reply_free(&r);
}
END_TEST

/* nosniff exactly once on the balancer's own answers, its relays and the workers'. */
START_TEST(nosniff_on_every_answer)
{
    struct { int port; const char *path; } gets[] = {
        { svc.balancer_port, "/" },       { svc.balancer_port, "/healthz" },   { svc.balancer_port, "/nope" },
        { svc.worker_port[0], "/healthz" }, { svc.worker_port[0], "/nope" },  { svc.balancer_port, "/v2" },
    };
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        struct sh_reply r;
        get(gets[i].port, gets[i].path, &r);
        assert_nosniff(&r);
        sh_reply_free(&r);
    }
    size_t len;
    char *bytes = seed("test_64.jpg", &len);
    struct sh_reply r;
    call(svc.balancer_port, "POST", "/predict", NULL, bytes, len, &r);
    ck_assert_int_eq(r.status, 200);
    assert_nosniff(&r);
    sh_reply_free(&r);
    free(bytes);
}
END_TEST

/* ---- the README's curl lines, run as written --------------------------------------------------------- */

#define MAX_LINES 16

/* The lines of the ```sh block after the "oip-examples" marker. */
static int readme_lines(char lines[][4096], int max)
{
    char path[1024], line[4096];
    snprintf(path, sizeof path, "%s/../README.md", fx_env("IMGREC_TESTS"));
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    int state = 0, n = 0; /* 0 before the marker, 1 before the fence, 2 inside */
    while (fgets(line, sizeof line, f) && state < 3) {
        line[strcspn(line, "\n")] = '\0';
        if (state == 0 && strstr(line, "<!-- oip-examples"))
            state = 1;
        else if (state == 1 && strcmp(line, "```sh") == 0)
            state = 2;
        else if (state == 2 && strcmp(line, "```") == 0)
            state = 3;
        else if (state == 2 && n < max)
            snprintf(lines[n++], sizeof lines[0], "%s", line);
    }
    fclose(f);
    ck_assert_msg(state == 3, "no oip-examples block in the README");
    return n;
}

/* Runs one README line from the repository root against this test's balancer. */
static void run_line(const char *line, char *out, size_t cap)
{
    static char cmd[16384];
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", svc.balancer_port);
    size_t o = (size_t)snprintf(cmd, sizeof cmd, "cd '%s/..' && ", fx_env("IMGREC_TESTS"));
    for (const char *p = line; *p && o + 64 < sizeof cmd;) {
        if (strncmp(p, "localhost:5000", 14) == 0) {
            o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%s", host);
            p += 14;
        } else if (strncmp(p, "../shared/", 10) == 0) {
            o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%s/", fx_env("IMGREC_SHARED"));
            p += 10;
        } else {
            cmd[o++] = *p++;
        }
    }
    cmd[o] = '\0';
    const char *argv[] = { "sh", "-c", cmd, NULL };
    ck_assert_msg(sh_run(argv, out, cap, 30000) == 0, "failed: %s\n%s", line, out);
}

START_TEST(readme_curl_lines_run_as_written)
{
    static char lines[MAX_LINES][4096];
    int n = readme_lines(lines, MAX_LINES);
    ck_assert_int_eq(n, 7); /* one check below for each line */
    size_t len;
    struct top want;
    free(seed_predicted("test_224.jpg", &len, &want));
    char *out = malloc(65536), expect[400];
    run_line(lines[0], out, 65536);
    ck_assert_str_eq(out, "200\n");
    run_line(lines[1], out, 65536);
    ck_assert_ptr_nonnull(strstr(out, "\"name\":\"mobilenet_v2\""));
    ck_assert_ptr_nonnull(strstr(out, "\"datatype\":\"UINT8\",\"shape\":[1,224,224,3]"));
    run_line(lines[2], out, 65536); /* base64, top 5: /predict's, string for string */
    ck_assert_ptr_nonnull(strstr(out, "\"id\":\"skier\""));
    for (int k = 0; k < 5; k++) {
        snprintf(expect, sizeof expect, "\"%s\"", want.text[k]);
        ck_assert_msg(strstr(out, expect) != NULL, "%s lacks %s", out, expect);
    }
    run_line(lines[3], out, 65536); /* FP32, cut by head -c */
    ck_assert_msg(strstr(out, "\"datatype\":\"FP32\",\"shape\":[1,1001],\"data\":[") != NULL, "%s", out);
    run_line(lines[4], out, 65536); /* binary picture */
    snprintf(expect, sizeof expect, "\"data\":[\"%s\"]", want.text[0]);
    ck_assert_msg(strstr(out, expect) != NULL, "%s lacks %s", out, expect);
    run_line(lines[5], out, 65536); /* jpegtopnm's pixels: another decoder, the same class */
    snprintf(expect, sizeof expect, ":%d:%s\"]", want.index1001[0], want.label[0]);
    ck_assert_msg(strstr(out, expect) != NULL, "%s lacks %s", out, expect);
    run_line(lines[6], out, 65536);
    ck_assert_ptr_nonnull(strstr(out, "{\"error\":\"input 'pixels' has datatype FP32;"));
    ck_assert_ptr_nonnull(strstr(out, "}\n 400\n"));
    free(out);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("oip");
    TCase *tc = tcase_create("oip");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, health_and_metadata_on_worker_and_balancer);
    tcase_add_test(tc, head_of_metadata_on_worker_and_balancer);
    tcase_add_test(tc, image_bytes_base64_match_predict);
    tcase_add_test(tc, image_bytes_binary_fp32_match_predict_and_engine);
    tcase_add_test(tc, pixels_of_a_decoded_picture_match_predict);
    tcase_add_test(tc, pixels_from_golden_inputs_match_golden_softmax);
    tcase_add_test(tc, classification_extension_orders_and_labels);
    tcase_add_test(tc, malformed_requests_answered_in_the_protocol_shape);
    tcase_add_test(tc, server_errors_under_v2_use_the_protocol_shape);
    tcase_add_test(tc, nosniff_on_every_answer);
    tcase_add_test(tc, readme_curl_lines_run_as_written);
    tcase_add_test(tc, balancer_readiness_follows_its_backends); /* last: it stops a worker of its own */
    suite_add_tcase(s, tc);
    return s;
}
