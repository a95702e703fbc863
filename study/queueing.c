/* queueing: closed forms for M/G/1 and approximations for M/G/c; see queueing.h for the model choice. */
#include "study/queueing.h"

#include <math.h>
#include <string.h>

double q_mg1_wait(double lambda, double s, double scv)
{
    double rho = lambda * s;
    if (rho >= 1)
        return INFINITY;
    double es2 = s * s * (1 + scv); /* E[S^2] = Var + mean^2 */
    return lambda * es2 / (2 * (1 - rho));
}

double q_erlang_c(int c, double a)
{
    if (a >= c)
        return 1;
    /* Erlang B by its stable recursion, then C from B. */
    double b = 1;
    for (int k = 1; k <= c; k++)
        b = a * b / (k + a * b);
    return c * b / (c - a * (1 - b));
}

double q_mgc_wait(double lambda, double s, double scv, int c)
{
    double a = lambda * s;
    if (a >= c)
        return INFINITY;
    double mmc = q_erlang_c(c, a) * s / (c - a); /* C / (c mu - lambda) */
    return (1 + scv) / 2 * mmc;
}

double q_wait_quantile(double pw, double theta, double q)
{
    if (pw <= 0 || theta <= 0 || pw <= 1 - q)
        return 0;
    return log(pw / (1 - q)) / theta;
}

/* lambda (M_S(theta) - 1) - theta for a gamma service time of shape 1/scv (deterministic when scv = 0). */
static double lundberg(double lambda, double s, double scv, double theta)
{
    double mgf = scv <= 0 ? exp(theta * s) : pow(1 - theta * s * scv, -1 / scv);
    return lambda * (mgf - 1) - theta;
}

double q_mg1_decay(double lambda, double s, double scv)
{
    if (lambda <= 0 || lambda * s >= 1)
        return 0;
    /* The function is 0 at theta = 0, falls (slope rho - 1), then rises without bound (convex) before
     * the gamma MGF's pole at 1 / (s scv): bracket the positive root, then bisect. */
    double pole = scv > 0 ? 1 / (s * scv) : INFINITY;
    double lo = 0, hi = 1 / s;
    while (hi < pole && lundberg(lambda, s, scv, hi) < 0) {
        lo = hi;
        hi *= 2;
    }
    if (hi >= pole)
        hi = pole * (1 - 1e-12);
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (lundberg(lambda, s, scv, mid) < 0)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

/* Wait of an arrival at time t after an empty start (see q_run_wait), before the cap. */
static double wait_at(double drift, double var_rate, double t)
{
    return drift * t + sqrt(2 * var_rate * t / M_PI);
}

double q_run_wait(double lambda, double s, double scv, const struct q_run *run)
{
    double rho = lambda * s, var_rate = lambda * s * s * (1 + scv);
    double drift = rho > 1 ? rho - 1 : 0, cap = run->max_wait_ms > 0 ? run->max_wait_ms : INFINITY;
    double a = run->from_ms, b = run->to_ms;
    if (!(b > a))
        return fmin(cap, wait_at(drift, var_rate, a));
    /* Midpoint rule: the integrand is smooth except for one kink at the cap. */
    const int steps = 2000;
    double sum = 0, h = (b - a) / steps;
    for (int i = 0; i < steps; i++)
        sum += fmin(cap, wait_at(drift, var_rate, a + (i + 0.5) * h));
    return sum / steps;
}

/* 99th percentile of the wait at the end of a run: drift plus 2.576 standard deviations, capped. */
static double run_wait_p99(double lambda, double s, double scv, const struct q_run *run)
{
    double rho = lambda * s, var_rate = lambda * s * s * (1 + scv);
    double w = (rho > 1 ? (rho - 1) * run->to_ms : 0) + 2.576 * sqrt(var_rate * run->to_ms);
    return run->max_wait_ms > 0 ? fmin(w, run->max_wait_ms) : w;
}

int q_model_of_policy(const char *policy)
{
    static const char *const names[] = { [Q_RANDOM_SPLIT] = "random", [Q_SHARED_QUEUE] = "least",
                                         [Q_TWO_CHOICES] = "p2c", [Q_ROUND_ROBIN] = "round-robin" };
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(policy, names[i]) == 0)
            return i;
    return -1;
}

/* Mean wait of the power-of-two-choices mean-field model (see queueing.h); INFINITY when rho >= 1. */
static double two_choices_wait(double rho, double s, double scv)
{
    if (rho >= 1)
        return INFINITY;
    double sum = 0;
    for (int k = 2; k < 31; k++) { /* rho^(2^k - 2) falls doubly exponentially: a few terms suffice */
        double term = pow(rho, ldexp(1, k) - 2);
        sum += term;
        if (term < 1e-15)
            break;
    }
    return (1 + scv) / 2 * s * sum;
}

int q_predict(enum q_model model, double lambda, double s, double scv, int c, const struct q_run *run,
              struct q_prediction *out)
{
    memset(out, 0, sizeof *out);
    if (lambda < 0 || s <= 0 || scv < 0 || c < 1 || (run && (run->from_ms < 0 || run->to_ms < run->from_ms)))
        return -1;
    out->rho = lambda * s / c;
    out->stable = out->rho < 1;
    out->throughput = out->stable || !run || run->max_wait_ms <= 0 ? lambda : c / s;
    double pw, theta, wait;
    if (model == Q_RANDOM_SPLIT) {
        wait = q_mg1_wait(lambda / c, s, scv);
        pw = out->rho; /* M/G/1: an arrival waits iff the server is busy */
        theta = q_mg1_decay(lambda / c, s, scv);
    } else if (model == Q_SHARED_QUEUE) {
        wait = q_mgc_wait(lambda, s, scv, c);
        pw = q_erlang_c(c, lambda * s);
        theta = out->stable && wait > 0 ? pw / wait : 0; /* exact for M/M/c */
    } else if (model == Q_TWO_CHOICES && c > 1) {
        wait = two_choices_wait(out->rho, s, scv);
        pw = out->rho * out->rho;
        double shared = q_mgc_wait(lambda, s, scv, c);
        if (shared > wait) { /* few workers: the mean field undershoots the shared queue no policy beats */
            wait = shared;
            pw = q_erlang_c(c, lambda * s);
        }
        theta = out->stable && wait > 0 ? pw / wait : 0; /* an exponential tail behind the waiting share */
    } else if (model == Q_TWO_CHOICES) {
        return q_predict(Q_RANDOM_SPLIT, lambda, s, scv, c, run, out);
    } else {
        wait = out->stable ? (1.0 / c + scv) / 2 * out->rho / (1 - out->rho) * s : INFINITY;
        pw = out->rho;
        theta = out->stable && wait > 0 ? pw / wait : 0;
    }
    double p99 = out->stable ? q_wait_quantile(pw, theta, 0.99) : INFINITY;
    double p50 = out->stable ? q_wait_quantile(pw, theta, 0.5) : INFINITY;
    if (run) {
        /* Every model sees, per worker, work arriving at lambda/c: the run's bound is per worker. */
        wait = fmin(wait, q_run_wait(lambda / c, s, scv, run));
        p99 = fmin(p99, run_wait_p99(lambda / c, s, scv, run));
        p50 = fmin(p50, wait); /* a wait growing steadily through the run: its median is about its mean */
    }
    out->wait_ms = wait;
    out->mean_ms = wait + s;
    out->p50_ms = p50 + s;
    out->p99_ms = p99 + s;
    return 0;
}

int q_workers_needed(enum q_model model, double lambda, double s, double scv, double p99_ms, int max_c)
{
    for (int c = 1; c <= max_c; c++) {
        struct q_prediction p;
        if (q_predict(model, lambda, s, scv, c, NULL, &p) == 0 && p.stable && p.p99_ms <= p99_ms)
            return c;
    }
    return -1;
}
