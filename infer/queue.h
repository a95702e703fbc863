/* infer_queue: the worker's one inference thread and its bounded FIFO of jobs.
 *
 * The loop thread acquires a job (NULL when capacity jobs are already waiting: the caller answers 503),
 * points it at the image bytes, and submits it.  The inference thread classifies jobs one at a time in
 * arrival order and posts each back to the loop thread, where done(job) runs; the caller then releases
 * it.  Jobs are allocated once at creation: nothing is allocated per request.
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

struct infer_job {
    /* set by the caller before iq_submit */
    const void *bytes;
    size_t len;
    void *owner;              /* the caller's context (e.g. the connection) */
    uint64_t budget_ms;       /* the answer is wanted only this long after iq_submit; 0 = no limit */
    bool (*still_wanted)(void *owner); /* NULL, or asked on the inference thread just before the job
                                          runs: false = the caller is gone (thread-safe, owner only) */
    /* filled by the inference thread */
    int rc;                   /* 0, a negative enum nn_error, or IQ_ABANDONED (not run: nobody waits) */
    struct nn_result result;
    char err[256];
    double queued_ms;         /* time spent waiting for the inference thread */
    double total_ms;          /* submit to done (set on the loop thread just before done runs) */
    /* private */
    struct infer_queue *queue;
    struct loop_task task;
    struct infer_job *next;
    uint64_t submitted_ns;
};

typedef void iq_done_fn(struct infer_job *job, void *data);

struct infer_queue;

/* Starts the inference thread on model m (owned by the queue from now on; freed by iq_destroy).
 * capacity: how many jobs may wait behind the one running.  NULL on failure. */
struct infer_queue *iq_create(struct loop *l, struct nn_model *m, int capacity, iq_done_fn *done, void *data);
/* Stops the thread (after the job it is running) and frees everything.  Unfinished jobs are dropped. */
void iq_destroy(struct infer_queue *q);

/* Loop thread only. */
struct infer_job *iq_acquire(struct infer_queue *q);
void iq_submit(struct infer_queue *q, struct infer_job *job);
void iq_release(struct infer_queue *q, struct infer_job *job);
/* Jobs waiting or running. */
int iq_depth(const struct infer_queue *q);
/* True once the inference thread has started (any thread). */
bool iq_running(const struct infer_queue *q);
/* Jobs dropped unrun so far (loop thread). */
uint64_t iq_abandoned(const struct infer_queue *q);

#endif
