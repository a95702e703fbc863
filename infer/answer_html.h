/* answer_html: the worker's answer as a small HTML page, for a browser that posted the plain form
 * without JavaScript (its Accept header prefers text/html).  Same content as the JSON: the top-5 as
 * labelled bars (styled by the page's /style.css), the worker and the timings, and a link back.
 * (Whether the browser wants HTML: http_accepts_html in net/html.h.) */
#ifndef SVC_ANSWER_HTML_H
#define SVC_ANSWER_HTML_H

#include <stdbool.h>

#include "net/buf.h"
#include "net/http.h"
#include "nn/nn.h"

/* Replaces out's content with the page.  0, or -1 when it does not fit. */
int answer_html(struct buf *out, const struct nn_result *r, const char *worker, double total_ms);

#endif
