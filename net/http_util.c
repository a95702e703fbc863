/* http_util: small helpers around parsed messages — comparisons, header lookup, query parameters,
 * percent-decoding, numbers and reason phrases. */
#include "net/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http_lex.h"

bool http_str_eq(struct http_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

bool http_str_ieq(struct http_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || strncasecmp(s.p, lit, n) == 0);
}

const struct http_header *http_find_header(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (http_str_ieq(h[i].name, name))
            return &h[i];
    return NULL;
}

/* Decodes one character of in at *i (advancing *i); -1 on a bad escape. */
static int decode_one(struct http_str in, size_t *i, bool plus_is_space)
{
    char c = in.p[*i];
    if (c == '+' && plus_is_space) {
        (*i)++;
        return ' ';
    }
    if (c != '%') {
        (*i)++;
        return (unsigned char)c;
    }
    if (in.len - *i < 3)
        return -1;
    int hi = http_hex_value(in.p[*i + 1]), lo = http_hex_value(in.p[*i + 2]);
    if (hi < 0 || lo < 0)
        return -1;
    *i += 3;
    return hi * 16 + lo;
}

ssize_t http_percent_decode(struct http_str in, char *out, size_t cap, bool plus_is_space)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len;) {
        int c = decode_one(in, &i, plus_is_space);
        if (c < 0 || n == cap)
            return -1;
        out[n++] = (char)c;
    }
    return (ssize_t)n;
}

/* Whether the encoded name equals want once decoded (no copy). */
static bool encoded_name_is(struct http_str enc, const char *want)
{
    size_t i = 0, j = 0;
    while (i < enc.len) {
        int c = decode_one(enc, &i, true);
        if (c < 0 || want[j] == '\0' || (unsigned char)want[j] != c)
            return false;
        j++;
    }
    return want[j] == '\0';
}

bool http_query_param(struct http_str query, const char *name, struct http_str *value)
{
    size_t i = 0;
    while (i < query.len) {
        const char *start = query.p + i;
        const char *amp = memchr(start, '&', query.len - i);
        size_t n = amp ? (size_t)(amp - start) : query.len - i;
        const char *eq = memchr(start, '=', n);
        size_t name_len = eq ? (size_t)(eq - start) : n;
        if (encoded_name_is(http_str_from(start, name_len), name)) {
            *value = eq ? http_str_from(eq + 1, n - name_len - 1) : http_str_from(start + n, 0);
            return true;
        }
        i += n + 1;
    }
    return false;
}

/* s without spaces and tabs at either end */
static struct http_str trim_ows(struct http_str s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.len--;
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

int http_server_timing(struct http_str value, const char *name, double *ms)
{
    for (size_t i = 0; i < value.len;) { /* metrics are separated by ',', parameters by ';' */
        const char *start = value.p + i, *comma = memchr(start, ',', value.len - i);
        size_t n = comma ? (size_t)(comma - start) : value.len - i;
        i += n + 1;
        const char *semi = memchr(start, ';', n);
        if (!http_str_eq(trim_ows(http_str_from(start, semi ? (size_t)(semi - start) : n)), name))
            continue;
        while (semi) {
            const char *p = semi + 1, *end = start + n;
            semi = memchr(p, ';', (size_t)(end - p));
            struct http_str param = trim_ows(http_str_from(p, (size_t)((semi ? semi : end) - p)));
            if (param.len > 4 && memcmp(param.p, "dur=", 4) == 0 && param.len - 4 < 32) {
                char num[32], *stop;
                memcpy(num, param.p + 4, param.len - 4);
                num[param.len - 4] = '\0';
                double v = strtod(num, &stop);
                if (*stop != '\0' || !(v >= 0))
                    return -1;
                *ms = v;
                return 0;
            }
        }
        return -1;
    }
    return -1;
}

int http_parse_uint(struct http_str s, uint64_t max, uint64_t *out)
{
    if (s.len == 0)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (n > (max - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
