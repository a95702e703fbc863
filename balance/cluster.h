/* cluster: what the page's live panel shows (GET /cluster.json) — per backend, its tries over the last
 * minute (count, failures, p50 and p99 of their duration) and since start, and the balancer's rate of
 * answered requests.
 *
 * A minute is a ring of CLUSTER_WINDOW_S one-second slots; each slot counts tries in duration buckets a
 * quarter-octave wide (from 0.1 ms to about 30 s), so a percentile is known to within one bucket (+-9%)
 * and recording a try is a few additions: no allocation, no sorting, bounded memory (about 10 KB per
 * backend).  Pure state, time passed in, loop thread only. */
#ifndef BALANCE_CLUSTER_H
#define BALANCE_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "balance/choose.h"
#include "net/buf.h"

#define CLUSTER_WINDOW_S 60
#define CLUSTER_BUCKETS 72   /* quarter octaves from 0.1 ms: the last one holds everything slower */
#define CLUSTER_RATE_S 5     /* the request rate is averaged over the last 5 whole seconds */

struct cluster_slot {
    uint64_t second;                   /* which second (of the loop clock) it counts; stale ones are skipped */
    uint32_t tries, failed;
    uint16_t by_duration[CLUSTER_BUCKETS]; /* answered tries per duration bucket (saturating) */
};

struct cluster_backend {
    uint64_t answered_total, failed_total;
    struct cluster_slot slot[CLUSTER_WINDOW_S];
};

struct cluster_rate {
    uint64_t second[CLUSTER_WINDOW_S];
    uint32_t count[CLUSTER_WINDOW_S];
    uint64_t total;
};

/* A try on this backend ended at now_ms: answered (any whole answer the balancer relays) or failed. */
void cluster_record_try(struct cluster_backend *b, uint64_t now_ms, bool answered, uint64_t duration_ns);
/* The balancer answered a forwarded request at now_ms. */
void cluster_record_request(struct cluster_rate *r, uint64_t now_ms);

/* The tries of the last minute, and their p50 / p99 duration in ms (0 when none answered). */
struct cluster_minute {
    uint32_t tries, failed;
    double p50_ms, p99_ms;
};
void cluster_minute(const struct cluster_backend *b, uint64_t now_ms, struct cluster_minute *out);
/* Requests per second over the last CLUSTER_RATE_S whole seconds. */
double cluster_rate_per_s(const struct cluster_rate *r, uint64_t now_ms);

/* The /cluster.json body (stats[i] belongs to c->b[i]; addresses are left out: the page never shows them):
 * {"policy":"random","up":N,"rate_per_s":R,"requests_total":N,"window_s":60,"backends":[{"name":"worker 1",
 *  "up":true,"draining":false,"in_flight":N,"answered_total":N,"failed_total":N,"last_minute":{"tries":N,
 *  "failed":N,"p50_ms":X,"p99_ms":Y}},...]}
 * Returns 0, or -1 when out is too small. */
int cluster_json(const struct chooser *c, const struct cluster_backend *const stats[],
                 const struct cluster_rate *rate, uint64_t now_ms, struct buf *out);

#endif
