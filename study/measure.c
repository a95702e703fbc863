/* measure: sequential round trips through the shared HTTP client. */
#include "study/measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/loop.h"
#include "net/http_client.h"
#include "study/prediction.h"

int measure_sequential(const struct url *u, const char *req, size_t head_len, size_t len, int n,
                       uint64_t timeout_ms, struct sequential *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->rtt_ms = calloc((size_t)(n > 0 ? n : 1), sizeof *out->rtt_ms);
    out->service_ms = calloc((size_t)(n > 0 ? n : 1), sizeof *out->service_ms);
    struct loop *l = loop_create(256);
    struct http_client_opts one = { 1, 0, HTTP_CLIENT_DEFAULT_MAX_RESPONSE };
    struct http_client *h = l ? http_client_create(l, u->host, u->port, &one, err, errlen) : NULL;
    if (!out->rtt_ms || !out->service_ms || !h) {
        if (!l || !out->rtt_ms || !out->service_ms)
            snprintf(err, errlen, "out of memory");
        if (l)
            loop_destroy(l);
        sequential_free(out);
        return -1;
    }
    for (int i = 0; i <= n; i++) {
        struct http_reply r;
        int rc = http_client_roundtrip(h, req, head_len, req + head_len, len - head_len, timeout_ms, &r);
        if (rc == 0 && r.status == 200) {
            if (i > 0) {
                out->service_ms[out->ok] = prediction_service_ms(r.body, r.body_len);
                out->rtt_ms[out->ok++] = (double)r.elapsed_ns / 1e6;
            }
        } else {
            if (rc == 0)
                snprintf(out->last_error, sizeof out->last_error, "HTTP %d", r.status);
            else
                snprintf(out->last_error, sizeof out->last_error, "%s", r.detail);
            if (i > 0)
                out->errors++;
        }
        http_reply_free(&r);
    }
    http_client_free(h);
    loop_destroy(l);
    return 0;
}

void sequential_free(struct sequential *s)
{
    free(s->rtt_ms);
    free(s->service_ms);
    s->rtt_ms = s->service_ms = NULL;
}
