/* answer_html: render a classification as an HTML page (see answer_html.h). */
#define _GNU_SOURCE
#include "infer/answer_html.h"

#include <string.h>

#include "net/html.h"

int answer_html(struct buf *out, const struct nn_result *r, const char *worker, double total_ms)
{
    buf_clear(out);
    int rc = buf_append_str(out, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                                 "<title>imgrec: ");
    rc |= buf_append_html(out, r->top[0].label);
    rc |= buf_append_str(out, "</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n"
                              "<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\n</head>\n<body>\n"
                              "<h1>imgrec</h1>\n<section id=\"result\">\n<h2 id=\"answer\">");
    rc |= buf_append_html(out, r->top[0].label);
    rc |= buf_printf(out, " (%.1f%%)</h2>\n<ol id=\"top5\">\n", 100.0 * r->top[0].prob);
    for (int i = 0; i < r->k && rc == 0; i++) {
        double pct = 100.0 * r->top[i].prob;
        rc |= buf_printf(out, "<li><span class=\"bar\" style=\"width:%.1f%%\"></span><span class=\"text\"><span>", pct);
        rc |= buf_append_html(out, r->top[i].label);
        rc |= buf_printf(out, "</span><span>%.1f%%</span></span></li>\n", pct);
    }
    rc |= buf_append_str(out, "</ol>\n<p id=\"meta\">answered by ");
    rc |= buf_append_html(out, worker);
    rc |= buf_printf(out, " · decode %.0f ms · inference %.0f ms · total %.0f ms</p>\n</section>\n"
                          "<p><a href=\"/\">Classify another picture</a></p>\n</body>\n</html>\n",
                     r->decode_ms, r->inference_ms, total_ms);
    return rc == 0 ? 0 : -1;
}
