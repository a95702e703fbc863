/* load_report: one table row per load run — what was measured beside what the queueing model predicts —
 * shared by `client load` (one run) and `client load-study` (the grid). */
#ifndef STUDY_LOAD_REPORT_H
#define STUDY_LOAD_REPORT_H

#include "study/load.h"
#include "study/table.h"

#define LOAD_REPORT_COLS 20
extern const char *const load_report_cols[LOAD_REPORT_COLS];

/* The service time the predictions use: mean and squared coefficient of variation, in ms. */
struct service_time {
    double mean_ms, scv;
};

/* Writes one row.  s may be NULL (prediction columns then read "-"). */
void load_report_row(struct table *t, int workers, double factor, double interval_ms, const struct load_result *r,
                     const struct service_time *s);

#endif
