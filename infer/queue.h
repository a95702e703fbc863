/* infer_queue: the worker's pipeline behind one bounded FIFO of jobs.
 *
 *   loop thread --submit--> pending --decoder threads--> ready --engine threads--> done (loop thread)
 *
 * Decoder threads decode and resize a job's picture into a tensor slot; engine threads (one model each:
 * a model runs one pass at a time) take up to batch_max decoded jobs at once and run them as one batched
 * forward pass (nn_classify_batch), so a worker's throughput is set by the slower stage, not by the sum
 * of both.  Each finished job is posted back to the
 * loop thread, where done(job) runs; the caller then releases it.
 *
 * Bounds: at most capacity jobs wait in pending beyond the ones being decoded or run (iq_acquire returns
 * NULL past that: the caller answers 503).  Tensor slots (NN_INPUT_SIZE^2 x 3 floats each) number
 * decoders + engines x batch_max, so decoding never runs ahead of the engines by more than that, and at
 * most `decoders` pictures are decoded at once (each decode holds its full-size picture until it ends).
 * Jobs and slots are allocated once at creation: nothing is allocated per request by the queue.
 *
 * The image bytes must stay valid until done runs (they live in the request's connection buffer, which
 * the server keeps until the request is answered). */
#ifndef SVC_INFER_QUEUE_H
#define SVC_INFER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"
#include "nn/nn.h"

#define IQ_ABANDONED 1 /* job->rc of a job dropped unrun: past its deadline or its caller gone */

/* How a decoder turns a job's bytes into the network's input (nn_image_to_tensor's shape: 0 or a negative
 * enum nn_error with err filled).  Runs on a decoder thread. */
typedef int iq_tensor_fn(const void *bytes, size_t len, float *tensor, char *err, size_t errlen);

struct infer_job {
    /* set by the caller before iq_submit */
    const void *bytes;
    size_t len;
    void *owner;              /* the caller's context (e.g. the connection) */
    uint64_t budget_ms;       /* the answer is wanted only this long after iq_submit; 0 = no limit */
    bool (*still_wanted)(void *owner); /* NULL, or asked (by a decoder, then an engine) just before the job
                                          is decoded and run: false = the caller is gone (thread-safe) */
    iq_tensor_fn *to_tensor;  /* NULL: bytes are an encoded picture (nn_image_to_tensor) */
    bool want_probs;          /* copy the whole softmax into probs */
    int tag;                  /* the caller's: which answer the job gets (the queue never reads it) */
    /* filled by the pipeline */
    int rc;                   /* 0, a negative enum nn_error, or IQ_ABANDONED (not run: nobody waits) */
    struct nn_result result;  /* decode_ms and inference_ms are the job's own stages */
    char err[256];
    double queued_ms;         /* time spent waiting: for a decoder, then for an engine */
    int batch;                /* how many jobs the engine ran together with this one (it included); 0 if
                                 the picture never reached an engine */
    double total_ms;          /* submit to done (set on the loop thread just before done runs) */
    float *probs;             /* nn_num_classes floats owned by the queue, filled when want_probs */
    /* private */
    struct infer_queue *queue;
    struct loop_task task;
    struct infer_job *next;
    float *tensor;
    uint64_t submitted_ns, decoded_ns;
};

typedef void iq_done_fn(struct infer_job *job, void *data);

struct iq_config {
    int capacity;             /* jobs that may wait beyond those in a stage (the worker's --queue) */
    int decoders;             /* decoder threads, >= 1 */
    int engines;              /* engine threads, >= 1: one model each */
    int batch_max;            /* jobs an engine takes at once, >= 1 */
    int batch_delay_ms;       /* how long an engine holding fewer than batch_max waits for more (0: never) */
};

struct infer_queue;

/* Starts the threads.  models: cfg->engines models, owned by the queue from now on (freed by iq_destroy,
 * also on failure), each given room for batches of batch_max (nn_set_max_batch; at most NN_BATCH_MAX).
 * NULL on failure. */
struct infer_queue *iq_create(struct loop *l, struct nn_model **models, const struct iq_config *cfg,
                              iq_done_fn *done, void *data);
/* Stops the threads (after the jobs they are running) and frees everything.  Unfinished jobs are dropped. */
void iq_destroy(struct infer_queue *q);

/* Loop thread only. */
struct infer_job *iq_acquire(struct infer_queue *q);
void iq_submit(struct infer_queue *q, struct infer_job *job);
void iq_release(struct infer_queue *q, struct infer_job *job);
/* Jobs waiting or in a stage. */
int iq_depth(const struct infer_queue *q);
/* Any thread: the most pictures decoded at once so far (never above cfg.decoders). */
int iq_peak_decoding(struct infer_queue *q);
/* True once an engine thread has started (any thread). */
bool iq_running(const struct infer_queue *q);
/* Jobs dropped unrun so far (loop thread). */
uint64_t iq_abandoned(const struct infer_queue *q);
/* How many jobs the pool holds, and job's place in it (0 .. count-1): lets a caller keep per-job state
 * of its own in an array allocated once. */
int iq_job_count(const struct infer_queue *q);
int iq_job_index(const struct infer_queue *q, const struct infer_job *job);

/* For metrics (loop thread; takes the queue's lock once).  Engine threads count their own batches and
 * busy state (one writer each, relaxed atomics): nothing is shared on the request path. */
#define IQ_BATCH_SIZES 64 /* batch_max's upper bound */
struct iq_stats {
    int in_pipeline;          /* jobs acquired and not released (iq_depth) */
    int waiting;              /* of them, waiting for a decoder or an engine */
    int decoding;             /* being decoded now */
    int engines_busy;         /* engines running a batch now */
    uint64_t full;            /* iq_acquire calls that found the queue full (the caller answered 503) */
    uint64_t batches[IQ_BATCH_SIZES]; /* batches[n-1]: batches of n jobs run so far */
};
void iq_stats(struct infer_queue *q, struct iq_stats *out);

#endif
