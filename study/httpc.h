/* httpc: the client side of HTTP/1.1 on net/loop — many requests in flight to one server, each on its own
 * keep-alive connection taken from a bounded pool, each finishing with its own callback.  This is what the
 * open-loop load generator needs (sends never wait for answers); httpc_roundtrip wraps it for the simple
 * one-request-at-a-time commands so there is one HTTP client, not two. */
#ifndef STUDY_HTTPC_H
#define STUDY_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"

struct httpc; /* opaque */

struct httpc_result {
    int status;          /* HTTP status, or 0 when the exchange failed (error says why) */
    const char *error;   /* NULL on a complete response; else static text ("timeout", "connection refused"...) */
    const char *body;    /* decoded body; valid only during the callback */
    size_t body_len;
    double rtt_ms;       /* from the request's start time to the response's last byte */
};
typedef void httpc_done_fn(const struct httpc_result *r, void *data);

/* A client for host:port (resolved now, blocking) with at most max_conns connections.  NULL + err. */
struct httpc *httpc_create(struct loop *l, const char *host, int port, int max_conns, char *err, size_t errlen);
/* Closes every connection; requests still in flight are dropped without their callbacks. */
void httpc_free(struct httpc *c);

/* Sends req[0..len) (the caller keeps it alive until fn runs).  start_ns is the instant the RTT counts
 * from (its scheduled send time, so a late send is not hidden; 0 = now).  timeout_ms bounds the whole
 * exchange.  Returns 0, or -1 when all max_conns connections are busy (fn is not called then). */
int httpc_send(struct httpc *c, const char *req, size_t len, uint64_t start_ns, uint64_t timeout_ms,
               httpc_done_fn *fn, void *data);
/* Requests in flight. */
int httpc_busy(const struct httpc *c);

/* A finished exchange copied out of the callback (body is malloc'd, NUL-terminated; free with httpc_reply_free). */
struct httpc_reply {
    int status;
    char error[64];
    char *body;
    size_t body_len;
    double rtt_ms;
};
/* Sends req and runs the loop until the answer (or the timeout).  Returns 0 when a response arrived
 * (any status), -1 otherwise (out->error says why). */
int httpc_roundtrip(struct httpc *c, const char *req, size_t len, uint64_t timeout_ms, struct httpc_reply *out);
void httpc_reply_free(struct httpc_reply *r);

/* Monotonic clock in nanoseconds. */
uint64_t httpc_now_ns(void);

#endif
