/* infer_queue: decoder threads and engine threads behind one bounded FIFO (see queue.h). */
#define _GNU_SOURCE
#include "infer/queue.h"
#include "net/clock.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define TENSOR_FLOATS ((size_t)NN_INPUT_SIZE * NN_INPUT_SIZE * 3)

struct engine {
    struct infer_queue *queue;
    struct nn_model *model;    /* room for batch_max images a pass */
    struct infer_job **batch;  /* batch_max entries each: */
    const float **inputs;      /*   the batch's tensors, */
    struct nn_result *results; /*   and their answers */
    /* written by this engine's thread only, read by iq_stats */
    _Atomic bool busy;
    _Atomic uint64_t batches[IQ_BATCH_SIZES];
};

struct fifo {
    struct infer_job *head, *tail;
    int n;
};

struct infer_queue {
    struct loop *loop;
    struct iq_config cfg;
    iq_done_fn *done;
    void *data;
    struct infer_job *jobs;    /* capacity + slots of them */
    int njobs;
    int nclasses;              /* floats in each job's probs */
    float *probs_mem;          /* njobs x nclasses */
    struct infer_job *free;    /* loop thread only */
    int in_use;                /* loop thread only */
    float *slot_mem;           /* nslots tensors */
    struct engine *engines;
    pthread_t *threads;        /* decoders first, then engines */
    int nthreads;              /* started */
    pthread_mutex_t lock;      /* guards everything below */
    pthread_cond_t decode_cv;  /* pending work and a free slot, or stopping */
    pthread_cond_t engine_cv;  /* ready work, or stopping (CLOCK_MONOTONIC, for the batch delay) */
    struct fifo pending, ready;
    float **free_slots;
    int nfree;
    int decoding, peak_decoding;
    bool stopping;
    bool sync_ready;           /* lock and conds initialised */
    _Atomic bool running;      /* an engine thread has started */
    uint64_t abandoned;        /* loop thread only */
    uint64_t full;             /* iq_acquire found no job free (loop thread only) */
};

static double ms_between(uint64_t from, uint64_t to)
{
    return (double)(to - from) / 1e6;
}

static void fifo_push(struct fifo *f, struct infer_job *job)
{
    job->next = NULL;
    if (f->tail)
        f->tail->next = job;
    else
        f->head = job;
    f->tail = job;
    f->n++;
}

static struct infer_job *fifo_pop(struct fifo *f)
{
    struct infer_job *job = f->head;
    if (job) {
        f->head = job->next;
        if (!f->head)
            f->tail = NULL;
        f->n--;
    }
    return job;
}

/* On the loop thread: hand the finished job to the program. */
static void on_job_done(struct loop *l, void *data)
{
    (void)l;
    struct infer_job *job = data;
    job->total_ms = ms_between(job->submitted_ns, clock_now_ns());
    job->queue->abandoned += job->rc == IQ_ABANDONED;
    job->queue->done(job, job->queue->data);
}

/* Nobody waits for the answer of a job past its budget or whose caller left: it is not computed. */
static bool abandoned(const struct infer_job *job, uint64_t now_ns)
{
    return (job->budget_ms && now_ns - job->submitted_ns > job->budget_ms * 1000000u) ||
           (job->still_wanted && !job->still_wanted(job->owner));
}

static void finish(struct infer_queue *q, struct infer_job *job)
{
    loop_post(q->loop, &job->task, on_job_done, job);
}

static void release_slot(struct infer_queue *q, float *slot)
{
    pthread_mutex_lock(&q->lock);
    q->free_slots[q->nfree++] = slot;
    pthread_cond_signal(&q->decode_cv);
    pthread_mutex_unlock(&q->lock);
}

/* A decoder: the oldest pending job into a free slot, then on to the engines (or back, on error). */
static void *decoder_thread(void *arg)
{
    struct infer_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->stopping && !(q->pending.head && q->nfree > 0))
            pthread_cond_wait(&q->decode_cv, &q->lock);
        if (q->stopping) {
            pthread_mutex_unlock(&q->lock);
            return NULL;
        }
        struct infer_job *job = fifo_pop(&q->pending);
        job->tensor = q->free_slots[--q->nfree];
        if (++q->decoding > q->peak_decoding)
            q->peak_decoding = q->decoding;
        pthread_mutex_unlock(&q->lock);

        uint64_t start = clock_now_ns();
        job->queued_ms = ms_between(job->submitted_ns, start);
        job->err[0] = '\0';
        job->batch = 0;
        memset(&job->result, 0, sizeof job->result);
        iq_tensor_fn *to_tensor = job->to_tensor ? job->to_tensor : nn_image_to_tensor;
        job->rc = abandoned(job, start) ? IQ_ABANDONED
                                        : to_tensor(job->bytes, job->len, job->tensor, job->err, sizeof job->err);
        job->decoded_ns = clock_now_ns();
        job->result.decode_ms = ms_between(start, job->decoded_ns);
        pthread_mutex_lock(&q->lock);
        q->decoding--;
        if (job->rc != 0) {
            q->free_slots[q->nfree++] = job->tensor;
            pthread_cond_signal(&q->decode_cv);
            pthread_mutex_unlock(&q->lock);
            finish(q, job);
            continue;
        }
        fifo_push(&q->ready, job);
        pthread_cond_signal(&q->engine_cv);
        pthread_mutex_unlock(&q->lock);
    }
}

/* Up to batch_max decoded jobs into e->batch: those ready now, and with a batch delay those that become
 * ready before it ends.  Waits for the first.  0 when stopping. */
static int take_batch(struct engine *e)
{
    struct infer_queue *q = e->queue;
    int n = 0;
    pthread_mutex_lock(&q->lock);
    while (!q->stopping && !q->ready.head)
        pthread_cond_wait(&q->engine_cv, &q->lock);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += (long)q->cfg.batch_delay_ms * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    while (!q->stopping && n < q->cfg.batch_max) {
        struct infer_job *job = fifo_pop(&q->ready);
        if (job) {
            e->batch[n++] = job;
            continue;
        }
        if (q->cfg.batch_delay_ms == 0 || pthread_cond_timedwait(&q->engine_cv, &q->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (q->stopping)
        n = 0; /* iq_destroy drops unfinished jobs */
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* The jobs still wanted run as one batched forward pass; each reports the batch it ran in.  Their slots
 * go back to the decoders once the pass is over (it copies its inputs first).  Returns the pass's size
 * (0: every job was abandoned). */
static int run_batch(struct engine *e, int n)
{
    struct infer_queue *q = e->queue;
    uint64_t now = clock_now_ns();
    int m = 0;
    for (int i = 0; i < n; i++) {
        struct infer_job *job = e->batch[i];
        job->queued_ms += ms_between(job->decoded_ns, now);
        if (abandoned(job, now)) { /* its caller left while it waited for an engine */
            release_slot(q, job->tensor);
            job->rc = IQ_ABANDONED;
            finish(q, job);
            continue;
        }
        e->inputs[m] = job->tensor;
        e->batch[m++] = job;
    }
    if (m == 0)
        return 0;
    int rc = nn_classify_batch(e->model, e->inputs, m, NN_TOPK_MAX, e->results);
    for (int i = 0; i < m; i++) {
        struct infer_job *job = e->batch[i];
        release_slot(q, job->tensor);
        double decode_ms = job->result.decode_ms;
        job->result = e->results[i];
        job->result.decode_ms = decode_ms;
        job->rc = rc == 0 ? 0 : NN_ERR_NOMEM; /* never: iq_create gave the model room for batch_max */
        if (rc != 0)
            snprintf(job->err, sizeof job->err, "the engine has no room for a batch of %d", m);
        if (rc == 0 && job->want_probs)
            memcpy(job->probs, nn_batch_probs(e->model, i), (size_t)q->nclasses * sizeof(float));
        job->batch = m;
        finish(q, job);
    }
    return m;
}

static void *engine_thread(void *arg)
{
    struct engine *e = arg;
    e->queue->running = true;
    int n;
    while ((n = take_batch(e)) > 0) {
        atomic_store_explicit(&e->busy, true, memory_order_relaxed);
        int m = run_batch(e, n);
        atomic_store_explicit(&e->busy, false, memory_order_relaxed);
        if (m == 0)
            continue;
        _Atomic uint64_t *count = &e->batches[(m > IQ_BATCH_SIZES ? IQ_BATCH_SIZES : m) - 1];
        atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + 1, memory_order_relaxed);
    }
    return NULL;
}

static int slots_of(const struct iq_config *cfg)
{
    return cfg->decoders + cfg->engines * cfg->batch_max;
}

static void free_models(struct nn_model **models, int n)
{
    for (int i = 0; i < n; i++)
        nn_free(models[i]);
}

struct infer_queue *iq_create(struct loop *l, struct nn_model **models, const struct iq_config *cfg,
                              iq_done_fn *done, void *data)
{
    if (cfg->capacity < 0 || cfg->decoders < 1 || cfg->engines < 1 || cfg->batch_max < 1 || cfg->batch_delay_ms < 0) {
        free_models(models, cfg->engines);
        return NULL;
    }
    struct infer_queue *q = calloc(1, sizeof *q);
    struct engine *engines = calloc((size_t)cfg->engines, sizeof *engines);
    if (!q || !engines) {
        free_models(models, cfg->engines);
        free(engines);
        free(q);
        return NULL;
    }
    *q = (struct infer_queue){ .loop = l, .cfg = *cfg, .done = done, .data = data, .engines = engines };
    bool ok = true;
    char err[128];
    for (int i = 0; i < cfg->engines; i++) { /* from here on iq_destroy frees the models */
        struct engine *e = &engines[i];
        *e = (struct engine){ .queue = q, .model = models[i] };
        e->batch = calloc((size_t)cfg->batch_max, sizeof *e->batch);
        e->inputs = calloc((size_t)cfg->batch_max, sizeof *e->inputs);
        e->results = calloc((size_t)cfg->batch_max, sizeof *e->results);
        ok &= e->batch && e->inputs && e->results && nn_set_max_batch(e->model, cfg->batch_max, err, sizeof err) == 0;
    }
    int nslots = slots_of(cfg), njobs = cfg->capacity + nslots;
    q->njobs = njobs;
    q->nclasses = nn_num_classes(models[0]);
    q->jobs = calloc((size_t)njobs, sizeof *q->jobs);
    q->probs_mem = malloc((size_t)njobs * (size_t)q->nclasses * sizeof(float));
    q->slot_mem = malloc((size_t)nslots * TENSOR_FLOATS * sizeof(float));
    q->free_slots = calloc((size_t)nslots, sizeof *q->free_slots);
    q->threads = calloc((size_t)(cfg->decoders + cfg->engines), sizeof *q->threads);
    ok &= q->jobs && q->probs_mem && q->slot_mem && q->free_slots && q->threads;
    pthread_condattr_t attr;
    if (ok && pthread_condattr_init(&attr) == 0) {
        q->sync_ready = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
                        pthread_mutex_init(&q->lock, NULL) == 0 && pthread_cond_init(&q->engine_cv, &attr) == 0 &&
                        pthread_cond_init(&q->decode_cv, NULL) == 0;
        pthread_condattr_destroy(&attr);
    }
    if (!q->sync_ready) {
        iq_destroy(q);
        return NULL;
    }
    for (int i = 0; i < njobs; i++) {
        q->jobs[i].queue = q;
        q->jobs[i].probs = q->probs_mem + (size_t)i * (size_t)q->nclasses;
        q->jobs[i].next = q->free;
        q->free = &q->jobs[i];
    }
    for (int i = 0; i < nslots; i++)
        q->free_slots[q->nfree++] = q->slot_mem + (size_t)i * TENSOR_FLOATS;
    for (int i = 0; i < cfg->decoders + cfg->engines; i++) {
        int rc = i < cfg->decoders ? pthread_create(&q->threads[i], NULL, decoder_thread, q)
                                   : pthread_create(&q->threads[i], NULL, engine_thread, &engines[i - cfg->decoders]);
        if (rc != 0) {
            iq_destroy(q);
            return NULL;
        }
        q->nthreads++;
    }
    return q;
}

void iq_destroy(struct infer_queue *q)
{
    if (!q)
        return;
    if (q->sync_ready) {
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->decode_cv);
        pthread_cond_broadcast(&q->engine_cv);
        pthread_mutex_unlock(&q->lock);
        for (int i = 0; i < q->nthreads; i++)
            pthread_join(q->threads[i], NULL);
        pthread_cond_destroy(&q->decode_cv);
        pthread_cond_destroy(&q->engine_cv);
        pthread_mutex_destroy(&q->lock);
    }
    for (int i = 0; i < q->cfg.engines; i++) {
        nn_free(q->engines[i].model);
        free(q->engines[i].batch);
        free(q->engines[i].inputs);
        free(q->engines[i].results);
    }
    free(q->engines);
    free(q->threads);
    free(q->free_slots);
    free(q->slot_mem);
    free(q->jobs);
    free(q->probs_mem);
    free(q);
}

struct infer_job *iq_acquire(struct infer_queue *q)
{
    struct infer_job *job = q->free;
    if (!job) {
        q->full++;
        return NULL;
    }
    q->free = job->next;
    q->in_use++;
    job->next = NULL;
    job->budget_ms = 0;
    job->still_wanted = NULL;
    job->to_tensor = NULL;
    job->want_probs = false;
    job->tag = 0;
    return job;
}

void iq_submit(struct infer_queue *q, struct infer_job *job)
{
    job->submitted_ns = clock_now_ns();
    pthread_mutex_lock(&q->lock);
    fifo_push(&q->pending, job);
    pthread_cond_signal(&q->decode_cv);
    pthread_mutex_unlock(&q->lock);
}

void iq_release(struct infer_queue *q, struct infer_job *job)
{
    job->next = q->free;
    q->free = job;
    q->in_use--;
}

int iq_depth(const struct infer_queue *q)
{
    return q->in_use;
}

int iq_peak_decoding(struct infer_queue *q)
{
    pthread_mutex_lock(&q->lock);
    int peak = q->peak_decoding;
    pthread_mutex_unlock(&q->lock);
    return peak;
}

bool iq_running(const struct infer_queue *q)
{
    return q->running;
}

uint64_t iq_abandoned(const struct infer_queue *q)
{
    return q->abandoned;
}

void iq_stats(struct infer_queue *q, struct iq_stats *out)
{
    *out = (struct iq_stats){ .in_pipeline = q->in_use, .full = q->full };
    pthread_mutex_lock(&q->lock);
    out->waiting = q->pending.n + q->ready.n;
    out->decoding = q->decoding;
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->cfg.engines; i++) {
        struct engine *e = &q->engines[i];
        out->engines_busy += atomic_load_explicit(&e->busy, memory_order_relaxed);
        for (int k = 0; k < IQ_BATCH_SIZES; k++)
            out->batches[k] += atomic_load_explicit(&e->batches[k], memory_order_relaxed);
    }
}

int iq_job_count(const struct infer_queue *q)
{
    return q->njobs;
}

int iq_job_index(const struct infer_queue *q, const struct infer_job *job)
{
    return (int)(job - q->jobs);
}
