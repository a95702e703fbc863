/* prediction: one classification, whether it came from nn/ in this process or from the service as JSON,
 * and the one JSON line the client prints for it. */
#ifndef STUDY_PREDICTION_H
#define STUDY_PREDICTION_H

#include <stddef.h>
#include <stdio.h>

#include "nn/nn.h"

#define PRED_TOPK 5
#define PRED_TEXT_MAX 128

struct pred_class {
    int class_index; /* 0..999 */
    double prob;
    char label[PRED_TEXT_MAX];
};

struct prediction {
    int k;                               /* entries in top[], best first */
    struct pred_class top[PRED_TOPK];
    char worker[PRED_TEXT_MAX];          /* "" for local classifications */
    double queue_ms, decode_ms, inference_ms, total_ms; /* -1 when unknown */
};

void prediction_from_nn(const struct nn_result *r, struct prediction *out);
/* Parses the service's reply.  Returns 0, or -1 with err filled (a JSON {"error":..} reply gives its text). */
int prediction_from_json(const char *json, size_t len, struct prediction *out, char *err, size_t errlen);
/* The worker's service time for one reply body: decode + inference as it reports them (its queue wait
 * excluded), or -1 when the body is not a classification with timings. */
double prediction_service_ms(const char *json, size_t len);
/* True when class_index is among the first n of top[]. */
int prediction_has(const struct prediction *p, int class_index, int n);
/* {"file":..,"label":..,"class_index":..,"prob":..,"top5":[..]} plus "worker", "timing_ms" and "rtt_ms"
 * when known (rtt_ms < 0: not printed), then a newline: after "file", the service's own JSON with its
 * digits (prob %.6f, times %.3f) and fields.  Returns 0 or -1 on a write error. */
int prediction_print(FILE *f, const char *file, const struct prediction *p, double rtt_ms);

#endif
