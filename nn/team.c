/* team: lockstep worker threads with a sense-reversing barrier.  See team.h. */
#include "nn/team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_TEAM 64
#define SPINS_BEFORE_YIELD 2000   /* a layer takes microseconds: spin first, yield if the others lag */

struct worker {
    struct nn_team *team;
    int part;
    pthread_t thread;
};

struct nn_team {
    int n;
    nn_team_work *work;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    long generation;           /* bumped by every nn_team_run (under mu) */
    int stopping;
    atomic_int arrived;        /* threads at the current barrier */
    atomic_int sense;          /* flips when the last one arrives */
    int local_sense[MAX_TEAM];
    struct worker workers[MAX_TEAM];
};

void nn_share(int total, int part, int parts, int align, int *begin, int *end)
{
    int blocks = (total + align - 1) / align;
    int b0 = (int)((long)blocks * part / parts), b1 = (int)((long)blocks * (part + 1) / parts);
    *begin = b0 * align < total ? b0 * align : total;
    *end = b1 * align < total ? b1 * align : total;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

void nn_team_barrier(struct nn_team *t, int part)
{
    int s = t->local_sense[part] = !t->local_sense[part];
    if (atomic_fetch_add(&t->arrived, 1) == t->n - 1) {
        atomic_store(&t->arrived, 0);
        atomic_store(&t->sense, s);
        return;
    }
    for (int spins = 0; atomic_load(&t->sense) != s; spins++)
        if (spins > SPINS_BEFORE_YIELD)
            sched_yield();
        else
            cpu_relax();
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct nn_team *t = w->team;
    long seen = 0;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        while (t->generation == seen && !t->stopping)
            pthread_cond_wait(&t->wake, &t->mu);
        int stop = t->stopping;
        seen = t->generation;
        pthread_mutex_unlock(&t->mu);
        if (stop)
            return NULL;
        t->work(t->arg, t, w->part);
        nn_team_barrier(t, w->part); /* the pass is over when everyone is here */
    }
}

struct nn_team *nn_team_start(int n, nn_team_work *work, void *arg)
{
    if (n < 2 || n > MAX_TEAM)
        return NULL;
    struct nn_team *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->n = 1; /* grows as threads start, so a failed start stops exactly those running */
    t->work = work;
    t->arg = arg;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return NULL;
    }
    if (pthread_cond_init(&t->wake, NULL) != 0) {
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    for (int part = 1; part < n; part++) {
        t->workers[part] = (struct worker){ .team = t, .part = part };
        if (pthread_create(&t->workers[part].thread, NULL, worker_main, &t->workers[part]) != 0) {
            nn_team_stop(t);
            return NULL;
        }
        t->n++;
    }
    return t;
}

void nn_team_run(struct nn_team *t)
{
    pthread_mutex_lock(&t->mu);
    t->generation++;
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->mu);
    t->work(t->arg, t, 0);
    nn_team_barrier(t, 0);
}

int nn_team_size(const struct nn_team *t)
{
    return t ? t->n : 1;
}

void nn_team_stop(struct nn_team *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stopping = 1;
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->mu);
    for (int part = 1; part < t->n; part++)
        pthread_join(t->workers[part].thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
