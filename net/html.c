/* html: escaping and the error page (see html.h). */
#define _GNU_SOURCE
#include "net/html.h"

#include <string.h>

bool http_accepts_html(const struct http_header *accept)
{
    if (!accept)
        return false;
    const char *v = accept->value.p;
    size_t n = accept->value.len;
    const char *html = memmem(v, n, "text/html", 9);
    const char *json = memmem(v, n, "application/json", 16);
    return html && (!json || html < json);
}

int buf_append_html(struct buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&': rc = buf_append_str(b, "&amp;"); break;
        case '<': rc = buf_append_str(b, "&lt;"); break;
        case '>': rc = buf_append_str(b, "&gt;"); break;
        case '"': rc = buf_append_str(b, "&quot;"); break;
        case '\'': rc = buf_append_str(b, "&#39;"); break;
        default: rc = buf_append(b, s, 1);
        }
    }
    return rc;
}

int html_error_page(struct buf *out, int status, const char *detail)
{
    buf_clear(out);
    int rc = buf_printf(out, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                             "<title>imgrec: %s</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n"
                             "<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\n</head>\n<body>\n"
                             "<h1>imgrec</h1>\n<section id=\"failure\" role=\"alert\">\n<h2>That did not work (%d %s)</h2>\n"
                             "<p class=\"error\" id=\"error\">",
                        http_reason(status), status, http_reason(status));
    if (detail && *detail) {
        char first[2] = { (char)(detail[0] >= 'a' && detail[0] <= 'z' ? detail[0] - 32 : detail[0]), 0 };
        rc |= buf_append_html(out, first);
        rc |= buf_append_html(out, detail + 1);
        rc |= buf_append_str(out, ".");
    } else {
        rc |= buf_append_html(out, http_reason(status));
    }
    rc |= buf_append_str(out, "</p>\n</section>\n<p><a href=\"/\">Back to the page</a></p>\n</body>\n</html>\n");
    return rc == 0 ? 0 : -1;
}
