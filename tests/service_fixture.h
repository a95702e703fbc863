/* service_fixture: a whole service for integration tests — two workers and a balancer on free ports of
 * 127.0.0.1, started from IMGREC_BIN with the model IMGREC_MODEL and the page IMGREC_WWW, plus a
 * scratch folder (logs, a results folder with one study).  Start it in an unchecked fixture; every
 * process dies with the test program even if it crashes. */
#ifndef TESTS_SERVICE_FIXTURE_H
#define TESTS_SERVICE_FIXTURE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct service {
    int worker_port[2];
    char worker_id[2][64];     /* what each worker reports as "worker" */
    int balancer_port;
    char dir[256];             /* scratch folder: logs, results/ */
    char results[PATH_MAX];    /* results folder given to the balancer (holds study "demo") */
};

/* Environment variable or abort with a clear message (tests get them from the Makefile). */
const char *fx_env(const char *name);
/* IMGREC_BIN/<prog> into out. */
void fx_bin(const char *prog, char *out, size_t cap);

/* Starts workers and balancer and waits until all answer /healthz.  0, or -1 (message on stderr). */
int service_start(struct service *s);
/* Stops every process it started and removes the scratch folder. */
void service_stop(struct service *s);

/* Starts one more balancer on a free port with the given backends ("127.0.0.1:P" each), extra args
 * (NULL-terminated, may be NULL), waits for /healthz.  Returns its port or -1. */
int service_extra_balancer(struct service *s, const char *const backends[], int n, const char *const extra[]);
/* Starts one more worker with extra args (NULL-terminated, may be NULL).  Returns its port or -1. */
int service_extra_worker(struct service *s, const char *const extra[]);
/* Starts a worker on the given port; its pid goes to *pid.  0, or -1. */
int service_worker_on(struct service *s, int port, pid_t *pid);
/* A worker of its own (port and pid out) behind one more balancer with extra args (NULL-terminated, may be
 * NULL): for tests that stop that worker.  Returns the balancer's port or -1. */
int service_balancer_over_own_worker(struct service *s, const char *const extra[], int *worker_port, pid_t *pid);

#endif
