/* access_log: the access-log line in text or JSON (see access_log.h). */
#include "net/access_log.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define TARGET_MAX 200

int alog_parse_format(const char *s, enum alog_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = ALOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = ALOG_JSON;
    else
        return -1;
    return 0;
}

/* 2026-12-03T17:45:00.123Z */
static int append_time(struct buf *b, double unix_time)
{
    long long all_ms = (long long)(unix_time * 1000 + 0.5);
    time_t t = (time_t)(all_ms / 1000);
    struct tm tm;
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));
    return buf_printf(b, "%s.%03dZ", when, (int)(all_ms % 1000));
}

/* A field of the text line: what could break its quoting (and, outside the quotes, a space) is written
 * \xHH. */
static int append_text(struct buf *b, struct http_str s, bool space)
{
    int rc = 0;
    size_t n = s.len > TARGET_MAX ? TARGET_MAX : s.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        rc |= ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f || (space && ch == ' ') ? buf_printf(b, "\\x%02x", ch)
                                                                                      : buf_append(b, &s.p[i], 1);
    }
    return rc;
}

static int append_ms(struct buf *b, enum alog_format f, double ms)
{
    if (!(ms >= 0) || isinf(ms))
        return buf_append_str(b, f == ALOG_JSON ? "null" : "-");
    return buf_printf(b, "%.3f", ms);
}

static int append_word(struct buf *b, enum alog_format f, const char *s)
{
    if (!s || !s[0])
        return buf_append_str(b, f == ALOG_JSON ? "null" : "-");
    if (f == ALOG_JSON)
        return buf_append_json_str(b, s, strlen(s));
    return append_text(b, http_str_from(s, strlen(s)), true); /* a name with a space cannot split fields */
}

static int format_text(struct buf *b, const struct alog_entry *e)
{
    int rc = append_time(b, e->unix_time);
    rc |= buf_append_str(b, " ");
    rc |= append_word(b, ALOG_TEXT, e->client);
    rc |= buf_append_str(b, " ");
    if (e->req) {
        rc |= buf_printf(b, "\"%.*s ", (int)e->req->method.len, e->req->method.p);
        rc |= append_text(b, e->req->target, false);
        rc |= buf_printf(b, " HTTP/1.%d\"", e->req->minor_version);
    } else {
        rc |= buf_append_str(b, "\"-\"");
    }
    rc |= buf_printf(b, " %d %zu ", e->status, e->bytes);
    rc |= append_ms(b, ALOG_TEXT, e->total_ms);
    rc |= buf_append_str(b, " ");
    rc |= append_word(b, ALOG_TEXT, e->worker);
    rc |= e->tries > 0 ? buf_printf(b, " %d ", e->tries) : buf_append_str(b, " - ");
    rc |= append_ms(b, ALOG_TEXT, e->queue_ms);
    rc |= buf_append_str(b, " ");
    rc |= append_ms(b, ALOG_TEXT, e->inference_ms);
    if (e->note && e->note[0]) {
        rc |= buf_append_str(b, " ");
        rc |= append_text(b, http_str_from(e->note, strlen(e->note)), false); /* the rest of the line */
    }
    return rc | buf_append_str(b, "\n");
}

static int format_json(struct buf *b, const struct alog_entry *e)
{
    int rc = buf_append_str(b, "{\"time\":\"");
    rc |= append_time(b, e->unix_time);
    rc |= buf_append_str(b, "\",\"client\":");
    rc |= append_word(b, ALOG_JSON, e->client);
    if (e->req) {
        size_t n = e->req->target.len > TARGET_MAX ? TARGET_MAX : e->req->target.len;
        rc |= buf_append_str(b, ",\"method\":");
        rc |= buf_append_json_str(b, e->req->method.p, e->req->method.len);
        rc |= buf_append_str(b, ",\"path\":");
        rc |= buf_append_json_str(b, e->req->target.p, n);
        rc |= buf_printf(b, ",\"version\":\"HTTP/1.%d\"", e->req->minor_version);
    } else {
        rc |= buf_append_str(b, ",\"method\":null,\"path\":null,\"version\":null");
    }
    rc |= buf_printf(b, ",\"status\":%d,\"bytes\":%zu,\"total_ms\":", e->status, e->bytes);
    rc |= append_ms(b, ALOG_JSON, e->total_ms);
    rc |= buf_append_str(b, ",\"worker\":");
    rc |= append_word(b, ALOG_JSON, e->worker);
    rc |= e->tries > 0 ? buf_printf(b, ",\"tries\":%d", e->tries) : buf_append_str(b, ",\"tries\":null");
    rc |= buf_append_str(b, ",\"queue_ms\":");
    rc |= append_ms(b, ALOG_JSON, e->queue_ms);
    rc |= buf_append_str(b, ",\"inference_ms\":");
    rc |= append_ms(b, ALOG_JSON, e->inference_ms);
    rc |= buf_append_str(b, ",\"note\":");
    rc |= append_word(b, ALOG_JSON, e->note);
    return rc | buf_append_str(b, "}\n");
}

int alog_format_line(struct buf *out, enum alog_format f, const struct alog_entry *e)
{
    buf_clear(out);
    int rc = f == ALOG_JSON ? format_json(out, e) : format_text(out, e);
    if (rc != 0)
        buf_clear(out);
    return rc ? -1 : 0;
}
