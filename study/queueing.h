/* queueing: predictions for the load study.  Times in milliseconds, rates per millisecond.
 *
 * The balancer picks a backend uniformly at random, so c workers behave as c independent M/G/1 queues
 * each fed lambda/c (a Poisson stream split at random stays Poisson).  That is the model we use for the
 * table; M/G/c (one shared queue, what a join-the-idle-worker balancer would give) is here to show how much
 * random splitting costs.  Service time S is given by its mean and squared coefficient of variation scv
 * (0 = deterministic, i.e. M/D/1). */
#ifndef STUDY_QUEUEING_H
#define STUDY_QUEUEING_H

enum q_model {
    Q_RANDOM_SPLIT, /* c x M/G/1, each with rate lambda/c; c = 1 is plain M/G/1 (M/D/1 when scv = 0) */
    Q_SHARED_QUEUE, /* M/G/c, Allen-Cunneen: Wq = (1 + scv)/2 * Wq(M/M/c) */
};

struct q_prediction {
    double rho;     /* utilisation per worker, lambda S / c */
    int stable;     /* rho < 1 */
    double wait_ms; /* mean time in queue */
    double mean_ms; /* mean response time = wait + S */
    double p99_ms;  /* 99th percentile of response time (tail approximation, see q_wait_quantile) */
};

/* Pollaczek-Khinchine mean wait of M/G/1: lambda E[S^2] / (2 (1 - rho)); INFINITY when rho >= 1. */
double q_mg1_wait(double lambda, double s, double scv);
/* Erlang C: probability an arrival waits in M/M/c with offered load a = lambda S (erlangs); 1 if a >= c. */
double q_erlang_c(int c, double a);
/* Mean wait of M/G/c by the Allen-Cunneen approximation; INFINITY when lambda S >= c. */
double q_mgc_wait(double lambda, double s, double scv, int c);
/* Quantile q (e.g. 0.99) of the wait when P(wait > t) = pw exp(-theta t) (exact for M/M/c with
 * theta = pw / E[wait]; for M/G/1 the tail's true decay rate comes from q_mg1_decay). */
double q_wait_quantile(double pw, double theta, double q);
/* Decay rate theta of the M/G/1 waiting-time tail, P(W > t) ~ rho exp(-theta t): the positive root of
 * lambda (M_S(theta) - 1) = theta (Cramer-Lundberg), with S taken as gamma-distributed with the given
 * mean and scv (scv 0: deterministic, exp(theta S); scv 1: exponential, theta = mu - lambda).
 * Returns 0 when rho >= 1. */
double q_mg1_decay(double lambda, double s, double scv);
/* Mean wait over a run of run_ms that starts empty, when rho >= 1 or the steady state is out of reach:
 * the workload as a reflected Brownian motion with drift (rho - 1) and variance lambda E[S^2] per ms,
 * averaged over arrival times: (rho - 1)+ run / 2 + (2/3) sqrt(2 lambda E[S^2] run / pi). */
double q_finite_run_wait(double lambda, double s, double scv, double run_ms);

/* Prediction for c workers at arrival rate lambda.  When the system is overloaded (rho >= 1) the
 * steady state does not exist; run_ms > 0 then gives the answer for a run of that length (a measured
 * run starts empty, so near rho = 1 it cannot reach the steady state either: the smaller of the two is
 * used).  run_ms = 0: steady state only (INFINITY when overloaded).  Returns 0 or -1 for bad arguments. */
int q_predict(enum q_model model, double lambda, double s, double scv, int c, double run_ms,
              struct q_prediction *out);

/* Smallest c in 1..max_c whose predicted p99 under the model is at most p99_ms; -1 if none. */
int q_workers_needed(enum q_model model, double lambda, double s, double scv, double p99_ms, int max_c);

#endif
