/* queueing: predictions for the load study.  Times in milliseconds, rates per millisecond.
 *
 * The balancer picks a backend uniformly at random, so c workers behave as c independent M/G/1 queues
 * each fed lambda/c (a Poisson stream split at random stays Poisson).  That is the model we use for the
 * table; M/G/c (one shared queue, what a join-the-idle-worker balancer would give) is here to show how much
 * random splitting costs.  Service time S is given by its mean and squared coefficient of variation scv
 * (0 = deterministic, i.e. M/D/1). */
#ifndef STUDY_QUEUEING_H
#define STUDY_QUEUEING_H

/* One model per balancing policy (balancer --policy, from the failover work):
 *   random       Q_RANDOM_SPLIT: a Poisson stream split at random stays Poisson, so the c queues are exact
 *                independent M/G/1s.
 *   least        Q_SHARED_QUEUE: sending to the backend with the fewest requests in flight keeps no worker
 *                idle while another has a queue, which is close to one shared queue, M/G/c (Allen-Cunneen);
 *                it is a lower bound (a job waiting at one worker cannot move to another that frees up).
 *   p2c          Q_TWO_CHOICES: the power-of-two-choices mean-field limit (Mitzenmacher's supermarket
 *                model): the fraction of workers holding at least k jobs is rho^(2^k - 1), so by Little
 *                the mean response is S * sum_{k>=1} rho^(2^k - 2); exact for exponential service as c
 *                grows, the wait scaled by (1 + scv)/2 as Allen-Cunneen does for other service times.  An
 *                arrival waits when both sampled workers are busy: rho^2.  With c = 1 it is M/G/1.  With few
 *                workers the limit can fall below M/G/c, which no policy beats; the prediction is then M/G/c
 *                (at c = 2 the two samples are both workers: p2c is join-the-shortest-queue).
 *   round-robin  Q_ROUND_ROBIN: each worker sees every c-th arrival, Erlang-c gaps (scv 1/c): GI/G/1 by
 *                Kingman, Wq = (1/c + scv)/2 * rho/(1 - rho) * S. */
enum q_model {
    Q_RANDOM_SPLIT, /* c x M/G/1, each with rate lambda/c; c = 1 is plain M/G/1 (M/D/1 when scv = 0) */
    Q_SHARED_QUEUE, /* M/G/c, Allen-Cunneen: Wq = (1 + scv)/2 * Wq(M/M/c) */
    Q_TWO_CHOICES,  /* power of two choices, mean field */
    Q_ROUND_ROBIN,  /* c x E_c/G/1, Kingman */
};

/* The model of a policy name (random, least, p2c, round-robin); -1 for any other name. */
int q_model_of_policy(const char *policy);

struct q_prediction {
    double rho;     /* utilisation per worker, lambda S / c */
    int stable;     /* rho < 1 */
    double wait_ms; /* mean time in queue */
    double mean_ms; /* mean response time = wait + S */
    double p50_ms;  /* median response time (the same tail approximation; S when most arrivals do not wait) */
    double p99_ms;  /* 99th percentile of response time (tail approximation, see q_wait_quantile) */
    double throughput; /* answers per ms: lambda, or c / S when overloaded with bounded queues */
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
/* A measured run: it starts with empty queues, and its statistics cover the requests that arrived
 * between from_ms and to_ms.  max_wait_ms > 0 when a full worker queue refuses arrivals (503): no
 * admitted request then waits longer than about queue bound x S. */
struct q_run {
    double from_ms, to_ms;
    double max_wait_ms;
};

/* Mean wait, over arrivals in [from, to], of a queue fed lambda that starts empty: the workload as a
 * reflected Brownian motion with drift (rho - 1)+ and variance lambda E[S^2] per ms, so an arrival at t
 * waits about (rho - 1)+ t + sqrt(2 lambda E[S^2] t / pi), capped at max_wait_ms.  (Over [0, T] with no
 * cap that averages to (rho - 1)+ T / 2 + (2/3) sqrt(2 lambda E[S^2] T / pi).) */
double q_run_wait(double lambda, double s, double scv, const struct q_run *run);

/* Prediction for c workers at arrival rate lambda.  run NULL: the steady state (INFINITY when
 * overloaded).  With a run, the smaller of the steady state and the run's bound (a run that starts empty
 * cannot reach a steady state near rho = 1, and has none beyond it).  Returns 0 or -1 for bad arguments. */
int q_predict(enum q_model model, double lambda, double s, double scv, int c, const struct q_run *run,
              struct q_prediction *out);

/* Smallest c in 1..max_c whose predicted p99 under the model is at most p99_ms; -1 if none. */
int q_workers_needed(enum q_model model, double lambda, double s, double scv, double p99_ms, int max_c);

#endif
