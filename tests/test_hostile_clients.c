/* What a hostile or careless client can do to a real balancer process (issue 9 items 1-2, issue 12's
 * HTTP items), on loopback:
 * - 10,000 idle connections: new clients are still served (p99 of 200 requests within 2x of an idle
 *   balancer's, measured taking turns in the same run, plus 5 ms so a shared 2-core machine's noise does
 *   not decide it: there a p99 of 0.5-4 ms is noise), and the idle ones are shed oldest first.  Needs 10,000 file descriptors: as root the test raises its limit; when it
 *   cannot, it says so in one line and is not run (not counted as passed).
 * - 100 clients that ask for a 4 MiB file and never read: the balancer's RSS (VmRSS) stays under
 *   --max-memory + 32 MB and comes back within 32 MB of its baseline once they are gone.
 * - Conditional GETs (raw and with curl): 304 on ETag and on date, If-None-Match wins, the ETag
 *   changes when the file does; /results/ never serves a log; a file over the cache's per-file limit
 *   is a clear 500. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define FLOOD 10000
#define SAMPLES 200
#define FLOOD_FDS (FLOOD + 256)       /* this process: the flood, the samples, curl, logs */
#define BALANCER_FDS 16384            /* the balancer: 4096 connections x 2 + its reserve */
#define SLOW_CLIENTS 100
#define BIG_FILE (4u * 1024 * 1024)
#define MAX_MEMORY_MB 64

static char dir[128];

static void put(const char *rel, const void *bytes, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void put_str(const char *rel, const char *text)
{
    put(rel, text, strlen(text));
}

static void sub(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* dir/www/{index.html,small.txt,big.bin (4 MiB)}, dir/results/{service.log,demo/{table.md,plot.svg,
 * service.log,looks.csv -> service.log}} */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/imgrec-hostile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    sub("www");
    sub("results");
    sub("results/demo");
    put_str("www/index.html", "<h1>home</h1>");
    put_str("www/small.txt", "small");
    char *big = malloc(BIG_FILE);
    for (size_t i = 0; i < BIG_FILE; i++)
        big[i] = (char)(i * 2654435761u >> 24);
    put("www/big.bin", big, BIG_FILE);
    free(big);
    put_str("results/service.log", "127.0.0.1:5555 GET /\n");
    put_str("results/demo/service.log", "127.0.0.1:5555 GET /\n");
    put_str("results/demo/table.md", "| size | top1 |\n|---|---|\n| 224 | 0.71 |\n");
    put_str("results/demo/plot.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    char link[256];
    snprintf(link, sizeof link, "%s/results/demo/looks.csv", dir);
    ck_assert_int_eq(symlink("service.log", link), 0);
}

static void teardown(void)
{
    sh_stop_all();
    char cmd[192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A balancer on a free port serving dir/www and dir/results, its one backend a port nobody listens on
 * (nothing here is forwarded; the probe never runs, so /healthz stays 200). */
static int start_balancer(pid_t *pid, const char *const extra[])
{
    char bin[512], www[192], results[192], port[16], backend[32], log[192];
    fx_bin("balancer", bin, sizeof bin);
    snprintf(www, sizeof www, "%s/www", dir);
    snprintf(results, sizeof results, "%s/results", dir);
    int p = sh_free_port();
    snprintf(port, sizeof port, "%d", p);
    snprintf(backend, sizeof backend, "127.0.0.1:%d", sh_free_port());
    snprintf(log, sizeof log, "%s/balancer-%d.log", dir, p);
    const char *argv[32] = { bin, "--host", "127.0.0.1", "--port", port, "--backend", backend, "--www", www,
                             "--results", results, "--probe-interval", "3600000" };
    int n = 13;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    *pid = sh_spawn(argv, log);
    ck_assert_int_gt(*pid, 0);
    ck_assert_msg(sh_wait_healthy(p, *pid, 10000) == 0, "the balancer did not start (see %s)", log);
    return p;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char healthz[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/* One GET /healthz on a fresh connection, as a new client; asserts 200. */
static void new_client(int port)
{
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(port, healthz, sizeof healthz - 1, &r, 10000), 0);
    ck_assert_int_eq(r.status, 200);
    sh_reply_free(&r);
}

/* p99 (ms) of SAMPLES new clients of each port, one after another and taking turns, so that the
 * machine's noise falls on both alike: p99[0] for port a, p99[1] for port b. */
static void p99_new_clients(int a, int b, double p99[2])
{
    double t[2][SAMPLES];
    for (int i = 0; i < 2 * SAMPLES; i++) {
        double t0 = now_ms();
        new_client(i % 2 ? b : a);
        t[i % 2][i / 2] = now_ms() - t0;
    }
    for (int k = 0; k < 2; k++) {
        qsort(t[k], SAMPLES, sizeof t[k][0], by_value);
        p99[k] = t[k][(SAMPLES * 99 + 99) / 100 - 1];
    }
}

/* Which of fds[0..n) the balancer has closed (EOF or reset waiting), into closed[]; returns how many. */
static int scan_closed(const int *fds, int n, char *closed)
{
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN | POLLRDHUP };
    ck_assert_int_ge(poll(p, (nfds_t)n, 0), 0);
    int count = 0;
    for (int i = 0; i < n; i++) {
        closed[i] = (p[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
        count += closed[i];
    }
    free(p);
    return count;
}

/* Every closed connection was opened before every open one. */
static void assert_oldest_first(const char *closed, int n, int nclosed)
{
    int last_closed = -1, first_open = n;
    for (int i = 0; i < n; i++) {
        if (closed[i])
            last_closed = i;
        else if (first_open == n)
            first_open = i;
    }
    ck_assert_msg(last_closed < first_open, "shed out of order: connection %d closed while %d (older) is open "
                  "(%d closed)", last_closed, first_open, nclosed);
}

START_TEST(idle_flood_locks_nobody_out_and_is_shed_oldest_first)
{
    /* The idle timeout is long so that only shedding closes the flood while the test runs. */
    const char *extra[] = { "--idle-timeout", "600000", NULL };
    pid_t pid, peer_pid;
    int port = start_balancer(&pid, extra);
    int peer = start_balancer(&peer_pid, extra); /* the same service, left idle: the measure of normal */
    double p99[2];
    p99_new_clients(port, peer, p99);
    printf("hostile: p99 of %d new clients before the flood: %.2f ms, %.2f ms on its idle peer\n", SAMPLES, p99[0], p99[1]);

    int *fds = malloc(FLOOD * sizeof *fds);
    for (int i = 0; i < FLOOD; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fds[i], 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        ck_assert_msg(connect(fds[i], (struct sockaddr *)&a, sizeof a) == 0, "connect %d: %s", i, strerror(errno));
        /* Every 250: one request on a fresh connection.  Its answer means the balancer has accepted every
         * connection queued before it, so the listen backlog (511) never overflows (which would reorder
         * connections by SYN retries) and the flood is accepted in the order it was opened. */
        if (i % 250 == 249)
            new_client(port);
    }
    new_client(port);
    char *closed = malloc(FLOOD);
    int nclosed = 0;
    for (double until = now_ms() + 5000; now_ms() < until; usleep(50 * 1000))
        if ((nclosed = scan_closed(fds, FLOOD, closed)) >= FLOOD - 4096)
            break;
    ck_assert_msg(nclosed >= FLOOD - 4096, "only %d of %d idle connections shed at a cap of 4096", nclosed, FLOOD);
    assert_oldest_first(closed, FLOOD, nclosed);

    /* Noise (other processes on the 2 cores) only ever adds latency, a lockout shows in every round: up to
     * three rounds, the first that meets the bound ends it. */
    bool met = false;
    for (int round = 0; round < 3 && !met; round++) {
        usleep(300 * 1000);
        p99_new_clients(port, peer, p99);
        met = p99[0] <= 2 * p99[1] + 5.0;
        printf("hostile: p99 of %d new clients: %.2f ms with %d idle connections held (%d shed), %.2f ms on the "
               "idle peer in the same run%s\n", SAMPLES, p99[0], FLOOD - nclosed, nclosed, p99[1],
               met ? "" : " (over 2x + 5 ms)");
    }
    ck_assert_msg(met, "p99 %.2f ms under the flood, %.2f ms idle", p99[0], p99[1]);
    usleep(100 * 1000);
    nclosed = scan_closed(fds, FLOOD, closed);
    assert_oldest_first(closed, FLOOD, nclosed);
    /* A request on a connection that is still held works too. */
    static const char get[] = "GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    ck_assert_int_eq(send(fds[FLOOD - 1], get, sizeof get - 1, MSG_NOSIGNAL), (ssize_t)(sizeof get - 1));
    char buf[512];
    struct pollfd p = { .fd = fds[FLOOD - 1], .events = POLLIN };
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ssize_t n = recv(fds[FLOOD - 1], buf, sizeof buf - 1, 0);
    ck_assert_int_gt(n, 12);
    ck_assert_int_eq(memcmp(buf, "HTTP/1.1 200", 12), 0);
    for (int i = 0; i < FLOOD; i++)
        close(fds[i]);
    free(fds);
    free(closed);
}
END_TEST

/* ---- slow readers of a large file ------------------------------------------------------------------ */

/* A connection with a small receive buffer, set before connect (set after, Linux shrinks an advertised
 * window and the transfer stalls for tens of seconds): the answer waits in the balancer, not here. */
static int slow_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    int small = 4096;
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    ck_assert_int_gt(kb, 0);
    return kb;
}

START_TEST(slow_readers_of_a_large_file_share_one_copy)
{
    const char *extra[] = { "--max-memory", "64", NULL };
    pid_t pid;
    int port = start_balancer(&pid, extra);
    usleep(300 * 1000);
    long base = rss_kb(pid);
    /* one client reads it whole: the bytes are the file's */
    static const char get[] = "GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n";
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(port, get, sizeof get - 1, &r, 20000), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body_len, BIG_FILE);
    for (size_t i = 0; i < BIG_FILE; i += 4099)
        ck_assert_int_eq(r.body[i], (char)(i * 2654435761u >> 24));
    sh_reply_free(&r);

    int fds[SLOW_CLIENTS];
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        fds[i] = slow_connect(port);
        ck_assert_int_eq(send(fds[i], get, sizeof get - 1, MSG_NOSIGNAL), (ssize_t)(sizeof get - 1));
    }
    /* every one has its answer started (bytes waiting unread) */
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        struct pollfd p = { .fd = fds[i], .events = POLLIN };
        ck_assert_msg(poll(&p, 1, 10000) == 1, "client %d got no answer", i);
    }
    long peak = 0;
    for (int k = 0; k < 40; k++) {
        long now = rss_kb(pid);
        peak = now > peak ? now : peak;
        usleep(50 * 1000);
    }
    for (int i = 0; i < SLOW_CLIENTS; i++)
        close(fds[i]);
    long after = 0;
    for (double until = now_ms() + 4000; now_ms() < until; usleep(100 * 1000))
        if ((after = rss_kb(pid)) <= base + 32 * 1024)
            break;
    usleep(500 * 1000);
    after = rss_kb(pid);
    printf("hostile: balancer RSS %ld kB at start, %ld kB peak with %d clients not reading a 4 MiB file "
           "(limit %d MB), %ld kB after they left\n", base, peak, SLOW_CLIENTS, MAX_MEMORY_MB + 32, after);
    ck_assert_msg(peak < (MAX_MEMORY_MB + 32) * 1024L, "peak RSS %ld kB", peak);
    ck_assert_msg(after <= base + 32 * 1024, "RSS %ld kB after, %ld kB at start", after, base);
    /* and the balancer still serves */
    new_client(port);
}
END_TEST

/* ---- conditional requests, what /results/ serves, the per-file limit ------------------------------- */

static int get_with(int port, const char *path, const char *method, const char *headers, struct sh_reply *r)
{
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n", method, path,
                     headers ? headers : "");
    ck_assert_int_eq(sh_exchange(port, req, (size_t)n, r, 10000), 0);
    return r->status;
}

/* GET path with the given extra header lines; returns the status, validators into etag/date. */
static int fetch(int port, const char *path, const char *headers, char *etag, char *date)
{
    struct sh_reply r;
    int status = get_with(port, path, "GET", headers, &r);
    if (status == 200 || status == 304) {
        ck_assert_int_eq(sh_header(&r, "ETag", etag, 64), 0);
        ck_assert_int_eq(sh_header(&r, "Last-Modified", date, 64), 0);
        ck_assert_int_ge(sh_header(&r, "Cache-Control", (char[64]){ 0 }, 64), 0);
    }
    if (status == 304)
        ck_assert_uint_eq(r.body_len, 0);
    sh_reply_free(&r);
    return status;
}

START_TEST(conditional_requests_get_304_until_the_file_changes)
{
    pid_t pid;
    int port = start_balancer(&pid, NULL);
    char etag[64], date[64], e2[64], d2[64], h[256];
    ck_assert_int_eq(fetch(port, "/index.html", NULL, etag, date), 200);
    ck_assert_msg(etag[0] == '"' && etag[strlen(etag) - 1] == '"', "ETag %s is not a quoted strong tag", etag);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    ck_assert_int_eq(fetch(port, "/index.html", h, e2, d2), 304);
    ck_assert_str_eq(e2, etag);
    ck_assert_int_eq(fetch(port, "/", h, e2, d2), 304); /* the folder's index.html */
    struct sh_reply r;
    ck_assert_int_eq(get_with(port, "/index.html", "HEAD", h, &r), 304);
    sh_reply_free(&r);
    snprintf(h, sizeof h, "If-Modified-Since: %s\r\n", date);
    ck_assert_int_eq(fetch(port, "/index.html", h, e2, d2), 304);
    /* If-None-Match decides alone when present (RFC 9110 13.2.2) */
    snprintf(h, sizeof h, "If-None-Match: \"not-it\"\r\nIf-Modified-Since: %s\r\n", date);
    ck_assert_int_eq(fetch(port, "/index.html", h, e2, d2), 200);
    snprintf(h, sizeof h, "If-None-Match: \"a\", W/%s\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n", etag);
    ck_assert_int_eq(fetch(port, "/index.html", h, e2, d2), 304);

    /* the study results: the plot and the table revalidate too; the index has validators */
    char pe[64], pd[64];
    ck_assert_int_eq(fetch(port, "/results/demo/plot.svg", NULL, pe, pd), 200);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", pe);
    ck_assert_int_eq(fetch(port, "/results/demo/plot.svg", h, e2, d2), 304);
    char ie[64], id[64];
    ck_assert_int_eq(fetch(port, "/results/", NULL, ie, id), 200);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", ie);
    ck_assert_int_eq(fetch(port, "/results/", h, e2, d2), 304);

    /* curl's own conditional requests: --etag-save / --etag-compare, and -z with a file's date */
    char url[128], saved[192], out[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/index.html", port);
    snprintf(saved, sizeof saved, "%s/etag.txt", dir);
    const char *save[] = { "-o", "/dev/null", "--etag-save", saved, url, NULL };
    ck_assert_int_eq(sh_curl(save, out, sizeof out), 200);
    const char *compare[] = { "--etag-compare", saved, url, NULL };
    ck_assert_int_eq(sh_curl(compare, out, sizeof out), 304);
    char www_index[192];
    snprintf(www_index, sizeof www_index, "%s/www/index.html", dir);
    const char *since[] = { "-z", www_index, url, NULL };
    ck_assert_int_eq(sh_curl(since, out, sizeof out), 304);

    /* the file changes: within a second the old ETag gets the new bytes and a new ETag */
    put_str("www/index.html", "<h1>home, changed</h1>");
    usleep(1200 * 1000);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    ck_assert_int_eq(get_with(port, "/index.html", "GET", h, &r), 200);
    ck_assert_str_eq(r.body, "<h1>home, changed</h1>");
    ck_assert_int_eq(sh_header(&r, "ETag", e2, sizeof e2), 0);
    ck_assert_str_ne(e2, etag);
    sh_reply_free(&r);
    ck_assert_int_eq(sh_curl(compare, out, sizeof out), 200);
    /* and a study that adds a file shows in the index with a new ETag */
    put_str("results/demo/more.csv", "a,b\n");
    usleep(1200 * 1000);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", ie);
    ck_assert_int_eq(get_with(port, "/results/", "GET", h, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"more.csv\""));
    sh_reply_free(&r);
    /* a file removed is 404 (errors are not cached) */
    char gone[192];
    snprintf(gone, sizeof gone, "%s/www/small.txt", dir);
    ck_assert_int_eq(get_with(port, "/small.txt", "GET", NULL, &r), 200);
    sh_reply_free(&r);
    ck_assert_int_eq(unlink(gone), 0);
    usleep(1200 * 1000);
    ck_assert_int_eq(get_with(port, "/small.txt", "GET", NULL, &r), 404);
    sh_reply_free(&r);
}
END_TEST

START_TEST(results_never_serve_a_log)
{
    pid_t pid;
    int port = start_balancer(&pid, NULL);
    struct sh_reply r;
    static const char *const refused[] = { "/results/service.log", "/results/demo/service.log",
                                           "/results/demo/SERVICE.LOG", "/results/demo/looks.csv", "/results/demo/" };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(get_with(port, refused[i], "GET", NULL, &r), 404);
        ck_assert_ptr_null(strstr(r.body, "GET /"));
        sh_reply_free(&r);
    }
    ck_assert_int_eq(get_with(port, "/results/demo/service.log", "GET", NULL, &r), 404);
    ck_assert_ptr_nonnull(strstr(r.body, "only .csv, .md, .png, .svg, .json, .txt files are served here"));
    sh_reply_free(&r);
    ck_assert_int_eq(get_with(port, "/results/demo/table.md", "GET", NULL, &r), 200);
    sh_reply_free(&r);
    ck_assert_int_eq(get_with(port, "/results/", "GET", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"table.md\""));
    ck_assert_ptr_null(strstr(r.body, ".log"));
    sh_reply_free(&r);
}
END_TEST

START_TEST(a_file_over_the_per_file_limit_is_refused_clearly)
{
    const char *extra[] = { "--cache-mb", "8", NULL }; /* 2 MiB a file */
    pid_t pid;
    int port = start_balancer(&pid, extra);
    struct sh_reply r;
    ck_assert_int_eq(get_with(port, "/big.bin", "GET", NULL, &r), 500);
    char code[64];
    ck_assert_int_eq(sh_json_str(r.body, "error", code, sizeof code), 0);
    ck_assert_str_eq(code, "file_too_large");
    ck_assert_ptr_nonnull(strstr(r.body, "2048 KiB"));
    sh_reply_free(&r);
    ck_assert_int_eq(get_with(port, "/small.txt", "GET", NULL, &r), 200);
    sh_reply_free(&r);
}
END_TEST

/* A file of n bytes whose byte i is (i * mul) >> 24. */
static void put_pattern(const char *rel, size_t n, unsigned mul)
{
    char *bytes = malloc(n);
    for (size_t i = 0; i < n; i++)
        bytes[i] = (char)(i * mul >> 24);
    put(rel, bytes, n);
    free(bytes);
}

static void assert_pattern(const char *body, size_t len, size_t n, unsigned mul)
{
    ck_assert_uint_eq(len, n);
    for (size_t i = 0; i < n; i += 1021)
        ck_assert_msg(body[i] == (char)(i * mul >> 24), "byte %zu differs", i);
}

/* A client in the middle of a file keeps the bytes it started on when the file changes; later clients get
 * the new ones; files beyond the budget evict the least recently used and are all served right. */
START_TEST(cache_keeps_old_bytes_for_readers_and_stays_in_its_budget)
{
    const char *extra[] = { "--cache-mb", "8", NULL }; /* 2 MiB a file, 8 MiB in all */
    put_pattern("www/m.bin", 1536 * 1024, 2654435761u);
    pid_t pid;
    int port = start_balancer(&pid, extra);
    static const char get[] = "GET /m.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    struct sh_conn *slow = malloc(sizeof *slow);
    slow->fd = slow_connect(port);
    slow->len = 0;
    ck_assert_int_eq(sh_send(slow, get, sizeof get - 1, 2000), 0);
    struct pollfd p = { .fd = slow->fd, .events = POLLIN };
    ck_assert_int_eq(poll(&p, 1, 5000), 1); /* its answer has started */
    put_pattern("www/m.bin", 1024 * 1024, 40503u);
    usleep(1200 * 1000);
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(port, get, sizeof get - 1, &r, 10000), 0);
    assert_pattern(r.body, r.body_len, 1024 * 1024, 40503u);
    sh_reply_free(&r);
    ck_assert_int_eq(sh_read_reply(slow, &r, 20000), 0);
    assert_pattern(r.body, r.body_len, 1536 * 1024, 2654435761u);
    sh_reply_free(&r);
    sh_close(slow);
    free(slow);
    /* ten files of 1.5 MiB through an 8 MiB cache, twice */
    for (int k = 0; k < 10; k++) {
        char rel[32];
        snprintf(rel, sizeof rel, "www/f%d.bin", k);
        put_pattern(rel, 1536 * 1024, 2654435761u + (unsigned)k);
    }
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 10; k++) {
            char req[128];
            int n = snprintf(req, sizeof req, "GET /f%d.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", k);
            ck_assert_int_eq(sh_exchange(port, req, (size_t)n, &r, 10000), 0);
            ck_assert_int_eq(r.status, 200);
            assert_pattern(r.body, r.body_len, 1536 * 1024, 2654435761u + (unsigned)k);
            sh_reply_free(&r);
        }
    }
    long kb = rss_kb(pid);
    printf("hostile: balancer RSS %ld kB after 20 reads of 10 files of 1.5 MiB through --cache-mb 8\n", kb);
#ifdef __SANITIZE_ADDRESS__
    printf("hostile: AddressSanitizer keeps freed memory in quarantine: the RSS bound after evictions is not checked\n");
#else
    ck_assert_msg(kb < 8 * 1024 + 32 * 1024, "RSS %ld kB", kb); /* the cache plus what a balancer holds anyway */
#endif
}
END_TEST

/* Room for the flood in this process and, inherited, in the balancer; false when it cannot be had. */
static bool enough_fds(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur >= BALANCER_FDS)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < BALANCER_FDS)
        rl.rlim_max = BALANCER_FDS; /* only root may raise the hard limit */
    rl.rlim_cur = BALANCER_FDS;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

Suite *test_suite(void)
{
    Suite *s = suite_create("hostile clients");
    TCase *tc = tcase_create("balancer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, slow_readers_of_a_large_file_share_one_copy);
    tcase_add_test(tc, conditional_requests_get_304_until_the_file_changes);
    tcase_add_test(tc, results_never_serve_a_log);
    tcase_add_test(tc, a_file_over_the_per_file_limit_is_refused_clearly);
    tcase_add_test(tc, cache_keeps_old_bytes_for_readers_and_stays_in_its_budget);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    if (enough_fds()) {
        TCase *flood = tcase_create("flood");
        tcase_add_checked_fixture(flood, setup, teardown);
        tcase_add_test(flood, idle_flood_locks_nobody_out_and_is_shed_oldest_first);
        tcase_set_timeout(flood, 120);
        suite_add_tcase(s, flood);
    } else {
        printf("test_hostile_clients: cannot have %d open files (not root?): the 10,000-connection flood test is "
               "not run\n", BALANCER_FDS);
    }
    return s;
}
