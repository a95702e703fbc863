/* forward: what the balancer changes in the messages it relays — only the hop-by-hop parts.
 *
 * A request goes to the backend with its method, target (always origin-form), end-to-end headers and
 * (decoded) body as they came, minus the headers that describe one connection (Connection, Keep-Alive,
 * Transfer-Encoding, Content-Length, Expect, TE, Upgrade, Proxy-Connection, Trailer, and every header
 * the Connection header names: RFC 9110 §7.6.1), plus one X-Forwarded-For extending the client's
 * ("client, proxy", bare addresses), a Via and a Content-Length.
 * The answer comes back the same way: status line and end-to-end headers unchanged plus a Via, the body
 * unchanged (a chunked body is de-chunked), Content-Length and Connection set for the client's
 * connection. */
#ifndef SVC_FORWARD_H
#define SVC_FORWARD_H

#include <stddef.h>

#include "net/buf.h"
#include "net/http.h"
#include "net/server.h"

/* Replaces out's content with the head to send to the backend (blank line included; a HEAD goes as GET).
 * 0 or -1. */
int forward_request_head(const struct srv_request *r, struct buf *out);

/* Replaces out's content with the status line and end-to-end headers of a backend's answer (no blank
 * line, no Connection/Content-Length/X-Content-Type-Options: srv_respond_relay adds them).  raw is the whole
 * answer. */
int forward_response_head(const struct http_response *res, const char *raw, struct buf *out);

/* The answer's body: a view into raw when it is not chunked, else decoded into scratch.  0 or -1. */
int forward_response_body(const struct http_response *res, const char *raw, size_t raw_len,
                          struct buf *scratch, const char **body, size_t *body_len);

/* The worker's queue and inference times from its answer's Server-Timing header into the access log's
 * fields (left unknown when absent). */
void forward_log_timings(const struct http_response *res, struct srv_log_fields *log);

/* How many backends (the first n) this request may be sent to: ?backends=N in the query, or the
 * multipart form field number_backend_servers.  Returns n >= 1, 0 when the request does not say
 * (or says it empty), or -1 when it says something that is not a positive whole number.  A count
 * larger than any number of backends comes back large: the caller clamps it to the backends it has. */
long forward_backend_limit(const struct srv_request *r);

#endif
