/* measure: closed-loop timing — one request at a time on one keep-alive connection, the next sent when
 * the previous answer is in.  What study 2 reports, and how study 3 measures the service time S. */
#ifndef STUDY_MEASURE_H
#define STUDY_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "net/url.h"

struct sequential {
    int n;        /* requests asked for (after one warm-up that is not counted) */
    int ok;       /* 200 answers: their RTTs are rtt_ms[0..ok) */
    int errors;   /* other statuses and transport errors */
    double *rtt_ms;
    double *service_ms;  /* the worker's decode + inference for each of those answers (-1: not reported) */
    char last_error[128];
};

/* Sends req[0..len) (its head is req[0..head_len)) n + 1 times to u's host and port, dropping the first
 * (warm-up: connection set-up, caches).
 * Returns 0 (see out->ok and out->errors), or -1 when nothing could be sent at all (err filled).
 * Free out with sequential_free. */
int measure_sequential(const struct url *u, const char *req, size_t head_len, size_t len, int n,
                       uint64_t timeout_ms, struct sequential *out, char *err, size_t errlen);
void sequential_free(struct sequential *s);

#endif
