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

double q_wait_quantile(double pw, double mean_wait, double q)
{
    if (pw <= 0 || mean_wait <= 0 || pw <= 1 - q)
        return 0;
    double cond_mean = mean_wait / pw; /* mean wait of those who wait */
    return cond_mean * log(pw / (1 - q));
}

static void overloaded(double rho, double s, double run_ms, struct q_prediction *out)
{
    out->stable = 0;
    if (run_ms <= 0) {
        out->wait_ms = out->mean_ms = out->p99_ms = INFINITY;
        return;
    }
    /* Fluid model: an arrival at time t finds (rho - 1) t of work queued ahead of it. */
    out->wait_ms = (rho - 1) * run_ms / 2;
    out->mean_ms = out->wait_ms + s;
    out->p99_ms = (rho - 1) * run_ms * 0.99 + s;
}

int q_predict(enum q_model model, double lambda, double s, double scv, int c, double run_ms,
              struct q_prediction *out)
{
    memset(out, 0, sizeof *out);
    if (lambda < 0 || s <= 0 || scv < 0 || c < 1)
        return -1;
    out->rho = lambda * s / c;
    if (out->rho >= 1) {
        overloaded(out->rho, s, run_ms, out);
        return 0;
    }
    out->stable = 1;
    double pw;
    if (model == Q_RANDOM_SPLIT) {
        out->wait_ms = q_mg1_wait(lambda / c, s, scv);
        pw = out->rho; /* M/G/1: an arrival waits iff the server is busy */
    } else {
        out->wait_ms = q_mgc_wait(lambda, s, scv, c);
        pw = q_erlang_c(c, lambda * s);
    }
    out->mean_ms = out->wait_ms + s;
    out->p99_ms = s + q_wait_quantile(pw, out->wait_ms, 0.99);
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
