/* jsonread: RFC 8259 values, read strictly enough for replies we did not write ourselves. */
#include "net/json_read.h"

#include <stdlib.h>
#include <string.h>

void jr_init(struct jr *j, const char *text, size_t len)
{
    *j = (struct jr){ .p = text, .end = text + len };
}

/* Records the first failure's reason; returns -1 for the caller to pass on. */
static int fail(struct jr *j, const char *why)
{
    if (!j->err)
        j->err = why;
    return -1;
}

const char *jr_error(const struct jr *j)
{
    return j->err ? j->err : "malformed JSON";
}

static void skip_ws(struct jr *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

bool jr_eat(struct jr *j, char c)
{
    skip_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

bool jr_at_end(struct jr *j)
{
    skip_ws(j);
    return j->p == j->end;
}

char jr_peek(struct jr *j)
{
    skip_ws(j);
    return j->p < j->end ? *j->p : '\0';
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d == 16)
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* Appends code point cp as UTF-8 when it fits whole (so truncation never splits a character). */
static void put_utf8(char *out, size_t cap, size_t *n, unsigned cp)
{
    char tmp[4];
    size_t k;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | cp >> 6);
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | cp >> 12);
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        tmp[0] = (char)(0xf0 | cp >> 18);
        tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[3] = (char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    if (*n + k < cap) {
        memcpy(out + *n, tmp, k);
        *n += k;
    }
}

/* One escape after the backslash; returns the code point or -1. */
static long read_escape(struct jr *j)
{
    if (j->p >= j->end)
        return -1;
    char c = *j->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit)
        return to[hit - from];
    if (c != 'u' || j->end - j->p < 4)
        return -1;
    unsigned hi, lo;
    if (hex4(j->p, &hi) < 0)
        return -1;
    j->p += 4;
    if (hi < 0xd800 || hi > 0xdfff)
        return hi;
    if (hi > 0xdbff || j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) < 0 ||
        lo < 0xdc00 || lo > 0xdfff)
        return -1;
    j->p += 6;
    return 0x10000 + ((long)(hi - 0xd800) << 10) + (lo - 0xdc00);
}

int jr_string(struct jr *j, char *out, size_t cap)
{
    size_t n = 0;
    if (!jr_eat(j, '"'))
        return fail(j, "expected a string");
    /* In place (out at the opening quote) stays safe: each input character or escape writes at most as
     * many bytes as it takes, so out + n never passes j->p. */
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"') {
            if (cap)
                out[n] = '\0';
            return (int)n;
        }
        if (c < 0x20)
            return fail(j, "control character in a string");
        if (c == '\\') {
            long cp = read_escape(j);
            if (cp < 0)
                return fail(j, "bad escape in a string");
            put_utf8(out, cap, &n, (unsigned)cp);
        } else if (n + 1 < cap) {
            out[n++] = (char)c;
        }
    }
    return fail(j, "unterminated string");
}

static bool digit_at(const struct jr *j, const char *p)
{
    return p < j->end && *p >= '0' && *p <= '9';
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?  Plain integers (most of a tensor's data) are
 * summed here; anything else goes through strtod on a bounded copy. */
int jr_number(struct jr *j, double *out)
{
    skip_ws(j);
    const char *p = j->p;
    bool neg = p < j->end && *p == '-';
    p += neg;
    if (!digit_at(j, p))
        return fail(j, "expected a value");
    double v = 0;
    int digits = 0;
    if (*p == '0') {
        if (digit_at(j, ++p))
            return fail(j, "malformed number (a leading zero)");
    } else
        while (digit_at(j, p) && digits < 15)
            v = v * 10 + (*p++ - '0'), digits++;
    bool plain = !digit_at(j, p);
    while (digit_at(j, p))
        p++;
    if (p < j->end && *p == '.') {
        if (!digit_at(j, ++p))
            return fail(j, "malformed number");
        while (digit_at(j, p))
            p++;
        plain = false;
    }
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        p++;
        p += p < j->end && (*p == '+' || *p == '-');
        if (!digit_at(j, p))
            return fail(j, "malformed number");
        while (digit_at(j, p))
            p++;
        plain = false;
    }
    size_t n = (size_t)(p - j->p);
    if (n > JR_MAX_NUMBER)
        return fail(j, "a number is longer than 63 characters");
    if (!plain) {
        char tmp[JR_MAX_NUMBER + 1];
        memcpy(tmp, j->p, n);
        tmp[n] = '\0';
        v = strtod(tmp, NULL);
    } else if (neg) {
        v = -v;
    }
    *out = v;
    j->p = p;
    return 0;
}

static int skip_literal(struct jr *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return fail(j, "expected a value");
    j->p += n;
    return 0;
}

int jr_next_key(struct jr *j, bool *first, char *key, size_t cap)
{
    if (*first) {
        if (!jr_eat(j, '{'))
            return fail(j, "expected an object");
        *first = false;
        if (jr_eat(j, '}'))
            return 0;
    } else {
        if (jr_eat(j, '}'))
            return 0;
        if (!jr_eat(j, ','))
            return fail(j, "expected ',' or '}' in an object");
    }
    if (jr_string(j, key, cap) < 0)
        return -1;
    if (!jr_eat(j, ':'))
        return fail(j, "expected ':' after a key");
    return 1;
}

int jr_next_elem(struct jr *j, bool *first)
{
    if (*first) {
        if (!jr_eat(j, '['))
            return fail(j, "expected an array");
        *first = false;
        return jr_eat(j, ']') ? 0 : 1;
    }
    if (jr_eat(j, ']'))
        return 0;
    return jr_eat(j, ',') ? 1 : fail(j, "expected ',' or ']' in an array");
}

int jr_skip(struct jr *j)
{
    skip_ws(j);
    if (j->p >= j->end)
        return fail(j, "unexpected end of the text");
    char c = *j->p;
    if (c == '"')
        return jr_string(j, NULL, 0) < 0 ? -1 : 0;
    if (c == 't')
        return skip_literal(j, "true");
    if (c == 'f')
        return skip_literal(j, "false");
    if (c == 'n')
        return skip_literal(j, "null");
    if (c != '{' && c != '[') {
        double d;
        return jr_number(j, &d);
    }
    if (++j->depth > JR_MAX_DEPTH)
        return fail(j, "objects and arrays nested deeper than 32");
    bool first = true;
    int rc;
    char key[1];
    while ((rc = c == '{' ? jr_next_key(j, &first, key, sizeof key) : jr_next_elem(j, &first)) == 1)
        if (jr_skip(j) < 0)
            return -1;
    j->depth--;
    return rc;
}
