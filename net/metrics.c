/* metrics: fixed-bucket histograms and the Prometheus text writer (see metrics.h). */
#include "net/metrics.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

/* Our latencies: about 1 ms (a refusal) to seconds (a full queue under overload); 10 s is the largest
 * a client would wait for. */
const double met_latency_bounds[MET_NBOUNDS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void met_observe(struct met_hist *h, double seconds)
{
    if (!(seconds > 0)) /* also NaN */
        seconds = 0;
    for (int i = 0; i < MET_NBOUNDS; i++)
        if (seconds <= met_latency_bounds[i]) {
            h->bucket[i]++;
            break;
        }
    h->count++;
    h->sum += seconds;
}

static const int codes[MET_NCODES - 1] = {
    200, 400, 403, 404, 405, 408, 413, 414, 415, 431, 500, 501, 502, 503, 504, 505,
};

int met_route(const char *const routes[], int nroutes, struct http_str path)
{
    for (int i = 0; i < nroutes - 1; i++)
        if (http_str_eq(path, routes[i]))
            return i;
    return nroutes - 1;
}

void met_count_request(struct met_requests *m, int route, int status)
{
    int i = 0;
    while (i < MET_NCODES - 1 && codes[i] != status)
        i++;
    if (route >= 0 && route < MET_ROUTES_MAX)
        m->n[route][i]++;
}

int met_write_requests(struct buf *b, const char *name, const char *help, const char *const routes[], int nroutes,
                       const struct met_requests *m)
{
    int rc = met_write_family(b, name, "counter", help);
    for (int r = 0; r < nroutes && r < MET_ROUTES_MAX; r++)
        for (int i = 0; i < MET_NCODES; i++) {
            if (m->n[r][i] == 0)
                continue;
            char labels[128], code[8];
            if (i < MET_NCODES - 1)
                snprintf(code, sizeof code, "%d", codes[i]);
            else
                snprintf(code, sizeof code, "other");
            snprintf(labels, sizeof labels, "route=\"%s\",code=\"%s\"", routes[r], code);
            rc |= met_write_sample(b, name, labels, (double)m->n[r][i]);
        }
    return rc;
}

int met_write_family(struct buf *b, const char *name, const char *type, const char *help)
{
    return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Values as Prometheus reads them: integers exactly, others with enough digits, and +Inf/NaN spelled out. */
static int write_value(struct buf *b, double v)
{
    if (isnan(v))
        return buf_append_str(b, "NaN\n");
    if (isinf(v))
        return buf_append_str(b, v > 0 ? "+Inf\n" : "-Inf\n");
    if (v == floor(v) && fabs(v) < 9e15)
        return buf_printf(b, "%.0f\n", v);
    return buf_printf(b, "%.15g\n", v);
}

int met_write_sample(struct buf *b, const char *name, const char *labels, double value)
{
    int rc = labels && labels[0] ? buf_printf(b, "%s{%s} ", name, labels) : buf_printf(b, "%s ", name);
    return rc | write_value(b, value);
}

int met_write_buckets(struct buf *b, const char *name, const char *labels, const double *bounds,
                      const uint64_t *counts, int nbounds, uint64_t count, double sum)
{
    const char *sep = labels && labels[0] ? "," : "";
    const char *lab = labels ? labels : "";
    uint64_t cum = 0;
    int rc = 0;
    for (int i = 0; i < nbounds; i++) {
        cum += counts[i];
        rc |= buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lab, sep, bounds[i], (unsigned long long)cum);
    }
    rc |= buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep, (unsigned long long)count);
    rc |= buf_printf(b, lab[0] ? "%s_sum{%s} " : "%s_sum%s ", name, lab) | write_value(b, sum);
    rc |= buf_printf(b, lab[0] ? "%s_count{%s} " : "%s_count%s ", name, lab);
    rc |= buf_printf(b, "%llu\n", (unsigned long long)count);
    return rc;
}

int met_write_hist(struct buf *b, const char *name, const char *labels, const struct met_hist *h)
{
    return met_write_buckets(b, name, labels, met_latency_bounds, h->bucket, MET_NBOUNDS, h->count, h->sum);
}

double met_start_time(void)
{
    static double start;
    if (start == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        start = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    return start;
}

int met_write_process(struct buf *b)
{
    return met_write_family(b, "process_start_time_seconds", "gauge",
                            "Start time of the process since unix epoch in seconds.") |
           met_write_sample(b, "process_start_time_seconds", NULL, met_start_time());
}

size_t met_label(char *out, size_t cap, size_t at, const char *name, const char *value)
{
    if (at >= cap)
        return at;
    int n = snprintf(out + at, cap - at, "%s%s=\"", at ? "," : "", name);
    at = n < 0 || (size_t)n >= cap - at ? cap - 1 : at + (size_t)n;
    for (const char *v = value; *v && at + 3 < cap; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n') {
            out[at++] = '\\';
            out[at++] = *v == '\n' ? 'n' : *v;
        } else {
            out[at++] = *v;
        }
    }
    if (at + 1 < cap)
        out[at++] = '"';
    out[at] = '\0';
    return at;
}

int met_write_server(struct buf *b, const struct srv_stats *s)
{
    int rc = met_write_family(b, "imgrec_open_connections", "gauge", "Client connections open now.");
    rc |= met_write_sample(b, "imgrec_open_connections", NULL, s->conns);
    rc |= met_write_family(b, "imgrec_memory_held_bytes", "gauge",
                           "Request bodies and queued answers held now, counted against --max-memory.");
    rc |= met_write_sample(b, "imgrec_memory_held_bytes", NULL, (double)s->held);
    rc |= met_write_family(b, "imgrec_memory_limit_bytes", "gauge", "--max-memory (0: no limit).");
    rc |= met_write_sample(b, "imgrec_memory_limit_bytes", NULL, (double)s->max_memory);
    rc |= met_write_family(b, "imgrec_shed_connections_total", "counter",
                           "Idle connections closed to admit a newcomer at --max-conns.");
    rc |= met_write_sample(b, "imgrec_shed_connections_total", NULL, (double)s->shed);
    rc |= met_write_family(b, "imgrec_refused_connections_total", "counter",
                           "Newcomers closed at --max-conns because no connection was idle.");
    rc |= met_write_sample(b, "imgrec_refused_connections_total", NULL, (double)s->refused);
    return rc;
}
