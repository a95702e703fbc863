/* http_client: the one HTTP/1.1 client — a keep-alive connection pool to one origin on net/loop.
 *
 * Used by the balancer (its backend calls) and by every `client` command (http_client_roundtrip).
 * One place for connect, timeouts, keep-alive reuse, 1xx handling, and the retry of a request that found
 * its pooled connection closed.  Each connection carries one exchange at a time (no pipelining).  An
 * answer is parsed once, as it arrives; its views stay valid for the whole callback.
 *
 * Ownership: the client owns its connections and buffers; a call's head is copied, its body is not.
 * Everything runs on the loop thread.  A done callback may send new calls (on this or another client)
 * and cancel other calls; it must not free the client whose call it is ending. */
#ifndef NET_HTTP_CLIENT_H
#define NET_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"
#include "net/loop.h"

struct http_client;                 /* keep-alive connection pool to ONE origin (numeric address + port), one loop */
struct http_client_opts {
    int max_conns;                  /* connections open at once (in use + idle); calls beyond wait in a FIFO
                                       bounded by max_waiting, then fail at once with HTTP_CLIENT_BUSY */
    int max_waiting;
    size_t max_response;            /* head + body of one answer */
};
/* opts NULL: these. */
#define HTTP_CLIENT_DEFAULT_MAX_CONNS 64
#define HTTP_CLIENT_DEFAULT_MAX_WAITING 1024
#define HTTP_CLIENT_DEFAULT_MAX_RESPONSE (4u * 1024 * 1024)

/* host is a numeric IPv4/IPv6 address or a name resolved here (blocking: start-up only).
 * NULL with err filled on failure (unresolvable host, bad port or options, out of memory). */
struct http_client *http_client_create(struct loop *l, const char *host, int port,
                                       const struct http_client_opts *o, char *err, size_t errlen);
/* The same from "host:port" ("[v6]:port"; ":port" = 127.0.0.1), the form the programs' options take. */
struct http_client *http_client_create_hostport(struct loop *l, const char *hostport,
                                                const struct http_client_opts *o, char *err, size_t errlen);
void http_client_free(struct http_client *c);          /* calls in flight end WITHOUT their callback */
const char *http_client_name(const struct http_client *c);   /* "host:port" */
int http_client_in_flight(const struct http_client *c);      /* calls sent or waiting, not yet done */

enum http_client_error {
    HTTP_CLIENT_OK = 0,
    HTTP_CLIENT_CONNECT,    /* refused / unreachable / connect timed out: nothing was sent */
    HTTP_CLIENT_TIMEOUT,    /* no whole answer within the call's timeout */
    HTTP_CLIENT_CLOSED,     /* reset or closed before the answer was complete */
    HTTP_CLIENT_MALFORMED,  /* answer violates HTTP/1.1 (or a 101 nobody asked for) */
    HTTP_CLIENT_TOO_LARGE,  /* answer over max_response */
    HTTP_CLIENT_BUSY,       /* waiting FIFO full */
};
/* "connect", "timeout", ... (for logs and messages). */
const char *http_client_error_name(enum http_client_error e);

struct http_client_result {
    enum http_client_error error;
    int answer_started;     /* 1 if any byte of a final answer arrived (a failover must not retry then) */
    const struct http_response *res;   /* parsed ONCE; views into raw; NULL on error */
    const char *raw; size_t raw_len;   /* the whole answer as received; valid only during the callback */
    const char *body; size_t body_len; /* the body decoded (a view into raw unless it came chunked);
                                          valid only during the callback; NULL/0 on error */
    const char *detail;     /* human words for the error (for logs; never shown to end users) */
    uint64_t elapsed_ns;
};
typedef void http_client_done_fn(void *data, const struct http_client_result *r);
struct http_call;           /* a call in flight */
/* Sends head (copied) + body (NOT copied: valid until done or cancel). done runs exactly once on the loop
 * thread, never before http_client_send returns (deferred to the loop), unless the call is cancelled.
 * A pooled connection found closed before any answer byte is retried once on a fresh connection
 * (that is safe and invisible; a failover across backends is the balancer's business, not this).
 * timeout_ms bounds the whole call, from this send (waiting in the FIFO included) to the answer's last
 * byte.  The request must not be HEAD (its answer has no body whatever its headers say).  Returns the
 * call, or NULL (done never called) only when memory runs out. */
struct http_call *http_client_send(struct http_client *c, const char *head, size_t head_len,
                                   const char *body, size_t body_len, uint64_t timeout_ms,
                                   http_client_done_fn *done, void *data);
void http_call_cancel(struct http_call *call);   /* done is not called; its connection is closed, not pooled */
/* (Only before its done has run: after that the call is gone.) */

/* ---- one request at a time, for the study's commands --------------------------------------------- */

/* A finished exchange copied out of the callback.  body is malloc'd and NUL-terminated (free with
 * http_reply_free); status 0 when the exchange failed (error and detail say why). */
struct http_reply {
    int status;
    enum http_client_error error;
    char detail[128];
    char *body;
    size_t body_len;
    uint64_t elapsed_ns;
};
/* Sends head + body on c and runs c's loop until the answer or the timeout (the loop must not be running).
 * Returns 0 when an answer arrived (any status), -1 otherwise. */
int http_client_roundtrip(struct http_client *c, const char *head, size_t head_len, const char *body,
                          size_t body_len, uint64_t timeout_ms, struct http_reply *out);
void http_reply_free(struct http_reply *r);

#endif
