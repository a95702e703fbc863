/* client topology: study 3, second part.  The same open-loop Poisson cells as load-study (I = f S for
 * every interval factor f, c workers through ?backends=c), through one balancer per policy and per
 * batching setting (--target POLICY[/on|/off]=URL), each cell beside its policy's queueing model
 * (queueing.h); then a step in the arrival rate (calm, 3x, calm) per policy with p99 over time and the
 * time each takes to recover; then the topology table: for a rate and a p99 target, the fewest workers
 * under each policy, and the recommendation.  Writes DIR/{grid,summary,topology,step,recovery}.{csv,md}
 * and DIR/service-{off,on}.{csv,md}. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/cli.h"
#include "study/args.h"
#include "study/commands.h"
#include "study/load_options.h"
#include "study/load_report.h"
#include "study/progress.h"
#include "study/queueing.h"
#include "study/stats.h"
#include "study/topology.h"

#define MAX_LIST 8
#define MAX_TARGETS 4
#define MAX_BINS 200
#define GRID_COLS 19

struct cell {
    struct load_result r;
    double interval_ms;
    int same_as; /* -1 measured; else the policy whose cell this is (one worker: every policy is the same) */
    int done;
};

struct topo {
    struct load_opts o;
    const char *url[TOPO_MODES][TOPO_POLICIES];
    int workers[MAX_LIST], nworkers;
    double factors[MAX_LIST], targets[MAX_TARGETS];
    int nfactors, ntargets;
    double overload_s, step_rho, step_s[3], bin_s;
    long calibrate, min_count, step_workers;
    const char *note;
    struct service_time st[TOPO_MODES];
    struct summary ssum[TOPO_MODES];
    struct cell cell[TOPO_MODES][TOPO_POLICIES][MAX_LIST][MAX_LIST];
    struct progress pg;
    long steps_done;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: client topology --target POLICY[/on|/off]=URL ... --out DIR [--workers 1,2,4]\n"
               "                       [--factors 2.5,1,0.5,0.05] [--duration SEC] [--overload-duration SEC]\n"
               "                       [--min-count N] [--calibrate N] [--targets 4,10] [--step-workers C]\n"
               "                       [--step-rho R] [--step-times CALM,SURGE,AFTER] [--bin SEC] [--note TEXT]\n"
               "  Each URL is a balancer running --policy POLICY (random, p2c, least, round-robin) over workers\n"
               "  with batching off or on (/on: the workers run --batch-max > 1; default /off), with at least\n"
               "  max(workers) backends.  S is measured per batching setting (N sequential requests, default\n"
               "  30); each cell is one open-loop Poisson run of --duration SEC (default 4; at least N\n"
               "  arrivals, default 20), or --overload-duration SEC (default 1.5) when rho >= 0.95.  With one\n"
               "  worker every policy sends to it, so that cell is measured once.  The step: C workers\n"
               "  (default 2) at rho R (default 0.4) for CALM s, 3x the rate for SURGE s, R again for AFTER s\n"
               "  (default 4,3,6), p99 per BIN s (default 0.5).  --targets: p99 targets as multiples of S.\n"
               LOAD_OPTS_HELP);
}

/* "p2c/on=http://..." into t->url. */
static int parse_target(struct topo *t, char *arg)
{
    char *eq = strchr(arg, '=');
    if (!eq) {
        fprintf(stderr, "client topology: --target %s: expected POLICY[/on|/off]=URL\n", arg);
        return -1;
    }
    *eq = '\0';
    char *slash = strchr(arg, '/');
    int mode = 0;
    if (slash) {
        *slash = '\0';
        mode = strcmp(slash + 1, "on") == 0 ? 1 : strcmp(slash + 1, "off") == 0 ? 0 : -1;
    }
    int p = topo_policy_index(arg);
    if (p < 0 || mode < 0) {
        fprintf(stderr, "client topology: --target: '%s%s%s' is not POLICY[/on|/off] (policies: random, p2c, least, "
                        "round-robin)\n", arg, slash ? "/" : "", slash ? slash + 1 : "");
        return -1;
    }
    t->url[mode][p] = eq + 1;
    return 0;
}

static int parse(int argc, char **argv, struct topo *t)
{
    static const struct option opts[] = {
        LOAD_OPTS_LONG,
        { "target", required_argument, 0, 'G' },    { "workers", required_argument, 0, 'W' },
        { "factors", required_argument, 0, 'F' },   { "overload-duration", required_argument, 0, 'O' },
        { "min-count", required_argument, 0, 'N' }, { "calibrate", required_argument, 0, 'K' },
        { "targets", required_argument, 0, 'P' },   { "step-workers", required_argument, 0, 'S' },
        { "step-rho", required_argument, 0, 'R' },  { "step-times", required_argument, 0, 'X' },
        { "bin", required_argument, 0, 'B' },       { "note", required_argument, 0, 'T' },
        { "help", no_argument, 0, 'h' },            { 0, 0, 0, 0 },
    };
    static const int def_workers[] = { 1, 2, 4 };
    static const double def_factors[] = { 2.5, 1, 0.5, 0.05 }, def_targets[] = { 4, 10 }, def_step[] = { 4, 3, 6 };
    load_opts_defaults(&t->o);
    t->o.cfg.window_s = 4;
    memcpy(t->workers, def_workers, sizeof def_workers);
    t->nworkers = 3;
    memcpy(t->factors, def_factors, sizeof def_factors);
    t->nfactors = 4;
    memcpy(t->targets, def_targets, sizeof def_targets);
    t->ntargets = 2;
    memcpy(t->step_s, def_step, sizeof def_step);
    t->overload_s = 1.5;
    t->min_count = 20;
    t->calibrate = 30;
    t->step_workers = 2;
    t->step_rho = 0.4;
    t->bin_s = 0.5;
    int c, rc, n;
    optind = 1;
    while ((c = getopt_long(argc, argv, LOAD_OPTS_SHORT "G:W:F:O:N:K:P:S:R:X:B:T:h", opts, NULL)) != -1) {
        if (c != 'u' && (rc = load_opts_handle(c, optarg, &t->o)) != 0) {
            if (rc < 0)
                return 2;
            continue;
        }
        switch (c) {
        case 'G': if (parse_target(t, optarg) < 0) return 2; break;
        case 'W':
            if ((t->nworkers = args_int_list("--workers", optarg, t->workers, MAX_LIST, 1, 64)) < 0)
                return 2;
            break;
        case 'F':
            if ((t->nfactors = args_double_list("--factors", optarg, t->factors, MAX_LIST)) < 0)
                return 2;
            break;
        case 'P':
            if ((t->ntargets = args_double_list("--targets", optarg, t->targets, MAX_TARGETS)) < 0)
                return 2;
            break;
        case 'X':
            if ((n = args_double_list("--step-times", optarg, t->step_s, 3)) < 0)
                return 2;
            if (n != 3) {
                fprintf(stderr, "client topology: --step-times needs three durations: CALM,SURGE,AFTER\n");
                return 2;
            }
            break;
        case 'O': if (args_positive("--overload-duration", optarg, &t->overload_s) < 0) return 2; break;
        case 'R': if (args_positive("--step-rho", optarg, &t->step_rho) < 0) return 2; break;
        case 'B': if (args_positive("--bin", optarg, &t->bin_s) < 0) return 2; break;
        case 'N': if (cli_long("client", "--min-count", optarg, 1, 100000, &t->min_count) < 0) return 2; break;
        case 'K': if (cli_long("client", "--calibrate", optarg, 2, 100000, &t->calibrate) < 0) return 2; break;
        case 'S': if (cli_long("client", "--step-workers", optarg, 1, 64, &t->step_workers) < 0) return 2; break;
        case 'T': t->note = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return args_bad_option("topology", argv);
        }
    }
    int any = 0;
    for (int m = 0; m < TOPO_MODES; m++)
        for (int p = 0; p < TOPO_POLICIES; p++)
            any |= t->url[m][p] != NULL;
    if (!any || !t->o.out || optind != argc) {
        fprintf(stderr, "client topology: needs --target POLICY=URL (at least one) and --out DIR, nothing else "
                        "(try --help)\n");
        return 2;
    }
    if (t->step_rho >= 1) {
        fprintf(stderr, "client topology: --step-rho must be below 1 (the calm load)\n");
        return 2;
    }
    return -1;
}

/* The first policy with a target in mode m (random when there is one), or -1. */
static int first_policy(const struct topo *t, int m)
{
    for (int p = 0; p < TOPO_POLICIES; p++)
        if (t->url[m][p])
            return p;
    return -1;
}

/* The setting whose S defines the grid's rates (batching off when it is measured): both settings run at
 * the same arrival rates, so a cell of one is comparable with the other's, and each is predicted with
 * its own S. */
static int ref_mode(const struct topo *t)
{
    return first_policy(t, 0) >= 0 ? 0 : 1;
}

static double rho_of(const struct topo *t, int m, int workers, double interval_ms)
{
    return t->st[m].mean_ms / (interval_ms * workers);
}

static void fail_line(struct topo *t, const char *what, const char *err)
{
    progress_end(&t->pg);
    fprintf(stderr, "client: %s: %s\n", what, err);
}

/* One grid cell: the open-loop run of this policy, batching setting, worker count and interval. */
static int run_cell(struct topo *t, int m, int p, int wi, int fi)
{
    struct cell *cl = &t->cell[m][p][wi][fi];
    int w = t->workers[wi];
    cl->interval_ms = t->factors[fi] * t->st[ref_mode(t)].mean_ms;
    cl->same_as = -1;
    for (int q = 0; w == 1 && q < p; q++)
        if (t->cell[m][q][wi][fi].done) { /* one worker: the policy has no choice to make */
            *cl = t->cell[m][q][wi][fi];
            cl->same_as = q;
            return 0;
        }
    struct url u;
    struct buf req;
    char err[512], what[128];
    snprintf(what, sizeof what, "%s, batching %s, %d workers, I = %gS", topo_policy_names[p], topo_mode_names[m], w,
             t->factors[fi]);
    progress_update(&t->pg, t->steps_done, what);
    buf_init(&req, 128u * 1024 * 1024);
    size_t head_len;
    if (load_opts_request(&t->o, t->url[m][p], w, &u, &req, &head_len) < 0) {
        buf_free(&req);
        return -1;
    }
    load_report_wait_idle(&u, &req, head_len, t->o.cfg.timeout_ms, &t->st[m], &t->ssum[m]);
    struct load_config cfg = t->o.cfg;
    cfg.interval_ms = cl->interval_ms;
    double secs = rho_of(t, m, w, cl->interval_ms) >= 0.95 ? t->overload_s : t->o.cfg.window_s;
    cfg.count = (long)fmax((double)t->min_count, round(secs * 1000 / cl->interval_ms));
    cfg.max_windows = 1;
    int rc = load_run(u.host, u.port, buf_ptr(&req), head_len, buf_len(&req), &cfg, &cl->r, err, sizeof err);
    buf_free(&req);
    if (rc < 0)
        fail_line(t, what, err);
    else if (cl->r.ok == 0)
        fail_line(t, what, cl->r.last_error[0] ? cl->r.last_error : "no request succeeded");
    cl->done = rc == 0;
    return rc;
}

static void cell_predict(const struct topo *t, int m, int p, int wi, const struct cell *cl, struct q_prediction *out)
{
    memset(out, 0, sizeof *out);
    load_report_predict((enum q_model)q_model_of_policy(topo_policy_names[p]), t->workers[wi], cl->interval_ms, &cl->r,
                        &t->st[m], out);
}

static void num(char *out, size_t cap, double v, int decimals)
{
    if (isfinite(v))
        snprintf(out, cap, "%.*f", decimals, v);
    else
        snprintf(out, cap, "inf");
}

static long refused_of(const struct load_result *r)
{
    return r->http_errors + r->failed + r->dropped;
}

static int write_grid(struct topo *t)
{
    static const char *const cols[GRID_COLS] = {
        "batching", "policy", "workers", "factor", "interval_ms", "rho", "sent", "ok", "refused", "mean_ms", "p50_ms",
        "p99_ms", "throughput_rps", "service_ms", "model", "pred_mean_ms", "pred_p50_ms", "pred_p99_ms", "measured",
    };
    static const char *const models[] = { [Q_RANDOM_SPLIT] = "c*M/G/1", [Q_SHARED_QUEUE] = "M/G/c",
                                          [Q_TWO_CHOICES] = "p2c-meanfield", [Q_ROUND_ROBIN] = "c*E_c/G/1" };
    struct table tab;
    char err[512], c[GRID_COLS][48];
    table_init(&tab, GRID_COLS, -1);
    if (table_open_files(&tab, t->o.out, "grid", "Topology grid: every cell, measured and predicted", err,
                         sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        return -1;
    }
    table_header(&tab, cols);
    for (int m = 0; m < TOPO_MODES; m++)
        for (int p = 0; p < TOPO_POLICIES; p++)
            for (int wi = 0; wi < t->nworkers; wi++)
                for (int fi = 0; fi < t->nfactors; fi++) {
                    const struct cell *cl = &t->cell[m][p][wi][fi];
                    if (!cl->done)
                        continue;
                    struct q_prediction q;
                    cell_predict(t, m, p, wi, cl, &q);
                    const struct load_result *r = &cl->r;
                    snprintf(c[0], 48, "%s", topo_mode_names[m]);
                    snprintf(c[1], 48, "%s", topo_policy_names[p]);
                    snprintf(c[2], 48, "%d", t->workers[wi]);
                    num(c[3], 48, t->factors[fi], 3);
                    num(c[4], 48, cl->interval_ms, 2);
                    num(c[5], 48, q.rho, 3);
                    snprintf(c[6], 48, "%ld", r->sent);
                    snprintf(c[7], 48, "%ld", r->ok);
                    snprintf(c[8], 48, "%ld", refused_of(r));
                    const double v[] = { r->rtt.mean, r->rtt.p50, r->rtt.p99, r->throughput_rps, r->service_ms };
                    for (int i = 0; i < 5; i++)
                        num(c[9 + i], 48, v[i], 1);
                    snprintf(c[14], 48, "%s", models[q_model_of_policy(topo_policy_names[p])]);
                    num(c[15], 48, q.mean_ms, 1);
                    num(c[16], 48, q.p50_ms, 1);
                    num(c[17], 48, q.p99_ms, 1);
                    snprintf(c[18], 48, "%s%s", cl->same_as < 0 ? "yes" : "as ",
                             cl->same_as < 0 ? "" : topo_policy_names[cl->same_as]);
                    const char *row[GRID_COLS];
                    for (int i = 0; i < GRID_COLS; i++)
                        row[i] = c[i];
                    table_row(&tab, row);
                }
    table_note(&tab, "RTT in ms from each request's scheduled instant; refused = 503s, failures and drops. model: "
                     "random c*M/G/1 (exact split), least M/G/c (Allen-Cunneen), p2c the power-of-two-choices "
                     "mean field (never below M/G/c), round-robin c*E_c/G/1 (Kingman). measured \"as random\": with "
                     "one worker every policy sends to it, so that cell was measured once.");
    if (t->note)
        table_note(&tab, t->note);
    return table_close(&tab);
}

/* The original's table shape, per batching setting: rows workers x policy, a column per interval. */
static int write_summary(struct topo *t)
{
    struct table tab;
    char err[512];
    table_init(&tab, 2 + t->nfactors, -1);
    if (table_open_files(&tab, t->o.out, "summary", "Mean / p50 / p99 RTT per policy, ms: measured (predicted by the "
                         "policy's model)", err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        return -1;
    }
    char head[MAX_LIST + 2][64], cells[MAX_LIST + 2][96];
    const char *row[MAX_LIST + 2];
    snprintf(head[0], 64, "batching, workers");
    snprintf(head[1], 64, "policy");
    for (int f = 0; f < t->nfactors; f++)
        snprintf(head[f + 2], 64, "I = %gS (%.0f ms)", t->factors[f], t->factors[f] * t->st[ref_mode(t)].mean_ms);
    for (int i = 0; i < t->nfactors + 2; i++)
        row[i] = head[i];
    table_header(&tab, row);
    for (int m = 0; m < TOPO_MODES; m++)
        for (int wi = 0; wi < t->nworkers; wi++)
            for (int p = 0; p < TOPO_POLICIES; p++) {
                if (!t->url[m][p])
                    continue;
                snprintf(cells[0], 96, "%s, %d", topo_mode_names[m], t->workers[wi]);
                snprintf(cells[1], 96, "%s", topo_policy_names[p]);
                for (int f = 0; f < t->nfactors; f++) {
                    const struct cell *cl = &t->cell[m][p][wi][f];
                    struct q_prediction q;
                    cell_predict(t, m, p, wi, cl, &q);
                    if (cl->done)
                        snprintf(cells[f + 2], 96, "%.0f / %.0f / %.0f (%.0f / %.0f / %.0f)%s", cl->r.rtt.mean,
                                 cl->r.rtt.p50, cl->r.rtt.p99, q.mean_ms, q.p50_ms, q.p99_ms,
                                 refused_of(&cl->r) ? " *" : "");
                    else
                        snprintf(cells[f + 2], 96, "-");
                }
                for (int i = 0; i < t->nfactors + 2; i++)
                    row[i] = cells[i];
                table_row(&tab, row);
            }
    char note[600];
    for (int m = 0; m < TOPO_MODES; m++)
        if (first_policy(t, m) >= 0) {
            snprintf(note, sizeof note, "Batching %s: S = %.1f ms (scv %.3f), the RTT of a lone request through "
                     "?backends=1.", topo_mode_names[m], t->st[m].mean_ms, t->st[m].scv);
            table_note(&tab, note);
        }
    table_note(&tab, "* = some requests were refused (503) or failed. Predictions for a run of that length starting "
                     "empty, waits capped by the workers' queue bound.");
    if (t->note)
        table_note(&tab, t->note);
    return table_close(&tab);
}

/* Fewest measured workers with no refusals and p99 <= target, or 0 when none of them meets it. */
static int fewest_measured(const struct topo *t, int m, int p, int fi, double target_ms, double *p99)
{
    int best = 0;
    for (int wi = 0; wi < t->nworkers; wi++) {
        const struct cell *cl = &t->cell[m][p][wi][fi];
        if (cl->done && cl->r.ok > 0 && refused_of(&cl->r) == 0 && cl->r.rtt.p99 <= target_ms &&
            (best == 0 || t->workers[wi] < best)) {
            best = t->workers[wi];
            *p99 = cl->r.rtt.p99;
        }
    }
    return best;
}

static int write_topology(struct topo *t)
{
    int m0 = ref_mode(t);
    int ncols = 2 + 2 * TOPO_POLICIES + 2;
    struct table tab;
    char err[512];
    table_init(&tab, ncols, 0);
    if (table_open_files(&tab, t->o.out, "topology", "Topology: the fewest workers for a rate and a p99 target",
                         err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        return -1;
    }
    char head[16][48], c[16][96];
    const char *row[16];
    snprintf(head[0], 48, "rate_rps");
    snprintf(head[1], 48, "p99_target_ms");
    for (int p = 0; p < TOPO_POLICIES; p++) {
        snprintf(head[2 + 2 * p], 48, "%s_measured", topo_policy_names[p]);
        snprintf(head[3 + 2 * p], 48, "%s_predicted", topo_policy_names[p]);
    }
    snprintf(head[ncols - 2], 48, "batching_on_measured");
    snprintf(head[ncols - 1], 48, "recommendation");
    for (int i = 0; i < ncols; i++)
        row[i] = head[i];
    table_header(&tab, row);
    int maxw = t->workers[0];
    for (int wi = 1; wi < t->nworkers; wi++)
        maxw = t->workers[wi] > maxw ? t->workers[wi] : maxw;
    for (int fi = 0; fi < t->nfactors; fi++)
        for (int k = 0; k < t->ntargets; k++) {
            double lambda = 1 / (t->factors[fi] * t->st[m0].mean_ms), target = t->targets[k] * t->st[m0].mean_ms;
            snprintf(c[0], 96, "%.1f", lambda * 1000);
            snprintf(c[1], 96, "%.0f", target);
            int best_c = 0, best_m = 0, best_p = 0;
            double best_p99 = INFINITY;
            for (int m = 0; m < TOPO_MODES; m++)
                for (int p = 0; p < TOPO_POLICIES; p++) {
                    if (!t->url[m][p])
                        continue;
                    double p99 = INFINITY;
                    int w = fewest_measured(t, m, p, fi, target, &p99);
                    if (w && (!best_c || w < best_c || (w == best_c && m == best_m && p99 < best_p99))) {
                        best_c = w;
                        best_m = m;
                        best_p = p;
                        best_p99 = p99;
                    }
                    if (m == 1)
                        continue;
                    int pred = q_workers_needed((enum q_model)q_model_of_policy(topo_policy_names[p]), lambda,
                                                t->st[m].mean_ms, t->st[m].scv, target, 64);
                    if (w)
                        snprintf(c[2 + 2 * p], 96, "%d", w);
                    else
                        snprintf(c[2 + 2 * p], 96, ">%d", maxw);
                    if (pred > 0)
                        snprintf(c[3 + 2 * p], 96, "%d", pred);
                    else
                        snprintf(c[3 + 2 * p], 96, ">64");
                }
            for (int p = 0; p < TOPO_POLICIES; p++)
                if (!t->url[0][p])
                    snprintf(c[2 + 2 * p], 96, "-"), snprintf(c[3 + 2 * p], 96, "-");
            int on_best = 0;
            double dummy = 0;
            for (int p = 0; p < TOPO_POLICIES; p++) {
                int w = t->url[1][p] ? fewest_measured(t, 1, p, fi, target, &dummy) : 0;
                if (w && (!on_best || w < on_best))
                    on_best = w;
            }
            if (first_policy(t, 1) < 0)
                snprintf(c[ncols - 2], 96, "-");
            else if (on_best)
                snprintf(c[ncols - 2], 96, "%d", on_best);
            else
                snprintf(c[ncols - 2], 96, ">%d", maxw);
            if (best_c)
                snprintf(c[ncols - 1], 96, "%d worker%s %s batching %s (p99 %.0f ms)", best_c, best_c == 1 ? "" : "s",
                         topo_policy_names[best_p], topo_mode_names[best_m], best_p99);
            else
                snprintf(c[ncols - 1], 96, "more than %d workers (none measured meets it)", maxw);
            for (int i = 0; i < ncols; i++)
                row[i] = c[i];
            table_row(&tab, row);
        }
    char note[700];
    snprintf(note, sizeof note, "Rates are the grid's (I = f S, S = %.1f ms); targets %s. measured: the fewest of the "
             "measured worker counts whose cell refused nothing and met the p99; predicted: the fewest c the "
             "policy's model says suffice (steady state). Recommendation: the fewest measured workers, batching "
             "off unless on saves a worker, ties broken by the measured p99.", t->st[m0].mean_ms,
             t->ntargets == 1 ? "one multiple of S" : "multiples of S");
    table_note(&tab, note);
    return table_close(&tab);
}

/* ---- the step ---------------------------------------------------------------------------------------- */

struct step_line {
    double calm_p99, peak_p99, recovery_s, pred_recovery_s;
    long refused;
};

/* The model's steady p99 at rate lambda on c workers (INFINITY when overloaded). */
static double steady_p99(int p, double lambda, const struct service_time *st, int c)
{
    struct q_prediction q;
    if (q_predict((enum q_model)q_model_of_policy(topo_policy_names[p]), lambda, st->mean_ms, st->scv, c, NULL, &q) <
            0 || !q.stable)
        return INFINITY;
    return q.p99_ms;
}

/* Work (ms) a worker has queued at t under the fluid model: it grows at (3 rho - 1) during the surge and
 * drains at (1 - rho) after. */
static double backlog_ms(const struct topo *t, double at)
{
    double t1 = t->step_s[0], t2 = t1 + t->step_s[1], grow = fmax(0, 3 * t->step_rho - 1) * 1000;
    if (at <= t1)
        return 0;
    if (at <= t2)
        return grow * (at - t1);
    return fmax(0, grow * (t2 - t1) - (1 - t->step_rho) * 1000 * (at - t2));
}

static int run_step(struct topo *t, int m, int p, struct table *bins, struct step_line *line)
{
    int c = (int)t->step_workers;
    const struct service_time *st = &t->st[m];
    double i0 = st->mean_ms / (t->step_rho * c), total = t->step_s[0] + t->step_s[1] + t->step_s[2];
    char what[96], err[512];
    snprintf(what, sizeof what, "step, %s, %d workers", topo_policy_names[p], c);
    progress_update(&t->pg, t->steps_done, what);
    struct url u;
    struct buf req;
    buf_init(&req, 128u * 1024 * 1024);
    size_t head_len;
    if (load_opts_request(&t->o, t->url[m][p], c, &u, &req, &head_len) < 0) {
        buf_free(&req);
        return -1;
    }
    load_report_wait_idle(&u, &req, head_len, t->o.cfg.timeout_ms, st, &t->ssum[m]);
    struct load_config cfg = t->o.cfg;
    cfg.interval_ms = i0;
    cfg.window_s = total;
    cfg.max_windows = 1;
    cfg.count = 0;
    cfg.nsteps = 2;
    cfg.steps[0] = (struct load_step){ t->step_s[0], i0 / 3 };
    cfg.steps[1] = (struct load_step){ t->step_s[0] + t->step_s[1], i0 };
    struct load_result r;
    struct load_sample *s = NULL;
    long n = 0;
    int rc = load_run_samples(u.host, u.port, buf_ptr(&req), head_len, buf_len(&req), &cfg, &r, &s, &n, err,
                              sizeof err);
    buf_free(&req);
    if (rc < 0) {
        fail_line(t, what, err);
        return -1;
    }
    double *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    if (!x) {
        free(s);
        return -1;
    }
    /* The calm baseline: arrivals from 1 s (past the start-up) to the surge. */
    size_t k = 0;
    for (long i = 0; i < n; i++)
        if (s[i].status == 200 && s[i].at_s >= fmin(1, t->step_s[0] / 2) && s[i].at_s < t->step_s[0])
            x[k++] = s[i].rtt_ms;
    struct summary calm;
    stats_summarize(x, k, &calm);
    double lambda0 = 1 / i0, p99_calm_pred = steady_p99(p, lambda0, st, c);
    double surge_p99 = steady_p99(p, 3 * lambda0, st, c);
    *line = (struct step_line){ .calm_p99 = calm.p99, .recovery_s = -1 };
    double end = t->step_s[0] + t->step_s[1];
    int nbins = (int)ceil(total / t->bin_s);
    nbins = nbins > MAX_BINS ? MAX_BINS : nbins;
    for (int b = 0; b < nbins; b++) {
        double lo = b * t->bin_s, hi = lo + t->bin_s, mid = (lo + hi) / 2;
        long refused = 0, arrived = 0;
        k = 0;
        for (long i = 0; i < n; i++)
            if (s[i].at_s >= lo && s[i].at_s < hi) {
                arrived++;
                if (s[i].status == 200)
                    x[k++] = s[i].rtt_ms;
                else
                    refused++;
            }
        struct summary sm;
        stats_summarize(x, k, &sm);
        line->refused += refused;
        if (k && sm.p99 > line->peak_p99)
            line->peak_p99 = sm.p99;
        if (line->recovery_s < 0 && lo >= end - 1e-9 && k && sm.p99 <= 1.5 * calm.p99)
            line->recovery_s = hi - end;
        int surging = mid >= t->step_s[0] && mid < end;
        double base = surging && isfinite(surge_p99) ? surge_p99 : p99_calm_pred;
        char c[9][48];
        snprintf(c[0], 48, "%s", topo_policy_names[p]);
        num(c[1], 48, mid, 2);
        snprintf(c[2], 48, "%zu", k);
        snprintf(c[3], 48, "%ld", refused);
        num(c[4], 48, (double)arrived / t->bin_s, 1);
        num(c[5], 48, k ? sm.mean : NAN, 1);
        num(c[6], 48, k ? sm.p50 : NAN, 1);
        num(c[7], 48, k ? sm.p99 : NAN, 1);
        num(c[8], 48, base + backlog_ms(t, mid), 1);
        const char *row[9] = { c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8] };
        table_row(bins, row);
    }
    /* Predicted: the backlog has fallen to half the calm p99 (then p99 <= 1.5x calm). */
    double left = backlog_ms(t, end) - 0.5 * p99_calm_pred;
    line->pred_recovery_s = fmax(0, left / ((1 - t->step_rho) * 1000));
    free(x);
    free(s);
    return 0;
}

static int steps(struct topo *t)
{
    int m = ref_mode(t);
    struct table bins, rec;
    char err[512];
    table_init(&bins, 9, -1);
    table_init(&rec, 9, -1);
    if (table_open_files(&bins, t->o.out, "step", "p99 over time through a step in the arrival rate (calm, 3x, calm)",
                         err, sizeof err) < 0 ||
        table_open_files(&rec, t->o.out, "recovery", "Recovery after the step, per policy", err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        table_close(&bins);
        table_close(&rec);
        return -1;
    }
    static const char *const bcols[] = { "policy", "t_s", "n", "refused", "offered_rps", "mean_ms", "p50_ms", "p99_ms",
                                         "pred_p99_ms" };
    static const char *const rcols[] = { "policy", "workers", "calm_rps", "surge_rps", "calm_p99_ms", "peak_p99_ms",
                                         "recovery_s", "pred_recovery_s", "refused" };
    table_header(&bins, bcols);
    table_header(&rec, rcols);
    int failed = 0;
    double i0 = t->st[m].mean_ms / (t->step_rho * (double)t->step_workers);
    for (int p = 0; p < TOPO_POLICIES; p++) {
        if (!t->url[m][p])
            continue;
        struct step_line l;
        if (run_step(t, m, p, &bins, &l) < 0) {
            failed = 1;
            continue;
        }
        t->steps_done++;
        char c[9][48];
        snprintf(c[0], 48, "%s", topo_policy_names[p]);
        snprintf(c[1], 48, "%ld", t->step_workers);
        num(c[2], 48, 1000 / i0, 1);
        num(c[3], 48, 3000 / i0, 1);
        num(c[4], 48, l.calm_p99, 1);
        num(c[5], 48, l.peak_p99, 1);
        if (l.recovery_s >= 0)
            num(c[6], 48, l.recovery_s, 2);
        else
            snprintf(c[6], 48, "not within the run");
        num(c[7], 48, l.pred_recovery_s, 2);
        snprintf(c[8], 48, "%ld", l.refused);
        const char *row[9] = { c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8] };
        table_row(&rec, row);
    }
    char note[700];
    snprintf(note, sizeof note, "Batching %s, %ld workers at rho %.2f (%.1f req/s) for %.0f s, 3x the rate for %.0f s, "
             "then %.0f s calm again; p99 of the arrivals in each %.2f s. pred_p99_ms: the policy's steady p99 plus "
             "the fluid backlog per worker (grows at 3 rho - 1 during the surge, drains at 1 - rho after). "
             "recovery_s: from the surge's end to the end of the first bin whose p99 is within 1.5x the calm "
             "p99 (resolution one bin); predicted: when the fluid backlog falls to half the calm p99.",
             topo_mode_names[m], t->step_workers, t->step_rho, 1000 / i0, t->step_s[0], t->step_s[1], t->step_s[2],
             t->bin_s);
    table_note(&rec, note);
    table_note(&bins, note);
    failed |= table_close(&bins) < 0;
    failed |= table_close(&rec) < 0;
    return failed ? -1 : 0;
}

int cmd_topology(int argc, char **argv)
{
    struct topo *t = calloc(1, sizeof *t);
    if (!t) {
        fprintf(stderr, "client: out of memory\n");
        return 1;
    }
    int rc = parse(argc, argv, t);
    if (rc >= 0) {
        free(t);
        return rc;
    }
    int failed = 0, policies_off = 0;
    for (int m = 0; m < TOPO_MODES; m++) {
        int p = first_policy(t, m);
        if (p < 0)
            continue;
        if (load_report_calibrate(&t->o, t->url[m][p], t->calibrate, &t->st[m], &t->ssum[m]) < 0) {
            free(t);
            return 1;
        }
        char name[32], title[96];
        snprintf(name, sizeof name, "service-%s", topo_mode_names[m]);
        snprintf(title, sizeof title, "Service time S, batching %s (one worker, sequential)", topo_mode_names[m]);
        load_report_write_service(t->o.out, name, title, &t->ssum[m], &t->st[m]);
        fprintf(stderr, "client: batching %s: S = %.2f ms (p99 %.2f, scv %.3f)\n", topo_mode_names[m],
                t->st[m].mean_ms, t->ssum[m].p99, t->st[m].scv);
    }
    long targets = 0;
    for (int m = 0; m < TOPO_MODES; m++)
        for (int p = 0; p < TOPO_POLICIES; p++) {
            targets += t->url[m][p] != NULL;
            policies_off += m == ref_mode(t) && t->url[m][p];
        }
    progress_start(&t->pg, "client topology", targets * t->nworkers * t->nfactors + policies_off);
    /* Interleaved: every policy runs a cell before the next cell starts, so a change in the shared machine's
     * load falls on all of them alike. */
    for (int m = 0; m < TOPO_MODES; m++)
        for (int wi = 0; wi < t->nworkers; wi++)
            for (int fi = 0; fi < t->nfactors; fi++)
                for (int p = 0; p < TOPO_POLICIES; p++) {
                    if (!t->url[m][p])
                        continue;
                    failed |= run_cell(t, m, p, wi, fi) < 0;
                    t->steps_done++;
                }
    failed |= steps(t) < 0;
    progress_end(&t->pg);
    failed |= write_grid(t) < 0;
    failed |= write_summary(t) < 0;
    failed |= write_topology(t) < 0;
    free(t);
    return failed;
}
