/* load_report: the prediction beside every measured cell.  The table's model is random split (what our
 * balancer does); the shared-queue M/G/c mean is printed too, to show what a smarter balancer would buy. */
#include "study/load_report.h"

#include <math.h>
#include <stdio.h>

#include "study/queueing.h"

const char *const load_report_cols[LOAD_REPORT_COLS] = {
    "workers", "factor", "interval_ms", "rho", "offered_rps", "sent", "ok", "http_errors", "failed", "dropped",
    "mean_ms", "p50_ms", "p90_ms", "p99_ms", "throughput_rps", "windows", "stable",
    "pred_mean_ms", "pred_p99_ms", "pred_throughput_rps", "pred_mgc_mean_ms",
};

int load_report_predict(enum q_model model, int workers, double interval_ms, const struct load_result *r,
                        const struct service_time *s, struct q_prediction *out)
{
    struct q_run run = { r->from_s * 1000, r->to_s * 1000, s->queue_bound * s->mean_ms };
    return q_predict(model, 1 / interval_ms, s->mean_ms, s->scv, workers, &run, out);
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
    char c[LOAD_REPORT_COLS][32];
    struct q_prediction split = { 0 }, shared = { 0 };
    int have = s && load_report_predict(Q_RANDOM_SPLIT, workers, interval_ms, r, s, &split) == 0 &&
               load_report_predict(Q_SHARED_QUEUE, workers, interval_ms, r, s, &shared) == 0;
    snprintf(c[0], 32, "%d", workers);
    num(c[1], 32, factor, 3);
    num(c[2], 32, interval_ms, 2);
    if (have)
        num(c[3], 32, split.rho, 3);
    else
        snprintf(c[3], 32, "-");
    num(c[4], 32, r->offered_rps, 1);
    snprintf(c[5], 32, "%ld", r->sent);
    snprintf(c[6], 32, "%ld", r->ok);
    snprintf(c[7], 32, "%ld", r->http_errors);
    snprintf(c[8], 32, "%ld", r->failed);
    snprintf(c[9], 32, "%ld", r->dropped);
    num(c[10], 32, r->rtt.mean, 1);
    num(c[11], 32, r->rtt.p50, 1);
    num(c[12], 32, r->rtt.p90, 1);
    num(c[13], 32, r->rtt.p99, 1);
    num(c[14], 32, r->throughput_rps, 1);
    snprintf(c[15], 32, "%d", r->windows);
    snprintf(c[16], 32, "%s", r->stable ? "yes" : "no");
    if (have) {
        num(c[17], 32, split.mean_ms, 1);
        num(c[18], 32, split.p99_ms, 1);
        num(c[19], 32, split.throughput * 1000, 1);
        num(c[20], 32, shared.mean_ms, 1);
    } else {
        for (int i = 17; i < LOAD_REPORT_COLS; i++)
            snprintf(c[i], 32, "-");
    }
    const char *row[LOAD_REPORT_COLS];
    for (int i = 0; i < LOAD_REPORT_COLS; i++)
        row[i] = c[i];
    table_row(t, row);
}
