/* load_report: one table row per load run — what was measured beside what the queueing model predicts —
 * shared by `client load` (one run) and `client load-study` (the grid). */
#ifndef STUDY_LOAD_REPORT_H
#define STUDY_LOAD_REPORT_H

#include "study/load.h"
#include "study/table.h"

#include "study/queueing.h"

#define LOAD_REPORT_COLS 21
extern const char *const load_report_cols[LOAD_REPORT_COLS];

/* What the predictions need about the workers: service time mean and squared coefficient of variation
 * (ms), and how many requests a worker queues before refusing more (0 = unbounded). */
struct service_time {
    double mean_ms, scv;
    int queue_bound;
};

/* The model's prediction for a measured run r (its span, the workers' queue bound).  Returns 0 or -1. */
int load_report_predict(enum q_model model, int workers, double interval_ms, const struct load_result *r,
                        const struct service_time *s, struct q_prediction *out);

/* Writes one row.  s may be NULL (prediction columns then read "-"). */
void load_report_row(struct table *t, int workers, double factor, double interval_ms, const struct load_result *r,
                     const struct service_time *s);

#endif
