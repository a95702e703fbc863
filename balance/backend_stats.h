/* backend_stats: everything the balancer counts of one backend — GET /metrics's per-backend families and
 * the live panel's minute (balance/cluster.h) — in one struct.
 *
 * One struct backend_stats per backend, owned by the balancer beside that backend's HTTP client (a
 * backend added at run time starts from a zeroed one).  A backend that goes away takes its series with
 * it; one that comes back starts them again from 0 (Prometheus reads that as a counter reset).  Up,
 * draining and in flight are the chooser's (choose.h) and are read from there.  Loop thread only, plain
 * increments: nothing is allocated or locked. */
#ifndef BALANCE_BACKEND_STATS_H
#define BALANCE_BACKEND_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "balance/choose.h"
#include "balance/cluster.h"
#include "net/buf.h"
#include "net/metrics.h"

struct backend_stats {
    uint64_t tries;              /* tries sent to it */
    uint64_t retries;            /* of them, a request's second or later try */
    uint64_t ejections;          /* times the health rules marked it down */
    struct met_hist try_seconds; /* tries that ended, answered or failed (not those cancelled at the deadline) */
    struct cluster_backend minute; /* the panel's last minute, and answered_total / failed_total since start */
};

/* A try was sent; retry = it is not the request's first. */
void bstats_sent(struct backend_stats *s, bool retry);
/* A try ended at now_ms after elapsed_ns; answered = a whole answer the balancer relays (not 502/503/504). */
void bstats_ended(struct backend_stats *s, uint64_t now_ms, bool answered, uint64_t elapsed_ns);
/* The request's deadline cancelled the try in flight (a failure for the panel; no duration). */
void bstats_cancelled(struct backend_stats *s, uint64_t now_ms);

/* The imgrec_balancer_backend_* families (see the README's Metrics): stats[i] belongs to c->b[i]. */
int bstats_write(const struct chooser *c, const struct backend_stats *const stats[], struct buf *b);

#endif
