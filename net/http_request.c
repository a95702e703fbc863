/* http_request: the strict request-head parser (request line, headers, then framing and connection
 * semantics from the headers). */
#include "net/http.h"

#include <string.h>

#include "net/http_lex.h"

static const struct http_limits default_limits = HTTP_LIMITS_DEFAULT;

static int fail(struct http_request *req, int status, const char *why)
{
    req->error = why;
    return status;
}

/* Splits the target into path and query, and checks it is origin-form, absolute-form or "*". */
static int split_target(struct http_request *req)
{
    struct http_str t = req->target;
    const char *path = t.p;
    size_t plen = t.len;
    if (t.len == 1 && t.p[0] == '*') {
        if (!http_str_eq(req->method, "OPTIONS"))
            return -400; /* asterisk-form is for OPTIONS only (RFC 9112 §3.2.4) */
        req->path = t;
        req->query = http_str_from(t.p + 1, 0);
        return 0;
    }
    if (t.p[0] != '/') {
        size_t scheme = 0;
        if (t.len > 7 && http_str_ieq(http_str_from(t.p, 7), "http://"))
            scheme = 7;
        else if (t.len > 8 && http_str_ieq(http_str_from(t.p, 8), "https://"))
            scheme = 8;
        if (scheme == 0)
            return -400;
        const char *slash = memchr(t.p + scheme, '/', t.len - scheme);
        const char *qmark = memchr(t.p + scheme, '?', t.len - scheme);
        if (slash == NULL || (qmark != NULL && qmark < slash)) {
            /* "http://host" or "http://host?q": the path is "/" (a static view) */
            req->path = http_str_from("/", 1);
            req->query = qmark ? http_str_from(qmark + 1, (size_t)(t.p + t.len - qmark - 1))
                               : http_str_from(t.p + t.len, 0);
            return 0;
        }
        path = slash;
        plen = (size_t)(t.p + t.len - slash);
    }
    const char *q = memchr(path, '?', plen);
    if (q == NULL) {
        req->path = http_str_from(path, plen);
        req->query = http_str_from(path + plen, 0);
    } else {
        req->path = http_str_from(path, (size_t)(q - path));
        req->query = http_str_from(q + 1, (size_t)(path + plen - q - 1));
    }
    return 0;
}

/* Request line in buf[pos..end); complete says whether end is the line's CR (else the buffer's end). */
static int parse_request_line(const char *buf, size_t pos, size_t end, bool complete,
                              const struct http_limits *lim, struct http_request *req)
{
    size_t i = pos;
    while (i < end && http_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == end)
        return complete ? fail(req, -400, "malformed request line") : HTTP_INCOMPLETE;
    if (buf[i] != ' ' || i == pos)
        return fail(req, -400, buf[i] == '\r' ? "bare CR in request line" : "invalid method");
    req->method = http_str_from(buf + pos, i - pos);
    if (http_str_eq(req->method, "CONNECT"))
        return fail(req, -501, "CONNECT is not supported (this is not a tunnel)");

    size_t t0 = ++i;
    while (i < end && buf[i] > 0x20 && buf[i] < 0x7f && buf[i] != '#')
        i++;
    if (i - t0 > lim->max_target)
        return fail(req, -414, "request target too long");
    if (i == end)
        return complete ? fail(req, -400, "malformed request line") : HTTP_INCOMPLETE;
    if (buf[i] != ' ' || i == t0)
        return fail(req, -400, buf[i] == '\r' ? "bare CR in request line" : "invalid character in request target");
    req->target = http_str_from(buf + t0, i - t0);
    if (split_target(req) < 0)
        return fail(req, -400, req->target.len == 1 ? "'*' is a target for OPTIONS only" : "invalid request target form");

    i++;
    if (!complete) {
        /* Only "HTTP/1.1" can follow; reject garbage early, but a prefix of a version is fine. */
        return end - i > 8 ? fail(req, -400, "malformed request line") : HTTP_INCOMPLETE;
    }
    int v = http_parse_version(buf + i, end - i);
    if (v < 0)
        return fail(req, v, v == -505 ? "HTTP version not supported" : "malformed HTTP version");
    req->minor_version = v;
    return 1;
}

struct framing_state {
    int chunked;       /* how many times "chunked" was listed */
    bool other;        /* a coding other than chunked was listed */
    bool chunked_last; /* the last coding listed so far is chunked */
    bool close, keep_alive;
};

static int te_item(struct http_str item, void *ctx)
{
    struct framing_state *f = ctx;
    f->chunked_last = http_str_ieq(item, "chunked");
    if (f->chunked_last)
        f->chunked++;
    else
        f->other = true;
    return 0;
}

/* Framing, keep-alive, Host and Expect from the parsed headers. */
static int apply_headers(struct http_request *req, const struct http_limits *lim)
{
    struct framing_state f = { 0, false, false, false, false };
    int n_cl = 0, n_te = 0, n_host = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (http_str_ieq(h->name, "content-length")) {
            if (++n_cl > 1)
                return fail(req, -400, "duplicate Content-Length");
            if (http_parse_content_length(h->value, &req->content_length) < 0)
                return fail(req, -400, "invalid Content-Length");
        } else if (http_str_ieq(h->name, "transfer-encoding")) {
            n_te++;
            http_list_each(h->value, te_item, &f);
        } else if (http_str_ieq(h->name, "host")) {
            n_host++;
        } else if (http_str_ieq(h->name, "connection")) {
            http_connection_options(h->value, &f.close, &f.keep_alive);
        } else if (http_str_ieq(h->name, "expect")) {
            req->expect_continue = req->minor_version == 1 && http_str_ieq(h->value, "100-continue");
        }
    }
    if (n_host > 1 || (n_host == 0 && req->minor_version == 1))
        return fail(req, -400, n_host ? "duplicate Host" : "missing Host header");
    if (n_te > 0) {
        if (req->minor_version == 0)
            return fail(req, -400, "Transfer-Encoding in an HTTP/1.0 request");
        if (n_cl > 0)
            return fail(req, -400, "both Content-Length and Transfer-Encoding");
        if (!f.chunked_last) /* RFC 9112 §6.3: the length cannot be known */
            return fail(req, -400, "Transfer-Encoding does not end in chunked");
        if (f.other)
            return fail(req, -501, "unsupported Transfer-Encoding");
        if (f.chunked != 1)
            return fail(req, -400, "invalid Transfer-Encoding");
        req->framing = HTTP_BODY_CHUNKED;
    } else if (n_cl > 0) {
        if (req->content_length > lim->max_body)
            return fail(req, -413, "request body too large");
        req->framing = HTTP_BODY_LENGTH;
    }
    req->keep_alive = !f.close && (req->minor_version == 1 || f.keep_alive);
    return 0;
}

int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request *req, struct http_header *headers, size_t max_headers)
{
    if (lim == NULL)
        lim = &default_limits;
    memset(req, 0, sizeof *req);
    req->headers = headers;

    size_t pos = 0;
    while (pos + 1 < len && pos < lim->max_head && buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2; /* empty lines before the request line (RFC 9112 §2.2) */

    /* Errors are reported in input order, so that more bytes never change a verdict: a line running
     * past max_head is scanned only up to it, and is 431 unless something before that is wrong. */
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t eol = nl ? (size_t)(nl - buf) : len;
    bool over = nl ? eol + 1 > lim->max_head : len > lim->max_head;
    size_t line_end = eol;
    if (over)
        line_end = lim->max_head > pos ? lim->max_head : pos;
    else if (nl != NULL && (eol == pos || buf[eol - 1] != '\r')) {
        int early = parse_request_line(buf, pos, eol, false, lim, req); /* an error before the LF wins */
        return early < 0 ? early : fail(req, -400, "bare LF in request line");
    }
    if (line_end > pos && buf[line_end - 1] == '\r')
        line_end--; /* the CR of CRLF (or of a CRLF split across reads) */
    int rc = parse_request_line(buf, pos, line_end, nl != NULL && !over, lim, req);
    if (rc < 0)
        return rc;
    if (rc == HTTP_INCOMPLETE)
        return over ? fail(req, -431, "request header too large") : HTTP_INCOMPLETE;

    struct http_scan scan;
    rc = http_scan_headers(buf, len, eol + 1, lim->max_head, headers, max_headers, &scan);
    req->num_headers = scan.num_headers;
    if (rc <= 0)
        return rc < 0 ? fail(req, rc, scan.error) : HTTP_INCOMPLETE;
    rc = apply_headers(req, lim);
    if (rc < 0)
        return rc;
    req->head_len = scan.end;
    return (int)scan.end;
}

/* Moves one view from a buffer that started at `from` to the same offset in one starting at `to`;
 * views outside [from, from + len) (the static "/" of an absolute-form target) are left alone.  The
 * addresses are compared as integers: the old buffer may be gone. */
static void rebase(struct http_str *s, uintptr_t from, uintptr_t to, size_t len)
{
    uintptr_t p = (uintptr_t)s->p;
    if (s->p && p >= from && p <= from + len)
        s->p = (const char *)(to + (p - from));
}

void http_request_rebase(struct http_request *req, const char *from, const char *to)
{
    uintptr_t f = (uintptr_t)from, t = (uintptr_t)to;
    if (f == t)
        return;
    size_t len = req->head_len;
    rebase(&req->method, f, t, len);
    rebase(&req->target, f, t, len);
    rebase(&req->path, f, t, len);
    rebase(&req->query, f, t, len);
    for (size_t i = 0; i < req->num_headers; i++) {
        rebase(&req->headers[i].name, f, t, len);
        rebase(&req->headers[i].value, f, t, len);
    }
}
