/* server: the HTTP/1.1 server side shared by the worker and the balancer.
 *
 * It accepts connections on one listening socket, reads each request whole (head and decoded body,
 * within the limits), hands it to the program's handler, and writes the answer back — keep-alive,
 * pipelining (one request at a time per connection, answers in order), 100-continue, timeouts, bounded
 * buffers, and one access-log line per request (net/access_log.h: text or JSON lines, on stderr or a
 * file), and a hook per answer for the program's metrics.
 *
 * Ownership and lifetimes (after Redis ae.c's AE_BARRIER ordering):
 * - The server owns every srv_conn.  A connection is freed only by the loop (a close, a timeout, an
 *   error, shedding at the connection cap, srv_destroy) and never while its request is with the handler.
 * - The handler gets (c, r) and must answer exactly once, with one srv_respond* call, right away or later
 *   on the loop thread (after an inference or a backend round trip).  Until then the connection reads
 *   nothing more (backpressure) and has no deadline: the handler bounds its own work.
 * - An srv_respond* call only queues the answer: it never writes to the socket and never frees c, so the
 *   caller may go on using c and r until it returns.  After it returns, c and r belong to the server
 *   again: the caller must not touch them.  The answer is flushed after the current round of callbacks
 *   (a zero-delay timer), where the connection may also be closed or move on to its next request.
 * - srv_destroy drops pending requests: the program must stop its own callbacks (inference, backend
 *   calls) that would answer them before or with it.
 *
 * Limits:
 * - timeout_ms: a request must arrive whole within it from its first byte (408), and a client must keep
 *   reading our answer; idle_timeout_ms: a connection with no request in progress closes silently.
 * - max_conns: at the cap a newcomer is admitted by closing the longest-idle connection (nginx's
 *   reusable-connection rule); only when no connection is idle is the newcomer closed.
 * - max_memory: request bodies (charged from the declared Content-Length, or as a chunked body grows) and
 *   answers waiting in output buffers, over all connections.  A request that would cross it gets 503
 *   server_busy with Retry-After (and its connection closed); so does an answer that would (the small
 *   error answer itself is not charged).  Borrowed bodies (srv_respond_borrowed) are not copied and are
 *   charged by whoever owns them. */
#ifndef SVC_SERVER_H
#define SVC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/access_log.h"
#include "net/errors.h"
#include "net/http.h"
#include "net/loop.h"

#define SRV_MAX_HEADERS 64
#define SRV_NOTE_MAX 96

struct srv;       /* opaque: a listening server */
struct srv_conn;  /* opaque: one client connection */
struct srv_request;

/* What the server tells the program's on_answer hook of each answer (on the loop thread). */
struct srv_answer {
    const struct srv_request *req; /* NULL when no whole request was read (408, a malformed head, a body
                                      refused under max_memory) */
    int status;
    size_t body_len;
    double seconds;                /* from the whole request read to its answer queued (0 when req is NULL) */
};

struct srv_config {
    const char *host;          /* NULL or "" = all interfaces */
    int port;                  /* 0 = any free port (see srv_port) */
    struct http_limits limits; /* head, target and body limits (→ 431/414/413) */
    int timeout_ms;            /* a request must arrive whole within this (else 408) */
    int idle_timeout_ms;       /* a connection without a request in progress closes after this; 0 = timeout_ms */
    int max_conns;             /* at the cap the longest-idle connection is shed for a newcomer */
    size_t max_memory;         /* request bodies + queued answers held over all connections (over → 503); 0 = none */
    enum alog_format log_format; /* the access log's lines: text (default) or JSON */
    const char *access_log;    /* NULL or "-": stderr; else a file, opened for appending by srv_create */
    /* NULL, or called once per answer with the handler's data, right after its access-log line (metrics) */
    void (*on_answer)(void *data, const struct srv_answer *a);
};

/* What the access log says beyond the request line; the handler may fill any of it (reset per request). */
struct srv_log_fields {
    char worker[128];          /* who computed the answer ("" = unknown) */
    int tries;                 /* backend tries (0 = none) */
    double queue_ms, inference_ms; /* the worker's timings (< 0 = unknown) */
};

/* A complete request, parsed once.  Views point into the connection's buffer and stay valid until the
 * srv_respond* call that answers it returns. */
struct srv_request {
    struct http_request http;
    struct http_header headers[SRV_MAX_HEADERS];
    const char *head;          /* the raw head as received */
    size_t head_len;
    char *body;                /* the decoded body (chunked framing removed) */
    size_t body_len;
    const char *peer;          /* "ip:port" of the client */
    uint64_t start_ms;         /* loop clock when the request was complete */
    uint64_t start_ns;         /* clock_now_ns() then */
    struct srv_log_fields log; /* the handler's fields of the access-log line */
    char note[SRV_NOTE_MAX];   /* the handler may write a word for the access log (e.g. the label) */
};

typedef void srv_handler_fn(struct srv_conn *c, struct srv_request *r, void *data);

/* Listens and starts serving on loop l (and opens cfg->access_log).  Returns NULL with err filled on
 * failure. */
struct srv *srv_create(struct loop *l, const struct srv_config *cfg, srv_handler_fn *fn, void *data,
                       char *err, size_t errlen);
/* Closes the listener and every connection (pending requests are dropped unanswered). */
void srv_destroy(struct srv *s);
int srv_port(const struct srv *s);
/* Graceful stop: closes the listener and idle connections, lets every connection finish the request it
 * has (answered with Connection: close), running the loop until none is left or timeout_ms passes.
 * 0 when all finished, -1 when some were still open (srv_destroy drops them).  srv_port is invalid after. */
int srv_drain(struct srv *s, int timeout_ms);

/* ---- answering: exactly one call per request, on the loop thread (see the top of the file) ----------- */
/* A response with a body (copied).  extra: NULL or preformatted "Name: value\r\n" lines.  Status 304 and
 * 204 get no body and no Content-Length. */
void srv_respond(struct srv_conn *c, int status, const char *content_type, const void *body, size_t len,
                 const char *extra);
/* The same without copying body: it must stay valid until release(ref) is called (once, when the answer
 * is sent or the connection closes, perhaps before this returns).  release may be NULL. */
void srv_respond_borrowed(struct srv_conn *c, int status, const char *content_type, const void *body,
                          size_t len, const char *extra, void (*release)(void *ref), void *ref);
/* A JSON error {"error":code,"detail":detail} with the code's status (net/errors.h); detail NULL = the
 * table's meaning. */
void srv_respond_error(struct srv_conn *c, enum err_code e, const char *detail, const char *extra);
/* A response built elsewhere: head lines (status line and headers without Connection/Content-Length and
 * without the blank line) plus a body of exactly body_len bytes (copied).  Content-Length and this
 * connection's Connection header and HTTP_ALWAYS_HEADERS are added here.  Used to relay a backend's answer. */
void srv_respond_relay(struct srv_conn *c, int status, const char *head, size_t head_len,
                       const char *body, size_t body_len);

/* The request this connection is answering (NULL when none is pending). */
struct srv_request *srv_conn_request(struct srv_conn *c);
/* True when the client has shut its side of the connection (read end at EOF or reset).  Safe from any
 * thread while the request awaits its answer (it only peeks at the socket).  A half-closed client that
 * still waits for its answer looks the same: callers decide whom to believe (the worker asks only for
 * requests from the balancer, which never half-closes). */
bool srv_conn_peer_closed(struct srv_conn *c);

/* Counters, for tests and logs. */
struct srv_stats {
    int conns;            /* open now */
    long shed;            /* idle connections closed to admit a newcomer at the cap */
    long refused;         /* newcomers closed at the cap because none was idle */
    long over_memory;     /* requests answered 503 because a body or an answer would cross max_memory */
    size_t held;          /* bytes charged to max_memory now */
    size_t max_memory;    /* the limit (0: none) */
};
void srv_stats(const struct srv *s, struct srv_stats *out);

#endif
