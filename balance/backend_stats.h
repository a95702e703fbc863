/* backend_stats: what the balancer counts of each backend, and GET /metrics's per-backend families.
 *
 * One struct backend_stats lives in each chooser entry (choose.h), so it is added, removed and moved
 * with its backend (discovery adds and drains backends at run time): a backend that goes away takes its
 * series with it, one that comes back starts them again from 0 (Prometheus reads that as a counter
 * reset).  Everything a view of a backend needs (up, draining, in flight from choose.h; these counts) is
 * in that one entry.  Loop thread only, plain increments. */
#ifndef BALANCE_BACKEND_STATS_H
#define BALANCE_BACKEND_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "net/buf.h"
#include "net/metrics.h"

struct backend_stats {
    uint64_t tries;             /* tries sent to it */
    uint64_t retries;           /* of them, a request's second or later try */
    uint64_t answered;          /* tries it answered (an answer relayed, any status but 502/503/504) */
    uint64_t failures;          /* tries that failed: no answer in time, a broken one, or 502/503/504 */
    uint64_t ejections;         /* times the health rules marked it down */
    struct met_hist try_seconds;/* tries that ended (answered or failed; not those cancelled at the deadline) */
};

/* A try was sent; retry = it is not the request's first. */
void bstats_sent(struct backend_stats *s, bool retry);
/* A try ended after elapsed_ns; ok = answered. */
void bstats_ended(struct backend_stats *s, bool ok, uint64_t elapsed_ns);

struct chooser;
/* The imgrec_balancer_backend_* families, one series per backend of c (see the README's Metrics). */
int bstats_write(const struct chooser *c, struct buf *b);

#endif
