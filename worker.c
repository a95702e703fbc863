/* worker: one model behind HTTP.  POST /predict (multipart field "image", or the raw body) answers the
 * top-5 as JSON; GET /healthz says the model is loaded.  The event loop reads and parses requests while
 * a single inference thread classifies them one at a time, in arrival order, from a bounded queue
 * (full → 503 with Retry-After, instead of a queue that grows without bound). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/html.h"
#include "net/http.h"
#include "net/loop.h"
#include "net/multipart.h"
#include "nn/nn.h"
#include "nn/image/image.h"
#include "infer/answer_html.h"
#include "net/cli.h"
#include "infer/queue.h"
#include "net/server.h"

#define PROG "worker"

struct worker {
    struct infer_queue *queue;
    char id[128];              /* "host:port", reported in every answer */
    const char *isa;           /* the engine's kernel path (nn_isa), reported by /healthz */
    struct buf json;           /* scratch for building answers (loop thread only) */
};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --port P --model FILE [options]\n"
            "Serves MobileNetV2 classifications over HTTP/1.1.\n"
            "  POST /predict   image as multipart field 'image' or as the raw body -> JSON top-5\n"
            "                  (an HTML page instead when Accept prefers text/html: a browser form)\n"
            "  GET  /healthz   200 when the model is loaded\n"
            "options:\n"
            "  --model FILE          the .tflite model\n"
            "  --threads N           threads one inference uses (default 1)\n"
            "  --queue N             requests that may wait for the inference thread (default 16; over -> 503)\n"
            "  --name ID             how answers name this worker (default HOSTNAME:PORT)\n");
    cli_server_usage(to);
    fprintf(to,
            "picture limits (over one -> 413, checked from the headers before decoding):\n"
            "  --max-decode-mb MB    memory decoding may hold, one picture or all at once (default %d)\n"
            "  --max-jpeg-scans N    scans in one JPEG (default %d; encoders write <= 12)\n"
            "  --max-jpeg-work M     millions of JPEG coefficients decoded over all scans (default %d)\n"
            "  --help                this text\n",
            IMG_DEFAULT_MAX_DECODE_MB, IMG_DEFAULT_MAX_JPEG_SCANS, IMG_DEFAULT_MAX_JPEG_MCOEF);
}

/* The error code for an engine error. */
static enum err_code nn_error_code(int rc)
{
    switch (rc) {
    case NN_ERR_NOT_IMAGE: return ERR_UNSUPPORTED_MEDIA_TYPE;
    case NN_ERR_BAD_IMAGE: return ERR_BAD_IMAGE;
    case NN_ERR_TOO_LARGE: return ERR_IMAGE_TOO_LARGE;
    case NN_ERR_NOMEM: return ERR_OUT_OF_MEMORY;
    default: return ERR_INTERNAL;
    }
}

static int append_class(struct buf *b, const struct nn_class *c)
{
    int rc = buf_append_str(b, "{\"label\":");
    rc |= buf_append_json_str(b, c->label, strlen(c->label));
    rc |= buf_printf(b, ",\"class_index\":%d,\"prob\":%.6f}", c->class_index, (double)c->prob);
    return rc;
}

/* {"label":..,"class_index":..,"prob":..,"top5":[..],"worker":..,"timing_ms":{..}} */
static int format_answer(struct worker *w, const struct infer_job *job)
{
    const struct nn_result *r = &job->result;
    struct buf *b = &w->json;
    buf_clear(b);
    int rc = buf_append_str(b, "{\"label\":");
    rc |= buf_append_json_str(b, r->top[0].label, strlen(r->top[0].label));
    rc |= buf_printf(b, ",\"class_index\":%d,\"prob\":%.6f,\"top5\":[", r->top[0].class_index,
                     (double)r->top[0].prob);
    for (int i = 0; i < r->k; i++) {
        rc |= i ? buf_append_str(b, ",") : 0;
        rc |= append_class(b, &r->top[i]);
    }
    rc |= buf_append_str(b, "],\"worker\":");
    rc |= buf_append_json_str(b, w->id, strlen(w->id));
    rc |= buf_printf(b, ",\"timing_ms\":{\"queue\":%.3f,\"decode\":%.3f,\"inference\":%.3f,\"total\":%.3f}}\n",
                     job->queued_ms, r->decode_ms, r->inference_ms, job->total_ms);
    return rc;
}

/* The inference thread is done with job: answer its request.  The job goes back to the pool before the
 * answer is sent, since sending may start the connection's next (pipelined) request at once. */
static void on_classified(struct infer_job *job, void *data)
{
    struct worker *w = data;
    struct srv_conn *c = job->owner;
    struct srv_request *r = srv_conn_request(c);
    bool failed = job->rc != 0;
    enum err_code code = ERR_INTERNAL;
    const char *type = "application/json";
    char err[sizeof job->err];
    snprintf(err, sizeof err, "%s", job->err);
    if (failed) {
        code = nn_error_code(job->rc);
    } else {
        /* A browser that posted the plain form (no JavaScript) gets a page; everyone else JSON. */
        bool html = http_accepts_html(http_find_header(r->headers, r->http.num_headers, "Accept"));
        int rc = job->result.k < 1 ? -1
                 : html            ? answer_html(&w->json, &job->result, w->id, job->total_ms)
                                   : format_answer(w, job);
        if (rc != 0) {
            failed = true;
            snprintf(err, sizeof err, "could not format the answer");
        } else {
            type = html ? "text/html; charset=utf-8" : type;
            snprintf(r->note, sizeof r->note, "%s %.1fms", job->result.top[0].label, job->result.inference_ms);
        }
    }
    iq_release(w->queue, job);
    if (failed)
        srv_respond_error(c, code, err[0] ? err : NULL, NULL);
    else
        srv_respond(c, 200, type, buf_ptr(&w->json), buf_len(&w->json), NULL);
}

/* Finds the image in the request: the multipart field "image", or the whole body.  0, or answers. */
static int find_image(struct srv_conn *c, struct srv_request *r, const char **bytes, size_t *len)
{
    const struct http_header *ct = http_find_header(r->headers, r->http.num_headers, "Content-Type");
    static const char multipart[] = "multipart/form-data";
    if (ct && ct->value.len >= sizeof multipart - 1 &&
        http_str_ieq(http_str_from(ct->value.p, sizeof multipart - 1), multipart)) {
        struct mp_part part;
        const char *why = NULL;
        int rc = mp_find_field(ct->value, r->body, r->body_len, "image", &part, &why);
        if (rc == MP_DONE) {
            srv_respond_error(c, ERR_MISSING_FIELD, "the form has no field named 'image'", NULL);
            return -1;
        }
        if (rc != MP_PART) {
            srv_respond_error(c, ERR_BAD_MULTIPART, why, NULL);
            return -1;
        }
        *bytes = part.data.p;
        *len = part.data.len;
    } else {
        *bytes = r->body;
        *len = r->body_len;
    }
    if (*len == 0) {
        srv_respond_error(c, ERR_EMPTY_IMAGE,
                          "send the image as multipart field 'image' or as the raw request body", NULL);
        return -1;
    }
    return 0;
}

static void predict(struct worker *w, struct srv_conn *c, struct srv_request *r)
{
    const char *bytes;
    size_t len;
    if (find_image(c, r, &bytes, &len) != 0)
        return;
    struct infer_job *job = iq_acquire(w->queue);
    if (!job) {
        srv_respond_error(c, ERR_SERVER_BUSY, "the inference queue is full; try again shortly", "Retry-After: 1\r\n");
        return;
    }
    job->bytes = bytes;
    job->len = len;
    job->owner = c;
    iq_submit(w->queue, job);
}

/* {"status":"ok","worker":"host:port","isa":"avx512","in_queue":N}: the model is loaded (it is before we listen). */
static void healthz(struct worker *w, struct srv_conn *c)
{
    struct buf *b = &w->json;
    buf_clear(b);
    int rc = buf_append_str(b, "{\"status\":\"ok\",\"worker\":");
    rc |= buf_append_json_str(b, w->id, strlen(w->id));
    rc |= buf_printf(b, ",\"isa\":\"%s\",\"in_queue\":%d}\n", w->isa, iq_depth(w->queue));
    if (rc != 0)
        srv_respond_error(c, ERR_INTERNAL, "could not format the answer", NULL);
    else
        srv_respond(c, 200, "application/json", buf_ptr(b), buf_len(b), NULL);
}

static void handle(struct srv_conn *c, struct srv_request *r, void *data)
{
    struct worker *w = data;
    struct http_str path = r->http.path, method = r->http.method;
    if (http_str_eq(path, "/predict") || http_str_eq(path, "/submit")) {
        if (http_str_eq(method, "POST"))
            predict(w, c, r);
        else
            srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use POST", "Allow: POST\r\n");
    } else if (http_str_eq(path, "/healthz")) {
        if (http_str_eq(method, "GET") || http_str_eq(method, "HEAD")) /* the server drops HEAD's body */
            healthz(w, c);
        else
            srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use GET", "Allow: GET, HEAD\r\n");
    } else {
        srv_respond_error(c, ERR_NOT_FOUND, "try POST /predict or GET /healthz", NULL);
    }
}

struct options {
    const char *model, *name;
    long threads, queue;
    long decode_mb, jpeg_scans, jpeg_mcoef; /* picture limits (img_limits) */
    struct srv_config srv;
};

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        CLI_SERVER_LONGOPTS,
        { "model", required_argument, NULL, 'm' }, { "threads", required_argument, NULL, 't' },
        { "queue", required_argument, NULL, 'q' }, { "name", required_argument, NULL, 'n' },
        { "max-decode-mb", required_argument, NULL, 'D' }, { "max-jpeg-scans", required_argument, NULL, 'S' },
        { "max-jpeg-work", required_argument, NULL, 'W' }, { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 },
    };
    *o = (struct options){ .threads = 1, .queue = 16, .decode_mb = IMG_DEFAULT_MAX_DECODE_MB,
                           .jpeg_scans = IMG_DEFAULT_MAX_JPEG_SCANS, .jpeg_mcoef = IMG_DEFAULT_MAX_JPEG_MCOEF };
    cli_server_defaults(&o->srv, -1);
    int opt, rc = 0;
    opterr = 0; /* cli_bad_option names a bad option once, without the program's path */
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
        switch (opt) {
        case 'm': o->model = optarg; break;
        case 't': rc = cli_long(PROG, "--threads", optarg, 1, 64, &o->threads); break;
        case 'q': rc = cli_long(PROG, "--queue", optarg, 0, 4096, &o->queue); break;
        case 'n': o->name = optarg; break;
        case 'D': rc = cli_long(PROG, "--max-decode-mb", optarg, 1, 1L << 20, &o->decode_mb); break;
        case 'S': rc = cli_long(PROG, "--max-jpeg-scans", optarg, 1, 1L << 20, &o->jpeg_scans); break;
        case 'W': rc = cli_long(PROG, "--max-jpeg-work", optarg, 1, 1L << 30, &o->jpeg_mcoef); break;
        case 'h': usage(stdout); exit(0);
        case '?': rc = cli_bad_option(PROG, argv); break;
        default: rc = cli_server_option(PROG, opt, optarg, &o->srv) == 1 ? 0 : -1; /* --port, --host ... */
        }
    }
    return cli_finish(PROG, rc, o->srv.port >= 0 && o->model && optind == argc, "--port and --model are required");
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;
    img_set_limits(&(struct img_limits){ .max_decode_bytes = (size_t)o.decode_mb << 20,
                                         .max_jpeg_scans = (int)o.jpeg_scans,
                                         .max_jpeg_work = (long long)o.jpeg_mcoef * 1000000 });
    char err[256];
    struct nn_model *model = nn_load(o.model, err, sizeof err);
    if (!model) {
        fprintf(stderr, PROG ": %s\n", err); /* err names the file */
        return 1;
    }
    if (nn_set_threads(model, (int)o.threads) != 0)
        fprintf(stderr, PROG ": could not start %ld threads; inference runs on one\n", o.threads);
    struct loop *l = loop_create(cli_fd_budget(PROG, &o.srv, 1));
    struct worker w = { .isa = nn_isa(model) };
    buf_init(&w.json, 16 * 1024);
    w.queue = l ? iq_create(l, model, (int)o.queue, on_classified, &w) : NULL;
    if (!w.queue) {
        fprintf(stderr, PROG ": cannot start the event loop or the inference thread\n");
        nn_free(model);
        return 1;
    }
    struct srv *s = srv_create(l, &o.srv, handle, &w, err, sizeof err);
    if (!s || cli_stop_on_signals(l) != 0) {
        fprintf(stderr, PROG ": cannot listen on port %d: %s\n", o.srv.port, s ? "signal setup failed" : err);
        return 1;
    }
    if (o.name) {
        snprintf(w.id, sizeof w.id, "%s", o.name);
    } else {
        char host[64];
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        snprintf(w.id, sizeof w.id, "%s:%d", host, srv_port(s));
    }
    fprintf(stderr, PROG " %s: listening on port %d, model %s (engine path %s), queue %ld\n", w.id, srv_port(s),
            o.model, w.isa, o.queue);
    int rc = loop_run(l);
    fprintf(stderr, PROG " %s: stopping\n", w.id);
    iq_destroy(w.queue); /* first: the running job reads a connection's buffer */
    srv_destroy(s);
    loop_destroy(l);
    buf_free(&w.json);
    return rc == 0 ? 0 : 1;
}
