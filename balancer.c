/* balancer: the front door on :5000.  It serves the page (www/) and the study results, and forwards each
 * POST /submit or /predict to a backend worker chosen uniformly at random (or among the first N the
 * request asks for), relaying the answer.  It never decodes an image; it looks into a multipart body
 * only for the number_backend_servers field. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/http.h"
#include "net/loop.h"
#include "net/cli.h"
#include "balance/forward.h"
#include "balance/results_index.h"
#include "net/server.h"
#include "balance/static_files.h"
#include "balance/upstream.h"

#define PROG "balancer"
#define MAX_BACKENDS 64
#define MAX_STATIC_FILE (16u * 1024 * 1024)

struct balancer {
    struct upstream *backends[MAX_BACKENDS];
    int nbackends;
    struct static_root www;
    const char *results_dir;
    struct static_root results;   /* valid when has_results */
    bool has_results;
    uint64_t rng;                 /* xorshift64* state */
    struct buf scratch;           /* file contents, forwarded heads (loop thread only) */
    struct buf dechunked;         /* a chunked backend answer, decoded */
};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --backend HOST:PORT [--backend HOST:PORT ...] [options]\n"
            "Serves the web page and spreads classification requests over worker backends.\n"
            "  GET  /, /app.js ...     files from --www\n"
            "  GET  /results/          JSON index of the study results; /results/STUDY/FILE the files\n"
            "  POST /submit, /predict  forwarded to a random backend (among the first N with ?backends=N\n"
            "                          or the form field number_backend_servers=N)\n"
            "  GET  /healthz           200 and the backend list\n"
            "options:\n"
            "  --port P                port to listen on (default 5000; 0 = any free port)\n"
            "  --host ADDR             address to listen on (default: all interfaces)\n"
            "  --backend HOST:PORT     a worker (repeat, or separate with commas)\n"
            "  --www DIR               the page's folder (default www)\n"
            "  --results DIR           the studies' output folder (default results)\n"
            "  --timeout MS            a request must arrive within MS (else 408) (default 30000)\n"
            "  --idle-timeout MS       a connection with no request in progress closes after MS (default %d)\n"
            "  --max-conns N           client connections at once; at the cap the longest-idle one is\n"
            "                          closed for a newcomer (default %d, the workers' too)\n"
            "  --backend-timeout MS    a backend must answer within MS (else 504) (default 30000)\n"
            "  --max-body BYTES        largest request body (default %u; over it -> 413)\n"
            "  --max-memory MB         request bodies held at once, all clients together (default %d;\n"
            "                          over it -> 503 with Retry-After)\n"
            "  --help                  this text\n",
            CLI_DEFAULT_IDLE_TIMEOUT_MS, CLI_DEFAULT_MAX_CONNS, HTTP_DEFAULT_MAX_BODY, CLI_DEFAULT_MAX_MEMORY_MB);
}

static uint64_t next_random(struct balancer *b)
{
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 0x2545F4914F6CDD1DULL;
}

/* ---- forwarding ----------------------------------------------------------------------------------- */

static struct balancer B; /* the one balancer of this process (the backend callbacks reach it here) */

static void on_backend_reply(void *data, const struct upstream_reply *reply)
{
    struct srv_conn *c = data;
    if (!reply->res) {
        srv_respond_error(c, reply->status == 504 ? ERR_BACKEND_TIMEOUT : ERR_BAD_GATEWAY, reply->detail, NULL);
        return;
    }
    const char *body;
    size_t body_len;
    if (forward_response_head(reply->res, reply->raw, &B.scratch) != 0 ||
        forward_response_body(reply->res, reply->raw, reply->raw_len, &B.dechunked, &body, &body_len) != 0) {
        srv_respond_error(c, ERR_BAD_GATEWAY, "the backend's answer could not be relayed", NULL);
        return;
    }
    srv_respond_relay(c, reply->status, buf_ptr(&B.scratch), buf_len(&B.scratch), body, body_len);
}

static void forward(struct srv_conn *c, struct srv_request *r)
{
    long n = forward_backend_limit(r);
    if (n < 0) {
        srv_respond_error(c, ERR_BAD_BACKEND_COUNT,
                          "number_backend_servers / backends must be a whole number from 1 up", NULL);
        return;
    }
    if (n == 0 || n > B.nbackends)
        n = B.nbackends;
    struct upstream *u = B.backends[next_random(&B) % (uint64_t)n];
    snprintf(r->note, sizeof r->note, "backend=%s", upstream_name(u));
    if (forward_request_head(r, &B.scratch) != 0) {
        srv_respond_error(c, ERR_HEADERS_TOO_LARGE, "the request head is too large to forward", NULL);
        return;
    }
    upstream_call(u, buf_ptr(&B.scratch), buf_len(&B.scratch), r->body, r->body_len, on_backend_reply, c);
}

/* ---- files ------------------------------------------------------------------------------------------ */

static void serve_file(struct srv_conn *c, const struct static_root *root, struct http_str path)
{
    char real[PATH_MAX];
    int rc = static_resolve(root, path, real, sizeof real);
    if (rc == 0)
        rc = static_read(real, &B.scratch, MAX_STATIC_FILE);
    if (rc == -400)
        srv_respond_error(c, ERR_BAD_PATH, "the path has a malformed %-escape", NULL);
    else if (rc == -404)
        srv_respond_error(c, ERR_NOT_FOUND, NULL, NULL);
    else if (rc != 0)
        srv_respond_error(c, ERR_FILE_UNREADABLE, NULL, NULL);
    else
        srv_respond(c, 200, static_content_type(real), buf_ptr(&B.scratch), buf_len(&B.scratch),
                    "Cache-Control: no-cache\r\n");
}

static void serve_results(struct srv_conn *c, struct http_str path)
{
    struct http_str rest = http_str_from(path.p + strlen("/results"), path.len - strlen("/results"));
    if (rest.len <= 1) { /* "/results" or "/results/": the index */
        if (results_index_json(B.results_dir, &B.scratch) != 0)
            srv_respond_error(c, ERR_INDEX_TOO_LARGE, NULL, NULL);
        else
            srv_respond(c, 200, "application/json", buf_ptr(&B.scratch), buf_len(&B.scratch),
                        "Cache-Control: no-cache\r\n");
        return;
    }
    /* The folder may appear after start-up (a study ran): resolve it lazily. */
    char err[128];
    if (!B.has_results)
        B.has_results = static_root_init(&B.results, B.results_dir, err, sizeof err) == 0;
    if (!B.has_results) {
        srv_respond_error(c, ERR_NOT_FOUND, "no study results yet", NULL);
        return;
    }
    serve_file(c, &B.results, rest);
}

static bool has_prefix(struct http_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.p, prefix, n) == 0 && (s.len == n || s.p[n] == '/');
}

static void handle(struct srv_conn *c, struct srv_request *r, void *data)
{
    (void)data;
    struct http_str path = r->http.path, method = r->http.method;
    bool get = http_str_eq(method, "GET") || http_str_eq(method, "HEAD"); /* the server drops HEAD's body */
    if (http_str_eq(path, "/submit") || http_str_eq(path, "/predict")) {
        if (http_str_eq(method, "POST"))
            forward(c, r);
        else
            srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use POST", "Allow: POST\r\n");
    } else if (!get) {
        srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use GET", "Allow: GET, HEAD\r\n");
    } else if (http_str_eq(path, "/healthz")) {
        char body[128];
        int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"backends\":%d}\n", B.nbackends);
        srv_respond(c, 200, "application/json", body, (size_t)n, NULL);
    } else if (has_prefix(path, "/results")) {
        serve_results(c, path);
    } else {
        serve_file(c, &B.www, path);
    }
}

/* ---- start-up --------------------------------------------------------------------------------------- */

struct options {
    const char *host, *www, *results;
    const char *backends[MAX_BACKENDS];
    int nbackends;
    long port, timeout_ms, backend_timeout_ms, max_body, max_memory_mb, idle_timeout_ms, max_conns;
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

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "port", required_argument, NULL, 'p' },    { "host", required_argument, NULL, 'H' },
        { "backend", required_argument, NULL, 'B' }, { "www", required_argument, NULL, 'w' },
        { "results", required_argument, NULL, 'r' }, { "timeout", required_argument, NULL, 'T' },
        { "backend-timeout", required_argument, NULL, 'U' }, { "max-body", required_argument, NULL, 'b' },
        { "max-memory", required_argument, NULL, 'M' }, { "idle-timeout", required_argument, NULL, 'I' },
        { "max-conns", required_argument, NULL, 'C' }, { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 },
    };
    *o = (struct options){ .www = "www", .results = "results", .port = 5000, .timeout_ms = 30000,
                           .backend_timeout_ms = 30000, .max_body = HTTP_DEFAULT_MAX_BODY,
                           .max_memory_mb = CLI_DEFAULT_MAX_MEMORY_MB,
                           .idle_timeout_ms = CLI_DEFAULT_IDLE_TIMEOUT_MS, .max_conns = CLI_DEFAULT_MAX_CONNS };
    int opt, rc = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1 && rc == 0) {
        switch (opt) {
        case 'p': rc = cli_long(PROG, "--port", optarg, 0, 65535, &o->port); break;
        case 'H': o->host = optarg; break;
        case 'B': rc = add_backends(o, optarg); break;
        case 'w': o->www = optarg; break;
        case 'r': o->results = optarg; break;
        case 'T': rc = cli_long(PROG, "--timeout", optarg, 10, 3600000, &o->timeout_ms); break;
        case 'U': rc = cli_long(PROG, "--backend-timeout", optarg, 10, 3600000, &o->backend_timeout_ms); break;
        case 'b': rc = cli_long(PROG, "--max-body", optarg, 1, 1L << 30, &o->max_body); break;
        case 'M': rc = cli_long(PROG, "--max-memory", optarg, 1, CLI_MAX_MEMORY_MB, &o->max_memory_mb); break;
        case 'I': rc = cli_long(PROG, "--idle-timeout", optarg, 10, 3600000, &o->idle_timeout_ms); break;
        case 'C': rc = cli_long(PROG, "--max-conns", optarg, 1, CLI_MAX_CONNS, &o->max_conns); break;
        case 'h': usage(stdout); exit(0);
        default: rc = -1;
        }
    }
    return cli_finish(PROG, rc, o->nbackends > 0 && optind == argc, "at least one --backend HOST:PORT is required",
                      usage);
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;
    char err[256];
    if (static_root_init(&B.www, o.www, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": --www: %s\n", err);
        return 1;
    }
    B.results_dir = o.results;
    B.rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() << 32 ^ 1;
    buf_init(&B.scratch, MAX_STATIC_FILE + 4096);
    buf_init(&B.dechunked, UPSTREAM_MAX_RESPONSE);
    struct loop *l = loop_create(cli_fd_budget(PROG, &o.max_conns));
    if (!l) {
        fprintf(stderr, PROG ": cannot create the event loop\n");
        return 1;
    }
    int status = 1;
    for (int i = 0; i < o.nbackends; i++) {
        B.backends[i] = upstream_create(l, o.backends[i], (int)o.backend_timeout_ms, err, sizeof err);
        if (!B.backends[i]) {
            fprintf(stderr, PROG ": --backend %s: %s\n", o.backends[i], err);
            goto out;
        }
        B.nbackends++;
    }
    struct srv_config cfg = {
        .host = o.host, .port = (int)o.port, .limits = HTTP_LIMITS_DEFAULT,
        .timeout_ms = (int)o.timeout_ms, .idle_timeout_ms = (int)o.idle_timeout_ms,
        .max_conns = (int)o.max_conns, .max_memory = (size_t)o.max_memory_mb << 20,
    };
    cfg.limits.max_body = (uint64_t)o.max_body;
    struct srv *s = srv_create(l, &cfg, handle, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, PROG ": cannot listen on port %ld: %s\n", o.port, err);
        goto out;
    }
    if (cli_stop_on_signals(l) == 0) {
        fprintf(stderr, PROG ": listening on http://localhost:%d/ with %d backends\n", srv_port(s), B.nbackends);
        status = loop_run(l) == 0 ? 0 : 1;
        fprintf(stderr, PROG ": stopping\n");
    }
    srv_destroy(s);
out:
    for (int i = 0; i < B.nbackends; i++)
        upstream_free(B.backends[i]);
    loop_destroy(l);
    buf_free(&B.scratch);
    buf_free(&B.dechunked);
    return status;
}
