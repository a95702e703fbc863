/* http_cond: HTTP-dates and conditional GET (see http_cond.h). */
#define _GNU_SOURCE
#include "net/http_cond.h"

#include <string.h>

int http_date_format(time_t t, char *out, size_t cap)
{
    struct tm tm;
    if (cap < HTTP_DATE_LEN + 1 || !gmtime_r(&t, &tm))
        return -1;
    return strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm) == HTTP_DATE_LEN ? 0 : -1;
}

int http_date_parse(struct http_str s, time_t *out)
{
    /* the C locale's names are the HTTP ones; strptime's %a/%b accept exactly those in glibc's C locale */
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 (two-digit year: %y maps 69..99 to 19xx, else 20xx) */
        "%a %b %e %H:%M:%S %Y",      /* asctime */
    };
    char text[64];
    if (s.len == 0 || s.len >= sizeof text)
        return -1;
    memcpy(text, s.p, s.len);
    text[s.len] = '\0';
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(text, forms[i], &tm);
        if (end && *end == '\0') {
            *out = timegm(&tm);
            return 0;
        }
    }
    return -1;
}

/* True when the If-None-Match list in v names etag (weak comparison: a W/ prefix is ignored). */
static bool list_matches(struct http_str v, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = v.p, *end = v.p + v.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end)
            break;
        if (*p == '*')
            return true; /* any current representation */
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        if (p == end || *p != '"')
            return false; /* malformed: compare nothing more */
        const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
        if (!close)
            return false;
        size_t len = (size_t)(close - p) + 1;
        if (len == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = close + 1;
    }
    return false;
}

bool http_not_modified(const struct http_header *h, size_t n, const char *etag, time_t last_modified)
{
    bool has_inm = false;
    for (size_t i = 0; i < n; i++) {
        if (http_str_ieq(h[i].name, "If-None-Match")) {
            has_inm = true;
            if (list_matches(h[i].value, etag))
                return true;
        }
    }
    if (has_inm)
        return false;
    const struct http_header *ims = http_find_header(h, n, "If-Modified-Since");
    time_t since;
    return ims && http_date_parse(ims->value, &since) == 0 && last_modified <= since;
}
