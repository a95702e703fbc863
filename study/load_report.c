/* load_report: the prediction beside every measured cell.  The table's model is random split (what our
 * balancer does); the shared-queue M/G/c mean is printed too, to show what a smarter balancer would buy.
 * The service time is S, a lone request's RTT: nearly all of it is the worker's CPU (its quota also pays
 * for parsing, copying and answering, not only for decode + inference).  The workers' own timings during
 * the run (service_ms) are printed beside it: under load they grow, which is where measurement and
 * model part near rho = 1. */
#include "study/load_report.h"

#include <math.h>
#include <stdio.h>

#include "study/measure.h"
#include "study/queueing.h"
#include "study/stats.h"

#define IDLE_WAIT_TRIES 60

int load_report_calibrate(const struct load_opts *o, const char *url, long n, struct service_time *st,
                          struct summary *sum)
{
    struct url u;
    struct buf req;
    char err[512];
    buf_init(&req, 128u * 1024 * 1024);
    struct sequential q = { 0 };
    size_t head_len;
    int rc = load_opts_request(o, url, 1, &u, &req, &head_len);
    if (rc == 0 && (rc = measure_sequential(&u, buf_ptr(&req), head_len, buf_len(&req), (int)n,
                                            (uint64_t)o->cfg.timeout_ms, &q, err, sizeof err)) < 0)
        fprintf(stderr, "client: %s\n", err);
    buf_free(&req);
    if (rc == 0 && q.ok < 2) {
        fprintf(stderr, "client: service time: only %d of %d requests succeeded (%s)\n", q.ok, q.n, q.last_error);
        rc = -1;
    }
    if (rc == 0) {
        stats_summarize(q.rtt_ms, (size_t)q.ok, sum);
        st->mean_ms = sum->mean;
        st->queue_bound = o->queue_bound;
        st->scv = stats_scv(q.rtt_ms, (size_t)q.ok);
        /* The workers' own timing of a lone request: set beside service_ms under load, it shows the slow-down. */
        int known = 0;
        for (int i = 0; i < q.ok; i++)
            if (q.service_ms[i] >= 0)
                q.service_ms[known++] = q.service_ms[i];
        st->worker_ms = known == q.ok ? stats_mean(q.service_ms, (size_t)known) : 0;
    }
    sequential_free(&q);
    return rc;
}

void load_report_write_service(const char *dir, const char *name, const char *title, const struct summary *sum,
                               const struct service_time *st)
{
    struct table t;
    char err[512], c[6][32];
    table_init(&t, 6, -1);
    if (!dir || table_open_files(&t, dir, name, title, err, sizeof err) < 0)
        return (void)table_close(&t);
    static const char *const cols[] = { "n", "mean_ms", "p50_ms", "p99_ms", "scv", "worker_ms" };
    snprintf(c[0], 32, "%zu", sum->n);
    snprintf(c[1], 32, "%.2f", sum->mean);
    snprintf(c[2], 32, "%.2f", sum->p50);
    snprintf(c[3], 32, "%.2f", sum->p99);
    snprintf(c[4], 32, "%.4f", st->scv);
    snprintf(c[5], 32, "%.2f", st->worker_ms);
    const char *const row[] = { c[0], c[1], c[2], c[3], c[4], c[5] };
    table_header(&t, cols);
    table_row(&t, row);
    table_close(&t);
}

void load_report_wait_idle(const struct url *u, const struct buf *req, size_t head_len, double timeout_ms,
                           const struct service_time *st, const struct summary *sum)
{
    double ok_ms = fmax(2 * st->mean_ms, 1.5 * sum->p99);
    for (int i = 0; i < IDLE_WAIT_TRIES; i++) {
        struct sequential q;
        char err[256];
        int rc = measure_sequential(u, buf_ptr(req), head_len, buf_len(req), 1, (uint64_t)timeout_ms, &q, err,
                                    sizeof err);
        int idle = rc == 0 && q.ok == 1 && q.rtt_ms[0] <= ok_ms;
        if (rc == 0)
            sequential_free(&q);
        if (idle)
            return;
    }
    fprintf(stderr, "client: the service did not settle; measuring anyway\n");
}

const char *const load_report_cols[LOAD_REPORT_COLS] = {
    "workers", "factor", "interval_ms", "service_ms", "rho", "offered_rps", "sent", "ok", "http_errors", "failed",
    "dropped", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "throughput_rps", "windows", "stable",
    "pred_mean_ms", "pred_p99_ms", "pred_throughput_rps", "pred_mgc_mean_ms",
};

int load_report_predict(enum q_model model, int workers, double interval_ms, const struct load_result *r,
                        const struct service_time *s, struct q_prediction *out)
{
    double sq = s->mean_ms, scv = s->scv;
    if (!(sq > 0)) { /* no lone S known: the workers' timings are all there is */
        sq = r->service_ms;
        scv = r->service_scv;
    }
    if (!(sq > 0))
        return -1;
    struct q_run run = { r->from_s * 1000, r->to_s * 1000, s->queue_bound * sq };
    return q_predict(model, 1 / interval_ms, sq, scv, workers, &run, out);
}

static void num(char *out, size_t cap, double v, int decimals)
{
    if (isfinite(v))
        snprintf(out, cap, "%.*f", decimals, v);
    else
        snprintf(out, cap, "inf");
}

void load_report_row(struct table *t, int workers, double factor, double interval_ms, const struct load_result *r,
                     const struct service_time *s)
{
    static const struct service_time unknown;
    char c[LOAD_REPORT_COLS][32];
    struct q_prediction split = { 0 }, shared = { 0 };
    s = s ? s : &unknown;
    int have = load_report_predict(Q_RANDOM_SPLIT, workers, interval_ms, r, s, &split) == 0 &&
               load_report_predict(Q_SHARED_QUEUE, workers, interval_ms, r, s, &shared) == 0;
    const double measured[] = { r->rtt.mean, r->rtt.p50, r->rtt.p90, r->rtt.p99, r->throughput_rps };
    const double predicted[] = { split.mean_ms, split.p99_ms, split.throughput * 1000, shared.mean_ms };
    snprintf(c[0], 32, "%d", workers);
    num(c[1], 32, factor, 3);
    num(c[2], 32, interval_ms, 2);
    num(c[3], 32, r->service_ms, 1);
    num(c[4], 32, split.rho, 3);
    snprintf(c[5], 32, "%.1f", r->offered_rps);
    const long counts[] = { r->sent, r->ok, r->http_errors, r->failed, r->dropped };
    for (int i = 0; i < 5; i++)
        snprintf(c[6 + i], 32, "%ld", counts[i]);
    for (int i = 0; i < 5; i++)
        num(c[11 + i], 32, measured[i], 1);
    snprintf(c[16], 32, "%d", r->windows);
    snprintf(c[17], 32, "%s", r->stable ? "yes" : "no");
    for (int i = 0; i < 4; i++) {
        if (have)
            num(c[18 + i], 32, predicted[i], 1);
        else
            snprintf(c[18 + i], 32, "-");
    }
    if (!have)
        snprintf(c[4], 32, "-");
    const char *row[LOAD_REPORT_COLS];
    for (int i = 0; i < LOAD_REPORT_COLS; i++)
        row[i] = c[i];
    table_row(t, row);
}
