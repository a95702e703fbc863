/* load: one event loop drives the arrival schedule (a timer re-armed for each next instant) and every
 * connection's I/O.  Loop timers tick in milliseconds, so each timer firing sends every arrival whose
 * instant has passed; the RTT still starts at the exact scheduled instant. */
#include "study/load_generator.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "net/clock.h"
#include "net/http_client.h"
#include "net/loop.h"
#include "study/prediction.h"
#include "study/rng.h"

#define MIN_OK_PER_WINDOW 10
#define MAX_ARRIVALS 2000000L
#define GAP_MAX_NS 1e18 /* 31 years: past any window, far from uint64 overflow */
#define MAX_SECONDS 1e9 /* duration, mean gap and timeout beyond this are typing errors */

struct arrival {
    struct run *run;
    int window;
    int status;       /* 0 while in flight; HTTP status; -1 failed; -2 dropped */
    uint64_t sched_ns;
    uint64_t done_ns;
    double rtt_ms;
    double service_ms; /* what the worker reports it spent (decode + inference), -1 if unknown */
};

struct run {
    const struct load_config *cfg;
    struct loop *loop;
    struct http_client *http;
    struct loop_timer tick;
    struct rng rng;
    const char *req;
    size_t head_len, req_len;
    struct arrival *arr;
    long cap, n;
    uint64_t t0_ns, next_ns, window_ns;
    bool sending;
    int windows_closed;          /* windows whose arrivals have all been sent */
    int evaluated;               /* windows whose answers are all in and have been compared */
    long outstanding[LOAD_MAX_WINDOWS];
    double mean[LOAD_MAX_WINDOWS];
    long ok[LOAD_MAX_WINDOWS];
    int stable;
    char last_error[64];
};

/* The window an instant falls in, saturated at LOAD_MAX_WINDOWS (a far-off instant is past them all). */
static int window_of(const struct run *r, uint64_t t_ns)
{
    if (r->cfg->count > 0)
        return 0;
    uint64_t w = (t_ns - r->t0_ns) / r->window_ns;
    return w < LOAD_MAX_WINDOWS ? (int)w : LOAD_MAX_WINDOWS;
}

static void window_mean(struct run *r, int w)
{
    double sum = 0;
    long ok = 0;
    for (long i = 0; i < r->n; i++)
        if (r->arr[i].window == w && r->arr[i].status == 200) {
            sum += r->arr[i].rtt_ms;
            ok++;
        }
    r->ok[w] = ok;
    r->mean[w] = ok ? sum / (double)ok : 0;
}

/* Compares finished windows in order; stops the run when two agree or the last allowed one is in. */
static void evaluate(struct run *r)
{
    while (r->evaluated < r->windows_closed && r->outstanding[r->evaluated] == 0) {
        int w = r->evaluated++;
        window_mean(r, w);
        if (w > 0 && r->ok[w] >= MIN_OK_PER_WINDOW && r->ok[w - 1] >= MIN_OK_PER_WINDOW &&
            stats_agree(r->mean[w], r->mean[w - 1], r->cfg->tolerance)) {
            r->stable = 1;
            break;
        }
    }
    if (r->stable || (!r->sending && r->evaluated >= r->windows_closed)) {
        r->sending = false;
        loop_stop(r->loop);
    }
}

static void on_answer(void *data, const struct http_client_result *res)
{
    struct arrival *a = data;
    struct run *r = a->run;
    a->status = res->res ? res->res->status : res->error == HTTP_CLIENT_BUSY ? -2 : -1;
    a->service_ms = a->status == 200 ? prediction_service_ms(res->body, res->body_len) : -1;
    if (a->status == -1)
        snprintf(r->last_error, sizeof r->last_error, "%s", http_client_error_name(res->error));
    else if (a->status > 0 && a->status != 200)
        snprintf(r->last_error, sizeof r->last_error, "HTTP %d", a->status);
    a->done_ns = clock_now_ns();
    a->rtt_ms = (double)(a->done_ns - a->sched_ns) / 1e6; /* from the scheduled instant: a late send is not hidden */
    r->outstanding[a->window]--;
    evaluate(r);
}

/* The next arrival instant, or false when the schedule has ended (count reached, windows used up, or
 * the arrival table full). */
static bool next_arrival(struct run *r)
{
    if (r->n >= r->cap || (r->cfg->count > 0 && r->n >= r->cfg->count))
        return false;
    int w = window_of(r, r->next_ns);
    return w < r->cfg->max_windows;
}

/* The mean gap at t_ns: the last step at or before it, else the configured one. */
static double interval_at(const struct run *r, uint64_t t_ns, int *segment)
{
    double t = (double)(t_ns - r->t0_ns) / 1e9, gap = r->cfg->interval_ms;
    *segment = 0;
    for (int i = 0; i < r->cfg->nsteps && r->cfg->steps[i].at_s <= t; i++) {
        gap = r->cfg->steps[i].interval_ms;
        *segment = i + 1;
    }
    return gap;
}

/* Moves next_ns on by one exponential gap.  A gap that crosses a step is drawn again from the step with
 * the new rate: exponential gaps are memoryless, so this is exactly a piecewise-constant Poisson rate. */
static void advance(struct run *r)
{
    for (;;) {
        int seg;
        double gap_ns = rng_exponential(&r->rng, interval_at(r, r->next_ns, &seg)) * 1e6;
        /* Saturated: converting a double past UINT64_MAX is undefined, and such a gap ends the run anyway. */
        uint64_t next = r->next_ns + (gap_ns < GAP_MAX_NS ? (uint64_t)gap_ns : (uint64_t)GAP_MAX_NS);
        if (seg >= r->cfg->nsteps)
            return (void)(r->next_ns = next);
        uint64_t step_ns = r->t0_ns + (uint64_t)(r->cfg->steps[seg].at_s * 1e9);
        if (next < step_ns)
            return (void)(r->next_ns = next);
        r->next_ns = step_ns;
    }
}

static void send_arrival(struct run *r)
{
    struct arrival *a = &r->arr[r->n++];
    a->run = r;
    a->sched_ns = r->next_ns;
    a->window = window_of(r, r->next_ns);
    r->outstanding[a->window]++;
    if (!http_client_send(r->http, r->req, r->head_len, r->req + r->head_len, r->req_len - r->head_len,
                          (uint64_t)r->cfg->timeout_ms, on_answer, a)) { /* out of memory; a busy pool calls back */
        a->status = -2;
        r->outstanding[a->window]--;
    }
    advance(r);
}

static void on_tick(struct loop *l, void *data)
{
    struct run *r = data;
    uint64_t now = clock_now_ns();
    while (r->sending && r->next_ns <= now) {
        if (!next_arrival(r)) {
            r->sending = false;
            break;
        }
        send_arrival(r);
    }
    /* An arrival past the schedule is not waited for: with a long mean gap that could be days away. */
    if (r->sending && !next_arrival(r))
        r->sending = false;
    /* Windows before the next arrival's are closed: all their arrivals have been sent. */
    int closed = r->sending ? window_of(r, r->next_ns) : (r->n ? r->arr[r->n - 1].window + 1 : 0);
    if (r->cfg->count > 0)
        closed = r->sending ? 0 : 1;
    if (closed > r->windows_closed)
        r->windows_closed = closed;
    evaluate(r);
    if (r->sending) {
        uint64_t gap_ns = r->next_ns > now ? r->next_ns - now : 0;
        if (loop_timer_arm(l, &r->tick, (gap_ns + 999999) / 1000000) < 0)
            loop_stop(l);
    }
}

static void summarize(struct run *r, struct load_result *out)
{
    memset(out, 0, sizeof *out);
    out->windows = r->evaluated;
    out->stable = r->stable;
    out->reported_from = r->stable ? r->evaluated - 2 : 0;
    memcpy(out->last_error, r->last_error, sizeof out->last_error);
    for (int w = 0; w < r->evaluated; w++)
        out->window_mean_ms[w] = r->mean[w];
    double *rtts = malloc((size_t)(r->n ? r->n : 1) * sizeof *rtts);
    double *service = malloc((size_t)(r->n ? r->n : 1) * sizeof *service);
    size_t nr = 0, ns = 0;
    uint64_t first = UINT64_MAX, last_arrival = 0, last_done = 0;
    for (long i = 0; i < r->n; i++) {
        struct arrival *a = &r->arr[i];
        if (a->window < out->reported_from || a->window >= r->evaluated)
            continue;
        out->sent++;
        first = a->sched_ns < first ? a->sched_ns : first;
        last_arrival = a->sched_ns > last_arrival ? a->sched_ns : last_arrival;
        last_done = a->done_ns > last_done ? a->done_ns : last_done;
        if (a->status == 200) {
            out->ok++;
            if (rtts)
                rtts[nr++] = a->rtt_ms;
            if (service && a->service_ms >= 0)
                service[ns++] = a->service_ms;
        } else if (a->status > 0) {
            out->http_errors++;
        } else if (a->status == -1) {
            out->failed++;
        } else {
            out->dropped++;
        }
    }
    stats_summarize(rtts, nr, &out->rtt);
    out->service_ms = stats_mean(service, ns);
    out->service_scv = stats_scv(service, ns);
    free(rtts);
    free(service);
    if (out->sent > 1 && last_arrival > first)
        out->offered_rps = (double)(out->sent - 1) / ((double)(last_arrival - first) / 1e9);
    if (out->ok > 0 && last_done > first)
        out->throughput_rps = (double)out->ok / ((double)(last_done - first) / 1e9);
    if (r->n > 0)
        out->run_s = (double)(r->arr[r->n - 1].sched_ns - r->t0_ns) / 1e9;
    out->from_s = r->cfg->count > 0 ? 0 : out->reported_from * r->cfg->window_s;
    out->to_s = r->cfg->count > 0 ? out->run_s : r->evaluated * r->cfg->window_s;
}

/* More descriptors than the default 1024 may be needed for many requests in flight. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort: max_conns is checked against it below */
    }
}

static long arrival_capacity(const struct load_config *cfg)
{
    if (cfg->count > 0)
        return cfg->count < MAX_ARRIVALS ? cfg->count : MAX_ARRIVALS;
    /* Mean arrivals over the windows (segment by segment when the rate steps), with room for Poisson
     * variation. */
    double span = cfg->window_s * cfg->max_windows, at = 0, gap = cfg->interval_ms, expect = 0;
    for (int i = 0; i <= cfg->nsteps; i++) {
        double until = i < cfg->nsteps && cfg->steps[i].at_s < span ? cfg->steps[i].at_s : span;
        if (until > at)
            expect += (until - at) * 1000.0 / gap;
        at = until > at ? until : at;
        if (i < cfg->nsteps)
            gap = cfg->steps[i].interval_ms;
    }
    double cap = expect * 1.5 + 100;
    return cap < (double)MAX_ARRIVALS ? (long)cap : MAX_ARRIVALS;
}

static int check_config(const struct load_config *cfg, char *err, size_t errlen)
{
    if (!(cfg->interval_ms > 0) || cfg->max_windows < 1 || cfg->max_windows > LOAD_MAX_WINDOWS ||
        (cfg->count <= 0 && !(cfg->window_s > 0)) || !(cfg->timeout_ms > 0) || cfg->max_conns < 1 ||
        !(cfg->interval_ms <= MAX_SECONDS * 1e3) || !(cfg->window_s <= MAX_SECONDS) ||
        !(cfg->timeout_ms <= MAX_SECONDS * 1e3) || cfg->nsteps < 0 || cfg->nsteps > LOAD_MAX_STEPS) {
        snprintf(err, errlen, "bad load configuration (a mean gap, window or timeout out of range?)");
        return -1;
    }
    for (int i = 0; i < cfg->nsteps; i++)
        if (!(cfg->steps[i].interval_ms > 0 && cfg->steps[i].interval_ms <= MAX_SECONDS * 1e3) ||
            !(cfg->steps[i].at_s > (i ? cfg->steps[i - 1].at_s : 0)) || !(cfg->steps[i].at_s <= MAX_SECONDS)) {
            snprintf(err, errlen, "bad rate step %d (instants must ascend, gaps be positive)", i + 1);
            return -1;
        }
    return 0;
}

/* Every arrival as a sample (see load_run_samples). */
static int copy_samples(const struct run *r, struct load_sample **samples, long *n)
{
    *samples = NULL;
    *n = 0;
    if (r->n == 0)
        return 0;
    if (!(*samples = malloc((size_t)r->n * sizeof **samples)))
        return -1;
    for (long i = 0; i < r->n; i++) {
        const struct arrival *a = &r->arr[i];
        (*samples)[i] = (struct load_sample){ (double)(a->sched_ns - r->t0_ns) / 1e9, a->rtt_ms, a->status };
    }
    *n = r->n;
    return 0;
}

int load_run(const char *host, int port, const char *req, size_t head_len, size_t len, const struct load_config *cfg,
             struct load_result *out, char *err, size_t errlen)
{
    return load_run_samples(host, port, req, head_len, len, cfg, out, NULL, NULL, err, errlen);
}

int load_run_samples(const char *host, int port, const char *req, size_t head_len, size_t len,
                     const struct load_config *cfg, struct load_result *out, struct load_sample **samples,
                     long *nsamples, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (check_config(cfg, err, errlen) < 0)
        return -1;
    raise_fd_limit();
    struct rlimit rl;
    int max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20 ? (int)rl.rlim_cur : 1 << 20;
    if (cfg->max_conns + 32 > max_fds) {
        snprintf(err, errlen, "max_conns %d needs more file descriptors than the limit %d", cfg->max_conns, max_fds);
        return -1;
    }
    struct run r = { .cfg = cfg, .req = req, .head_len = head_len, .req_len = len, .sending = true };
    struct http_client_opts pool = { cfg->max_conns, 0, HTTP_CLIENT_DEFAULT_MAX_RESPONSE }; /* none waits */
    r.cap = arrival_capacity(cfg);
    r.arr = calloc((size_t)r.cap, sizeof *r.arr);
    r.loop = loop_create(max_fds);
    if (!r.arr || !r.loop || !(r.http = http_client_create(r.loop, host, port, &pool, err, errlen))) {
        if (!r.arr || !r.loop)
            snprintf(err, errlen, "out of memory");
        free(r.arr);
        if (r.loop)
            loop_destroy(r.loop);
        return -1;
    }
    rng_seed(&r.rng, cfg->seed);
    r.window_ns = (uint64_t)(cfg->window_s * 1e9);
    r.t0_ns = r.next_ns = clock_now_ns();
    loop_timer_init(&r.tick, on_tick, &r);
    int rc = loop_timer_arm(r.loop, &r.tick, 0);
    if (rc == 0)
        rc = loop_run(r.loop);
    if (rc < 0)
        snprintf(err, errlen, "event loop failed");
    else
        summarize(&r, out);
    if (rc == 0 && samples && copy_samples(&r, samples, nsamples) < 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    loop_timer_stop(r.loop, &r.tick);
    http_client_free(r.http);
    loop_destroy(r.loop);
    free(r.arr);
    return rc;
}
