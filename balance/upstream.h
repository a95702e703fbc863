/* upstream: the balancer's side towards one backend — send a request, get the whole response back.
 *
 * Each backend keeps a pool of idle keep-alive connections; a call takes one (or connects anew, without
 * blocking), writes the request, reads the response until its framing says it is complete, and hands it
 * to the callback on the loop thread.  A pooled connection the backend closed before answering is retried
 * once on a fresh one.  Failures come back as a status: 502 (cannot connect, reset, malformed or
 * oversized answer) or 504 (no whole answer within the timeout).  Buffers are bounded. */
#ifndef SVC_UPSTREAM_H
#define SVC_UPSTREAM_H

#include <stddef.h>

#include "net/http.h"
#include "net/loop.h"

#define UPSTREAM_MAX_RESPONSE (4u * 1024 * 1024) /* head + body of one backend answer */

struct upstream; /* one backend */

/* The outcome of a call.  On success (res != NULL) raw[0..raw_len) is the whole response as received,
 * head first (res->head_len bytes), views in res point into it; all valid only during the callback.
 * On failure res is NULL, status is 502 or 504 and detail says why. */
struct upstream_reply {
    int status;
    const struct http_response *res;
    const char *raw;
    size_t raw_len;
    const char *detail;
};
typedef void upstream_done_fn(void *data, const struct upstream_reply *reply);

/* A backend at "host:port" (resolved now, blocking: call at start-up).  timeout_ms bounds each call from
 * send to the end of the answer.  NULL with err filled on failure. */
struct upstream *upstream_create(struct loop *l, const char *hostport, int timeout_ms, char *err, size_t errlen);
/* Closes every connection and frees.  A call still in flight ends without its done being called (at
 * shutdown: its caller is gone too). */
void upstream_free(struct upstream *u);
const char *upstream_name(const struct upstream *u);

/* Sends head (copied) and body and calls done exactly once, possibly before returning.  The body is not
 * copied (a large upload would be held twice): it must stay valid and unchanged until done is called, or
 * until upstream_free if that comes first. */
void upstream_call(struct upstream *u, const char *head, size_t head_len, const char *body, size_t body_len,
                   upstream_done_fn *done, void *data);

#endif
