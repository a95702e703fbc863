/* forward: hop-by-hop header filtering and the backend-count request parameter (see forward.h). */
#include "balance/forward.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "net/http_lex.h"
#include "net/multipart.h"

#define VIA "imgrec-balancer" /* our pseudonym in Via (RFC 9110 §7.6.3) */

static bool hop_by_hop(struct http_str name)
{
    static const char *const names[] = {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Expect", "TE", "Upgrade",
        "Proxy-Connection", "Trailer",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (http_str_ieq(name, names[i]))
            return true;
    return false;
}

struct name_match {
    struct http_str name;
    bool found;
};

static int same_name(struct http_str item, void *ctx)
{
    struct name_match *m = ctx;
    if (item.len == m->name.len && strncasecmp(item.p, m->name.p, item.len) == 0)
        m->found = true;
    return m->found;
}

/* RFC 9110 §7.6.1: a header named in Connection describes this connection only. */
static bool named_in_connection(struct http_str name, const struct http_header *h, size_t n)
{
    struct name_match m = { name, false };
    for (size_t i = 0; i < n && !m.found; i++)
        if (http_str_ieq(h[i].name, "Connection"))
            http_list_each(h[i].value, same_name, &m);
    return m.found;
}

/* Copies the end-to-end headers; skip (NULL or a name) is left out as well. */
static int append_headers(struct buf *out, const struct http_header *h, size_t n, const char *skip)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (hop_by_hop(h[i].name) || (skip && http_str_ieq(h[i].name, skip)) ||
            named_in_connection(h[i].name, h, n))
            continue;
        rc |= buf_printf(out, "%.*s: %.*s\r\n", (int)h[i].name.len, h[i].name.p, (int)h[i].value.len,
                         h[i].value.p);
    }
    return rc;
}

/* The address alone from "ip:port" or "[v6]:port". */
static struct http_str bare_address(const char *peer)
{
    size_t len = strlen(peer);
    if (peer[0] == '[') {
        const char *close = strchr(peer, ']');
        return close ? http_str_from(peer + 1, (size_t)(close - peer - 1)) : http_str_from(peer, len);
    }
    const char *colon = strrchr(peer, ':');
    return http_str_from(peer, colon ? (size_t)(colon - peer) : len);
}

int forward_request_head(const struct srv_request *r, struct buf *out)
{
    const struct http_request *q = &r->http;
    buf_clear(out);
    /* HEAD goes out as GET: the backend's client reads every answer as having its body (http_client.h), and
     * the client's connection drops the body while keeping the GET's Content-Length (RFC 9110 §9.3.2). */
    struct http_str method = http_str_eq(q->method, "HEAD") ? http_str_from("GET", 3) : q->method;
    /* origin-form whatever the client sent (RFC 9112 §3.2.2: absolute-form is for proxies) */
    int rc = buf_printf(out, "%.*s %.*s%s%.*s HTTP/1.1\r\n", (int)method.len, method.p, (int)q->path.len,
                        q->path.p, q->query.len ? "?" : "", (int)q->query.len, q->query.p);
    rc |= append_headers(out, q->headers, q->num_headers, "X-Forwarded-For");
    /* X-Forwarded-For: what earlier proxies said, then the address we got the request from */
    rc |= buf_append_str(out, "X-Forwarded-For: ");
    for (size_t i = 0; i < q->num_headers; i++)
        if (http_str_ieq(q->headers[i].name, "X-Forwarded-For") && q->headers[i].value.len > 0)
            rc |= buf_printf(out, "%.*s, ", (int)q->headers[i].value.len, q->headers[i].value.p);
    struct http_str addr = bare_address(r->peer);
    rc |= buf_printf(out, "%.*s\r\nVia: 1.%d " VIA "\r\nContent-Length: %zu\r\n\r\n", (int)addr.len, addr.p,
                     q->minor_version, r->body_len);
    return rc == 0 ? 0 : -1;
}

int forward_response_head(const struct http_response *res, const char *raw, struct buf *out)
{
    buf_clear(out);
    const char *eol = memchr(raw, '\n', res->head_len);
    if (!eol)
        return -1;
    int rc = buf_append(out, raw, (size_t)(eol - raw) + 1); /* the status line exactly as sent */
    rc |= append_headers(out, res->headers, res->num_headers, HTTP_ALWAYS_HEADER_NAME); /* the relay adds ours */
    rc |= buf_printf(out, "Via: 1.%d " VIA "\r\n", res->minor_version);
    return rc == 0 ? 0 : -1;
}

int forward_response_body(const struct http_response *res, const char *raw, size_t raw_len,
                          struct buf *scratch, const char **body, size_t *body_len)
{
    const char *p = raw + res->head_len;
    size_t len = raw_len - res->head_len;
    if (res->framing != HTTP_BODY_CHUNKED) {
        *body = p;
        *body_len = res->framing == HTTP_BODY_NONE ? 0 : len;
        return 0;
    }
    buf_clear(scratch);
    if (buf_reserve(scratch, len) != 0)
        return -1;
    struct http_body b;
    http_body_init(&b, HTTP_BODY_CHUNKED, 0, 0);
    size_t consumed = 0, produced = 0;
    if (http_body_feed(&b, p, len, scratch->data + scratch->end, &consumed, &produced) != 1)
        return -1;
    scratch->end += produced;
    *body = buf_ptr(scratch);
    *body_len = buf_len(scratch);
    return 0;
}

#define COUNT_MAX (1L << 20) /* more than there can be backends: the balancer clamps it to their number */

static bool all_digits(struct http_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* Parses a decimal count; empty → 0 (unspecified), junk → -1, a huge number → COUNT_MAX (as many as
 * there are, like any count above the number of backends). */
static long parse_count(struct http_str s)
{
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
        s.len--;
    while (s.len && s.p[0] == ' ')
        s = http_str_from(s.p + 1, s.len - 1);
    if (s.len == 0)
        return 0;
    uint64_t v;
    if (http_parse_uint(s, (uint64_t)COUNT_MAX, &v) != 0)
        return all_digits(s) ? COUNT_MAX : -1;
    return v == 0 ? -1 : (long)v;
}

long forward_backend_limit(const struct srv_request *r)
{
    struct http_str v;
    if (http_query_param(r->http.query, "backends", &v))
        return parse_count(v);
    const struct http_header *ct = http_find_header(r->headers, r->http.num_headers, "Content-Type");
    struct mp_part part;
    if (ct && mp_find_field(ct->value, r->body, r->body_len, "number_backend_servers", &part, NULL) == MP_PART)
        return parse_count(part.data);
    return 0;
}

void forward_log_timings(const struct http_response *res, struct srv_log_fields *log)
{
    const struct http_header *h = http_find_header(res->headers, res->num_headers, "Server-Timing");
    if (!h)
        return;
    if (http_server_timing(h->value, "queue", &log->queue_ms) != 0)
        log->queue_ms = -1;
    if (http_server_timing(h->value, "inference", &log->inference_ms) != 0)
        log->inference_ms = -1;
}
