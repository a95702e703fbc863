/* oip: the HTTP-level parts of the Open Inference Protocol (KServe v2 REST) that the worker and the
 * balancer share — which paths are the protocol's, and the health answers.  The model side (metadata,
 * infer) is the worker's infer/oip.h; the balancer forwards everything else under /v2 to a worker.
 *
 * Health answers carry no body: 200 means true, 400 false (the spec: "a 4xx status code indicates
 * false"). */
#ifndef NET_OIP_H
#define NET_OIP_H

#include <stdbool.h>

#include "net/http.h"
#include "net/server.h"

enum oip_health { OIP_NOT_HEALTH, OIP_LIVE, OIP_READY };

/* True for "/v2" and paths under "/v2/". */
bool oip_path(struct http_str path);
/* Which health endpoint path is (/v2/health/live or /v2/health/ready), if any. */
enum oip_health oip_health_path(struct http_str path);
/* Answers a health request: 200 when yes, 400 when not; GET or HEAD only (else 405).  extra: NULL or
 * header lines for the answer (the balancer's CORS lines). */
void oip_answer_health(struct srv_conn *c, const struct srv_request *r, bool yes, const char *extra);

#endif
