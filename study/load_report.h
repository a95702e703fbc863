/* load_report: one table row per load run — what was measured beside what the queueing model predicts —
 * shared by `client load` (one run) and `client load-study` (the grid). */
#ifndef STUDY_LOAD_REPORT_H
#define STUDY_LOAD_REPORT_H

#include "study/load_generator.h"
#include "study/table.h"

#include "study/queueing.h"

#define LOAD_REPORT_COLS 22
extern const char *const load_report_cols[LOAD_REPORT_COLS];

/* What the predictions need besides the run itself (all in ms). */
struct service_time {
    double mean_ms;     /* S: a lone request's RTT (the intervals are multiples of it) */
    double scv;         /* its squared coefficient of variation */
    double worker_ms;   /* the worker's own timing (decode + inference) of a lone request, for the record */
    int queue_bound;    /* requests a worker queues before refusing more (0 = unbounded) */
};

/* The model's prediction for a measured run r (its span, the workers' queue bound).  Returns 0 or -1. */
int load_report_predict(enum q_model model, int workers, double interval_ms, const struct load_result *r,
                        const struct service_time *s, struct q_prediction *out);

/* Writes one row.  s may be NULL: the prediction then rests on the workers' timings alone; its columns
 * read "-" when there is nothing to rest on. */
void load_report_row(struct table *t, int workers, double factor, double interval_ms, const struct load_result *r,
                     const struct service_time *s);

#endif
