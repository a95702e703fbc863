/* oip: the Open Inference Protocol on the worker (see oip.h). */
#define _GNU_SOURCE
#include "infer/oip.h"
#include "net/json_read.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIXELS_LEN ((size_t)NN_INPUT_SIZE * NN_INPUT_SIZE * 3)
#define ID_MAX 255      /* bytes of a request's "id" we echo */
#define MAX_INPUTS 8    /* inputs read from one request (one is used; more is an error anyway) */
#define MAX_OUTPUTS 8
#define MAX_RANK 8      /* dimensions of a shape */
#define NAME_MAX_LEN 64 /* names, datatypes, parameter strings */
#define INFER_HEADER "Inference-Header-Content-Length"

struct oip_pending {
    int classification;   /* 0: the FP32 probabilities; K: the top K as strings */
    size_t id_len;
    bool has_id;
    char id[ID_MAX + 1];
};

int oip_init(struct oip *o, struct infer_queue *q, const struct nn_model *model, const char *worker)
{
    *o = (struct oip){ .queue = q, .model = model, .worker = worker, .nclasses = nn_num_classes(model) };
    o->pending = calloc((size_t)iq_job_count(q), sizeof *o->pending);
    return o->pending ? 0 : -1;
}

void oip_free(struct oip *o)
{
    free(o->pending);
    o->pending = NULL;
}

/* ---- errors: the status comes from the code; the server writes the body in the protocol's shape -------- */

static void refuse(struct srv_conn *c, enum err_code e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(struct srv_conn *c, enum err_code e, const char *fmt, ...)
{
    char detail[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    srv_respond_error(c, e, detail, NULL);
}

/* ---- the simple endpoints ------------------------------------------------------------------------------ */

static void answer_json(struct srv_conn *c, const char *json)
{
    srv_respond(c, 200, "application/json", json, strlen(json), NULL);
}

static void model_metadata(struct oip *o, struct srv_conn *c)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"name\":\"" OIP_MODEL_NAME "\",\"versions\":[\"" OIP_MODEL_VERSION "\"],\"platform\":\"tflite\","
             "\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1]},"
             "{\"name\":\"pixels\",\"datatype\":\"UINT8\",\"shape\":[1,%d,%d,3]}],"
             "\"outputs\":[{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[1,%d]}]}\n",
             NN_INPUT_SIZE, NN_INPUT_SIZE, o->nclasses);
    answer_json(c, json);
}

/* ---- the infer request --------------------------------------------------------------------------------- */

struct input {
    char name[NAME_MAX_LEN], datatype[NAME_MAX_LEN];
    long shape[MAX_RANK];
    int rank;                 /* -1: no shape given */
    char *data;               /* the "data" value in the body, NULL when absent */
    long long binary_size;    /* parameters.binary_data_size, -1 when absent */
    bool base64;              /* parameters.content_type == "base64" */
};

struct request {
    struct input in[MAX_INPUTS];
    int ninputs;
    struct oip_pending answer;
    char why[320];            /* the first problem found */
    bool failed;
    enum err_code code;
};

static int vbad(struct request *q, enum err_code code, const char *fmt, va_list ap)
{
    if (!q->failed) { /* the first problem found is the one reported */
        vsnprintf(q->why, sizeof q->why, fmt, ap);
        q->failed = true;
        q->code = code;
    }
    return -1;
}

static int bad(struct request *q, enum err_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct request *q, enum err_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vbad(q, code, fmt, ap);
    va_end(ap);
    return -1;
}

/* Wrong datatype, shape, name, or data that does not fit them. */
static int bad_tensor(struct request *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_tensor(struct request *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vbad(q, ERR_BAD_TENSOR, fmt, ap);
    va_end(ap);
    return -1;
}

/* A whole number from min to max at the cursor.  0, 1 (a number, but not such a one), -1 (not a number). */
static int read_whole(struct jr *j, long long min, long long max, long long *out)
{
    double v;
    if (jr_number(j, &v) < 0)
        return -1;
    if (!(v >= (double)min && v <= (double)max) || v != (double)(long long)v)
        return 1;
    *out = (long long)v;
    return 0;
}

static int read_name(struct jr *j, struct request *q, char *out, const char *what)
{
    if (jr_peek(j) != '"')
        return bad_tensor(q, "%s must be a string", what);
    int n = jr_string(j, out, NAME_MAX_LEN);
    if (n >= NAME_MAX_LEN - 1)
        return bad_tensor(q, "%s is longer than %d bytes", what, NAME_MAX_LEN - 2);
    return n < 0 ? -1 : 0;
}

static int read_shape(struct jr *j, struct request *q, struct input *in)
{
    bool first = true;
    int rc;
    in->rank = 0;
    while ((rc = jr_next_elem(j, &first)) == 1) {
        long long d;
        if (in->rank == MAX_RANK)
            return bad_tensor(q, "input '%s' has a shape of more than %d dimensions", in->name, MAX_RANK);
        if (jr_peek(j) == '-' || (jr_peek(j) >= '0' && jr_peek(j) <= '9')) {
            int r = read_whole(j, 0, 1L << 30, &d);
            if (r != 0)
                return r < 0 ? -1 : bad_tensor(q, "a shape holds whole numbers from 0 to 2^30");
        } else {
            return bad_tensor(q, "a shape is an array of whole numbers");
        }
        in->shape[in->rank++] = (long)d;
    }
    return rc;
}

static int read_input_parameters(struct jr *j, struct request *q, struct input *in)
{
    bool first = true;
    char key[NAME_MAX_LEN], value[NAME_MAX_LEN];
    int rc;
    while ((rc = jr_next_key(j, &first, key, sizeof key)) == 1) {
        if (strcmp(key, "content_type") == 0) {
            if (read_name(j, q, value, "parameters.content_type") < 0)
                return -1;
            if (strcmp(value, "base64") == 0)
                in->base64 = true;
            else if (strcmp(value, "str") != 0)
                return bad_tensor(q, "content_type '%s' is not one we read ('base64' or 'str')", value);
        } else if (strcmp(key, "binary_data_size") == 0) {
            int r = read_whole(j, 0, INT64_MAX / 2, &in->binary_size);
            if (r != 0)
                return r < 0 ? -1 : bad_tensor(q, "binary_data_size must be a whole number of bytes");
        } else if (jr_skip(j) < 0) {
            return -1;
        }
    }
    return rc;
}

static int read_input(struct jr *j, struct request *q, struct input *in)
{
    *in = (struct input){ .rank = -1, .binary_size = -1 };
    bool first = true;
    char key[NAME_MAX_LEN];
    int rc;
    while ((rc = jr_next_key(j, &first, key, sizeof key)) == 1) {
        if (strcmp(key, "name") == 0)
            rc = read_name(j, q, in->name, "an input's name");
        else if (strcmp(key, "datatype") == 0)
            rc = read_name(j, q, in->datatype, "an input's datatype");
        else if (strcmp(key, "shape") == 0)
            rc = read_shape(j, q, in);
        else if (strcmp(key, "parameters") == 0)
            rc = read_input_parameters(j, q, in);
        else if (strcmp(key, "data") == 0) {
            jr_peek(j);
            in->data = (char *)j->p; /* the body is the server's writable buffer */
            rc = jr_skip(j);
        } else
            rc = jr_skip(j);
        if (rc < 0)
            return -1;
    }
    return rc;
}

static int read_output(struct jr *j, struct request *q, int nclasses)
{
    bool first = true;
    char key[NAME_MAX_LEN], name[NAME_MAX_LEN] = "";
    int rc;
    while ((rc = jr_next_key(j, &first, key, sizeof key)) == 1) {
        if (strcmp(key, "name") == 0) {
            rc = read_name(j, q, name, "an output's name");
        } else if (strcmp(key, "parameters") == 0) {
            bool pfirst = true;
            while ((rc = jr_next_key(j, &pfirst, key, sizeof key)) == 1) {
                long long k;
                if (strcmp(key, "classification") != 0) {
                    rc = jr_skip(j); /* binary_data: we always answer in JSON, which every client reads */
                } else if ((rc = read_whole(j, 1, nclasses, &k)) == 0) {
                    q->answer.classification = (int)k;
                } else if (rc > 0) {
                    return bad_tensor(q, "classification must be a whole number from 1 to %d", nclasses);
                }
                if (rc < 0)
                    return -1;
            }
        } else {
            rc = jr_skip(j);
        }
        if (rc < 0)
            return -1;
    }
    if (rc == 0 && strcmp(name, "probabilities") != 0)
        return bad_tensor(q, "unknown output '%s': this model has 'probabilities'", name);
    return rc;
}

static int read_request(struct jr *j, struct request *q, int nclasses)
{
    bool first = true;
    char key[NAME_MAX_LEN];
    int rc;
    while ((rc = jr_next_key(j, &first, key, sizeof key)) == 1) {
        bool efirst = true;
        if (strcmp(key, "id") == 0) {
            char id[ID_MAX + 2];
            if (jr_peek(j) != '"')
                return bad_tensor(q, "id must be a string");
            if ((rc = jr_string(j, id, sizeof id)) > ID_MAX)
                return bad_tensor(q, "id is longer than %d bytes", ID_MAX);
            if (rc >= 0) {
                memcpy(q->answer.id, id, (size_t)rc + 1);
                q->answer.id_len = (size_t)rc;
                q->answer.has_id = true;
            }
        } else if (strcmp(key, "inputs") == 0) {
            while (rc >= 0 && (rc = jr_next_elem(j, &efirst)) == 1) {
                if (q->ninputs == MAX_INPUTS)
                    return bad_tensor(q, "more than %d inputs", MAX_INPUTS);
                rc = read_input(j, q, &q->in[q->ninputs++]);
            }
        } else if (strcmp(key, "outputs") == 0) {
            int n = 0;
            while (rc >= 0 && (rc = jr_next_elem(j, &efirst)) == 1) {
                if (++n > MAX_OUTPUTS)
                    return bad_tensor(q, "more than %d outputs", MAX_OUTPUTS);
                rc = read_output(j, q, nclasses);
            }
        } else {
            rc = jr_skip(j); /* "parameters" and anything newer */
        }
        if (rc < 0)
            return -1;
    }
    if (rc == 0 && !jr_at_end(j))
        return bad(q, ERR_BAD_JSON, "the body has more after its JSON object");
    return rc;
}

static void shape_text(const struct input *in, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < in->rank && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%ld", i ? "," : "", in->shape[i]);
    if (n < cap)
        snprintf(out + n, cap - n, "]");
}

/* The one input must be "image" BYTES [1] or "pixels" UINT8 [1,224,224,3]. */
static int check_input(struct request *q, const struct input *in)
{
    static const char both[] = "'image' (BYTES [1], the encoded picture) or 'pixels' (UINT8 [1,224,224,3])";
    bool image = strcmp(in->name, "image") == 0, pixels = strcmp(in->name, "pixels") == 0;
    const char *want = image ? "BYTES" : "UINT8";
    static const long pixel_shape[] = { 1, NN_INPUT_SIZE, NN_INPUT_SIZE, 3 };
    char shape[96];
    if (!image && !pixels)
        return bad_tensor(q, "unknown input '%s': this model takes %s", in->name, both);
    if (!in->datatype[0])
        return bad_tensor(q, "input '%s' has no datatype (it is %s)", in->name, want);
    if (strcmp(in->datatype, want) != 0)
        return bad_tensor(q, "input '%s' has datatype %s; this model takes %s", in->name, in->datatype, both);
    if (in->rank < 0)
        return bad_tensor(q, "input '%s' has no shape", in->name);
    shape_text(in, shape, sizeof shape);
    bool shape_ok = image ? in->rank == 1 && in->shape[0] == 1
                          : in->rank == 4 && memcmp(in->shape, pixel_shape, sizeof pixel_shape) == 0;
    if (!shape_ok)
        return bad_tensor(q, "input '%s' has shape %s; this model takes %s (one picture per request)", in->name,
                          shape, image ? "[1]" : "[1,224,224,3]");
    if ((in->data != NULL) == (in->binary_size >= 0))
        return bad_tensor(q, "input '%s' needs either \"data\" or parameters.binary_data_size", in->name);
    return 0;
}

/* Visits the leaves of a (possibly nested) data array, nested at most max_depth deep. */
struct leaves {
    struct request *q;
    const struct input *in;
    unsigned char *out;   /* pixels: written in place behind the cursor */
    size_t n, cap;        /* leaves seen; most expected */
    char *str;            /* image: the string's opening quote (its bytes are decoded there) */
    int str_len;
};

static int leaf(struct jr *j, struct leaves *v)
{
    bool pixels = v->out != NULL;
    if (++v->n > v->cap)
        return bad_tensor(v->q, "input '%s' has more than the %zu elements its shape says", v->in->name, v->cap);
    if (!pixels) {
        if (jr_peek(j) != '"')
            return bad_tensor(v->q, "input 'image' holds strings (BYTES), not numbers");
        v->str = (char *)j->p;
        v->str_len = jr_string(j, v->str, (size_t)(j->end - j->p)); /* in place */
        return v->str_len < 0 ? -1 : 0;
    }
    long long px;
    int r = jr_peek(j) == '"' ? 1 : read_whole(j, 0, 255, &px);
    if (r != 0)
        return r < 0 ? -1 : bad_tensor(v->q, "input 'pixels' element %zu is not a whole number from 0 to 255 (UINT8)",
                                       v->n - 1);
    v->out[v->n - 1] = (unsigned char)px; /* the text behind the cursor: at least 2 bytes an element */
    return 0;
}

static int walk(struct jr *j, struct leaves *v, int depth, int max_depth)
{
    if (jr_peek(j) != '[')
        return depth == 0 ? bad_tensor(v->q, "input '%s' data must be an array", v->in->name) : leaf(j, v);
    if (depth == max_depth)
        return bad_tensor(v->q, "input '%s' data is nested deeper than its shape", v->in->name);
    bool first = true;
    int rc;
    while ((rc = jr_next_elem(j, &first)) == 1)
        if (walk(j, v, depth + 1, max_depth) < 0)
            return -1;
    return rc;
}

static int base64_value(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A'
         : c >= 'a' && c <= 'z' ? c - 'a' + 26
         : c >= '0' && c <= '9' ? c - '0' + 52
         : c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 (RFC 4648 section 4, '=' padding optional) decoded in place.  Length, or -1. */
static long base64_decode_in_place(char *s, size_t len)
{
    while (len > 0 && s[len - 1] == '=' && len % 4 != 1)
        len--;
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        int v = base64_value((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            s[o++] = (char)(acc >> 16);
            s[o++] = (char)(acc >> 8);
            s[o++] = (char)acc;
            acc = 0;
        }
    }
    if (len % 4 == 2) {
        s[o++] = (char)(acc >> 4);
    } else if (len % 4 == 3) {
        s[o++] = (char)(acc >> 10);
        s[o++] = (char)(acc >> 2);
    }
    return (long)o;
}

/* The input's bytes: from the JSON data (decoded in place) or the binary section after the JSON. */
static int input_bytes(struct request *q, const struct input *in, char *bin, size_t bin_len, char *end,
                       const void **bytes, size_t *len)
{
    bool pixels = strcmp(in->name, "pixels") == 0;
    if (in->binary_size >= 0) {
        if ((size_t)in->binary_size != bin_len)
            return bad_tensor(q, "input '%s' says binary_data_size %lld but %zu bytes follow the JSON", in->name,
                              in->binary_size, bin_len);
        if (pixels && bin_len != PIXELS_LEN)
            return bad_tensor(q, "input 'pixels' needs %zu bytes (UINT8 [1,224,224,3]), not %zu", PIXELS_LEN, bin_len);
        if (pixels) {
            *bytes = bin;
            *len = bin_len;
            return 0;
        }
        /* one BYTES element: a 4-byte little-endian length, then that many bytes */
        const unsigned char *b = (const unsigned char *)bin;
        uint64_t n = bin_len >= 4 ? (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 : 0;
        if (bin_len < 4 || n != bin_len - 4)
            return bad_tensor(q, "input 'image' in binary is one element: a 4-byte little-endian length, then "
                                 "that many bytes (%zu bytes here)", bin_len);
        *bytes = bin + 4;
        *len = (size_t)n;
        return 0;
    }
    if (bin_len > 0)
        return bad_tensor(q, "%zu bytes follow the JSON but input '%s' has no binary_data_size", bin_len, in->name);
    struct jr j;
    jr_init(&j, in->data, (size_t)(end - in->data));
    struct leaves v = { .q = q, .in = in, .cap = pixels ? PIXELS_LEN : 1,
                        .out = pixels ? (unsigned char *)in->data : NULL };
    if (walk(&j, &v, 0, in->rank) < 0)
        return q->failed ? -1 : bad(q, ERR_BAD_JSON, "the body is not valid JSON: %s", jr_error(&j));
    if (v.n != v.cap)
        return bad_tensor(q, "input '%s' has %zu elements; its shape says %zu", in->name, v.n, v.cap);
    if (pixels) {
        *bytes = v.out;
        *len = PIXELS_LEN;
        return 0;
    }
    long n = in->base64 ? base64_decode_in_place(v.str, (size_t)v.str_len) : v.str_len;
    if (n < 0)
        return bad_tensor(q, "input 'image' is not base64 (content_type 'base64': A-Z a-z 0-9 + /, '=' padding)");
    *bytes = v.str;
    *len = (size_t)n;
    return 0;
}

static int pixels_to_tensor(const void *bytes, size_t len, float *tensor, char *err, size_t errlen)
{
    if (len != PIXELS_LEN) {
        snprintf(err, errlen, "pixels must be %zu bytes", PIXELS_LEN);
        return NN_ERR_BAD_IMAGE;
    }
    nn_pixels_to_tensor(bytes, tensor);
    return 0;
}

/* The JSON part of the body (all of it, or what Inference-Header-Content-Length says).  0 or -1. */
static int split_body(struct request *q, const struct srv_request *r, size_t *json_len)
{
    const struct http_header *h = http_find_header(r->headers, r->http.num_headers, INFER_HEADER);
    *json_len = r->body_len;
    if (!h)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < h->value.len; i++) {
        if (h->value.p[i] < '0' || h->value.p[i] > '9' || i >= 15)
            return bad(q, ERR_BAD_REQUEST, INFER_HEADER " must be a whole number of bytes");
        v = v * 10 + (uint64_t)(h->value.p[i] - '0');
    }
    if (h->value.len == 0 || v > r->body_len)
        return bad(q, ERR_BAD_REQUEST, INFER_HEADER " %llu is more than the body's %zu bytes", (unsigned long long)v,
                   r->body_len);
    *json_len = (size_t)v;
    return 0;
}

static struct infer_job *infer(struct oip *o, struct srv_conn *c, struct srv_request *r)
{
    struct request *q = &(struct request){ 0 };
    size_t json_len;
    const void *bytes = NULL;
    size_t len = 0;
    struct jr j;
    if (split_body(q, r, &json_len) == 0) {
        jr_init(&j, r->body, json_len);
        if (json_len == 0)
            bad(q, ERR_BAD_JSON, "the body is empty: send the request as JSON (see GET /v2/models/" OIP_MODEL_NAME ")");
        else if (read_request(&j, q, o->nclasses) < 0)
            bad(q, ERR_BAD_JSON, "the body is not valid JSON: %s at byte %zu", jr_error(&j), (size_t)(j.p - r->body));
        else if (q->ninputs == 0)
            bad_tensor(q, "missing input: give 'image' (BYTES [1], the encoded picture) or 'pixels' (UINT8 [1,224,224,3])");
        else if (q->ninputs > 1)
            bad_tensor(q, "give one input ('image' or 'pixels'), not %d", q->ninputs);
        else if (check_input(q, &q->in[0]) == 0 &&
                 input_bytes(q, &q->in[0], r->body + json_len, r->body_len - json_len, r->body + json_len, &bytes,
                             &len) == 0 && len == 0) /* as /predict answers an empty upload (not 415) */
            bad(q, ERR_EMPTY_IMAGE, "input 'image' is empty: its one element holds the encoded picture");
    }
    if (q->failed) {
        srv_respond_error(c, q->code, q->why, NULL);
        return NULL;
    }
    struct infer_job *job = iq_acquire(o->queue);
    if (!job) {
        srv_respond_error(c, ERR_SERVER_BUSY, "the inference queue is full; try again shortly", "Retry-After: 1\r\n");
        return NULL;
    }
    job->bytes = bytes;
    job->len = len;
    job->to_tensor = strcmp(q->in[0].name, "pixels") == 0 ? pixels_to_tensor : NULL;
    job->want_probs = true;
    job->tag = OIP_TAG;
    o->pending[iq_job_index(o->queue, job)] = q->answer;
    return job;
}

/* ---- the answer ---------------------------------------------------------------------------------------- */

static int by_prob_desc(const void *a, const void *b, void *probs)
{
    const float *p = probs;
    int i = *(const int *)a, k = *(const int *)b;
    return p[i] > p[k] ? -1 : p[i] < p[k] ? 1 : i - k;
}

int oip_format(struct oip *o, const struct infer_job *job, struct buf *out)
{
    const struct oip_pending *a = &o->pending[iq_job_index(o->queue, job)];
    const float *p = job->probs;
    buf_clear(out);
    int rc = buf_append_str(out, "{\"model_name\":\"" OIP_MODEL_NAME "\",\"model_version\":\"" OIP_MODEL_VERSION "\"");
    if (a->has_id) {
        rc |= buf_append_str(out, ",\"id\":");
        rc |= buf_append_json_str(out, a->id, a->id_len);
    }
    rc |= buf_append_str(out, ",\"parameters\":{\"worker\":");
    rc |= buf_append_json_str(out, o->worker, strlen(o->worker));
    rc |= buf_printf(out, ",\"queue_ms\":%.3f,\"decode_ms\":%.3f,\"inference_ms\":%.3f,\"total_ms\":%.3f},\"outputs\":[",
                     job->queued_ms, job->result.decode_ms, job->result.inference_ms, job->total_ms);
    if (a->classification == 0) {
        rc |= buf_printf(out, "{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[1,%d],\"data\":[", o->nclasses);
        for (int i = 0; i < o->nclasses; i++)
            rc |= buf_printf(out, i ? ",%.9g" : "%.9g", (double)p[i]); /* 9 digits: the float exactly */
    } else {
        int order[o->nclasses];
        for (int i = 0; i < o->nclasses; i++)
            order[i] = i;
        qsort_r(order, (size_t)o->nclasses, sizeof order[0], by_prob_desc, (void *)p);
        rc |= buf_printf(out, "{\"name\":\"probabilities\",\"datatype\":\"BYTES\",\"shape\":[1,%d],\"data\":[",
                         a->classification);
        for (int i = 0; i < a->classification; i++) {
            char item[160];
            const char *label = nn_label(o->model, order[i]);
            snprintf(item, sizeof item, "%f:%d:%s", (double)p[order[i]], order[i], label);
            rc |= buf_append_str(out, i ? "," : "");
            rc |= buf_append_json_str(out, item, strlen(item));
        }
    }
    rc |= buf_append_str(out, "]}]}\n");
    return rc ? -1 : 0;
}

/* ---- routes -------------------------------------------------------------------------------------------- */

static bool next_segment(struct http_str *rest, struct http_str *seg)
{
    if (rest->len == 0 || rest->p[0] != '/')
        return false;
    size_t n = 1;
    while (n < rest->len && rest->p[n] != '/')
        n++;
    *seg = http_str_from(rest->p + 1, n - 1);
    *rest = http_str_from(rest->p + n, rest->len - n);
    return true;
}

static bool method_is(struct srv_conn *c, struct srv_request *r, bool post)
{
    struct http_str m = r->http.method;
    if (post ? http_str_eq(m, "POST") : http_str_eq(m, "GET") || http_str_eq(m, "HEAD"))
        return true;
    srv_respond_error(c, ERR_METHOD_NOT_ALLOWED, post ? "use POST" : "use GET",
                      post ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n");
    return false;
}

struct infer_job *oip_handle(struct oip *o, struct srv_conn *c, struct srv_request *r)
{
    struct http_str rest = http_str_from(r->http.path.p + 3, r->http.path.len - 3), seg, name, what = { "", 0 };
    if (rest.len == 0) { /* GET /v2: server metadata */
        if (method_is(c, r, false))
            answer_json(c, "{\"name\":\"imgrec\",\"version\":\"1\",\"extensions\":[\"classification\","
                           "\"binary_tensor_data\"]}\n");
        return NULL;
    }
    enum oip_health health = oip_health_path(r->http.path);
    if (health != OIP_NOT_HEALTH) {
        oip_answer_health(c, r, health == OIP_LIVE || iq_running(o->queue), NULL);
        return NULL;
    }
    next_segment(&rest, &seg);
    if (!http_str_eq(seg, "models") || !next_segment(&rest, &name)) {
        refuse(c, ERR_NOT_FOUND, "no such endpoint: try GET /v2/models/" OIP_MODEL_NAME);
        return NULL;
    }
    if (!http_str_eq(name, OIP_MODEL_NAME)) {
        refuse(c, ERR_MODEL_NOT_FOUND, "unknown model '%.*s': this server has '" OIP_MODEL_NAME "'",
               (int)(name.len > 64 ? 64 : name.len), name.p);
        return NULL;
    }
    struct http_str version;
    struct http_str after_name = rest;
    if (next_segment(&rest, &seg) && http_str_eq(seg, "versions")) {
        if (!next_segment(&rest, &version) || !http_str_eq(version, OIP_MODEL_VERSION)) {
            refuse(c, ERR_MODEL_NOT_FOUND, "model '" OIP_MODEL_NAME "' has version '" OIP_MODEL_VERSION "' only");
            return NULL;
        }
    } else {
        rest = after_name;
    }
    if (rest.len > 0 && (!next_segment(&rest, &what) || rest.len > 0)) {
        refuse(c, ERR_NOT_FOUND, "no such endpoint under /v2/models/" OIP_MODEL_NAME);
        return NULL;
    }
    if (what.len == 0) {
        if (method_is(c, r, false))
            model_metadata(o, c);
    } else if (http_str_eq(what, "ready")) {
        oip_answer_health(c, r, iq_running(o->queue), NULL);
    } else if (http_str_eq(what, "infer")) {
        if (method_is(c, r, true))
            return infer(o, c, r);
    } else {
        refuse(c, ERR_NOT_FOUND, "no such endpoint: the model has metadata, /ready and /infer");
    }
    return NULL;
}
