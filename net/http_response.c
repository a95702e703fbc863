/* http_response: the response-head parser a proxy or client needs to find where each response ends. */
#include "net/http.h"

#include <string.h>

#include "net/http_lex.h"

static int fail(struct http_response *res, const char *why)
{
    res->error = why;
    return -502;
}

/* "HTTP/1.1 200 OK" in buf[0..len) (no CRLF). */
static int parse_status_line(const char *p, size_t len, struct http_response *res)
{
    if (len < 12 || p[8] != ' ')
        return fail(res, "malformed status line");
    int v = http_parse_version(p, 8);
    if (v < 0)
        return fail(res, "unsupported HTTP version in response");
    res->minor_version = v;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return fail(res, "malformed status code");
        status = status * 10 + (p[i] - '0');
    }
    if (status < 100)
        return fail(res, "malformed status code");
    res->status = status;
    if (len == 12) {
        res->reason = http_str_from(p + 12, 0);
        return 0;
    }
    if (p[12] != ' ')
        return fail(res, "malformed status line");
    for (size_t i = 13; i < len; i++)
        if (!http_is_field_char((unsigned char)p[i]))
            return fail(res, "invalid character in reason phrase");
    res->reason = http_str_from(p + 13, len - 13);
    return 0;
}

struct codings {
    bool last_chunked;
    bool close, keep_alive;
};

static int te_item(struct http_str item, void *ctx)
{
    ((struct codings *)ctx)->last_chunked = http_str_ieq(item, "chunked");
    return 0;
}

static int apply_headers(struct http_response *res, bool head_request)
{
    struct codings c = { false, false, false };
    int n_cl = 0, n_te = 0;
    for (size_t i = 0; i < res->num_headers; i++) {
        const struct http_header *h = &res->headers[i];
        if (http_str_ieq(h->name, "content-length")) {
            if (++n_cl > 1)
                return fail(res, "duplicate Content-Length in response");
            if (http_parse_content_length(h->value, &res->content_length) < 0)
                return fail(res, "invalid Content-Length in response");
        } else if (http_str_ieq(h->name, "transfer-encoding")) {
            n_te++;
            http_list_each(h->value, te_item, &c);
        } else if (http_str_ieq(h->name, "connection")) {
            http_connection_options(h->value, &c.close, &c.keep_alive);
        }
    }
    if (n_te > 0 && n_cl > 0)
        return fail(res, "both Content-Length and Transfer-Encoding in response");
    res->keep_alive = !c.close && (res->minor_version == 1 || c.keep_alive);
    int s = res->status;
    if (head_request || s < 200 || s == 204 || s == 304)
        res->framing = HTTP_BODY_NONE;
    else if (n_te > 0 && c.last_chunked && res->minor_version == 1)
        res->framing = HTTP_BODY_CHUNKED;
    else if (n_te == 0 && n_cl > 0)
        res->framing = HTTP_BODY_LENGTH;
    else
        res->framing = HTTP_BODY_UNTIL_CLOSE;
    if (res->framing == HTTP_BODY_UNTIL_CLOSE)
        res->keep_alive = false;
    return 0;
}

int http_parse_response(const char *buf, size_t len, bool head_request, size_t max_head,
                        struct http_response *res, struct http_header *headers, size_t max_headers)
{
    memset(res, 0, sizeof *res);
    res->headers = headers;
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL)
        return len > max_head ? fail(res, "response header too large") : HTTP_INCOMPLETE;
    size_t eol = (size_t)(nl - buf);
    if (eol == 0 || buf[eol - 1] != '\r')
        return fail(res, "bare LF in status line");
    if (eol + 1 > max_head)
        return fail(res, "response header too large");
    if (memchr(buf, '\r', eol - 1) != NULL)
        return fail(res, "bare CR in status line");
    if (parse_status_line(buf, eol - 1, res) < 0)
        return -502;

    struct http_scan scan;
    int rc = http_scan_headers(buf, len, eol + 1, max_head, headers, max_headers, &scan);
    res->num_headers = scan.num_headers;
    if (rc <= 0)
        return rc < 0 ? fail(res, scan.error) : HTTP_INCOMPLETE;
    if (apply_headers(res, head_request) < 0)
        return -502;
    res->head_len = scan.end;
    return (int)scan.end;
}
