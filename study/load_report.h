/* load_report: one table row per load run — what was measured beside what the queueing model predicts —
 * shared by `client load` (one run) and `client load-study` (the grid). */
#ifndef STUDY_LOAD_REPORT_H
#define STUDY_LOAD_REPORT_H

#include "study/load_generator.h"
#include "study/table.h"

#include "study/load_options.h"
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

/* Measures S: n sequential requests through url's ?backends=1 (the request built from o).  Fills st
 * (queue bound from o) and sum (the RTTs).  Returns 0, or -1 after one line on stderr. */
int load_report_calibrate(const struct load_opts *o, const char *url, long n, struct service_time *st,
                          struct summary *sum);
/* Writes DIR/NAME.{csv,md}: n, mean_ms, p50_ms, p99_ms, scv, worker_ms (the service time). */
void load_report_write_service(const char *dir, const char *name, const char *title, const struct summary *sum,
                               const struct service_time *st);
/* After an overloaded run the workers may still be busy with abandoned requests: waits (bounded) until a
 * lone request to u is answered about as fast as during calibration. */
void load_report_wait_idle(const struct url *u, const struct buf *req, size_t head_len, double timeout_ms,
                           const struct service_time *st, const struct summary *sum);

/* The model's prediction for a measured run r (its span, the workers' queue bound).  Returns 0 or -1. */
int load_report_predict(enum q_model model, int workers, double interval_ms, const struct load_result *r,
                        const struct service_time *s, struct q_prediction *out);

/* Writes one row.  s may be NULL: the prediction then rests on the workers' timings alone; its columns
 * read "-" when there is nothing to rest on. */
void load_report_row(struct table *t, int workers, double factor, double interval_ms, const struct load_result *r,
                     const struct service_time *s);

#endif
