/* stats: latency summaries.  Percentiles interpolate between ranks so small windows are not jumpy. */
#include "study/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double stats_mean(const double *x, size_t n)
{
    if (n == 0)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    return sum / (double)n;
}

double stats_percentile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (p <= 0)
        return sorted[0];
    if (p >= 100)
        return sorted[n - 1];
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    double frac = rank - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void stats_sort(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
}

static double variance(const double *x, size_t n, double mean)
{
    if (n < 2)
        return 0;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    return ss / (double)(n - 1);
}

int stats_summarize(const double *x, size_t n, struct summary *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return -1;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return -1;
    memcpy(s, x, n * sizeof *s);
    stats_sort(s, n);
    out->n = n;
    out->mean = stats_mean(s, n);
    out->sd = sqrt(variance(s, n, out->mean));
    out->min = s[0];
    out->max = s[n - 1];
    out->p50 = stats_percentile_sorted(s, n, 50);
    out->p90 = stats_percentile_sorted(s, n, 90);
    out->p95 = stats_percentile_sorted(s, n, 95);
    out->p99 = stats_percentile_sorted(s, n, 99);
    free(s);
    return 0;
}

double stats_scv(const double *x, size_t n)
{
    double mean = stats_mean(x, n);
    if (n < 2 || mean == 0)
        return 0;
    return variance(x, n, mean) / (mean * mean);
}

int stats_agree(double a, double b, double tol)
{
    double big = fmax(fabs(a), fabs(b));
    if (big == 0)
        return 1;
    return fabs(a - b) <= tol * big;
}
