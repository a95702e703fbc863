/* worker: one model behind HTTP.  POST /predict (multipart field "image", or the raw body) answers the
 * top-5 as JSON; GET /healthz says the model is loaded; GET /metrics is Prometheus text.  The event loop reads and parses requests while
 * decoder threads decode the pictures and engine threads (one model each) run the network, in arrival
 * order, from a bounded queue (full → 503 with Retry-After, instead of a queue that grows without bound). */
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
#include "infer/oip.h"
#include "net/cli.h"
#include "infer/queue.h"
#include "net/metrics.h"
#include "net/server.h"

#define PROG "worker"
#define WORKER_DEADLINE_HEADER "X-Imgrec-Deadline-Ms"
#define DRAIN_MS 10000 /* SIGTERM: a full queue (17 jobs) takes well under a second here */

/* GET /metrics's request routes: the last one is every other path. */
static const char *const routes[] = { "/predict", "/submit", "/healthz", "/metrics", "/v2", "other" };
#define NROUTES (int)(sizeof routes / sizeof routes[0])

/* Loop thread only: a job's timings are observed when it comes back to the loop (see net/metrics.h). */
struct worker_metrics {
    struct met_requests requests;
    struct met_hist request, queue_wait, decode, inference;
};

struct worker {
    struct srv *srv;
    int engines, decoders;     /* for the engine info metric */
    struct worker_metrics m;
    struct infer_queue *queue;
    char id[128];              /* "host:port", reported in every answer */
    const char *isa;           /* the engine's kernel path (nn_isa), reported by /healthz */
    struct buf json;           /* scratch for building answers (loop thread only) */
    struct oip oip;            /* the Open Inference Protocol's /v2 routes */
};

/* The default --batch-max, from measurement (make bench's batch rows; README, Benchmarks): here a batch of
 * 4 costs 6-9% less engine CPU per image than 4 single passes (a worker 2-7% less CPU per request), and
 * 8 no less than 4 for twice the memory. */
#define WORKER_BATCH_MAX 4

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --port P --model FILE [options]\n"
            "Serves MobileNetV2 classifications over HTTP/1.1.\n"
            "  POST /predict   image as multipart field 'image' or as the raw body -> JSON top-5\n"
            "                  (an HTML page instead when Accept prefers text/html: a browser form)\n"
            "  GET  /healthz   200 when the model is loaded\n"
            "  GET  /metrics   Prometheus metrics (text format 0.0.4; see the README's Metrics)\n"
            "  /v2/...         the Open Inference Protocol (KServe v2): health, metadata and\n"
            "                  POST /v2/models/" OIP_MODEL_NAME "/infer (see the README)\n"
            "options:\n"
            "  --model FILE          the .tflite model\n"
            "  --threads N           threads one inference uses (default 1)\n"
            "  --engines N           inference threads sharing the queue, each with its own copy of the model\n"
            "                        (default 1)\n"
            "  --decoders N          threads decoding and resizing pictures beside inference (default 1; each\n"
            "                        holds one decoded picture at a time)\n"
            "  --batch-max B         decoded requests an engine runs as one batched pass (default %d: a batch of 4\n"
            "                        took 6-9%% less engine CPU per image than single passes here, 8 no less;\n"
            "                        a lone request still runs alone; 1 = one image a pass)\n"
            "  --batch-delay-ms D    how long an engine with fewer than B waits for more (default 0: never)\n"
            "  --queue N             requests that may wait beyond those being decoded or run (default 16;\n"
            "                        over -> 503)\n"
            "  --name ID             how answers name this worker (default HOSTNAME:PORT)\n",
            WORKER_BATCH_MAX);
    cli_server_usage(to);
    fprintf(to,
            "picture limits (over one -> 413, checked from the headers before decoding):\n"
            "  --max-decode-mb MB    memory decoding may hold, one picture or all at once (default %d)\n"
            "  --max-jpeg-scans N    scans in one JPEG (default %d; encoders write <= 12)\n"
            "  --max-jpeg-work M     millions of JPEG coefficients decoded over all scans (default %d)\n"
            "  --help                this text\n",
            IMG_DEFAULT_MAX_DECODE_MB, IMG_DEFAULT_MAX_JPEG_SCANS, IMG_DEFAULT_MAX_JPEG_MCOEF);
    fprintf(to, "SIGTERM or SIGINT: stop accepting, finish the requests in flight (up to 10 s), exit 0.\n");
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
    rc |= buf_printf(b, ",\"timing_ms\":{\"queue\":%.3f,\"decode\":%.3f,\"inference\":%.3f,\"total\":%.3f,\"batch\":%d}}\n",
                     job->queued_ms, r->decode_ms, r->inference_ms, job->total_ms, job->batch);
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
    char err[sizeof job->err], timing[160] = "";
    snprintf(err, sizeof err, "%s", job->err);
    met_observe(&w->m.queue_wait, job->queued_ms / 1e3);
    if (job->rc != IQ_ABANDONED)
        met_observe(&w->m.decode, job->result.decode_ms / 1e3);
    if (job->rc == 0)
        met_observe(&w->m.inference, job->result.inference_ms / 1e3);
    snprintf(r->log.worker, sizeof r->log.worker, "%s", w->id);
    r->log.queue_ms = job->queued_ms;
    if (job->rc == IQ_ABANDONED) {
        code = ERR_ABANDONED; /* nobody reads it: the caller left or its deadline passed */
        snprintf(err, sizeof err, "the caller's deadline passed or it left before the job ran");
        snprintf(r->note, sizeof r->note, "abandoned");
    } else if (job->rc != 0) {
        code = nn_error_code(job->rc);
    } else {
        /* A browser that posted the plain form (no JavaScript) gets a page; everyone else JSON. */
        bool html = http_accepts_html(http_find_header(r->headers, r->http.num_headers, "Accept"));
        bool oip = job->tag == OIP_TAG;
        html = html && !oip;
        int rc = job->result.k < 1 ? -1
                 : oip             ? oip_format(&w->oip, job, &w->json)
                 : html            ? answer_html(&w->json, &job->result, w->id, job->total_ms)
                                   : format_answer(w, job);
        if (rc != 0) {
            failed = true;
            snprintf(err, sizeof err, "could not format the answer");
        } else {
            type = html ? "text/html; charset=utf-8" : type;
            snprintf(r->note, sizeof r->note, "%s", job->result.top[0].label);
            r->log.inference_ms = job->result.inference_ms;
            /* the balancer's access log takes the worker's timings from here (W3C Server-Timing) */
            snprintf(timing, sizeof timing, "Server-Timing: queue;dur=%.3f, decode;dur=%.3f, inference;dur=%.3f\r\n",
                     job->queued_ms, job->result.decode_ms, job->result.inference_ms);
        }
    }
    iq_release(w->queue, job);
    if (failed)
        srv_respond_error(c, code, err[0] ? err : NULL, NULL);
    else
        srv_respond(c, 200, type, buf_ptr(&w->json), buf_len(&w->json), timing);
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

/* Sends a job (its bytes set) down the pipeline for the request on c. */
static void run_job(struct worker *w, struct srv_conn *c, struct srv_request *r, struct infer_job *job)
{
    job->owner = c;
    /* A request from the balancer carries its deadline; the balancer closes the connection when it gives
     * up on a try, so its EOF also means nobody waits.  (A direct client may half-close and still wait.) */
    job->budget_ms = deadline_budget(r);
    if (job->budget_ms)
        job->still_wanted = caller_still_there;
    iq_submit(w->queue, job);
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
    run_job(w, c, r, job);
}

/* {"status":"ok","worker":"host:port","isa":"avx512","in_queue":N,"abandoned":N}: 200 once the model is
 * loaded (before we listen) and an engine thread runs; 503 "starting" until then. */
static void healthz(struct worker *w, struct srv_conn *c)
{
    struct buf *b = &w->json;
    bool ready = iq_running(w->queue);
    buf_clear(b);
    int rc = buf_printf(b, "{\"status\":\"%s\",\"worker\":", ready ? "ok" : "starting");
    rc |= buf_append_json_str(b, w->id, strlen(w->id));
    rc |= buf_printf(b, ",\"isa\":\"%s\",\"in_queue\":%d,\"abandoned\":%llu}\n", w->isa, iq_depth(w->queue),
                     (unsigned long long)iq_abandoned(w->queue));
    if (rc != 0)
        srv_respond_error(c, ERR_INTERNAL, "could not format the answer", NULL);
    else
        srv_respond(c, ready ? 200 : 503, "application/json", buf_ptr(b), buf_len(b),
                    ready ? NULL : "Retry-After: 1\r\n");
}

/* ---- metrics ------------------------------------------------------------------------------------------ */

static void on_answer(void *data, const struct srv_answer *a)
{
    struct worker *w = data;
    int route = NROUTES - 1;
    if (a->req) /* /v2/...: the Open Inference Protocol's paths together */
        route = oip_path(a->req->http.path) ? NROUTES - 2 : met_route(routes, NROUTES, a->req->http.path);
    met_count_request(&w->m.requests, route, a->status);
    if (a->req) /* a request that never arrived whole has no duration */
        met_observe(&w->m.request, a->seconds);
}

static const double batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64 };
#define NBATCH_BOUNDS (int)(sizeof batch_bounds / sizeof batch_bounds[0])

/* imgrec_worker_batch_size from the engines' per-size counts. */
static int write_batches(struct buf *b, const struct iq_stats *q)
{
    uint64_t counts[NBATCH_BOUNDS] = { 0 }, n = 0;
    double sum = 0;
    for (int size = 1, k = 0; size <= IQ_BATCH_SIZES; size++) {
        while (batch_bounds[k] < size)
            k++;
        counts[k] += q->batches[size - 1];
        n += q->batches[size - 1];
        sum += (double)size * (double)q->batches[size - 1];
    }
    return met_write_family(b, "imgrec_worker_batch_size", "histogram", "Jobs an engine ran together, per batch.") |
           met_write_buckets(b, "imgrec_worker_batch_size", NULL, batch_bounds, counts, NBATCH_BOUNDS, n, sum);
}

static int write_gauge(struct buf *b, const char *name, const char *help, double v)
{
    return met_write_family(b, name, "gauge", help) | met_write_sample(b, name, NULL, v);
}

static int write_hist(struct buf *b, const char *name, const char *help, const struct met_hist *h)
{
    return met_write_family(b, name, "histogram", help) | met_write_hist(b, name, NULL, h);
}

/* GET /metrics: see the README's metrics list. */
static void metrics(struct worker *w, struct srv_conn *c)
{
    struct buf *b = &w->json;
    struct worker_metrics *m = &w->m;
    struct iq_stats q;
    iq_stats(w->queue, &q);
    struct srv_stats ss;
    srv_stats(w->srv, &ss);
    char info[320], engines[32];
    snprintf(engines, sizeof engines, "%d", w->engines);
    size_t n = met_label(info, sizeof info, 0, "worker", w->id);
    n = met_label(info, sizeof info, n, "isa", w->isa);
    n = met_label(info, sizeof info, n, "engines", engines);
    snprintf(engines, sizeof engines, "%d", w->decoders);
    met_label(info, sizeof info, n, "decoders", engines);
    buf_clear(b);
    int rc = met_write_requests(b, "imgrec_worker_requests_total", "Requests answered, by route and status code.",
                                routes, NROUTES, &m->requests);
    rc |= write_hist(b, "imgrec_worker_request_duration_seconds", "Time from a whole request to its answer.", &m->request);
    rc |= write_hist(b, "imgrec_worker_queue_wait_seconds",
                     "Time a classification waited, for a decoder and then for an engine.", &m->queue_wait);
    rc |= write_hist(b, "imgrec_worker_decode_seconds", "Image decode, resize and preprocessing time.", &m->decode);
    rc |= write_hist(b, "imgrec_worker_inference_seconds", "Forward pass time.", &m->inference);
    rc |= write_batches(b, &q);
    rc |= write_gauge(b, "imgrec_worker_jobs_in_pipeline", "Classifications waiting, being decoded or run now.",
                      q.in_pipeline);
    rc |= write_gauge(b, "imgrec_worker_queue_depth", "Classifications waiting for a decoder or an engine now.",
                      q.waiting);
    rc |= write_gauge(b, "imgrec_worker_decoders_busy", "Decoder threads decoding a picture now.", q.decoding);
    rc |= write_gauge(b, "imgrec_worker_engines_busy", "Engine threads running a batch now.", q.engines_busy);
    rc |= met_write_family(b, "imgrec_worker_refusals_total", "counter",
                           "Requests refused with 503: queue_full (--queue), memory_budget (--max-memory).");
    rc |= met_write_sample(b, "imgrec_worker_refusals_total", "reason=\"queue_full\"", (double)q.full);
    rc |= met_write_sample(b, "imgrec_worker_refusals_total", "reason=\"memory_budget\"", (double)ss.over_memory);
    rc |= met_write_family(b, "imgrec_worker_abandoned_total", "counter",
                           "Classifications dropped unrun: the caller left or its deadline passed.");
    rc |= met_write_sample(b, "imgrec_worker_abandoned_total", NULL, (double)iq_abandoned(w->queue));
    rc |= met_write_family(b, "imgrec_worker_engine_info", "gauge", "The inference engine: kernel path (isa) and threads.");
    rc |= met_write_sample(b, "imgrec_worker_engine_info", info, 1);
    rc |= met_write_server(b, &ss);
    rc |= met_write_process(b);
    if (rc != 0)
        srv_respond_error(c, ERR_INTERNAL, "the metrics do not fit the buffer", NULL);
    else
        srv_respond(c, 200, MET_CONTENT_TYPE, buf_ptr(b), buf_len(b), NULL);
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
    } else if (http_str_eq(path, "/healthz") || http_str_eq(path, "/metrics")) {
        if (!http_str_eq(method, "GET") && !http_str_eq(method, "HEAD")) /* the server drops HEAD's body */
            srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use GET", "Allow: GET, HEAD\r\n");
        else if (http_str_eq(path, "/healthz"))
            healthz(w, c);
        else
            metrics(w, c);
    } else if (oip_path(path)) {
        struct infer_job *job = oip_handle(&w->oip, c, r);
        if (job)
            run_job(w, c, r, job);
    } else {
        srv_respond_error(c, ERR_NOT_FOUND, "try POST /predict or GET /healthz", NULL);
    }
}

struct options {
    const char *model, *name;
    long threads, queue, engines, decoders, batch_max, batch_delay_ms;
    long decode_mb, jpeg_scans, jpeg_mcoef; /* picture limits (img_limits) */
    struct srv_config srv;
};

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        CLI_SERVER_LONGOPTS,
        { "model", required_argument, NULL, 'm' }, { "threads", required_argument, NULL, 't' },
        { "queue", required_argument, NULL, 'q' }, { "name", required_argument, NULL, 'n' },
        { "engines", required_argument, NULL, 'e' }, { "decoders", required_argument, NULL, 'd' },
        { "batch-max", required_argument, NULL, 'B' }, { "batch-delay-ms", required_argument, NULL, 'y' },
        { "max-decode-mb", required_argument, NULL, 'D' }, { "max-jpeg-scans", required_argument, NULL, 'S' },
        { "max-jpeg-work", required_argument, NULL, 'W' }, { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 },
    };
    *o = (struct options){ .threads = 1, .queue = 16, .engines = 1, .decoders = 1, .batch_max = WORKER_BATCH_MAX,
                           .decode_mb = IMG_DEFAULT_MAX_DECODE_MB, .jpeg_scans = IMG_DEFAULT_MAX_JPEG_SCANS,
                           .jpeg_mcoef = IMG_DEFAULT_MAX_JPEG_MCOEF };
    cli_server_defaults(&o->srv, -1);
    int opt, rc = 0;
    opterr = 0; /* cli_bad_option names a bad option once, without the program's path */
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
        switch (opt) {
        case 'm': o->model = optarg; break;
        case 't': rc = cli_long(PROG, "--threads", optarg, 1, 64, &o->threads); break;
        case 'q': rc = cli_long(PROG, "--queue", optarg, 0, 4096, &o->queue); break;
        case 'n': o->name = optarg; break;
        case 'e': rc = cli_long(PROG, "--engines", optarg, 1, 64, &o->engines); break;
        case 'd': rc = cli_long(PROG, "--decoders", optarg, 1, 64, &o->decoders); break;
        case 'B': rc = cli_long(PROG, "--batch-max", optarg, 1, 64, &o->batch_max); break;
        case 'y': rc = cli_long(PROG, "--batch-delay-ms", optarg, 0, 10000, &o->batch_delay_ms); break;
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
    struct nn_model *models[64]; /* one per engine: a model runs one pass at a time */
    for (int i = 0; i < o.engines; i++) {
        models[i] = nn_load(o.model, err, sizeof err);
        if (!models[i]) {
            fprintf(stderr, PROG ": %s\n", err); /* err names the file */
            while (i > 0)
                nn_free(models[--i]);
            return 1;
        }
        if (nn_set_threads(models[i], (int)o.threads) != 0)
            fprintf(stderr, PROG ": could not start %ld threads; inference runs on one\n", o.threads);
        if (nn_set_max_batch(models[i], (int)o.batch_max, err, sizeof err) != 0) {
            fprintf(stderr, PROG ": --batch-max %ld: %s\n", o.batch_max, err);
            while (i >= 0)
                nn_free(models[i--]);
            return 1;
        }
    }
    struct loop *l = loop_create(cli_fd_budget(PROG, &o.srv, 1));
    met_start_time();
    struct worker w = { .isa = nn_isa(models[0]), .engines = (int)o.engines, .decoders = (int)o.decoders };
    buf_init(&w.json, 64 * 1024); /* the protocol's 1001 probabilities take about 15 KB; /metrics about 8 */
    struct iq_config qc = { .capacity = (int)o.queue, .decoders = (int)o.decoders, .engines = (int)o.engines,
                            .batch_max = (int)o.batch_max, .batch_delay_ms = (int)o.batch_delay_ms };
    if (l)
        w.queue = iq_create(l, models, &qc, on_classified, &w); /* owns the models, even on failure */
    else
        for (int i = 0; i < o.engines; i++)
            nn_free(models[i]);
    if (!w.queue || oip_init(&w.oip, w.queue, models[0], w.id) != 0) {
        fprintf(stderr, PROG ": cannot start the event loop or the inference threads\n");
        return 1;
    }
    o.srv.on_answer = on_answer;
    struct srv *s = srv_create(l, &o.srv, handle, &w, err, sizeof err);
    w.srv = s;
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
    fprintf(stderr,
            PROG " %s: listening on port %d, model %s (engine path %s), queue %ld, %ld engine(s), %ld decoder(s),"
                 " batch %ld/%ldms\n",
            w.id, srv_port(s), o.model, w.isa, o.queue, o.engines, o.decoders, o.batch_max, o.batch_delay_ms);
    int rc = loop_run(l);
    fprintf(stderr, PROG " %s: stopping: finishing the requests in flight (at most %d ms)\n", w.id, DRAIN_MS);
    if (rc == 0 && srv_drain(s, DRAIN_MS) != 0)
        fprintf(stderr, PROG " %s: some requests were still unanswered after %d ms\n", w.id, DRAIN_MS);
    iq_destroy(w.queue); /* first: the running job reads a connection's buffer */
    srv_destroy(s);
    loop_destroy(l);
    oip_free(&w.oip);
    buf_free(&w.json);
    return rc == 0 ? 0 : 1;
}
