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
#include "net/http_client.h"
#include "net/loop.h"
#include "net/cli.h"
#include "balance/forward.h"
#include "balance/results_index.h"
#include "net/server.h"
#include "balance/static_files.h"

#define PROG "balancer"
#define MAX_BACKENDS 64
#define MAX_STATIC_FILE (16u * 1024 * 1024)

struct balancer {
    struct http_client *backends[MAX_BACKENDS];
    int nbackends;
    struct static_root www;
    const char *results_dir;
    struct static_root results;   /* valid when has_results */
    bool has_results;
    const char *examples_dir;     /* --examples, or NULL */
    struct static_root examples;
    const char *cors_origin;      /* --cors, or NULL */
    char cors_headers[320];       /* the Access-Control-Allow-Origin lines for an allowed Origin */
    uint64_t rng;                 /* xorshift64* state */
    struct buf scratch;           /* file contents, forwarded heads (loop thread only) */
    uint64_t backend_timeout_ms;
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
            "  GET  /examples/         JSON list of example pictures (--examples); /examples/FILE each\n"
            "  OPTIONS (any path)      CORS preflight: 200 for the --cors origin, else 403\n"
            "options (--port defaults to 5000):\n"
            "  --backend HOST:PORT   a worker (repeat, or separate with commas)\n"
            "  --www DIR             the page's folder (default www)\n"
            "  --results DIR         the studies' output folder (default results)\n"
            "  --examples DIR        pictures the page offers as examples (default: none)\n"
            "  --cors ORIGIN         let pages from ORIGIN (e.g. http://localhost:8080, or *) call the API\n"
            "  --backend-timeout MS  a backend must answer within MS (else 504) (default 30000)\n");
    cli_server_usage(to);
    fprintf(to, "  --help                this text\n");
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

static void on_backend_reply(void *data, const struct http_client_result *reply)
{
    struct srv_conn *c = data;
    if (!reply->res) {
        bool timeout = reply->error == HTTP_CLIENT_TIMEOUT;
        srv_respond_error(c, timeout ? ERR_BACKEND_TIMEOUT : ERR_BAD_GATEWAY, reply->detail,
                          cors_extra(srv_conn_request(c)));
        return;
    }
    if (forward_response_head(reply->res, reply->raw, &B.scratch) != 0) {
        srv_respond_error(c, ERR_BAD_GATEWAY, "the backend's answer could not be relayed", NULL);
        return;
    }
    const char *cors = cors_extra(srv_conn_request(c));
    if (cors && buf_append_str(&B.scratch, cors) != 0) {
        srv_respond_error(c, ERR_BAD_GATEWAY, "the backend's answer could not be relayed", NULL);
        return;
    }
    srv_respond_relay(c, reply->res->status, buf_ptr(&B.scratch), buf_len(&B.scratch), reply->body,
                      reply->body_len);
}

static void forward(struct srv_conn *c, struct srv_request *r)
{
    long n = forward_backend_limit(r);
    if (n < 0) {
        srv_respond_error(c, ERR_BAD_BACKEND_COUNT,
                          "number_backend_servers / backends must be a whole number from 1 up", cors_extra(r));
        return;
    }
    if (n == 0 || n > B.nbackends)
        n = B.nbackends;
    struct http_client *u = B.backends[next_random(&B) % (uint64_t)n];
    snprintf(r->note, sizeof r->note, "backend=%s", http_client_name(u));
    if (forward_request_head(r, &B.scratch) != 0) {
        srv_respond_error(c, ERR_HEADERS_TOO_LARGE, "the request head is too large to forward", NULL);
        return;
    }
    if (!http_client_send(u, buf_ptr(&B.scratch), buf_len(&B.scratch), r->body, r->body_len, B.backend_timeout_ms,
                          on_backend_reply, c))
        srv_respond_error(c, ERR_BAD_GATEWAY, "out of memory", NULL);
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

/* /examples/: the list of --examples pictures; /examples/FILE: one of them. */
static void serve_examples(struct srv_conn *c, struct http_str path)
{
    struct http_str rest = http_str_from(path.p + strlen("/examples"), path.len - strlen("/examples"));
    if (!B.examples_dir)
        srv_respond_error(c, ERR_NOT_FOUND, "no example pictures (the balancer has no --examples DIR)", NULL);
    else if (rest.len > 1)
        serve_file(c, &B.examples, rest);
    else if (results_files_json(B.examples_dir, "examples", &B.scratch) != 0)
        srv_respond_error(c, ERR_INDEX_TOO_LARGE, NULL, NULL);
    else
        srv_respond(c, 200, "application/json", buf_ptr(&B.scratch), buf_len(&B.scratch),
                    "Cache-Control: no-cache\r\n");
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
    if (http_str_eq(method, "OPTIONS")) {
        cors_preflight(c, r);
    } else if (http_str_eq(path, "/submit") || http_str_eq(path, "/predict")) {
        if (http_str_eq(method, "POST"))
            forward(c, r);
        else
            srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use POST", "Allow: POST\r\n");
    } else if (!get) {
        srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, "use GET", "Allow: GET, HEAD\r\n");
    } else if (http_str_eq(path, "/healthz")) {
        char body[128];
        int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"backends\":%d}\n", B.nbackends);
        srv_respond(c, 200, "application/json", body, (size_t)n, cors_extra(r));
    } else if (has_prefix(path, "/results")) {
        serve_results(c, path);
    } else if (has_prefix(path, "/examples")) {
        serve_examples(c, path);
    } else {
        serve_file(c, &B.www, path);
    }
}

/* ---- start-up --------------------------------------------------------------------------------------- */

struct options {
    const char *www, *results, *examples, *cors;
    const char *backends[MAX_BACKENDS];
    int nbackends;
    long backend_timeout_ms;
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

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        CLI_SERVER_LONGOPTS,
        { "backend", required_argument, NULL, 'B' }, { "www", required_argument, NULL, 'w' },
        { "results", required_argument, NULL, 'r' }, { "backend-timeout", required_argument, NULL, 'U' },
        { "examples", required_argument, NULL, 'e' }, { "cors", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },          { 0, 0, 0, 0 },
    };
    *o = (struct options){ .www = "www", .results = "results", .backend_timeout_ms = 30000 };
    cli_server_defaults(&o->srv, 5000);
    int opt, rc = 0;
    opterr = 0; /* cli_bad_option names a bad option once, without the program's path */
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
        switch (opt) {
        case 'B': rc = add_backends(o, optarg); break;
        case 'w': o->www = optarg; break;
        case 'r': o->results = optarg; break;
        case 'e': o->examples = optarg; break;
        case 'C':
            o->cors = optarg;
            if (strlen(optarg) > 200 || strpbrk(optarg, "\r\n")) {
                fprintf(stderr, PROG ": --cors: an origin such as http://localhost:8080 (at most 200 characters)\n");
                rc = -1;
            }
            break;
        case 'U': rc = cli_long(PROG, "--backend-timeout", optarg, 10, 3600000, &o->backend_timeout_ms); break;
        case 'h': usage(stdout); exit(0);
        case '?': rc = cli_bad_option(PROG, argv); break;
        default: rc = cli_server_option(PROG, opt, optarg, &o->srv) == 1 ? 0 : -1; /* --port, --host ... */
        }
    }
    return cli_finish(PROG, rc, o->nbackends > 0 && optind == argc, "at least one --backend HOST:PORT is required");
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
    if (o.examples) {
        if (static_root_init(&B.examples, o.examples, err, sizeof err) != 0) {
            fprintf(stderr, PROG ": --examples: %s\n", err);
            return 1;
        }
        B.examples_dir = o.examples;
    }
    if (o.cors) {
        B.cors_origin = o.cors;
        snprintf(B.cors_headers, sizeof B.cors_headers, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", o.cors);
    }
    B.rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() << 32 ^ 1;
    buf_init(&B.scratch, MAX_STATIC_FILE + 4096);
    struct loop *l = loop_create(cli_fd_budget(PROG, &o.srv, 2));
    if (!l) {
        fprintf(stderr, PROG ": cannot create the event loop\n");
        return 1;
    }
    int status = 1;
    B.backend_timeout_ms = (uint64_t)o.backend_timeout_ms;
    /* as many connections per backend as the balancer has clients (a call never waits for one), which is
     * what a worker admits with the same default --max-conns */
    struct http_client_opts backend_opts = { o.srv.max_conns, 0, HTTP_CLIENT_DEFAULT_MAX_RESPONSE };
    for (int i = 0; i < o.nbackends; i++) {
        B.backends[i] = http_client_create_hostport(l, o.backends[i], &backend_opts, err, sizeof err);
        if (!B.backends[i]) {
            fprintf(stderr, PROG ": --backend %s: %s\n", o.backends[i], err);
            goto out;
        }
        B.nbackends++;
    }
    struct srv *s = srv_create(l, &o.srv, handle, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, PROG ": cannot listen on port %d: %s\n", o.srv.port, err);
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
        http_client_free(B.backends[i]);
    loop_destroy(l);
    buf_free(&B.scratch);
    return status;
}
