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
#include "net/http.h"
#include "net/loop.h"
#include "net/multipart.h"
#include "nn/nn.h"
#include "infer/answer_html.h"
#include "net/cli.h"
#include "infer/queue.h"
#include "net/server.h"

#define PROG "worker"
#define WORKER_DEADLINE_HEADER "X-Imgrec-Deadline-Ms"
#define DRAIN_MS 10000 /* SIGTERM: a full queue (17 jobs) takes well under a second here */

struct worker {
    struct infer_queue *queue;
    char id[128];              /* "host:port", reported in every answer */
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
    fprintf(to, "  --help                this text\n");
    fprintf(to, "SIGTERM or SIGINT: stop accepting, finish the requests in flight (up to 10 s), exit 0.\n");
}

/* Status and error code for an engine error. */
static int nn_error_status(int rc, const char **code)
{
    switch (rc) {
    case NN_ERR_NOT_IMAGE: *code = "unsupported_media_type"; return 415;
    case NN_ERR_BAD_IMAGE: *code = "bad_image"; return 400;
    case NN_ERR_TOO_LARGE: *code = "image_too_large"; return 413;
    case NN_ERR_NOMEM: *code = "out_of_memory"; return 503;
    default: *code = "internal_error"; return 500;
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
    int status = 200;
    const char *code = NULL, *type = "application/json";
    char err[sizeof job->err];
    snprintf(err, sizeof err, "%s", job->err);
    if (job->rc == IQ_ABANDONED) {
        status = 504; /* nobody reads it: the caller left or its deadline passed */
        code = "abandoned";
        snprintf(err, sizeof err, "the caller's deadline passed or it left before the job ran");
        snprintf(r->note, sizeof r->note, "abandoned");
    } else if (job->rc != 0) {
        status = nn_error_status(job->rc, &code);
    } else {
        /* A browser that posted the plain form (no JavaScript) gets a page; everyone else JSON. */
        bool html = answer_wants_html(http_find_header(r->headers, r->http.num_headers, "Accept"));
        int rc = job->result.k < 1 ? -1
                 : html            ? answer_html(&w->json, &job->result, w->id, job->total_ms)
                                   : format_answer(w, job);
        if (rc != 0) {
            status = 500;
            code = "internal_error";
            snprintf(err, sizeof err, "could not format the answer");
        } else {
            type = html ? "text/html; charset=utf-8" : type;
            snprintf(r->note, sizeof r->note, "%s %.1fms", job->result.top[0].label, job->result.inference_ms);
        }
    }
    iq_release(w->queue, job);
    if (code)
        srv_respond_error(c, status, code, err[0] ? err : NULL, NULL);
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
            srv_respond_error(c, 400, "missing_field", "the form has no field named 'image'", NULL);
            return -1;
        }
        if (rc != MP_PART) {
            srv_respond_error(c, 400, "bad_multipart", why, NULL);
            return -1;
        }
        *bytes = part.data.p;
        *len = part.data.len;
    } else {
        *bytes = r->body;
        *len = r->body_len;
    }
    if (*len == 0) {
        srv_respond_error(c, 400, "empty_image",
                          "send the image as multipart field 'image' or as the raw request body", NULL);
        return -1;
    }
    return 0;
}

/* The balancer's X-Imgrec-Deadline-Ms: how many ms from now it still waits for this answer.  0 = none. */
static uint64_t deadline_budget(const struct srv_request *r)
{
    const struct http_header *h = http_find_header(r->headers, r->http.num_headers, WORKER_DEADLINE_HEADER);
    uint64_t v = 0;
    if (!h || h->value.len == 0 || h->value.len > 9)
        return 0;
    for (size_t i = 0; i < h->value.len; i++) {
        if (h->value.p[i] < '0' || h->value.p[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(h->value.p[i] - '0');
    }
    return v ? v : 1; /* "0": already late */
}

static bool caller_still_there(void *owner)
{
    return !srv_conn_peer_closed(owner);
}

static void predict(struct worker *w, struct srv_conn *c, struct srv_request *r)
{
    const char *bytes;
    size_t len;
    if (find_image(c, r, &bytes, &len) != 0)
        return;
    struct infer_job *job = iq_acquire(w->queue);
    if (!job) {
        srv_respond_error(c, 503, "busy", "the inference queue is full; try again shortly", "Retry-After: 1\r\n");
        return;
    }
    job->bytes = bytes;
    job->len = len;
    job->owner = c;
    /* A request from the balancer carries its deadline; the balancer closes the connection when it gives
     * up on a try, so its EOF also means nobody waits.  (A direct client may half-close and still wait.) */
    job->budget_ms = deadline_budget(r);
    if (job->budget_ms)
        job->still_wanted = caller_still_there;
    iq_submit(w->queue, job);
}

/* {"status":"ok","worker":"host:port","in_queue":N,"abandoned":N}: 200 once the model is loaded (before
 * we listen) and the inference thread runs; 503 "starting" until then. */
static void healthz(struct worker *w, struct srv_conn *c)
{
    struct buf *b = &w->json;
    bool ready = iq_running(w->queue);
    buf_clear(b);
    int rc = buf_printf(b, "{\"status\":\"%s\",\"worker\":", ready ? "ok" : "starting");
    rc |= buf_append_json_str(b, w->id, strlen(w->id));
    rc |= buf_printf(b, ",\"in_queue\":%d,\"abandoned\":%llu}\n", iq_depth(w->queue),
                     (unsigned long long)iq_abandoned(w->queue));
    if (rc != 0)
        srv_respond_error(c, 500, "internal_error", "could not format the answer", NULL);
    else
        srv_respond(c, ready ? 200 : 503, "application/json", buf_ptr(b), buf_len(b),
                    ready ? NULL : "Retry-After: 1\r\n");
}

static void handle(struct srv_conn *c, struct srv_request *r, void *data)
{
    struct worker *w = data;
    struct http_str path = r->http.path, method = r->http.method;
    if (http_str_eq(path, "/predict") || http_str_eq(path, "/submit")) {
        if (http_str_eq(method, "POST"))
            predict(w, c, r);
        else
            srv_respond_error(c, 405, "method_not_allowed", "use POST", "Allow: POST\r\n");
    } else if (http_str_eq(path, "/healthz")) {
        if (http_str_eq(method, "GET") || http_str_eq(method, "HEAD")) /* the server drops HEAD's body */
            healthz(w, c);
        else
            srv_respond_error(c, 405, "method_not_allowed", "use GET", "Allow: GET, HEAD\r\n");
    } else {
        srv_respond_error(c, 404, "not_found", "try POST /predict or GET /healthz", NULL);
    }
}

struct options {
    const char *model, *name;
    long threads, queue;
    struct srv_config srv;
};

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        CLI_SERVER_LONGOPTS,
        { "model", required_argument, NULL, 'm' }, { "threads", required_argument, NULL, 't' },
        { "queue", required_argument, NULL, 'q' }, { "name", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },        { 0, 0, 0, 0 },
    };
    *o = (struct options){ .threads = 1, .queue = 16 };
    cli_server_defaults(&o->srv, -1, 2000);
    int opt, rc = 0;
    opterr = 0; /* cli_bad_option names a bad option once, without the program's path */
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
        switch (opt) {
        case 'm': o->model = optarg; break;
        case 't': rc = cli_long(PROG, "--threads", optarg, 1, 64, &o->threads); break;
        case 'q': rc = cli_long(PROG, "--queue", optarg, 0, 4096, &o->queue); break;
        case 'n': o->name = optarg; break;
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
    char err[256];
    struct nn_model *model = nn_load(o.model, err, sizeof err);
    if (!model) {
        fprintf(stderr, PROG ": %s\n", err); /* err names the file */
        return 1;
    }
    if (nn_set_threads(model, (int)o.threads) != 0)
        fprintf(stderr, PROG ": could not start %ld threads; inference runs on one\n", o.threads);
    struct loop *l = loop_create(4096);
    struct worker w = { 0 };
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
    fprintf(stderr, PROG " %s: listening on port %d, model %s, queue %ld\n", w.id, srv_port(s), o.model, o.queue);
    int rc = loop_run(l);
    fprintf(stderr, PROG " %s: stopping: finishing the requests in flight (at most %d ms)\n", w.id, DRAIN_MS);
    if (rc == 0 && srv_drain(s, DRAIN_MS) != 0)
        fprintf(stderr, PROG " %s: some requests were still unanswered after %d ms\n", w.id, DRAIN_MS);
    iq_destroy(w.queue); /* first: the running job reads a connection's buffer */
    srv_destroy(s);
    loop_destroy(l);
    buf_free(&w.json);
    return rc == 0 ? 0 : 1;
}
