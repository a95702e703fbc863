/* service_probe: asks the service who it is before a command measures it — GET /healthz through the one
 * HTTP client — so a dead URL is one clear line before any table, and `load` knows how many workers
 * answer behind a balancer. */
#ifndef STUDY_SERVICE_PROBE_H
#define STUDY_SERVICE_PROBE_H

#include <stddef.h>

#include "net/url.h"

/* GET /healthz on u's host and port.  Returns 0 when it answered 200, with *workers set to the balancer's
 * "backends" count, or 1 for a worker alone (its /healthz has no such field); -1 otherwise, with err
 * naming the address and what went wrong (e.g. "cannot connect to 127.0.0.1:5999: Connection refused"). */
int service_probe(const struct url *u, int *workers, char *err, size_t errlen);

#endif
