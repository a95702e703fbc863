/* balancer: the front door on :5000.  It serves the page (www/) and the study results, and forwards each
 * POST /submit or /predict, and each Open Inference Protocol request under /v2 but its health (answered
 * here from the backends' health), to a healthy backend worker chosen by the policy (balance/choose.h; among the
 * first N the request asks for), retrying a failed try on another one, and relaying the answer.  Health
 * probes and the up/down rules are balance/health.h; which backends exist (DNS names re-resolved,
 * --backends-file on SIGHUP, drained before removal) is balance/discovery.h.  It never decodes an image; it looks into a
 * multipart body only for the number_backend_servers field. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/http.h"
#include "net/http_client.h"
#include "net/loop.h"
#include "net/cli.h"
#include "net/metrics.h"
#include "net/oip.h"
#include "balance/forward.h"
#include "balance/file_cache.h"
#include "net/server.h"
#include "balance/static_files.h"
#include "balance/choose.h"
#include "balance/backend_stats.h"
#include "balance/cluster.h"
#include "balance/health.h"
#include "balance/discovery.h"

#define PROG "balancer"
#define MAX_BACKENDS 64
#define SCRATCH_MAX (1024u * 1024) /* forwarded heads, the health report, /metrics (about 2 KB a backend) */
/* A healthy worker at its queue bound (16 waiting + 1 running, about 20 ms each here) answers within
 * about 0.35 s; 2 s leaves room for a machine five times slower and still fails over well before the
 * whole request's --backend-timeout. */
#define DEFAULT_TRY_TIMEOUT_MS 2000
#define DRAIN_MS 10000 /* SIGTERM: the requests in flight get this long to finish */

/* A slot of B.backends (a free slot has no client); the chooser's b[index].data points here. */
struct backend {
    struct http_client *client;   /* tries (each bounded by --try-timeout) and probes (by --probe-timeout) */
    struct loop_timer probe_timer;
    bool probing;
    int index;                    /* in B.choose */
    struct backend_stats stats;   /* GET /metrics's and the live panel's (GET /cluster.json) numbers */
};

/* One forwarded request across its tries.  A fixed pool (one per possible client connection). */
struct fwd {
    struct srv_conn *conn;
    struct srv_request *req;
    struct http_call *call;       /* the try in flight, NULL when none */
    struct loop_timer deadline;   /* --backend-timeout after arrival: cancels the try or leaves the queue */
    int limit;                    /* ?backends=N (0 = all) */
    int tries;                    /* tries sent so far */
    int last;                     /* backend of the last try, -1 before the first */
    uint64_t deadline_ms;         /* loop clock: the whole request must be answered by then */
    bool timed_out;               /* the last try got no answer in time */
    bool queued;                  /* in the waiting queue */
    struct fwd *next, *prev;      /* free list (next only), or the queue of requests waiting for a slot */
};

/* GET /metrics's request routes: the last one is every other path (the page's files, 404s). */
static const char *const routes[] = { "/submit", "/predict", "/healthz", "/metrics", "/cluster.json", "/results",
                                      "/examples", "/v2", "files" };
#define NROUTES (int)(sizeof routes / sizeof routes[0])

/* Requests answered without a worker's answer, by why (the server counts memory_budget itself). */
enum refusal { REFUSED_QUEUE_FULL, REFUSED_NO_BACKEND_UP, REFUSED_NO_WORKER_ANSWERED, REFUSED_DEADLINE, NREFUSALS };
static const char *const refusal_names[NREFUSALS] = { "queue_full", "no_backend_up", "no_worker_answered",
                                                      "deadline" };

/* Loop thread only; per-backend counts are in each struct backend (balance/backend_stats.h). */
struct balancer_metrics {
    struct met_requests requests;
    struct met_hist request;
    uint64_t refused[NREFUSALS];
};

struct settings {
    int retries, max_fails, queue_max;
    uint64_t try_timeout_ms, backend_timeout_ms, probe_interval_ms, probe_timeout_ms;
};

struct balancer {
    struct loop *loop;
    struct srv *srv;
    struct balancer_metrics m;
    struct chooser choose;
    struct backend backends[MAX_BACKENDS];
    struct settings set;
    struct fwd *fwds, *free_fwds;
    int nfwds;                    /* one per possible client connection (--max-conns) */
    struct fwd *waiting, *waiting_tail;   /* every backend at --max-per-backend: FIFO, bounded */
    int nwaiting;
    struct file_cache *files;     /* www/, results/, --examples and their listings (balance/file_cache.h) */
    struct fc_source www, results, results_index, examples, examples_list; /* examples: .dir NULL = none */
    const char *cors_origin;      /* --cors, or NULL */
    char cors_headers[320];       /* the Access-Control-Allow-Origin lines for an allowed Origin */
    struct buf scratch;           /* forwarded heads, the health and cluster reports (loop thread only) */
    struct cluster_rate rate;     /* forwarded requests answered, per second */
    struct discovery *disc;
};
static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --backend HOST:PORT [--backend HOST:PORT ...] | --backends-file FILE [options]\n"
            "Serves the web page and spreads classification requests over worker backends.\n"
            "  GET  /, /app.js ...     files from --www\n"
            "  GET  /results/          JSON index of the study results; /results/STUDY/FILE the files\n"
            "  POST /submit, /predict  forwarded to a healthy backend chosen by --policy (among the first N\n"
            "                          with ?backends=N or the form field number_backend_servers=N);\n"
            "                          a try that fails before any answer is retried on another backend\n"
            "  GET  /healthz           200 while a backend is up, else 503; JSON listing every backend\n"
            "  GET  /metrics           Prometheus metrics (text format 0.0.4; see the README's Metrics)\n"
            "  GET  /cluster.json      per backend: up, in flight, tries and p50/p99 over the last minute\n"
            "  /v2/...                 the Open Inference Protocol (KServe v2), forwarded like /predict;\n"
            "                          GET /v2/health/live and /v2/health/ready answered here (ready: 200\n"
            "                          while a backend is up, else 400)\n"
            "  GET  /examples/         JSON list of example pictures (--examples); /examples/FILE each\n"
            "  OPTIONS (any path)      CORS preflight: 200 for the --cors origin, else 403\n"
            "options (--port defaults to 5000):\n"
            "  --backend HOST:PORT   a worker (repeat, or separate with commas); a HOST name with several\n"
            "                        addresses is one backend per address, resolved again every\n"
            "                        --resolve-interval: new addresses join after a healthy probe, gone\n"
            "                        ones are drained (no new requests, those in flight finish)\n"
            "  --backends-file FILE  more workers, one HOST:PORT a line (# comments), read again on SIGHUP\n"
            "                        (a file that does not parse keeps the previous backends)\n"
            "  --resolve-interval MS resolve the backends' names again this often (default %d)\n"
            "  --www DIR             the page's folder (default www)\n"
            "  --results DIR         the studies' output folder (default results)\n"
            "  --examples DIR        pictures the page offers as examples (default: none)\n"
            "  --cache-mb MB         memory for the files and listings served, read once and shared by\n"
            "                        every client (default %d; a file over a quarter of it gets 500)\n"
            "  --cors ORIGIN         let pages from ORIGIN (e.g. http://localhost:8080, or *) call the API\n"
            "  --backend-timeout MS  the whole request, all tries, must be answered within MS (else 504)\n"
            "                        (default 30000)\n"
            "  --policy P            random (default: uniform, the original study's rule), p2c (the less\n"
            "                        busy of two random ones), least (fewest in flight), round-robin\n"
            "  --retries N           tries after the first, each on another backend (default 1)\n"
            "  --try-timeout MS      one try must be answered within MS, else it is retried elsewhere\n"
            "                        (default %d: a healthy worker at its queue bound of 16 answers in\n"
            "                        about 0.35 s here; 2 s leaves room for a machine 5x slower)\n"
            "  --max-per-backend N   tries in flight per backend (default 0: no limit); beyond every\n"
            "                        backend's limit requests wait in a queue of --queue N (default 256),\n"
            "                        then get 503\n"
            "  --max-fails N         consecutive failed tries or probes that mark a backend down (default %d)\n"
            "  --probe-interval MS   GET /healthz on every backend this often (default %d)\n"
            "  --probe-timeout MS    a probe must be answered within MS (default %d)\n"
            "  --slow-start MS       a backend back up gets a share rising from 1/10 to full over MS\n"
            "                        (default %d)\n",
            DISCOVERY_DEFAULT_INTERVAL_MS, FC_DEFAULT_CACHE_MB, DEFAULT_TRY_TIMEOUT_MS, HEALTH_DEFAULT_MAX_FAILS,
            HEALTH_DEFAULT_INTERVAL_MS,
            HEALTH_DEFAULT_PROBE_TIMEOUT_MS, HEALTH_DEFAULT_SLOW_START_MS);
    cli_server_usage(to);
    fprintf(to, "  --help                this text\n"
                "SIGTERM or SIGINT: stop accepting, finish the requests in flight (up to 10 s), exit 0.\n"
                "SIGHUP: read --backends-file again and resolve every backend name at once.\n");
}

/* ---- forwarding: tries, retries, the waiting queue ------------------------------------------------ */

static struct balancer B; /* the one balancer of this process (the backend callbacks reach it here) */

/* ---- CORS (--cors ORIGIN): answers to an allowed Origin carry Access-Control-Allow-Origin ----------- */

static bool cors_allowed(const struct srv_request *r)
{
    const struct http_header *o = http_find_header(r->headers, r->http.num_headers, "Origin");
    return B.cors_origin && o && (strcmp(B.cors_origin, "*") == 0 || http_str_eq(o->value, B.cors_origin));
}

/* The extra header lines for r's answer (NULL when none). */
static const char *cors_extra(const struct srv_request *r)
{
    return cors_allowed(r) ? B.cors_headers : NULL;
}

/* OPTIONS: a preflight from the allowed origin gets 200 with what it may do; anything else 403. */
static void cors_preflight(struct srv_conn *c, struct srv_request *r)
{
    if (!cors_allowed(r)) {
        srv_respond_error(c, ERR_CORS_REFUSED,
                          B.cors_origin ? "this Origin is not the one --cors allows" : "the balancer allows no other origin (--cors)",
                          NULL);
        return;
    }
    char extra[640];
    snprintf(extra, sizeof extra, "%sAccess-Control-Allow-Methods: GET, HEAD, POST\r\n"
             "Access-Control-Allow-Headers: Content-Type, Accept\r\nAccess-Control-Max-Age: 600\r\n", B.cors_headers);
    srv_respond(c, 200, NULL, NULL, 0, extra);
}

/* The extra header lines of an answer on c: the CORS lines for an allowed Origin, then `more` (or NULL). */
static const char *extra_for(struct srv_conn *c, const char *more)
{
    static char lines[512]; /* loop thread only; srv_respond* copies it */
    const char *allow = cors_extra(srv_conn_request(c));
    if (!allow)
        return more;
    snprintf(lines, sizeof lines, "%s%s", allow, more ? more : "");
    return lines;
}

static void try_next(struct fwd *f);

static void fwd_done(struct fwd *f)
{
    loop_timer_stop(B.loop, &f->deadline);
    cluster_record_request(&B.rate, loop_now_ms(B.loop));
    f->next = B.free_fwds;
    B.free_fwds = f;
}

static void queue_push(struct fwd *f)
{
    f->next = NULL;
    f->prev = B.waiting_tail;
    if (B.waiting_tail)
        B.waiting_tail->next = f;
    else
        B.waiting = f;
    B.waiting_tail = f;
    f->queued = true;
    B.nwaiting++;
}

static void queue_remove(struct fwd *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        B.waiting = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        B.waiting_tail = f->prev;
    f->queued = false;
    B.nwaiting--;
}

/* Requests waiting for a backend below --max-per-backend get one, in arrival order. */
static void dispatch_waiting(void)
{
    while (B.waiting &&
           choose_pick(&B.choose, B.waiting->limit, B.waiting->last, loop_now_ms(B.loop)) != CHOOSE_ALL_BUSY) {
        struct fwd *f = B.waiting;
        queue_remove(f);
        try_next(f);
    }
}

static struct backend_stats *stats_of(int i)
{
    return &((struct backend *)B.choose.b[i].data)->stats;
}

/* stats[i] of every backend, in the chooser's order (for /metrics and /cluster.json). */
static void all_stats(const struct backend_stats *stats[])
{
    for (int i = 0; i < B.choose.n; i++)
        stats[i] = stats_of(i);
}

static void log_change(int i, const char *why)
{
    const struct choose_backend *b = &B.choose.b[i];
    fprintf(stderr, PROG ": backend %s is %s%s%s%s\n", b->name, b->up ? "up" : "down",
            b->draining ? " (draining: it gets no new requests)" : "", why ? ": " : "", why ? why : "");
}

/* A try or a probe on backend i ended. */
static void report(int i, bool ok, const char *why)
{
    if (health_report(&B.choose, i, ok, B.set.max_fails, loop_now_ms(B.loop))) {
        stats_of(i)->ejections += !B.choose.b[i].up;
        log_change(i, ok ? NULL : why);
    }
}

/* Every try failed without an answer (and the budget is spent or nobody else is up): 503, come back
 * later; 504 when the last one was silent.  The detail never names a worker's address. */
static void answer_unavailable(struct fwd *f)
{
    char detail[96];
    snprintf(detail, sizeof detail, "no worker could answer (%d tried)", f->tries);
    B.m.refused[f->timed_out ? REFUSED_DEADLINE : REFUSED_NO_WORKER_ANSWERED]++;
    if (f->timed_out)
        srv_respond_error(f->conn, ERR_BACKEND_TIMEOUT, detail, extra_for(f->conn, NULL));
    else
        srv_respond_error(f->conn, ERR_NO_WORKER_ANSWERED, detail, extra_for(f->conn, "Retry-After: 1\r\n"));
    fwd_done(f);
}

static void answer_deadline(struct fwd *f)
{
    char detail[96];
    snprintf(detail, sizeof detail, "no worker answered within %llu ms (%d tried)",
             (unsigned long long)B.set.backend_timeout_ms, f->tries);
    B.m.refused[REFUSED_DEADLINE]++;
    srv_respond_error(f->conn, ERR_BACKEND_TIMEOUT, detail, extra_for(f->conn, NULL));
    fwd_done(f);
}

/* --backend-timeout passed: the try in flight is cancelled (its connection closes, so the worker sees
 * the balancer gone and drops the job), or the request leaves the queue. */
static void on_deadline(struct loop *l, void *data)
{
    (void)l;
    struct fwd *f = data;
    if (f->call) {
        http_call_cancel(f->call);
        f->call = NULL;
        B.choose.b[f->last].in_flight--; /* not a health failure: it had less than its --try-timeout */
        bstats_cancelled(stats_of(f->last), loop_now_ms(l));
        discovery_try_ended(B.disc, f->last);
    } else if (f->queued) {
        queue_remove(f);
    }
    answer_deadline(f);
    dispatch_waiting();
}

static void on_try_done(void *data, const struct http_client_result *r)
{
    struct fwd *f = data;
    struct srv_conn *c = f->conn;
    int i = f->last;
    f->call = NULL;
    B.choose.b[i].in_flight--;
    discovery_try_ended(B.disc, i);
    /* The worker says, in a whole answer, that it did not run the job: another backend may do better. */
    bool refused = r->res && (r->res->status == 502 || r->res->status == 503 || r->res->status == 504);
    bstats_ended(stats_of(i), loop_now_ms(B.loop), r->res && !refused, r->elapsed_ns);
    if (r->res)
        forward_log_timings(r->res, &f->req->log);
    report(i, r->res && !refused, r->res ? "answered 5xx" : r->detail);
    f->timed_out = r->error == HTTP_CLIENT_TIMEOUT;
    /* A failure after part of an answer is never retried: the worker may have run the job. */
    bool retriable = refused || (!r->res && !r->answer_started);
    if (retriable && f->tries <= B.set.retries && loop_now_ms(B.loop) < f->deadline_ms) {
        try_next(f);
    } else if (!r->res && r->answer_started) {
        char detail[96];
        snprintf(detail, sizeof detail, "the worker's answer failed part way (%s); not retried",
                 http_client_error_name(r->error));
        srv_respond_error(c, f->timed_out ? ERR_BACKEND_TIMEOUT : ERR_BAD_GATEWAY, detail, extra_for(c, NULL));
        fwd_done(f);
    } else if (!r->res) {
        answer_unavailable(f);
    } else {
        const char *cors = cors_extra(srv_conn_request(c));
        if (forward_response_head(r->res, r->raw, &B.scratch) != 0 || (cors && buf_append_str(&B.scratch, cors) != 0))
            srv_respond_error(c, ERR_BAD_GATEWAY, "the worker's answer could not be relayed", extra_for(c, NULL));
        else
            srv_respond_relay(c, r->res->status, buf_ptr(&B.scratch), buf_len(&B.scratch), r->body, r->body_len);
        fwd_done(f);
    }
    dispatch_waiting();
}

/* Sends f's next try to a healthy backend other than the last one tried, or answers. */
static void try_next(struct fwd *f)
{
    struct srv_conn *c = f->conn;
    uint64_t now = loop_now_ms(B.loop);
    if (now >= f->deadline_ms) {
        answer_deadline(f);
        return;
    }
    int i = choose_pick(&B.choose, f->limit, f->last, now);
    if (i == CHOOSE_ALL_BUSY && B.nwaiting < B.set.queue_max) {
        queue_push(f);
        return;
    }
    if (i >= 0 && i == f->last) { /* a retry goes elsewhere or not at all */
        answer_unavailable(f);
        return;
    }
    if (i < 0) {
        if (i == CHOOSE_ALL_BUSY) {
            B.m.refused[REFUSED_QUEUE_FULL]++;
            srv_respond_error(c, ERR_SERVER_BUSY, "every worker is at its limit and the queue is full; try again shortly",
                              "Retry-After: 1\r\n");
        } else if (f->tries == 0) {
            B.m.refused[REFUSED_NO_BACKEND_UP]++;
            srv_respond_error(c, ERR_NO_WORKER_UP, "no worker is up; try again shortly", extra_for(c, "Retry-After: 1\r\n"));
        } else {
            answer_unavailable(f);
            return;
        }
        fwd_done(f);
        return;
    }
    /* The worker drops the job unrun once nobody waits for it any more (see worker.c). */
    uint64_t left = f->deadline_ms - now;
    if (forward_request_head(f->req, &B.scratch) != 0 || buf_len(&B.scratch) < 2 ||
        (B.scratch.end -= 2, buf_printf(&B.scratch, "X-Imgrec-Deadline-Ms: %llu\r\n\r\n",
                                        (unsigned long long)(left < B.set.try_timeout_ms ? left : B.set.try_timeout_ms))) != 0) {
        srv_respond_error(c, ERR_HEADERS_TOO_LARGE, "the request head is too large to forward", extra_for(c, NULL));
        fwd_done(f);
        return;
    }
    struct backend *be = B.choose.b[i].data;
    f->tries++;
    f->last = i;
    f->req->log.tries = f->tries;
    snprintf(f->req->log.worker, sizeof f->req->log.worker, "%s", B.choose.b[i].name);
    f->call = http_client_send(be->client, buf_ptr(&B.scratch), buf_len(&B.scratch), f->req->body, f->req->body_len,
                               B.set.try_timeout_ms, on_try_done, f);
    if (!f->call) {
        srv_respond_error(c, ERR_OUT_OF_MEMORY, "the balancer is out of memory", extra_for(c, "Retry-After: 1\r\n"));
        fwd_done(f);
        return;
    }
    B.choose.b[i].in_flight++;
    bstats_sent(stats_of(i), f->tries > 1);
}

static void forward(struct srv_conn *c, struct srv_request *r)
{
    long n = forward_backend_limit(r);
    if (n < 0) {
        srv_respond_error(c, ERR_BAD_BACKEND_COUNT,
                          "number_backend_servers / backends must be a whole number from 1 up", cors_extra(r));
        return;
    }
    struct fwd *f = B.free_fwds;
    if (!f) { /* cannot happen: one per connection */
        srv_respond_error(c, ERR_SERVER_BUSY, "too many requests in flight", extra_for(c, "Retry-After: 1\r\n"));
        return;
    }
    B.free_fwds = f->next;
    *f = (struct fwd){ .conn = c, .req = r, .limit = (int)(n > MAX_BACKENDS ? MAX_BACKENDS : n), .last = -1,
                       .deadline_ms = loop_now_ms(B.loop) + B.set.backend_timeout_ms };
    loop_timer_init(&f->deadline, on_deadline, f);
    if (loop_timer_arm(B.loop, &f->deadline, B.set.backend_timeout_ms) != 0) {
        srv_respond_error(c, ERR_SERVER_BUSY, "cannot time the request", extra_for(c, "Retry-After: 1\r\n"));
        fwd_done(f);
        return;
    }
    try_next(f);
}

/* ---- active health: GET /healthz on every backend every --probe-interval ---------------------------- */

static const char probe_head[] = "GET /healthz HTTP/1.1\r\nHost: imgrec-balancer\r\n\r\n";

static void on_probe_done(void *data, const struct http_client_result *reply)
{
    struct backend *be = data;
    be->probing = false;
    bool ok = reply->res && reply->res->status == 200;
    char why[160];
    snprintf(why, sizeof why, "GET /healthz: %s", reply->res ? "not 200" : reply->detail);
    if (!ok && B.choose.b[be->index].fails_total == 0)
        fprintf(stderr, PROG ": warning: backend %s does not answer: %s\n", B.choose.b[be->index].name, why);
    report(be->index, ok, why);
    dispatch_waiting();
}

static void probe_tick(struct loop *l, void *data)
{
    struct backend *be = data;
    if (!be->probing) {
        /* the same client as the tries (a probe proves their path), with its own timeout */
        be->probing = http_client_send(be->client, probe_head, sizeof probe_head - 1, NULL, 0,
                                       B.set.probe_timeout_ms, on_probe_done, be) != NULL;
    }
    if (loop_timer_arm(l, &be->probe_timer, B.set.probe_interval_ms) != 0)
        fprintf(stderr, PROG ": cannot re-arm the health probe of %s\n", B.choose.b[be->index].name);
}

static void healthz(struct srv_conn *c)
{
    if (health_json(&B.choose, loop_now_ms(B.loop), &B.scratch) != 0) {
        srv_respond_error(c, ERR_INTERNAL, "the health report is too large", extra_for(c, NULL));
        return;
    }
    bool up = choose_count_up(&B.choose) > 0;
    srv_respond(c, up ? 200 : 503, "application/json", buf_ptr(&B.scratch), buf_len(&B.scratch),
                extra_for(c, up ? NULL : "Retry-After: 1\r\n"));
}

/* ---- metrics ------------------------------------------------------------------------------------------ */

static bool has_prefix(struct http_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.p, prefix, n) == 0 && (s.len == n || s.p[n] == '/');
}

static void on_answer(void *data, const struct srv_answer *a)
{
    (void)data;
    int route = NROUTES - 1;
    if (a->req) {
        route = met_route(routes, NROUTES, a->req->http.path);
        for (int k = 5; k <= 7 && route == NROUTES - 1; k++) /* /results/STUDY/FILE, /examples/FILE, /v2/... */
            route = has_prefix(a->req->http.path, routes[k]) ? k : route;
    }
    met_count_request(&B.m.requests, route, a->status);
    if (a->req) /* a request that never arrived whole has no duration */
        met_observe(&B.m.request, a->seconds);
}

/* GET /metrics: see the README's metrics list. */
static void metrics(struct srv_conn *c)
{
    struct buf *b = &B.scratch;
    struct srv_stats ss;
    srv_stats(B.srv, &ss);
    buf_clear(b);
    int rc = met_write_requests(b, "imgrec_balancer_requests_total", "Requests answered, by route and status code.",
                                routes, NROUTES, &B.m.requests);
    rc |= met_write_family(b, "imgrec_balancer_request_duration_seconds", "histogram",
                           "Time from a whole request to its answer.");
    rc |= met_write_hist(b, "imgrec_balancer_request_duration_seconds", NULL, &B.m.request);
    rc |= met_write_family(b, "imgrec_balancer_refusals_total", "counter",
                           "Requests answered without a worker's answer: queue_full (every backend at "
                           "--max-per-backend and the queue full), memory_budget (--max-memory), no_backend_up, "
                           "no_worker_answered (every try failed), deadline (--backend-timeout or a silent last try).");
    for (int k = 0; k <= NREFUSALS; k++) {
        char labels[64];
        met_label(labels, sizeof labels, 0, "reason", k < NREFUSALS ? refusal_names[k] : "memory_budget");
        rc |= met_write_sample(b, "imgrec_balancer_refusals_total", labels,
                               k < NREFUSALS ? (double)B.m.refused[k] : (double)ss.over_memory);
    }
    rc |= met_write_family(b, "imgrec_balancer_queue_depth", "gauge",
                           "Requests waiting for a backend below --max-per-backend.");
    rc |= met_write_sample(b, "imgrec_balancer_queue_depth", NULL, B.nwaiting);
    const struct backend_stats *stats[CHOOSE_MAX_BACKENDS];
    all_stats(stats);
    rc |= bstats_write(&B.choose, stats, b);
    rc |= met_write_server(b, &ss);
    rc |= met_write_process(b);
    if (rc != 0)
        srv_respond_error(c, ERR_INTERNAL, "the metrics do not fit the buffer", NULL);
    else
        srv_respond(c, 200, MET_CONTENT_TYPE, buf_ptr(b), buf_len(b), extra_for(c, NULL));
}

static void cluster(struct srv_conn *c)
{
    const struct backend_stats *all[CHOOSE_MAX_BACKENDS];
    const struct cluster_backend *stats[CHOOSE_MAX_BACKENDS];
    all_stats(all);
    for (int i = 0; i < B.choose.n; i++)
        stats[i] = &all[i]->minute;
    if (cluster_json(&B.choose, stats, &B.rate, loop_now_ms(B.loop), &B.scratch) != 0)
        srv_respond_error(c, ERR_INTERNAL, "the cluster report is too large", extra_for(c, NULL));
    else
        srv_respond(c, 200, "application/json", buf_ptr(&B.scratch), buf_len(&B.scratch),
                    extra_for(c, "Cache-Control: no-store\r\n"));
}

/* ---- files: every one through the cache, so the loop never reads the disk ---------------------------- */

/* Study results: only what the studies write for people (never a log, whatever lands in the folder). */
static const char *const results_allow[] = { "csv", "md", "png", "svg", "json", "txt", NULL };

/* /results/: the index; /results/STUDY/FILE: one of its files. */
static void serve_results(struct srv_conn *c, struct http_str path)
{
    struct http_str rest = http_str_from(path.p + strlen("/results"), path.len - strlen("/results"));
    fc_serve(B.files, c, rest.len <= 1 ? &B.results_index : &B.results, rest);
}

/* /examples/: the list of --examples pictures; /examples/FILE: one of them. */
static void serve_examples(struct srv_conn *c, struct http_str path)
{
    struct http_str rest = http_str_from(path.p + strlen("/examples"), path.len - strlen("/examples"));
    if (!B.examples.dir)
        srv_respond_error(c, ERR_NOT_FOUND, "no example pictures (the balancer has no --examples DIR)", NULL);
    else
        fc_serve(B.files, c, rest.len <= 1 ? &B.examples_list : &B.examples, rest);
}

static void handle(struct srv_conn *c, struct srv_request *r, void *data)
{
    (void)data;
    struct http_str path = r->http.path, method = r->http.method;
    bool get = http_str_eq(method, "GET") || http_str_eq(method, "HEAD"); /* the server drops HEAD's body */
    enum oip_health health = oip_health_path(path);
    if (http_str_eq(method, "OPTIONS")) {
        cors_preflight(c, r);
    } else if (health != OIP_NOT_HEALTH) { /* the protocol's health is the balancer's own */
        oip_answer_health(c, r, health == OIP_LIVE || choose_count_up(&B.choose) > 0, extra_for(c, NULL));
    } else if (oip_path(path)) { /* the rest of /v2 (metadata, infer) is the workers' */
        forward(c, r);
    } else if (http_str_eq(path, "/submit") || http_str_eq(path, "/predict")) {
        if (http_str_eq(method, "POST"))
            forward(c, r);
        else
            srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use POST", "Allow: POST\r\n");
    } else if (!get) {
        srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use GET", "Allow: GET, HEAD\r\n");
    } else if (http_str_eq(path, "/healthz")) {
        healthz(c);
    } else if (http_str_eq(path, "/metrics")) {
        metrics(c);
    } else if (http_str_eq(path, "/cluster.json")) {
        cluster(c);
    } else if (has_prefix(path, "/results")) {
        serve_results(c, path);
    } else if (has_prefix(path, "/examples")) {
        serve_examples(c, path);
    } else {
        fc_serve(B.files, c, &B.www, path);
    }
}

/* ---- the backend set (balance/discovery.h decides who is in it) ------------------------------------- */

static int backend_add(void *ctx, const char *host, int port, const char *name, bool initial)
{
    (void)ctx;
    struct backend *be = NULL;
    for (int k = 0; k < MAX_BACKENDS && !be; k++)
        if (!B.backends[k].client)
            be = &B.backends[k];
    /* as many connections per backend as the balancer has clients (a call never waits for one), which is
     * what a worker admits with the same default --max-conns, and one for its probe */
    const struct http_client_opts opts = { B.nfwds + 1, 0, HTTP_CLIENT_DEFAULT_MAX_RESPONSE };
    char err[256] = "too many backends";
    if (!be || !(be->client = http_client_create(B.loop, host, port, &opts, err, sizeof err)) ||
        (be->index = choose_add(&B.choose, name, be, loop_now_ms(B.loop))) < 0) {
        fprintf(stderr, PROG ": backend %s: %s\n", name, be && be->client ? "too many backends" : err);
        if (be) {
            http_client_free(be->client);
            be->client = NULL;
        }
        return -1;
    }
    be->probing = false;
    memset(&be->stats, 0, sizeof be->stats); /* a slot used before starts its numbers afresh */
    loop_timer_init(&be->probe_timer, probe_tick, be);
    /* One named at start-up is up at once at full weight (the first probe, one interval later, or the
     * first tries say otherwise if need be); one discovered later waits for its first probe, sent now. */
    if (initial)
        health_mark(&B.choose, be->index, true, 0);
    if (loop_timer_arm(B.loop, &be->probe_timer, initial ? B.set.probe_interval_ms : 0) != 0)
        fprintf(stderr, PROG ": cannot arm the health probe of %s\n", name);
    return be->index;
}

/* Backend i has nothing in flight (drained, or the balancer is stopping): its slot is freed, and the
 * indices after it (in the chooser, the slots, the requests' last tries) move down one. */
static void backend_remove(void *ctx, int i)
{
    (void)ctx;
    struct backend *be = B.choose.b[i].data;
    loop_timer_stop(B.loop, &be->probe_timer);
    http_client_free(be->client); /* a probe in flight ends without its callback */
    be->client = NULL;
    choose_remove(&B.choose, i);
    for (int j = i; j < B.choose.n; j++)
        ((struct backend *)B.choose.b[j].data)->index = j;
    for (int k = 0; k < B.nfwds; k++)
        if (B.fwds[k].last >= i)
            B.fwds[k].last = B.fwds[k].last == i ? -1 : B.fwds[k].last - 1;
}

/* ---- start-up --------------------------------------------------------------------------------------- */

struct options {
    const char *www, *results, *examples, *cors;
    long cache_mb;
    const char *backends[MAX_BACKENDS];
    int nbackends;
    const char *backends_file;
    long resolve_interval_ms;
    long backend_timeout_ms;
    long retries, try_timeout_ms, max_per_backend, queue, max_fails, probe_interval_ms, probe_timeout_ms,
        slow_start_ms;
    enum choose_policy policy;
    struct srv_config srv;
};

/* Adds each comma-separated HOST:PORT of arg. */
static int add_backends(struct options *o, char *arg)
{
    for (char *save = NULL, *t = strtok_r(arg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->nbackends == MAX_BACKENDS) {
            fprintf(stderr, PROG ": at most %d backends\n", MAX_BACKENDS);
            return -1;
        }
        o->backends[o->nbackends++] = t;
    }
    return 0;
}

/* long options only: no letter to collide with CLI_SERVER_LONGOPTS ('I' is its --idle-timeout) */
enum { OPT_CACHE_MB = 1000, OPT_PROBE_TIMEOUT, OPT_BACKENDS_FILE, OPT_RESOLVE_INTERVAL };

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        CLI_SERVER_LONGOPTS,
        { "backend", required_argument, NULL, 'B' }, { "www", required_argument, NULL, 'w' },
        { "results", required_argument, NULL, 'r' }, { "backend-timeout", required_argument, NULL, 'U' },
        { "examples", required_argument, NULL, 'e' }, { "cors", required_argument, NULL, 'C' },
        { "cache-mb", required_argument, NULL, OPT_CACHE_MB },
        { "help", no_argument, NULL, 'h' },
        { "policy", required_argument, NULL, 'P' }, { "retries", required_argument, NULL, 'R' },
        { "try-timeout", required_argument, NULL, 't' }, { "max-per-backend", required_argument, NULL, 'm' },
        { "queue", required_argument, NULL, 'q' }, { "max-fails", required_argument, NULL, 'f' },
        { "probe-interval", required_argument, NULL, 'i' }, { "probe-timeout", required_argument, NULL, OPT_PROBE_TIMEOUT },
        { "slow-start", required_argument, NULL, 's' }, { "backends-file", required_argument, NULL, OPT_BACKENDS_FILE },
        { "resolve-interval", required_argument, NULL, OPT_RESOLVE_INTERVAL }, { 0, 0, 0, 0 },
    };
    *o = (struct options){ .www = "www", .results = "results", .cache_mb = FC_DEFAULT_CACHE_MB,
                           .backend_timeout_ms = 30000, .retries = 1,
                           .try_timeout_ms = DEFAULT_TRY_TIMEOUT_MS, .queue = 256, .max_fails = HEALTH_DEFAULT_MAX_FAILS,
                           .probe_interval_ms = HEALTH_DEFAULT_INTERVAL_MS,
                           .probe_timeout_ms = HEALTH_DEFAULT_PROBE_TIMEOUT_MS,
                           .slow_start_ms = HEALTH_DEFAULT_SLOW_START_MS,
                           .resolve_interval_ms = DISCOVERY_DEFAULT_INTERVAL_MS };
    cli_server_defaults(&o->srv, 5000);
    int opt, rc = 0;
    opterr = 0; /* cli_bad_option names a bad option once, without the program's path */
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
        switch (opt) {
        case 'B': rc = add_backends(o, optarg); break;
        case 'w': o->www = optarg; break;
        case 'r': o->results = optarg; break;
        case 'e': o->examples = optarg; break;
        case OPT_CACHE_MB: rc = cli_long(PROG, "--cache-mb", optarg, 1, 65536, &o->cache_mb); break;
        case 'C':
            o->cors = optarg;
            if (strlen(optarg) > 200 || strpbrk(optarg, "\r\n")) {
                fprintf(stderr, PROG ": --cors: an origin such as http://localhost:8080 (at most 200 characters)\n");
                rc = -1;
            }
            break;
        case 'U': rc = cli_long(PROG, "--backend-timeout", optarg, 10, 3600000, &o->backend_timeout_ms); break;
        case 'P':
            if ((rc = choose_policy_parse(optarg, &o->policy)) != 0)
                fprintf(stderr, PROG ": --policy: one of random, p2c, least, round-robin\n");
            break;
        case 'R': rc = cli_long(PROG, "--retries", optarg, 0, 8, &o->retries); break;
        case 't': rc = cli_long(PROG, "--try-timeout", optarg, 10, 3600000, &o->try_timeout_ms); break;
        case 'm': rc = cli_long(PROG, "--max-per-backend", optarg, 0, 100000, &o->max_per_backend); break;
        case 'q': rc = cli_long(PROG, "--queue", optarg, 0, 100000, &o->queue); break;
        case 'f': rc = cli_long(PROG, "--max-fails", optarg, 1, 1000, &o->max_fails); break;
        case 'i': rc = cli_long(PROG, "--probe-interval", optarg, 10, 3600000, &o->probe_interval_ms); break;
        case OPT_PROBE_TIMEOUT: rc = cli_long(PROG, "--probe-timeout", optarg, 10, 3600000, &o->probe_timeout_ms); break;
        case 's': rc = cli_long(PROG, "--slow-start", optarg, 0, 3600000, &o->slow_start_ms); break;
        case OPT_BACKENDS_FILE: o->backends_file = optarg; break;
        case OPT_RESOLVE_INTERVAL:
            rc = cli_long(PROG, "--resolve-interval", optarg, 10, 3600000, &o->resolve_interval_ms);
            break;
        case 'h': usage(stdout); exit(0);
        case '?': rc = cli_bad_option(PROG, argv); break;
        default: rc = cli_server_option(PROG, opt, optarg, &o->srv) == 1 ? 0 : -1; /* --port, --host ... */
        }
    }
    return cli_finish(PROG, rc, (o->nbackends > 0 || o->backends_file) && optind == argc,
                      "at least one --backend HOST:PORT (or a --backends-file) is required");
}

/* The access log must never be served: not inside --www, --results (if it exists) or --examples. */
static bool access_log_served(const struct options *o)
{
    const char *log = o->srv.access_log;
    if (!log || strcmp(log, "-") == 0)
        return false;
    const char *served[] = { o->www, o->results, o->examples };
    for (size_t i = 0; i < sizeof served / sizeof served[0]; i++) {
        struct static_root root;
        char err[PATH_MAX + 64];
        if (served[i] && static_root_init(&root, served[i], err, sizeof err) == 0 && static_root_holds(&root, log))
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;
    char err[PATH_MAX + 64];
    struct static_root root; /* the folders are checked here; the file cache resolves them on each check */
    if (static_root_init(&root, o.www, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": --www: %s\n", err);
        return 1;
    }
    met_start_time();
    if (o.examples && static_root_init(&root, o.examples, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": --examples: %s\n", err);
        return 1;
    }
    B.www = (struct fc_source){ .kind = FC_FILES, .dir = o.www, .tag = 'w' };
    B.results = (struct fc_source){ .kind = FC_FILES, .dir = o.results, .allow = results_allow,
                                    .missing = "no study results yet", .tag = 'r' };
    B.results_index = (struct fc_source){ .kind = FC_STUDIES, .dir = o.results, .allow = results_allow, .tag = 'R' };
    B.examples = (struct fc_source){ .kind = FC_FILES, .dir = o.examples, .tag = 'x' };
    B.examples_list = (struct fc_source){ .kind = FC_FILE_LIST, .dir = o.examples, .list_key = "examples", .tag = 'X' };
    if (o.cors) {
        B.cors_origin = o.cors;
        snprintf(B.cors_headers, sizeof B.cors_headers, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", o.cors);
    }
    if (access_log_served(&o)) {
        fprintf(stderr, PROG ": --access-log %s lies inside a folder the balancer serves (--www, --results or "
                        "--examples): it would be public; put it elsewhere\n", o.srv.access_log);
        return 2;
    }
    B.set = (struct settings){ .retries = (int)o.retries, .max_fails = (int)o.max_fails, .queue_max = (int)o.queue,
                               .try_timeout_ms = (uint64_t)(o.try_timeout_ms < o.backend_timeout_ms ? o.try_timeout_ms
                                                                                                 : o.backend_timeout_ms),
                               .backend_timeout_ms = (uint64_t)o.backend_timeout_ms,
                               .probe_interval_ms = (uint64_t)o.probe_interval_ms,
                               .probe_timeout_ms = (uint64_t)o.probe_timeout_ms };
    choose_init(&B.choose, o.policy, (int)o.max_per_backend, (uint64_t)o.slow_start_ms,
                (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() << 32);
    buf_init(&B.scratch, SCRATCH_MAX);
    struct loop *l = loop_create(cli_fd_budget(PROG, &o.srv, 2));
    B.nfwds = o.srv.max_conns;
    B.fwds = calloc((size_t)o.srv.max_conns, sizeof *B.fwds);
    if (!l || !B.fwds) {
        fprintf(stderr, PROG ": cannot create the event loop\n");
        return 1;
    }
    struct fc_config fcc = { .max_bytes = (size_t)o.cache_mb << 20, .max_entries = 1024,
                             .max_waiters = o.srv.max_conns, .revalidate_ms = FC_REVALIDATE_MS };
    if (!(B.files = fc_create(l, &fcc, err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    B.loop = l;
    for (int i = 0; i < o.srv.max_conns; i++) {
        B.fwds[i].next = B.free_fwds;
        B.free_fwds = &B.fwds[i];
    }
    int status = 1;
    struct discovery_config dc = { o.backends, o.nbackends, o.backends_file, (uint64_t)o.resolve_interval_ms };
    static const struct discovery_ops ops = { backend_add, backend_remove };
    B.disc = discovery_start(l, &B.choose, &dc, &ops, NULL, err, sizeof err);
    if (!B.disc) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (B.choose.n == 0)
        fprintf(stderr, PROG ": warning: no backend yet (their names resolve to nothing); resolving again every %ld ms\n",
                o.resolve_interval_ms);
    o.srv.on_answer = on_answer;
    struct srv *s = srv_create(l, &o.srv, handle, NULL, err, sizeof err);
    B.srv = s;
    if (!s) {
        fprintf(stderr, PROG ": cannot listen on port %d: %s\n", o.srv.port, err);
        goto out;
    }
    if (cli_stop_on_signals(l) == 0) {
        fprintf(stderr, PROG ": listening on http://localhost:%d/ with %d backends, policy %s\n", srv_port(s),
                B.choose.n, choose_policy_name(B.choose.policy));
        status = loop_run(l) == 0 ? 0 : 1;
        fprintf(stderr, PROG ": stopping: finishing the requests in flight (at most %d ms)\n", DRAIN_MS);
        if (status == 0 && srv_drain(s, DRAIN_MS) != 0)
            fprintf(stderr, PROG ": some requests were still unanswered after %d ms\n", DRAIN_MS);
    }
    srv_destroy(s);
out:
    fc_destroy(B.files); /* after srv_destroy released every answer that borrowed its bytes */
    discovery_stop(B.disc);
    while (B.choose.n > 0)
        backend_remove(NULL, B.choose.n - 1);
    free(B.fwds);
    loop_destroy(l);
    buf_free(&B.scratch);
    return status;
}
