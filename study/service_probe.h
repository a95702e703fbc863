/* service_probe: asks the service who it is before a command measures it — GET /healthz through the one
 * HTTP client — so a dead URL is one clear line before any table, and `load` knows how many workers
 * answer behind a balancer. */
#ifndef STUDY_SERVICE_PROBE_H
#define STUDY_SERVICE_PROBE_H

#include <stddef.h>

#include "net/url.h"

/* GET /healthz on u's host and port.  Returns 0 when it answered 200, with *workers set to the balancer's
 * count of backends up ("up"; or its "backends" count), or 1 for a worker alone (its /healthz has no such field); -1 otherwise, with err
 * naming the address and what went wrong (e.g. "cannot connect to 127.0.0.1:5999: Connection refused"). */
int service_probe(const struct url *u, int *workers, char *err, size_t errlen);

/* The same, and the balancer's --policy as its /healthz says it ("" for a worker alone). */
struct service_info {
    int workers;
    char policy[32];
};
int service_probe_info(const struct url *u, struct service_info *out, char *err, size_t errlen);

#endif
