/* json: string escaping (always producing valid JSON, whatever the bytes) and the error body. */
#include "net/json_write.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence starting s[0..len), or 0 if it is not one (RFC 3629 table:
 * no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

ssize_t json_escape(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char tmp[6];
        const char *piece = tmp;
        size_t n;
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            n = 2;
            i++;
        } else if (c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (named) {
                piece = named;
                n = 2;
            } else {
                memcpy(tmp, "\\u00", 4);
                tmp[4] = hex[c >> 4];
                tmp[5] = hex[c & 15];
                n = 6;
            }
            i++;
        } else if (c < 0x80) {
            piece = s + i;
            n = 1;
            i++;
        } else if ((n = utf8_seq_len(u + i, len - i)) > 0) {
            piece = s + i;
            i += n;
        } else {
            piece = "\xEF\xBF\xBD"; /* U+FFFD for a byte that is not valid UTF-8 */
            n = 3;
            i++;
        }
        if (cap - o < n)
            return -1;
        memcpy(out + o, piece, n);
        o += n;
    }
    if (o < cap)
        out[o] = '\0';
    return (ssize_t)o;
}

ssize_t json_error_body(char *out, size_t cap, const char *code, const char *detail)
{
    static const char open[] = "{\"error\":\"", mid[] = "\",\"detail\":\"", close[] = "\"}";
    size_t o = 0;
    const char *parts[5] = { open, code, mid, detail, close };
    int nparts = 5;
    if (!code) { /* {"error":"<detail>"} */
        parts[1] = detail;
        parts[2] = close;
        nparts = 3;
    }
    for (int k = 0; k < nparts; k++) {
        size_t len = strlen(parts[k]);
        if (k % 2 == 1) {
            ssize_t n = json_escape(out + o, cap - o, parts[k], len);
            if (n < 0)
                return -1;
            o += (size_t)n;
        } else {
            if (cap - o < len)
                return -1;
            memcpy(out + o, parts[k], len);
            o += len;
        }
    }
    if (o < cap)
        out[o] = '\0';
    return (ssize_t)o;
}
