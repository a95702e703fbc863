/* load_report: the prediction beside every measured cell.  The table's model is random split (what our
 * balancer does); the shared-queue M/G/c mean is printed too, to show what a smarter balancer would buy.
 * The service time is S, a lone request's RTT: nearly all of it is the worker's CPU (its quota also pays
 * for parsing, copying and answering, not only for decode + inference).  The workers' own timings during
 * the run (service_ms) are printed beside it: under load they grow, which is where measurement and
 * model part near rho = 1. */
#include "study/load_report.h"

#include <math.h>
#include <stdio.h>

#include "study/queueing.h"

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
