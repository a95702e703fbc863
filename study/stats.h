/* stats: summaries of latency samples (mean, percentiles) and the "two windows agree" stopping rule.
 * Nothing here allocates except stats_summarize, which frees what it takes before returning. */
#ifndef STUDY_STATS_H
#define STUDY_STATS_H

#include <stddef.h>

struct summary {
    size_t n;
    double mean, sd, min, max;
    double p50, p90, p95, p99;
};

double stats_mean(const double *x, size_t n);
/* Percentile p in [0,100] of an ascending array, linear interpolation between closest ranks
 * (the "type 7" definition numpy and R use by default).  n must be > 0. */
double stats_percentile_sorted(const double *sorted, size_t n, double p);
void stats_sort(double *x, size_t n);
/* Fills out from n samples (unchanged; a sorted copy is made).  Returns 0, or -1 when n == 0 or
 * memory runs out (out is then zeroed). */
int stats_summarize(const double *x, size_t n, struct summary *out);
/* Squared coefficient of variation var/mean^2 of n samples (0 when n < 2 or mean == 0). */
double stats_scv(const double *x, size_t n);
/* True when a and b differ by at most tol (e.g. 0.10) relative to the larger of the two. */
int stats_agree(double a, double b, double tol);

#endif
