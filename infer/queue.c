/* infer_queue: one inference thread fed by a bounded FIFO (see infer_queue.h). */
#define _GNU_SOURCE
#include "infer/queue.h"
#include "net/clock.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct infer_queue {
    struct loop *loop;
    struct nn_model *model;
    iq_done_fn *done;
    void *data;
    struct infer_job *jobs;    /* capacity + 1 of them: the waiting ones and the running one */
    struct infer_job *free;    /* loop thread only */
    int in_use;                /* loop thread only */
    pthread_mutex_t lock;      /* guards head, tail, stopping */
    pthread_cond_t wake;
    struct infer_job *head, *tail;
    bool stopping;
    pthread_t thread;
};

/* On the loop thread: hand the finished job to the program. */
static void on_job_done(struct loop *l, void *data)
{
    (void)l;
    struct infer_job *job = data;
    job->total_ms = (double)(clock_now_ns() - job->submitted_ns) / 1e6;
    job->queue->done(job, job->queue->data);
}

static void *inference_thread(void *arg)
{
    struct infer_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->wake, &q->lock);
        if (q->stopping) {
            pthread_mutex_unlock(&q->lock);
            return NULL;
        }
        struct infer_job *job = q->head;
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);

        job->queued_ms = (double)(clock_now_ns() - job->submitted_ns) / 1e6;
        job->err[0] = '\0';
        job->rc = nn_classify_image(q->model, job->bytes, job->len, NN_TOPK_MAX, &job->result, job->err,
                                    sizeof job->err);
        loop_post(q->loop, &job->task, on_job_done, job);
    }
}

struct infer_queue *iq_create(struct loop *l, struct nn_model *m, int capacity, iq_done_fn *done, void *data)
{
    struct infer_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->jobs = calloc((size_t)capacity + 1, sizeof *q->jobs);
    if (!q->jobs || pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q->jobs);
        free(q);
        return NULL;
    }
    pthread_cond_init(&q->wake, NULL);
    q->loop = l;
    q->model = m;
    q->done = done;
    q->data = data;
    for (int i = 0; i <= capacity; i++) {
        q->jobs[i].queue = q;
        q->jobs[i].next = q->free;
        q->free = &q->jobs[i];
    }
    if (pthread_create(&q->thread, NULL, inference_thread, q) != 0) {
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->lock);
        free(q->jobs);
        free(q);
        return NULL;
    }
    return q;
}

void iq_destroy(struct infer_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    nn_free(q->model);
    free(q->jobs);
    free(q);
}

struct infer_job *iq_acquire(struct infer_queue *q)
{
    struct infer_job *job = q->free;
    if (!job)
        return NULL;
    q->free = job->next;
    q->in_use++;
    job->next = NULL;
    return job;
}

void iq_submit(struct infer_queue *q, struct infer_job *job)
{
    job->submitted_ns = clock_now_ns();
    job->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    pthread_cond_signal(&q->wake);
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
