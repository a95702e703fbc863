/* oip: the Open Inference Protocol (KServe v2 REST, with Triton's classification and binary-data
 * extensions) on the worker, in front of the same pipeline as POST /predict.
 *
 *   GET  /v2                                   server metadata (name, version, extensions)
 *   GET  /v2/health/live                       200 while the process serves
 *   GET  /v2/health/ready                      200 once the model is loaded and an engine thread runs, else 400
 *   GET  /v2/models/mobilenet_v2[/versions/1]  model metadata: inputs and outputs with datatype and shape
 *   GET  /v2/models/mobilenet_v2[/versions/1]/ready
 *   POST /v2/models/mobilenet_v2[/versions/1]/infer
 *
 * An infer request gives exactly one input:
 *   "image"  BYTES [1]: the encoded picture (JPEG, PNG ...).  In JSON a BYTES element is a string taken as
 *            its bytes (the spec's rule), so a binary picture goes either base64 in the string with the
 *            input's "parameters":{"content_type":"base64"}, or raw after the JSON with Triton's binary
 *            data extension (Inference-Header-Content-Length: <JSON bytes>, the input's
 *            "parameters":{"binary_data_size":N}, the element as a 4-byte little-endian length + bytes).
 *   "pixels" UINT8 [1,224,224,3]: RGB pixels, row-major (flat or nested "data", or binary as above: 150528
 *            raw bytes).  Only the x = pixel/127.5 - 1 step runs before the network.
 * The answer is output "probabilities", FP32 [1,1001] (index 0 = background, i = ImageNet class i-1), or
 * with the output's "parameters":{"classification":K} BYTES [1,K] strings "prob:index:label" (index into
 * those 1001, most probable first, prob with 6 decimals).  Errors are {"error":"message"} (the server's
 * message-shaped error body) with the status the error table gives: 400 bad JSON, wrong datatype or shape,
 * missing or unknown input, an empty picture; 404 unknown model or version; 413/415 for pictures as on
 * /predict; 503 when the queue is full.
 *
 * Parsing runs on the loop thread: the text is walked once with net/json_read (never allocating), then the
 * one input's data is decoded in place into the request body (base64 → bytes, numbers → one byte each:
 * the output never overtakes the text), so the job's bytes live in the request buffer like /predict's. */
#ifndef INFER_OIP_H
#define INFER_OIP_H

#include <stdbool.h>

#include "infer/queue.h"
#include "net/buf.h"
#include "net/http.h"
#include "net/oip.h"
#include "net/server.h"
#include "nn/nn.h"

#define OIP_MODEL_NAME "mobilenet_v2"
#define OIP_MODEL_VERSION "1"
#define OIP_TAG 1 /* infer_job.tag of a protocol request */

struct oip_pending; /* what one job's answer needs (id, classification count) */

struct oip {
    struct infer_queue *queue;
    const struct nn_model *model; /* labels and class count: owned by the queue's engine */
    const char *worker;           /* how answers name this worker (the caller's, lives as long) */
    int nclasses;
    struct oip_pending *pending;  /* one per job of the queue (iq_job_index) */
};

/* 0, or -1 when out of memory.  model: one of the queue's (only read). */
int oip_init(struct oip *o, struct infer_queue *q, const struct nn_model *model, const char *worker);
void oip_free(struct oip *o);

/* Answers a protocol request, except a well-formed infer request: then the job (acquired from the queue,
 * bytes and tag set) comes back for the caller to submit with its deadline rules.  NULL when answered. */
struct infer_job *oip_handle(struct oip *o, struct srv_conn *c, struct srv_request *r);

/* The answer to a protocol job that ran (job->rc == 0) into out (replaced).  0 or -1 (out too small). */
int oip_format(struct oip *o, const struct infer_job *job, struct buf *out);

#endif
