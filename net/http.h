/* http: a strict, incremental HTTP/1.1 parser (requests and responses), body framing, and helpers.
 *
 * Shape (after picohttpparser): the parsers never allocate or copy.  They return views (struct http_str)
 * into the caller's buffer and fill a header array the caller sized.  Call again with the whole buffer
 * (old bytes plus new) until the head is complete: a parse is a pure function of (buf, len).
 * Views stay valid while the caller's buffer holds the same bytes at the same address.
 *
 * Strict on purpose (after llhttp), since lenient framing is what request smuggling lives on:
 * bare LF, bare CR, obs-fold, whitespace before ':', Content-Length together with Transfer-Encoding,
 * duplicate or malformed Content-Length, a Transfer-Encoding on HTTP/1.0, and (RFC 9112 §3.2) an HTTP/1.1
 * request without exactly one Host header are all rejected with 400.
 *
 * Return convention of the parsers and the body reader:
 *   > 0  the head is complete; the value is the number of bytes it used (body starts there)
 *   HTTP_INCOMPLETE (0)  need more bytes (and the limits are not yet exceeded)
 *   < 0  error; the value is minus the HTTP status to answer with (-400, -413, -414, -431, -501, -505
 *        for requests; -502 for a malformed response), and .error says why in a few words.
 *
 * Typical server use (net/server.c does this for both programs):
 *     n = http_parse_request(buf_ptr(&in), buf_len(&in), &limits, &req, hdrs, 32);
 *     n == 0: read more;  n < 0: answer status -n with an error body (http_error_json), close;
 *     n > 0: http_body_init(&body, req.framing, req.content_length, limits.max_body) and feed it the
 *            bytes after the head, decoding in place; when it returns 1, the body is complete and the
 *            bytes it did not consume start the next (pipelined) request.
 * Typical proxy use (balancer): the same parse gives path/query and framing; feed the body reader with
 * out == NULL to learn where the request ends while forwarding raw bytes, then http_parse_response +
 * another body reader on the backend's bytes to know where its answer ends (keep-alive both sides). */
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_INCOMPLETE 0

/* A view into someone else's buffer: not NUL-terminated. */
struct http_str {
    const char *p;
    size_t len;
};

struct http_header {
    struct http_str name;   /* as sent (compare with http_str_ieq) */
    struct http_str value;  /* leading/trailing spaces and tabs removed */
};

/* How the body of a message is delimited. */
enum http_framing {
    HTTP_BODY_NONE,        /* no body (no framing headers; 204/304/1xx/HEAD responses) */
    HTTP_BODY_LENGTH,      /* exactly content_length bytes */
    HTTP_BODY_CHUNKED,     /* Transfer-Encoding: chunked */
    HTTP_BODY_UNTIL_CLOSE, /* responses only: the body ends when the peer closes */
};

/* Limits, with the status each one answers (after nginx). */
struct http_limits {
    size_t max_head;     /* request line + headers + blank line; over → 431 (414 while still in the target) */
    size_t max_target;   /* request target; over → 414 */
    uint64_t max_body;   /* Content-Length, or decoded size of a chunked body; over → 413 */
};
#define HTTP_DEFAULT_MAX_HEAD   (16u * 1024)
#define HTTP_DEFAULT_MAX_TARGET (4u * 1024)
#define HTTP_DEFAULT_MAX_BODY   (16u * 1024 * 1024)
#define HTTP_LIMITS_DEFAULT { HTTP_DEFAULT_MAX_HEAD, HTTP_DEFAULT_MAX_TARGET, HTTP_DEFAULT_MAX_BODY }

struct http_request {
    struct http_str method;   /* e.g. "POST" (any token; the caller decides what it supports) */
    struct http_str target;   /* as sent: "/predict?x=1", "http://host/p" or "*" */
    struct http_str path;     /* target up to '?' ("/predict"); for absolute-form, the path part ("/" if none) */
    struct http_str query;    /* after '?', without it ("" if none) */
    int minor_version;        /* 0 or 1 (HTTP/1.0, HTTP/1.1) */
    struct http_header *headers;  /* the caller's array */
    size_t num_headers;
    enum http_framing framing;    /* NONE, LENGTH or CHUNKED */
    uint64_t content_length;      /* when framing == LENGTH */
    bool keep_alive;              /* 1.1 unless "Connection: close"; 1.0 only with "Connection: keep-alive" */
    bool expect_continue;         /* HTTP/1.1 "Expect: 100-continue": send "100 Continue" before reading the body */
    size_t head_len;              /* same as the positive return value */
    const char *error;            /* static text on error, else NULL */
};

struct http_response {
    int minor_version;            /* 0 or 1 */
    int status;                   /* 100..999 */
    struct http_str reason;
    struct http_header *headers;
    size_t num_headers;
    enum http_framing framing;    /* NONE for 1xx/204/304 and answers to HEAD */
    uint64_t content_length;      /* when framing == LENGTH */
    bool keep_alive;              /* false when the body ends at close */
    size_t head_len;
    const char *error;
};

/* Parses a request head from buf[0..len).  max_headers is the capacity of headers[] (more → 431).
 * lim NULL = HTTP_LIMITS_DEFAULT.  Leading empty lines (CRLF) are skipped (RFC 9112 §2.2).
 * Returns head length, HTTP_INCOMPLETE, or -status (see top of file). */
int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request *req, struct http_header *headers, size_t max_headers);

/* The head req was parsed from now lies at `to` instead of `from` (its buffer grew or moved): moves every
 * view with it, so a head is parsed once however its buffer changes while the body arrives. */
void http_request_rebase(struct http_request *req, const char *from, const char *to);

/* Parses a response head.  head_request: the request was HEAD (so no body whatever the headers say).
 * Heads longer than max_head → -502.  Returns head length, HTTP_INCOMPLETE, or -502. */
int http_parse_response(const char *buf, size_t len, bool head_request, size_t max_head,
                        struct http_response *res, struct http_header *headers, size_t max_headers);

/* ---- bodies: one reader for every framing ------------------------------------------------------------
 * Feed it raw bytes as they arrive; it says how many belong to this message and when the message ends,
 * and (when out is not NULL) writes the decoded body to out.  out may equal in, or lie before it in the
 * same buffer (decoding in place: never writes past out + len).  out NULL: only find where the message
 * ends (what a proxy relaying raw bytes needs). */
struct http_body {
    enum http_framing framing;
    uint64_t remaining;     /* private: bytes left in the body (LENGTH) or the current chunk (CHUNKED) */
    uint64_t decoded;       /* decoded body bytes so far */
    uint64_t max_body;      /* decoded bytes allowed (→ -413) */
    int state;              /* private: chunked decoder state, or -status after an error */
    size_t line_len;        /* private: bytes of the current chunk-size / trailer line */
    bool done;
    const char *error;
};

/* Starts a body.  content_length is used for HTTP_BODY_LENGTH; max_body 0 = no limit (responses). */
void http_body_init(struct http_body *b, enum http_framing framing, uint64_t content_length, uint64_t max_body);
/* Consumes raw bytes in[0..len): *consumed of them belong to the body (the rest is the next message),
 * *produced decoded bytes were written to out (if not NULL).  Returns 1 when the body is complete,
 * HTTP_INCOMPLETE when it needs more, or -400 (bad chunk framing) / -413 (over max_body).
 * HTTP_BODY_UNTIL_CLOSE consumes everything and never completes: the caller ends it at EOF. */
int http_body_feed(struct http_body *b, const char *in, size_t len, char *out,
                   size_t *consumed, size_t *produced);

/* ---- helpers ---------------------------------------------------------------------------------------- */
bool http_str_eq(struct http_str s, const char *lit);   /* exact */
bool http_str_ieq(struct http_str s, const char *lit);  /* ASCII case-insensitive */
static inline struct http_str http_str_from(const char *p, size_t len)
{
    struct http_str s = { p, len };
    return s;
}

/* The first header with this name (case-insensitive), or NULL. */
const struct http_header *http_find_header(const struct http_header *h, size_t n, const char *name);

/* Finds name in an application/x-www-form-urlencoded string ("a=1&b=2", the query or a form body).
 * The name is compared after percent-decoding; the value view is raw (decode it with http_percent_decode).
 * A name with no '=' has an empty value.  Returns true if found. */
bool http_query_param(struct http_str query, const char *name, struct http_str *value);

/* Percent-decodes in into out[0..cap) ('+' becomes a space when plus_is_space; forms use that).
 * Returns the decoded length, or -1 on a bad %XX escape or when out is too small.  No NUL is added. */
ssize_t http_percent_decode(struct http_str in, char *out, size_t cap, bool plus_is_space);

/* Parses a whole decimal string into 0..max.  Returns 0, or -1 (empty, non-digit, over max). */
int http_parse_uint(struct http_str s, uint64_t max, uint64_t *out);

/* The dur of metric name in a Server-Timing value ("queue;dur=0.1, inference;dur=14.9", W3C Server
 * Timing), in ms.  Returns 0, or -1 when the metric or its dur is absent or malformed. */
int http_server_timing(struct http_str value, const char *name, double *ms);

/* "OK", "Not Found", ... ("Unknown" for codes it does not know). */
const char *http_reason(int status);

/* ---- writing responses (into a caller's bounded buffer; never allocates) -------------------------- */
struct http_response_head {
    int status;
    const char *content_type;   /* NULL = no Content-Type header */
    int64_t content_length;     /* -1 = no Content-Length header (1xx, or a body that ends at close) */
    bool keep_alive;            /* "Connection: keep-alive" or "Connection: close" */
    bool date;                  /* add a Date header */
    const char *extra;          /* NULL, or preformatted "Name: value\r\n" lines */
};

/* Headers every final answer the servers send carries (http_write_head writes them; a relayed answer
 * gets them from srv_respond_relay, its backend's own copy dropped by the balancer): the browser must
 * not guess another type than Content-Type says (a JSON error shown as HTML, an upload sniffed as script). */
#define HTTP_ALWAYS_HEADERS "X-Content-Type-Options: nosniff\r\n"
#define HTTP_ALWAYS_HEADER_NAME "X-Content-Type-Options"

/* Writes the status line, headers (HTTP_ALWAYS_HEADERS among them for a status >= 200) and the blank
 * line.  Returns bytes written, or -1 if it does not fit (the buffer content is then unspecified). */
ssize_t http_write_head(char *buf, size_t cap, const struct http_response_head *h);
/* A whole response: head (with Content-Length = body_len) followed by body.  (The server builds its
 * answers in its own buffers; these two whole-response writers serve tests and small tools.) */
ssize_t http_write_response(char *buf, size_t cap, int status, const char *content_type,
                            const void *body, size_t body_len, bool keep_alive);
/* A JSON error body {"error":code,"detail":detail}\n (code NULL: {"error":detail}\n, the Open Inference
 * Protocol's shape); detail NULL (or too long for cap) = fallback.
 * Returns bytes written or -1.  The server's error answers and http_write_error both use it. */
ssize_t http_error_json(char *buf, size_t cap, const char *code, const char *detail, const char *fallback);
/* A whole JSON error response: status with body {"error":"<code>","detail":"<detail>"} (+ "\n"),
 * detail escaped; detail NULL (or over ~900 bytes) = http_reason(status).  Returns bytes written or -1. */
ssize_t http_write_error(char *buf, size_t cap, int status, const char *code, const char *detail,
                         bool keep_alive);

#endif
