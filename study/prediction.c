/* prediction: the meeting point of local and remote classification, so both print the same JSON. */
#include "study/prediction.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "net/json_write.h"
#include "net/json_read.h"

void prediction_from_nn(const struct nn_result *r, struct prediction *out)
{
    memset(out, 0, sizeof *out);
    out->k = r->k < PRED_TOPK ? r->k : PRED_TOPK;
    for (int i = 0; i < out->k; i++) {
        out->top[i].class_index = r->top[i].class_index;
        out->top[i].prob = r->top[i].prob;
        snprintf(out->top[i].label, sizeof out->top[i].label, "%s", r->top[i].label ? r->top[i].label : "");
    }
    out->decode_ms = r->decode_ms;
    out->inference_ms = r->inference_ms;
    out->queue_ms = out->total_ms = -1;
}

static int read_class(struct jr *j, struct pred_class *c)
{
    bool first = true;
    char key[32];
    int rc;
    while ((rc = jr_next_key(j, &first, key, sizeof key)) == 1) {
        double index = -1;
        if (strcmp(key, "label") == 0)
            rc = jr_string(j, c->label, sizeof c->label);
        else if (strcmp(key, "class_index") == 0)
            rc = jr_number(j, &index);
        else if (strcmp(key, "prob") == 0)
            rc = jr_number(j, &c->prob);
        else
            rc = jr_skip(j);
        if (rc < 0)
            return -1;
        if (strcmp(key, "class_index") == 0) {
            /* -1 is the background slot; anything else off 0..999 is a broken reply (and 1e300 would not
             * even convert to an int). */
            if (!(index >= -1 && index <= 999) || index != (int)index)
                return -1;
            c->class_index = (int)index;
        }
    }
    return rc;
}

static int read_top(struct jr *j, struct prediction *p)
{
    bool first = true;
    int rc;
    while ((rc = jr_next_elem(j, &first)) == 1) {
        if (p->k < PRED_TOPK)
            rc = read_class(j, &p->top[p->k++]);
        else
            rc = jr_skip(j);
        if (rc < 0)
            return -1;
    }
    return rc;
}

static int read_timing(struct jr *j, struct prediction *p)
{
    bool first = true;
    char key[32];
    int rc;
    while ((rc = jr_next_key(j, &first, key, sizeof key)) == 1) {
        double *dst = strcmp(key, "queue") == 0 ? &p->queue_ms
                    : strcmp(key, "decode") == 0 ? &p->decode_ms
                    : strcmp(key, "inference") == 0 ? &p->inference_ms
                    : strcmp(key, "total") == 0 ? &p->total_ms : NULL;
        if ((dst ? jr_number(j, dst) : jr_skip(j)) < 0)
            return -1;
    }
    return rc;
}

int prediction_from_json(const char *json, size_t len, struct prediction *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->queue_ms = out->decode_ms = out->inference_ms = out->total_ms = -1;
    struct jr j;
    jr_init(&j, json, len);
    bool first = true, have_top = false;
    char key[32], error[PRED_TEXT_MAX] = "", detail[PRED_TEXT_MAX] = "";
    int rc;
    while ((rc = jr_next_key(&j, &first, key, sizeof key)) == 1) {
        if (strcmp(key, "top5") == 0) {
            rc = read_top(&j, out);
            have_top = true;
        } else if (strcmp(key, "worker") == 0) {
            rc = jr_string(&j, out->worker, sizeof out->worker);
        } else if (strcmp(key, "timing_ms") == 0) {
            rc = read_timing(&j, out);
        } else if (strcmp(key, "error") == 0) {
            rc = jr_string(&j, error, sizeof error);
        } else if (strcmp(key, "detail") == 0) {
            rc = jr_string(&j, detail, sizeof detail);
        } else {
            rc = jr_skip(&j); /* label, class_index, prob repeat top5[0] */
        }
        if (rc < 0)
            break;
    }
    if (rc < 0 || !jr_at_end(&j)) {
        snprintf(err, errlen, "malformed JSON reply");
        return -1;
    }
    if (error[0]) {
        snprintf(err, errlen, "%s%s%s", error, detail[0] ? ": " : "", detail);
        return -1;
    }
    if (!have_top || out->k == 0) {
        snprintf(err, errlen, "reply has no top5");
        return -1;
    }
    return 0;
}

double prediction_service_ms(const char *json, size_t len)
{
    struct prediction p;
    char err[64];
    if (prediction_from_json(json, len, &p, err, sizeof err) < 0 || p.decode_ms < 0 || p.inference_ms < 0)
        return -1;
    return p.decode_ms + p.inference_ms;
}

int prediction_has(const struct prediction *p, int class_index, int n)
{
    for (int i = 0; i < n && i < p->k; i++)
        if (p->top[i].class_index == class_index)
            return 1;
    return 0;
}

/* Writes s as a JSON string literal (escaping can grow a byte to six). */
static void put_str(FILE *f, const char *s)
{
    size_t n = strlen(s);
    char *esc = malloc(6 * n + 1);
    if (esc && json_escape(esc, 6 * n + 1, s, n) >= 0)
        fprintf(f, "\"%s\"", esc);
    else
        fputs("\"\"", f);
    free(esc);
}

static void put_class(FILE *f, const struct pred_class *c)
{
    fputs("\"label\":", f);
    put_str(f, c->label);
    fprintf(f, ",\"class_index\":%d,\"prob\":%.6f", c->class_index, c->prob); /* the worker's digits */
}

int prediction_print(FILE *f, const char *file, const struct prediction *p, double rtt_ms)
{
    fputs("{\"file\":", f);
    put_str(f, file);
    if (p->k > 0) {
        fputc(',', f);
        put_class(f, &p->top[0]);
    }
    fputs(",\"top5\":[", f);
    for (int i = 0; i < p->k; i++) {
        fputs(i ? ",{" : "{", f);
        put_class(f, &p->top[i]);
        fputc('}', f);
    }
    fputc(']', f);
    if (p->worker[0]) {
        fputs(",\"worker\":", f);
        put_str(f, p->worker);
    }
    if (p->total_ms >= 0) {
        fputs(",\"timing_ms\":{", f);
        if (p->queue_ms >= 0)
            fprintf(f, "\"queue\":%.3f,", p->queue_ms);
        fprintf(f, "\"decode\":%.3f,\"inference\":%.3f,\"total\":%.3f}", p->decode_ms, p->inference_ms,
                p->total_ms);
    }
    if (rtt_ms >= 0)
        fprintf(f, ",\"rtt_ms\":%.3f", rtt_ms);
    fputs("}\n", f);
    return ferror(f) ? -1 : 0;
}
