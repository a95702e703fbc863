/* answer_html: render a classification as an HTML page (see answer_html.h). */
#define _GNU_SOURCE
#include "infer/answer_html.h"

#include <string.h>

bool answer_wants_html(const struct http_header *accept)
{
    if (!accept)
        return false;
    const char *v = accept->value.p;
    size_t n = accept->value.len;
    const char *html = memmem(v, n, "text/html", 9);
    const char *json = memmem(v, n, "application/json", 16);
    return html && (!json || html < json);
}

/* Appends s with & < > " ' escaped. */
static int append_escaped(struct buf *b, const char *s)
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

int answer_html(struct buf *out, const struct nn_result *r, const char *worker, double total_ms)
{
    buf_clear(out);
    int rc = buf_append_str(out, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                                 "<title>imgrec: ");
    rc |= append_escaped(out, r->top[0].label);
    rc |= buf_append_str(out, "</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n"
                              "<h1>imgrec</h1>\n<section id=\"result\">\n<h2 id=\"answer\">");
    rc |= append_escaped(out, r->top[0].label);
    rc |= buf_printf(out, " (%.1f%%)</h2>\n<ol id=\"top5\">\n", 100.0 * r->top[0].prob);
    for (int i = 0; i < r->k && rc == 0; i++) {
        double pct = 100.0 * r->top[i].prob;
        rc |= buf_printf(out, "<li><span class=\"bar\" style=\"width:%.1f%%\"></span><span class=\"text\"><span>", pct);
        rc |= append_escaped(out, r->top[i].label);
        rc |= buf_printf(out, "</span><span>%.1f%%</span></span></li>\n", pct);
    }
    rc |= buf_append_str(out, "</ol>\n<p id=\"meta\">answered by ");
    rc |= append_escaped(out, worker);
    rc |= buf_printf(out, " · decode %.0f ms · inference %.0f ms · total %.0f ms</p>\n</section>\n"
                          "<p><a href=\"/\">Classify another picture</a></p>\n</body>\n</html>\n",
                     r->decode_ms, r->inference_ms, total_ms);
    return rc == 0 ? 0 : -1;
}
