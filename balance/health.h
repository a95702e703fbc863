/* health: who is up.  The rules that move a backend between up and down, over choose.h's state:
 *   passive  every try that fails (connect refused or timed out, reset, closed, no answer within the
 *            per-try timeout, a 502/503/504 from the worker) adds one to the backend's consecutive
 *            failures, every try answered resets them; max_fails in a row mark it down.
 *   active   the balancer sends GET /healthz to every backend every probe interval (with a short probe
 *            timeout; see balancer.c).  A failed probe counts as a failed try; a 200 resets the count
 *            and brings a down backend back up, and its slow start (choose.h) begins.
 * A backend discovery adds starts down and joins on its first healthy probe.
 *
 * Pure state: the caller runs the probes and reports what happened.  Loop thread only. */
#ifndef BALANCE_HEALTH_H
#define BALANCE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "balance/choose.h"
#include "net/buf.h"

#define HEALTH_DEFAULT_MAX_FAILS 2
#define HEALTH_DEFAULT_INTERVAL_MS 1000
#define HEALTH_DEFAULT_PROBE_TIMEOUT_MS 300
#define HEALTH_DEFAULT_SLOW_START_MS 2000

/* Sets backend i up or down from now_ms (no-op when it already is). */
void health_mark(struct chooser *c, int i, bool up, uint64_t now_ms);
/* A try or a probe on backend i ended; ok = answered (a probe: answered 200).  Returns 1 when this
 * changed whether it is up, else 0. */
int health_report(struct chooser *c, int i, bool ok, int max_fails, uint64_t now_ms);

/* The balancer's /healthz body:
 * {"status":"ok"|"no_backend_up","policy":"random","up":N,"backends":[{"address":"h:p","up":true,
 *  "draining":false,"since_ms_ago":T,"in_flight":N,"recent_failures":N,"failures_total":N},...]}
 * Returns 0, or -1 when out is too small. */
int health_json(const struct chooser *c, uint64_t now_ms, struct buf *out);

#endif
