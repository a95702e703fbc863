/* server: the HTTP/1.1 server side shared by the worker and the balancer.
 *
 * It accepts connections on one listening socket, reads each request whole (head and decoded body,
 * within the limits), hands it to the program's handler, and writes the answer back — keep-alive,
 * pipelining (one request at a time per connection, answers in order), 100-continue, timeouts (408 for
 * a client too slow to send its request, a silent close for an idle keep-alive one), bounded buffers,
 * and one access-log line per request on stderr.
 *
 * The handler answers exactly once per request, right away or later from the loop thread (after an
 * inference or a backend round trip); until then the connection waits and reads nothing more, which is
 * the backpressure.  A connection is never freed while its request awaits an answer.
 *
 * Memory: each request's body is charged to a server-wide budget (max_memory) from its head (the declared
 * Content-Length) or as it grows (chunked) until it is answered or its connection closes; a request that
 * would cross the budget gets 503 server_busy with Retry-After, and its connection is closed. */
#ifndef SVC_SERVER_H
#define SVC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/http.h"
#include "net/loop.h"

#define SRV_MAX_HEADERS 64
#define SRV_NOTE_MAX 96

struct srv;       /* opaque: a listening server */
struct srv_conn;  /* opaque: one client connection */

struct srv_config {
    const char *host;          /* NULL or "" = all interfaces */
    int port;                  /* 0 = any free port (see srv_port) */
    struct http_limits limits; /* head, target and body limits (→ 431/414/413) */
    int timeout_ms;            /* a request must arrive whole within this (else 408); idle keep-alive closes */
    int max_conns;             /* connections over this are closed at once */
    size_t max_memory;         /* request-body bytes held over all connections (over → 503); 0 = no limit */
};

/* A complete request.  Views point into the connection's buffer and stay valid until the answer. */
struct srv_request {
    struct http_request http;
    struct http_header headers[SRV_MAX_HEADERS];
    const char *head;          /* the raw head as received */
    size_t head_len;
    char *body;                /* the decoded body (chunked framing removed) */
    size_t body_len;
    const char *peer;          /* "ip:port" of the client */
    uint64_t start_ms;         /* loop clock when the request was complete */
    char note[SRV_NOTE_MAX];   /* the handler may write a word for the access log (e.g. the backend used) */
};

typedef void srv_handler_fn(struct srv_conn *c, struct srv_request *r, void *data);

/* Listens and starts serving on loop l.  Returns NULL with err filled on failure. */
struct srv *srv_create(struct loop *l, const struct srv_config *cfg, srv_handler_fn *fn, void *data,
                       char *err, size_t errlen);
/* Closes the listener and every connection (pending requests are dropped unanswered). */
void srv_destroy(struct srv *s);
int srv_port(const struct srv *s);
/* Graceful stop: closes the listener and idle connections, lets every connection finish the request it
 * has (answered with Connection: close), running the loop until none is left or timeout_ms passes.
 * 0 when all finished, -1 when some were still open (srv_destroy drops them).  srv_port is invalid after. */
int srv_drain(struct srv *s, int timeout_ms);

/* ---- answering: exactly one call per request, on the loop thread ------------------------------------ */
/* A response with a body (copied).  extra: NULL or preformatted "Name: value\r\n" lines. */
void srv_respond(struct srv_conn *c, int status, const char *content_type, const void *body, size_t len,
                 const char *extra);
/* A JSON error {"error":code,"detail":detail}; detail NULL = the status's reason phrase. */
void srv_respond_error(struct srv_conn *c, int status, const char *code, const char *detail,
                       const char *extra);
/* A response built elsewhere: head lines (status line and headers without Connection/Content-Length and
 * without the blank line) plus a body of exactly body_len bytes.  Content-Length and this connection's
 * Connection header are added here.  Used to relay a backend's answer. */
void srv_respond_relay(struct srv_conn *c, int status, const char *head, size_t head_len,
                       const char *body, size_t body_len);

/* The request this connection is answering (NULL when none is pending). */
struct srv_request *srv_conn_request(struct srv_conn *c);
/* True when the client has shut its side of the connection (read end at EOF or reset).  Safe from any
 * thread while the request awaits its answer (it only peeks at the socket).  A half-closed client that
 * still waits for its answer looks the same: callers decide whom to believe (the worker asks only for
 * requests from the balancer, which never half-closes). */
bool srv_conn_peer_closed(struct srv_conn *c);
/* The loop the server runs on. */
struct loop *srv_conn_loop(struct srv_conn *c);

#endif
