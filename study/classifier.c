/* classifier: a local nn_model or a remote service, behind one pair of calls. */
#include "study/classifier.h"
#include "study/image_encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/buf.h"
#include "net/loop.h"
#include "nn/nn.h"
#include "net/http_client.h"
#include "net/multipart_request.h"
#include "net/url.h"

#define UPLOAD_MAX (64u * 1024 * 1024)

struct classifier {
    struct nn_model *model; /* local, or NULL */
    struct url url;         /* remote: */
    struct loop *loop;
    struct http_client *http;
    struct buf req;
};

struct classifier *classifier_open(const char *model, const char *url, char *err, size_t errlen)
{
    struct classifier *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    buf_init(&c->req, UPLOAD_MAX);
    if (model) {
        c->model = nn_load(model, err, errlen);
        if (c->model)
            return c;
    } else if (url_parse(url, "/submit", &c->url, err, errlen) == 0) {
        struct http_client_opts one = { 1, 0, HTTP_CLIENT_DEFAULT_MAX_RESPONSE };
        c->loop = loop_create(1024);
        if (!c->loop)
            snprintf(err, errlen, "cannot create an event loop");
        else if ((c->http = http_client_create(c->loop, c->url.host, c->url.port, &one, err, errlen)))
            return c;
    }
    classifier_close(c);
    return NULL;
}

void classifier_close(struct classifier *c)
{
    if (!c)
        return;
    nn_free(c->model);
    http_client_free(c->http);
    if (c->loop)
        loop_destroy(c->loop);
    buf_free(&c->req);
    free(c);
}

static int remote(struct classifier *c, const void *bytes, size_t len, const char *name, struct prediction *out,
                  double *rtt_ms, char *err, size_t errlen)
{
    size_t head_len;
    if (mp_request_build(&c->url, "image", bytes, len, name, &c->req, &head_len) < 0) {
        snprintf(err, errlen, "%s: request too large", name);
        return -1;
    }
    const char *req = buf_ptr(&c->req);
    struct http_reply r;
    int rc = http_client_roundtrip(c->http, req, head_len, req + head_len, buf_len(&c->req) - head_len,
                                   CLASSIFIER_TIMEOUT_MS, &r);
    *rtt_ms = (double)r.elapsed_ns / 1e6;
    char why[256];
    if (rc < 0 && r.status == 0) { /* the service failed, not the picture: its detail names the address */
        snprintf(err, errlen, "%s", r.detail);
        rc = r.error == HTTP_CLIENT_CONNECT ? CLASSIFIER_UNREACHABLE : -1;
    } else if (rc < 0)
        snprintf(err, errlen, "%s: %s", name, r.detail);
    else if (prediction_from_json(r.body, r.body_len, out, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: HTTP %d: %s", name, r.status, why);
        rc = -1;
    } else if (r.status != 200) {
        snprintf(err, errlen, "%s: HTTP %d", name, r.status);
        rc = -1;
    }
    http_reply_free(&r);
    return rc;
}

int classifier_bytes(struct classifier *c, const void *bytes, size_t len, const char *name,
                     struct prediction *out, double *rtt_ms, char *err, size_t errlen)
{
    *rtt_ms = -1;
    if (!c->model)
        return remote(c, bytes, len, name, out, rtt_ms, err, errlen);
    struct nn_result r;
    char why[256];
    if (nn_classify_image(c->model, bytes, len, PRED_TOPK, &r, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", name, why);
        return -1;
    }
    prediction_from_nn(&r, out);
    return 0;
}

int classifier_pixels(struct classifier *c, const struct img *im, struct prediction *out, char *err, size_t errlen)
{
    if (im->w != NN_INPUT_SIZE || im->h != NN_INPUT_SIZE) {
        snprintf(err, errlen, "pixels must be %dx%d", NN_INPUT_SIZE, NN_INPUT_SIZE);
        return -1;
    }
    if (c->model) {
        struct nn_result r;
        img_to_tensor(im, nn_input(c->model));
        nn_forward(c->model, PRED_TOPK, &r);
        prediction_from_nn(&r, out);
        return 0;
    }
    unsigned char *png;
    size_t len;
    if (img_encode_png(im, &png, &len) < 0) {
        snprintf(err, errlen, "PNG encoding failed");
        return -1;
    }
    double rtt;
    int rc = remote(c, png, len, "degraded.png", out, &rtt, err, errlen);
    free(png);
    return rc;
}
