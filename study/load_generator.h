/* load: the open-loop Poisson load generator (study 3).
 *
 * Arrival instants are drawn in advance from exponential gaps (seeded), and each request is sent at its
 * instant whatever happened to the earlier ones: many requests are in flight when the service is slow.
 * A request's RTT counts from its scheduled instant, so a late send (a busy client) is charged to the
 * measurement rather than hidden.  Arrivals are grouped into windows of equal length; windows repeat
 * until two in a row have mean RTTs within the tolerance, or max_windows is reached (overload). */
#ifndef STUDY_LOAD_H
#define STUDY_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "study/stats.h"

#define LOAD_MAX_WINDOWS 16
#define LOAD_MAX_STEPS 8

/* A change of arrival rate during a run: from at_s (seconds after the start) the mean gap is interval_ms. */
struct load_step {
    double at_s;
    double interval_ms;
};

struct load_config {
    double interval_ms;  /* mean gap between arrivals (1 / rate); at most 1e12 (load_run refuses more) */
    double window_s;     /* length of a window in arrival time; at most 1e9 */
    long count;          /* > 0: instead, one window of exactly this many arrivals */
    int max_windows;     /* 1..LOAD_MAX_WINDOWS */
    double tolerance;    /* e.g. 0.10 */
    uint64_t seed;
    double timeout_ms;   /* per request; at most 1e12 */
    int max_conns;       /* requests in flight at most; an arrival finding none free is "dropped" */
    int nsteps;          /* 0..LOAD_MAX_STEPS: the mean gap changes at steps[i].at_s (ascending, > 0) */
    struct load_step steps[LOAD_MAX_STEPS];
};

/* One arrival of a run, for a trace over time (the step study). */
struct load_sample {
    double at_s;   /* scheduled instant, seconds after the start */
    double rtt_ms; /* from that instant to the answer */
    int status;    /* HTTP status; -1 failed; -2 dropped */
};

struct load_result {
    struct summary rtt;      /* RTTs (ms) of the 200 answers in the reported windows */
    long sent, ok;           /* arrivals in the reported windows, and how many got 200 */
    long http_errors;        /* answered with another status (e.g. 503 when a worker queue is full) */
    long failed;             /* transport errors and timeouts */
    long dropped;            /* no free connection at the arrival instant */
    double offered_rps;      /* arrivals / arrival span */
    double throughput_rps;   /* 200 answers / (first arrival .. last answer) */
    double run_s;            /* arrival span from the very first window */
    double from_s, to_s;     /* arrival times (from the run's start) the summary covers */
    int windows;             /* windows measured */
    int reported_from;       /* first window in the summary (the last two when stable, else 0) */
    int stable;              /* two consecutive windows agreed */
    double window_mean_ms[LOAD_MAX_WINDOWS];
    double service_ms, service_scv; /* the workers' own decode + inference for those answers (0: unknown) */
    char last_error[64];     /* the last transport error or non-200 status, "" if none */
};

/* Runs the load against host:port sending req[0..len) (one prebuilt request, its head req[0..head_len)).
 * Returns 0, or -1 with err filled when it could not run at all. */
int load_run(const char *host, int port, const char *req, size_t head_len, size_t len, const struct load_config *cfg,
             struct load_result *out, char *err, size_t errlen);
/* The same, and every arrival in *samples (malloc'ed, *nsamples of them, in arrival order; the caller
 * frees it; NULL when there were none). */
int load_run_samples(const char *host, int port, const char *req, size_t head_len, size_t len,
                     const struct load_config *cfg, struct load_result *out, struct load_sample **samples,
                     long *nsamples, char *err, size_t errlen);

#endif
