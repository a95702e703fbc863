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

double q_finite_run_wait(double lambda, double s, double scv, double run_ms)
{
    double rho = lambda * s, var_rate = lambda * s * s * (1 + scv);
    double drift = rho > 1 ? (rho - 1) * run_ms / 2 : 0;
    return drift + 2.0 / 3 * sqrt(2 * var_rate * run_ms / M_PI);
}

/* 99th percentile of the wait at the end of a finite run: the drift plus 2.576 standard deviations. */
static double finite_run_wait_p99(double lambda, double s, double scv, double run_ms)
{
    double rho = lambda * s, var_rate = lambda * s * s * (1 + scv);
    return (rho > 1 ? (rho - 1) * run_ms : 0) + 2.576 * sqrt(var_rate * run_ms);
}

int q_predict(enum q_model model, double lambda, double s, double scv, int c, double run_ms,
              struct q_prediction *out)
{
    memset(out, 0, sizeof *out);
    if (lambda < 0 || s <= 0 || scv < 0 || c < 1 || run_ms < 0)
        return -1;
    out->rho = lambda * s / c;
    out->stable = out->rho < 1;
    double pw, theta, wait;
    if (model == Q_RANDOM_SPLIT) {
        wait = q_mg1_wait(lambda / c, s, scv);
        pw = out->rho; /* M/G/1: an arrival waits iff the server is busy */
        theta = q_mg1_decay(lambda / c, s, scv);
    } else {
        wait = q_mgc_wait(lambda, s, scv, c);
        pw = q_erlang_c(c, lambda * s);
        theta = out->stable && wait > 0 ? pw / wait : 0; /* exact for M/M/c */
    }
    double p99 = out->stable ? q_wait_quantile(pw, theta, 0.99) : INFINITY;
    if (run_ms > 0) {
        /* Both models see, per worker, work arriving at lambda/c: the finite-run bound is per worker. */
        wait = fmin(wait, q_finite_run_wait(lambda / c, s, scv, run_ms));
        p99 = fmin(p99, finite_run_wait_p99(lambda / c, s, scv, run_ms));
    }
    out->wait_ms = wait;
    out->mean_ms = wait + s;
    out->p99_ms = p99 + s;
    return 0;
}

int q_workers_needed(enum q_model model, double lambda, double s, double scv, double p99_ms, int max_c)
{
    for (int c = 1; c <= max_c; c++) {
        struct q_prediction p;
        if (q_predict(model, lambda, s, scv, c, 0, &p) == 0 && p.stable && p.p99_ms <= p99_ms)
            return c;
    }
    return -1;
}
