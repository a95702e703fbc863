/* multipart_request: a multipart/form-data POST.  The boundary is fixed; it cannot occur inside the image because a
 * part's bytes are never scanned by us, and the server looks for it only after CRLF "--". A JPEG or PNG
 * holding that exact 40-byte line is the one (vanishingly unlikely) way this could break. */
#include "net/multipart_request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define BOUNDARY "imgrec-client-7d1c5a0e9b4f2a6c8e3d"

static const char *content_type_of(const char *filename)
{
    const char *dot = strrchr(filename, '.');
    if (dot && (strcasecmp(dot, ".png") == 0))
        return "image/png";
    if (dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0))
        return "image/jpeg";
    return "application/octet-stream";
}

/* The filename goes inside a quoted header parameter: keep only bytes that need no escaping there. */
static void safe_name(const char *filename, char *out, size_t cap)
{
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    size_t n = 0;
    for (; *base && n + 1 < cap; base++)
        out[n++] = (*base == '"' || *base == '\\' || (unsigned char)*base < 0x20) ? '_' : *base;
    out[n] = '\0';
}

int mp_request_build(const struct url *u, const char *field, const void *bytes, size_t len, const char *filename,
                     struct buf *out, size_t *head_len)
{
    char host[SOCK_HOST_MAX + 16], name[256];
    buf_clear(out);
    if (url_authority(u, host, sizeof host) < 0)
        return -1;
    safe_name(filename, name, sizeof name);
    char part[1024];
    int hn = snprintf(part, sizeof part,
                      "--" BOUNDARY "\r\n"
                      "Content-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                      "Content-Type: %s\r\n\r\n",
                      field, name, content_type_of(name));
    static const char tail[] = "\r\n--" BOUNDARY "--\r\n";
    if (hn < 0 || (size_t)hn >= sizeof part)
        return -1;
    size_t body_len = (size_t)hn + len + sizeof tail - 1;
    if (buf_printf(out,
                   "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\nAccept: application/json\r\n"
                   "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\nContent-Length: %zu\r\n\r\n",
                   u->target, host, body_len) < 0)
        return -1;
    *head_len = buf_len(out);
    if (buf_append(out, part, (size_t)hn) < 0 || buf_append(out, bytes, len) < 0 ||
        buf_append(out, tail, sizeof tail - 1) < 0)
        return -1;
    return 0;
}
