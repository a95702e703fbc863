/* metrics: Prometheus counters, gauges and histograms, and the text exposition writer (format 0.0.4).
 *
 * Nothing here allocates.  A histogram is a fixed array of bucket counts (met_latency_bounds: 1 ms to
 * 10 s) embedded in its owner's struct; observing is a short scan and three plain increments, so a
 * met_hist has one writer: the loop thread (the worker observes a job's timings when the job comes back
 * to the loop).  A counter another thread writes is that thread's own (e.g. one per engine thread, a
 * relaxed atomic) and is summed when written out.  The program owns its metrics and writes them on GET
 * /metrics with the met_write_* calls below, which append to a caller's bounded buffer and return 0, or
 * -1 when it is full.
 *
 * Labels are a fixed string the caller formats once ("route=\"/predict\",code=\"200\""), or NULL. */
#ifndef NET_METRICS_H
#define NET_METRICS_H

#include <stdint.h>

#include "net/buf.h"
#include "net/http.h"
#include "net/server.h"

#define MET_NBOUNDS 13 /* finite bucket bounds; the +Inf bucket is count */
extern const double met_latency_bounds[MET_NBOUNDS];

struct met_hist {
    uint64_t bucket[MET_NBOUNDS]; /* observations <= bound[i] (non-cumulative; summed when written) */
    uint64_t count;
    double sum;
};

/* Adds one observation (seconds; negative counts as 0). */
void met_observe(struct met_hist *h, double seconds);

/* Requests by route and status code: routes are the program's list (the last one catches every other
 * path); codes a fixed list of the statuses our servers answer (any other counts as "other"). */
#define MET_ROUTES_MAX 12
#define MET_NCODES 17
struct met_requests {
    uint64_t n[MET_ROUTES_MAX][MET_NCODES];
};
/* Index of path in routes[0..nroutes) (exact match), else nroutes - 1. */
int met_route(const char *const routes[], int nroutes, struct http_str path);
void met_count_request(struct met_requests *m, int route, int status);
/* name{route="...",code="..."} for every pair seen, under a counter family written here. */
int met_write_requests(struct buf *b, const char *name, const char *help, const char *const routes[], int nroutes,
                       const struct met_requests *m);

/* Appends name="value" (value escaped as the format wants; a comma first when at > 0) to out at offset
 * at; returns the new length (cut short, still terminated, when out is too small). */
size_t met_label(char *out, size_t cap, size_t at, const char *name, const char *value);

/* The content type of the exposition. */
#define MET_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* # HELP and # TYPE lines of a family; type is "counter", "gauge" or "histogram". */
int met_write_family(struct buf *b, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. */
int met_write_sample(struct buf *b, const char *name, const char *labels, double value);
/* A histogram's _bucket{...,le="..."} lines (cumulative, ending with +Inf), _sum and _count. */
int met_write_hist(struct buf *b, const char *name, const char *labels, const struct met_hist *h);
/* The same from any bounds: counts[i] observations <= bounds[i] and above bounds[i-1] (not cumulative),
 * count in all (those over the last bound too), sum of their values. */
int met_write_buckets(struct buf *b, const char *name, const char *labels, const double *bounds,
                      const uint64_t *counts, int nbounds, uint64_t count, double sum);

/* Seconds since the Epoch when the process started (first call fixes it; call once at start-up). */
double met_start_time(void);
/* Writes process_start_time_seconds (the standard name Prometheus client libraries use). */
int met_write_process(struct buf *b);
/* The server's families, the same in both programs: imgrec_open_connections, imgrec_memory_held_bytes,
 * imgrec_memory_limit_bytes, imgrec_shed_connections_total, imgrec_refused_connections_total. */
int met_write_server(struct buf *b, const struct srv_stats *s);

#endif
