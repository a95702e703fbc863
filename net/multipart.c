/* multipart: multipart/form-data, parsed in place.  A body is
 *     preamble  "--B" CRLF  part  CRLF "--B" CRLF  part ...  CRLF "--B--"  epilogue
 * and a part is a header block (as in HTTP) followed by its bytes. */
#define _GNU_SOURCE /* memmem */
#include "net/multipart.h"

#include <string.h>

#include "net/http_lex.h"

enum { MP_PREAMBLE, MP_IN_PARTS, MP_FINISHED };

static int malformed(struct mp_parser *p, const char *why)
{
    p->error = why;
    return MP_MALFORMED;
}

/* ---- parameters: "; name=value" lists of Content-Type and Content-Disposition ------------------ */

static size_t skip_ows(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* Reads one ";name=value" at s[*i]; value is a token or a quoted-string (raw view between quotes).
 * Returns 1 read, 0 at the end, -1 malformed. */
static int next_param(const char *s, size_t len, size_t *i, struct http_str *name, struct http_str *value)
{
    size_t k = skip_ows(s, len, *i);
    if (k == len)
        return 0;
    if (s[k] != ';')
        return -1;
    k = skip_ows(s, len, k + 1);
    size_t n0 = k;
    while (k < len && http_is_tchar((unsigned char)s[k]))
        k++;
    if (k == n0)
        return -1;
    *name = http_str_from(s + n0, k - n0);
    k = skip_ows(s, len, k);
    if (k == len || s[k] != '=')
        return -1;
    k = skip_ows(s, len, k + 1);
    if (k < len && s[k] == '"') {
        size_t v0 = ++k;
        while (k < len && s[k] != '"') {
            if (s[k] == '\\' && ++k == len)
                return -1;
            k++;
        }
        if (k == len)
            return -1;
        *value = http_str_from(s + v0, k - v0);
        k++;
    } else {
        size_t v0 = k;
        while (k < len && http_is_tchar((unsigned char)s[k]))
            k++;
        if (k == v0)
            return -1;
        *value = http_str_from(s + v0, k - v0);
    }
    *i = k;
    return 1;
}

/* Splits "type; params" into the type (trimmed) and where the parameters start. */
static struct http_str leading_type(struct http_str v, size_t *params)
{
    size_t k = skip_ows(v.p, v.len, 0), t0 = k;
    while (k < v.len && v.p[k] != ';' && v.p[k] != ' ' && v.p[k] != '\t')
        k++;
    *params = k;
    return http_str_from(v.p + t0, k - t0);
}

size_t mp_param_copy(struct http_str raw, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < raw.len; i++) {
        if (raw.p[i] == '\\' && i + 1 < raw.len)
            i++;
        if (n + 1 < cap)
            out[n] = raw.p[i];
        n++;
    }
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

bool mp_param_eq(struct http_str raw, const char *want)
{
    size_t j = 0;
    for (size_t i = 0; i < raw.len; i++, j++) {
        if (raw.p[i] == '\\' && i + 1 < raw.len)
            i++;
        if (want[j] == '\0' || want[j] != raw.p[i])
            return false;
    }
    return want[j] == '\0';
}

static bool is_bchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

int mp_init(struct mp_parser *p, struct http_str content_type)
{
    memset(p, 0, sizeof *p);
    size_t i;
    if (!http_str_ieq(leading_type(content_type, &i), "multipart/form-data"))
        return malformed(p, "not multipart/form-data"), -1;
    struct http_str name, value;
    int rc;
    while ((rc = next_param(content_type.p, content_type.len, &i, &name, &value)) == 1) {
        if (!http_str_ieq(name, "boundary"))
            continue;
        memcpy(p->delim, "\r\n--", 4);
        size_t n = mp_param_copy(value, p->delim + 4, sizeof p->delim - 4);
        if (n < 1 || n > 70 || p->delim[4 + n - 1] == ' ')
            return malformed(p, "invalid multipart boundary"), -1;
        for (size_t k = 0; k < n; k++)
            if (!is_bchar(p->delim[4 + k]))
                return malformed(p, "invalid multipart boundary"), -1;
        p->delim_len = 4 + n;
        return 0;
    }
    return malformed(p, rc < 0 ? "malformed Content-Type parameters" : "multipart boundary missing"), -1;
}

/* ---- parts ------------------------------------------------------------------------------------------ */

/* After a delimiter at body[at]: "--" (close) or padding + CRLF.  Sets *next to the byte after it.
 * Returns 1 (another part follows), 0 (close delimiter), MP_INCOMPLETE or MP_MALFORMED. */
static int after_delimiter(struct mp_parser *p, const char *body, size_t len, size_t at, size_t *next)
{
    if (len - at < 2)
        return MP_INCOMPLETE;
    if (body[at] == '-' && body[at + 1] == '-') {
        *next = at + 2;
        return 0;
    }
    at = skip_ows(body, len, at);
    if (len - at < 2)
        return MP_INCOMPLETE;
    if (body[at] != '\r' || body[at + 1] != '\n')
        return malformed(p, "garbage after multipart boundary");
    *next = at + 2;
    return 1;
}

static int fill_disposition(struct mp_parser *p, struct mp_part *part)
{
    const struct http_header *cd = http_find_header(part->headers, part->num_headers, "content-disposition");
    if (cd == NULL)
        return malformed(p, "part without Content-Disposition");
    size_t i;
    if (!http_str_ieq(leading_type(cd->value, &i), "form-data"))
        return malformed(p, "part disposition is not form-data");
    struct http_str name, value;
    bool have_name = false;
    int rc;
    while ((rc = next_param(cd->value.p, cd->value.len, &i, &name, &value)) == 1) {
        if (http_str_ieq(name, "name")) {
            part->name = value;
            have_name = true;
        } else if (http_str_ieq(name, "filename")) {
            part->filename = value;
        }
    }
    if (rc < 0)
        return malformed(p, "malformed Content-Disposition");
    if (!have_name)
        return malformed(p, "part without a name");
    const struct http_header *ct = http_find_header(part->headers, part->num_headers, "content-type");
    part->content_type = ct ? ct->value : http_str_from(part->data.p, 0);
    return MP_PART;
}

int mp_next(struct mp_parser *p, const char *body, size_t len, struct mp_part *part)
{
    if (p->error)
        return MP_MALFORMED;
    if (p->state == MP_FINISHED)
        return MP_DONE;
    if (p->state == MP_PREAMBLE) {
        /* the first delimiter may open the body (no CRLF before it) */
        size_t at;
        const char *d = p->delim + 2;
        size_t dlen = p->delim_len - 2;
        if (len >= dlen && memcmp(body, d, dlen) == 0) {
            at = dlen;
        } else {
            const char *hit = memmem(body, len, p->delim, p->delim_len);
            if (hit == NULL)
                return MP_INCOMPLETE;
            at = (size_t)(hit - body) + p->delim_len;
        }
        size_t next;
        int rc = after_delimiter(p, body, len, at, &next);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            p->state = MP_FINISHED;
            return MP_DONE;
        }
        p->pos = next;
        p->state = MP_IN_PARTS;
    }
    if (p->pos > len)
        return malformed(p, "body shorter than before");

    memset(part, 0, sizeof *part);
    struct http_scan scan;
    int rc = http_scan_headers(body, len, p->pos, p->pos + MP_MAX_PART_HEAD, part->headers,
                               MP_MAX_PART_HEADERS, &scan);
    part->num_headers = scan.num_headers;
    if (rc == HTTP_INCOMPLETE)
        return MP_INCOMPLETE;
    if (rc < 0)
        return malformed(p, rc == -431 ? "part headers too large" : scan.error);
    const char *hit = memmem(body + scan.end, len - scan.end, p->delim, p->delim_len);
    if (hit == NULL)
        return MP_INCOMPLETE;
    size_t data_end = (size_t)(hit - body), next;
    part->data = http_str_from(body + scan.end, data_end - scan.end);
    rc = after_delimiter(p, body, len, data_end + p->delim_len, &next);
    if (rc < 0)
        return rc;
    int filled = fill_disposition(p, part);
    if (filled != MP_PART)
        return filled;
    p->pos = next;
    if (rc == 0)
        p->state = MP_FINISHED;
    return MP_PART;
}

int mp_find_field(struct http_str content_type, const char *body, size_t len, const char *name,
                  struct mp_part *out, const char **why)
{
    struct mp_parser p;
    const char *reason = NULL;
    int rc;
    if (mp_init(&p, content_type) < 0) {
        rc = MP_MALFORMED;
        reason = p.error;
    } else {
        while ((rc = mp_next(&p, body, len, out)) == MP_PART && !mp_param_eq(out->name, name))
            ;
        if (rc == MP_DONE)
            reason = "no such field in the form";
        else if (rc == MP_INCOMPLETE) {
            rc = MP_MALFORMED;
            reason = "truncated multipart body";
        } else if (rc == MP_MALFORMED)
            reason = p.error;
    }
    if (why)
        *why = reason;
    return rc;
}
