/* client recommend: answers from the studies' results.
 *   --budget-ms B --bandwidth-mbps X: the most accurate resolution whose predicted RTT fits B, where
 *     predicted RTT = loopback mean RTT at that size (study 2) + hops x request bytes at X Mbit/s
 *     (the balancer stores and forwards, so each shaped hop costs the whole transfer);
 *   --rate R --p99-ms T: the fewest workers whose predicted p99 meets T (service time from study 3, the
 *     model of the balancer's policy, --policy, default random: see queueing.h), checked against what the
 *     topology study measured for that policy and --batching setting at the nearest grid rate at or
 *     above R (the larger of the two counts wins); with --check URL the balancer's /healthz must name
 *     that policy, and a load run at R on ?backends=c verifies it. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/cli.h"
#include "study/args.h"
#include "study/commands.h"
#include "study/csvread.h"
#include "study/load_options.h"
#include "study/queueing.h"
#include "study/service_probe.h"
#include "study/topology.h"

#define MAX_WORKERS 64

struct rec {
    struct load_opts o; /* for --check */
    const char *results, *rtt_name;
    double budget_ms, mbps, rate, p99_ms, s_ms, scv;
    long max_workers, hops;
    const char *policy, *batching;
    enum q_model model;
    double pred_p99_ms, study_p99_ms, study_rate; /* for --check: the model's and the study's p99 at c */
    int service_given;  /* --service-ms: the model alone */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: client recommend --budget-ms B --bandwidth-mbps X [--hops N] [--results DIR] [--rtt-name NAME]\n"
               "       client recommend --rate R --p99-ms T [--results DIR | --service-ms S [--service-scv V]]\n"
               "                        [--policy random|least|p2c|round-robin] [--batching off|on] [--max-workers N]\n"
               "                        [--check URL [--duration SEC]]\n"
               "  First form: the resolution with the best top-1 whose RTT fits the budget on a link of X\n"
               "  Mbit/s, from DIR/accuracy/accuracy.csv and DIR/rtt/NAME.csv (default results, loopback;\n"
               "  loopback-photo has the photo re-encoded per size).  --hops N: links of that speed the\n"
               "  picture crosses one after the other (default 1; study 2's namespaces have 2).\n"
               "  Second form: workers needed for R requests/s with p99 <= T ms, from DIR/load/service.csv\n"
               "  and the queueing model of the balancer's policy (random: c x M/G/1; least: M/G/c Allen-Cunneen;\n"
               "  p2c: power-of-two-choices mean field; round-robin: c x E_c/G/1 Kingman), checked against\n"
               "  DIR/topology/grid.csv (what the study measured under that policy, batching --batching, at\n"
               "  the nearest measured rate at or above R, or up to 5%% below): the larger count wins.  --check URL (a balancer\n"
               "  running that policy, with enough backends) runs the open-loop load at R through\n"
               "  ?backends=c and reports whether the p99 target is met.  With --service-ms the model alone.\n");
}

/* One study table of dir; NULL after one line that says how to make it when it is missing. */
static struct csv *load_csv(const char *dir, const char *sub, const char *name)
{
    char path[1024], err[1200];
    snprintf(path, sizeof path, "%s/%s/%s.csv", dir, sub, name);
    struct csv *c = malloc(sizeof *c);
    if (c && access(path, F_OK) != 0 && errno == ENOENT)
        fprintf(stderr, "client recommend: %s is missing; make the study results with: make study\n", path);
    else if (c && csv_load(path, c, err, sizeof err) == 0)
        return c;
    else
        fprintf(stderr, "client: %s\n", c ? err : "out of memory");
    free(c);
    return NULL;
}

/* study/run.sh --quick marks its output: numbers from a smoke run must not become recommendations. */
static int refuse_smoke(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, STUDY_SMOKE_MARK);
    if (access(path, F_OK) != 0)
        return 0;
    fprintf(stderr, "client recommend: %s holds a smoke run (study/run.sh --quick), not measurements; make real "
                    "ones with: make study\n", dir);
    return -1;
}

/* The row of rtt whose "size" equals size, or -1. */
static int rtt_row(const struct csv *rtt, double size)
{
    int col = csv_col(rtt, "size");
    for (int r = 0; r < rtt->nrows; r++)
        if (csv_num(rtt, r, col) == size)
            return r;
    return -1;
}

static int best_resolution(const struct rec *q)
{
    if (refuse_smoke(q->results) != 0)
        return 1;
    struct csv *acc = load_csv(q->results, "accuracy", "accuracy"), *rtt = NULL;
    int rc = 1;
    if (!acc || !(rtt = load_csv(q->results, "rtt", q->rtt_name))) /* one missing table, one line */
        goto out;
    int a_size = csv_col(acc, "size"), a_top1 = csv_col(acc, "top1"), a_top5 = csv_col(acc, "top5");
    int r_bytes = csv_col(rtt, "request_bytes"), r_mean = csv_col(rtt, "mean_ms");
    if (a_size < 0 || a_top1 < 0 || a_top5 < 0 || r_bytes < 0 || r_mean < 0) {
        fprintf(stderr, "client: the accuracy or rtt table lacks the columns it needs\n");
        goto out;
    }
    printf("| size | top1 | top5 | request_bytes | loopback_ms | predicted_ms | fits |\n|---|---|---|---|---|---|---|\n");
    int best = -1;
    double best_top1 = -1, best_ms = 0;
    for (int a = 0; a < acc->nrows; a++) {
        double size = csv_num(acc, a, a_size), top1 = csv_num(acc, a, a_top1);
        int r = rtt_row(rtt, size);
        if (r < 0 || isnan(top1))
            continue;
        double bytes = csv_num(rtt, r, r_bytes), base = csv_num(rtt, r, r_mean);
        double ms = base + (double)q->hops * bytes * 8 / (q->mbps * 1e3); /* bytes at X Mbit/s, in ms */
        int fits = ms <= q->budget_ms;
        printf("| %.0f | %.1f | %.1f | %.0f | %.1f | %.1f | %s |\n", size, top1, csv_num(acc, a, a_top5), bytes,
               base, ms, fits ? "yes" : "no");
        if (fits && top1 > best_top1) {
            best = (int)size;
            best_top1 = top1;
            best_ms = ms;
        }
    }
    if (best < 0) {
        fprintf(stderr, "client: no measured resolution fits %.1f ms at %.1f Mbit/s\n", q->budget_ms, q->mbps);
        goto out;
    }
    printf("recommend: %d px (top-1 %.1f%%, predicted RTT %.1f ms <= %.1f ms at %.1f Mbit/s)\n", best, best_top1,
           best_ms, q->budget_ms, q->mbps);
    rc = 0;
out:
    free(acc);
    free(rtt);
    return rc;
}

static int service_time(struct rec *q)
{
    if (q->s_ms > 0)
        return 0;
    if (refuse_smoke(q->results) != 0)
        return -1;
    char name[32], path[1100];
    snprintf(name, sizeof name, "service-%s", q->batching);
    snprintf(path, sizeof path, "%s/topology/%s.csv", q->results, name);
    /* S for the batching setting asked for when the topology study measured it, else study 3's */
    struct csv *svc = access(path, F_OK) == 0 ? load_csv(q->results, "topology", name)
                                              : load_csv(q->results, "load", "service");
    if (!svc)
        return -1;
    q->s_ms = csv_num(svc, 0, csv_col(svc, "mean_ms"));
    q->scv = csv_num(svc, 0, csv_col(svc, "scv"));
    free(svc);
    if (!(q->s_ms > 0) || !(q->scv >= 0)) {
        fprintf(stderr, "client: %s's service time has no usable mean_ms and scv\n", q->results);
        return -1;
    }
    return 0;
}

static int check_by_measuring(struct rec *q, int c)
{
    struct url u;
    struct buf req;
    char err[512];
    buf_init(&req, 128u * 1024 * 1024);
    struct load_config cfg = q->o.cfg;
    cfg.interval_ms = 1000 / q->rate;
    struct load_result r;
    size_t head_len;
    int rc = load_opts_request(&q->o, q->o.url, c, &u, &req, &head_len);
    struct service_info info;
    if (rc == 0 && service_probe_info(&u, &info, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        rc = -1;
    } else if (rc == 0 && strcmp(info.policy, q->policy) != 0) {
        fprintf(stderr, "client recommend: --check: the balancer at %s runs policy %s, not %s (start it with "
                        "--policy %s)\n", q->o.url, info.policy[0] ? info.policy : "(none: not a balancer?)", q->policy,
                q->policy);
        rc = -1;
    } else if (rc == 0 && info.workers < c) {
        fprintf(stderr, "client recommend: --check: the balancer at %s has %d backends up, fewer than the %d to "
                        "check\n", q->o.url, info.workers, c);
        rc = -1;
    }
    if (rc == 0 &&
        (rc = load_run(u.host, u.port, buf_ptr(&req), head_len, buf_len(&req), &cfg, &r, err, sizeof err)) < 0)
        fprintf(stderr, "client: %s\n", err);
    buf_free(&req);
    if (rc < 0)
        return 1;
    long bad = r.http_errors + r.failed + r.dropped;
    int met = r.ok > 0 && bad == 0 && r.rtt.p99 <= q->p99_ms;
    printf("check: %d workers, policy %s, at %.1f req/s: measured p99 %.1f ms (mean %.1f, %ld ok, %ld failed) -> %s\n",
           c, q->policy, r.offered_rps, r.rtt.p99, r.rtt.mean, r.ok, bad, met ? "target met" : "target NOT met");
    printf("check: the model predicted p99 %.1f ms", q->pred_p99_ms);
    if (q->study_p99_ms > 0)
        printf("; the topology study measured %.1f ms at %.1f req/s", q->study_p99_ms, q->study_rate);
    printf("\n");
    return met ? 0 : 3;
}

/* What the topology study measured for this policy and batching at the nearest grid rate at or above the
 * one asked for: the fewest measured workers that met the target (nothing refused), and the recommendation
 * is the larger of that and the model's c.  No grid: the model alone, said so.  Returns c, or -1. */
static int with_measured(struct rec *q, int c)
{
    char path[1100], err[1200];
    if (q->service_given) /* a service time of one's own: the study's measurements are of another service */
        return c;
    snprintf(path, sizeof path, "%s/topology/grid.csv", q->results);
    if (access(path, F_OK) != 0) {
        printf("measured: no topology study in %s (make study); the model alone\n", q->results);
        return c;
    }
    struct topo_cell cells[TOPO_MAX_CELLS];
    int n = topo_read_cells(path, q->policy, q->batching, q->rate, cells, TOPO_MAX_CELLS, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "client: %s\n", err);
        return -1;
    }
    if (n == 0) {
        printf("measured: the topology study has no rate as high as %.1f req/s for policy %s, batching %s; the model "
               "alone\n", q->rate, q->policy, q->batching);
        return c;
    }
    printf("measured (topology study, policy %s, batching %s, at %.1f req/s):\n| workers | p99_ms | pred_p99_ms | "
           "refused | meets |\n|---|---|---|---|---|\n", q->policy, q->batching, cells[0].rate_rps);
    int best = 0, most = 0;
    for (int i = 0; i < n; i++) {
        int meets = cells[i].ok > 0 && cells[i].refused == 0 && cells[i].p99_ms <= q->p99_ms;
        printf("| %d | %.1f | %.1f | %ld | %s |\n", cells[i].workers, cells[i].p99_ms, cells[i].pred_p99_ms,
               cells[i].refused, meets ? "yes" : "no");
        if (meets && (!best || cells[i].workers < best))
            best = cells[i].workers;
        most = cells[i].workers > most ? cells[i].workers : most;
        if (cells[i].workers == c) {
            q->study_p99_ms = cells[i].p99_ms;
            q->study_rate = cells[i].rate_rps;
        }
    }
    int need = best ? best : most + 1; /* none measured met it: more than the most measured */
    if (need > c) {
        if (best)
            printf("measured: at %.1f req/s the fewest measured workers that met it is %d, more than the model's "
                   "%d; taking %d\n", cells[0].rate_rps, best, c, need);
        else
            printf("measured: at %.1f req/s no measured count (up to %d) met it; taking %d\n", cells[0].rate_rps,
                   most, need);
        return need > q->max_workers ? (int)q->max_workers : need;
    }
    if (best)
        printf("measured: met at %.1f req/s with %d; the model's %d stands\n", cells[0].rate_rps, best, c);
    else
        printf("measured: no measured count (up to %d) met it at %.1f req/s; the model's %d stands\n", most,
               cells[0].rate_rps, c);
    return c;
}

static int workers_needed(struct rec *q)
{
    if (service_time(q) < 0)
        return 1;
    double lambda = q->rate / 1000; /* per ms */
    int c = q_workers_needed(q->model, lambda, q->s_ms, q->scv, q->p99_ms, (int)q->max_workers);
    printf("| workers | rho | pred_mean_ms | pred_p99_ms | pred_mgc_mean_ms |\n|---|---|---|---|---|\n");
    int last = c > 0 ? c + 1 : (int)q->max_workers;
    for (int k = 1; k <= last && k <= q->max_workers; k++) {
        struct q_prediction p, g;
        q_predict(q->model, lambda, q->s_ms, q->scv, k, NULL, &p);
        q_predict(Q_SHARED_QUEUE, lambda, q->s_ms, q->scv, k, NULL, &g);
        printf("| %d | %.3f | %.1f | %.1f | %.1f |\n", k, p.rho, p.mean_ms, p.p99_ms, g.mean_ms);
    }
    if (c < 0) {
        fprintf(stderr, "client: no worker count up to %ld meets p99 %.1f ms (S = %.1f ms)\n", q->max_workers,
                q->p99_ms, q->s_ms);
        return 1;
    }
    int model_c = c;
    c = with_measured(q, c);
    if (c < 0)
        return 1;
    struct q_prediction at;
    q_predict(q->model, lambda, q->s_ms, q->scv, c, NULL, &at);
    q->pred_p99_ms = at.p99_ms;
    printf("recommend: %d workers for %.1f req/s with p99 <= %.1f ms (S = %.1f ms, scv %.3f, policy %s, batching %s; "
           "model %d)\n", c, q->rate, q->p99_ms, q->s_ms, q->scv, q->policy, q->batching, model_c);
    return q->o.url ? check_by_measuring(q, c) : 0;
}

int cmd_recommend(int argc, char **argv)
{
    static const struct option opts[] = {
        { "budget-ms", required_argument, 0, 'B' }, { "bandwidth-mbps", required_argument, 0, 'X' },
        { "rate", required_argument, 0, 'R' },      { "p99-ms", required_argument, 0, 'P' },
        { "results", required_argument, 0, 'D' },   { "rtt-name", required_argument, 0, 'n' },
        { "service-ms", required_argument, 0, 'S' }, { "service-scv", required_argument, 0, 'V' },
        { "max-workers", required_argument, 0, 'M' }, { "check", required_argument, 0, 'K' },
        { "duration", required_argument, 0, 'd' }, { "hops", required_argument, 0, 'H' },
        { "policy", required_argument, 0, 'p' }, { "batching", required_argument, 0, 'b' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    struct rec q = { .results = "results", .rtt_name = "loopback", .max_workers = MAX_WORKERS, .hops = 1,
                     .policy = "random", .batching = "off", .model = Q_RANDOM_SPLIT };
    load_opts_defaults(&q.o);
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "B:X:R:P:D:n:S:V:M:K:d:H:p:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'B': bad |= args_positive("--budget-ms", optarg, &q.budget_ms); break;
        case 'X': bad |= args_positive("--bandwidth-mbps", optarg, &q.mbps); break;
        case 'R': bad |= args_positive("--rate", optarg, &q.rate); break;
        case 'P': bad |= args_positive("--p99-ms", optarg, &q.p99_ms); break;
        case 'D': q.results = optarg; break;
        case 'n': q.rtt_name = optarg; break;
        case 'S':
            bad |= args_positive("--service-ms", optarg, &q.s_ms);
            q.service_given = 1;
            break;
        case 'V': bad |= args_nonnegative("--service-scv", optarg, &q.scv); break;
        case 'M': bad |= cli_long("client", "--max-workers", optarg, 1, MAX_WORKERS, &q.max_workers); break;
        case 'K': q.o.url = optarg; break;
        case 'd': bad |= load_opts_handle('d', optarg, &q.o) < 0; break;
        case 'H': bad |= cli_long("client", "--hops", optarg, 1, 16, &q.hops); break;
        case 'p':
            q.policy = optarg;
            if ((int)(q.model = (enum q_model)q_model_of_policy(optarg)) < 0) {
                fprintf(stderr, "client: --policy: '%s' is not random, least, p2c or round-robin\n", optarg);
                bad = 1;
            }
            break;
        case 'b':
            q.batching = optarg;
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "client: --batching: '%s' is not on or off\n", optarg);
                bad = 1;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: return args_bad_option("recommend", argv);
        }
    }
    /* The two forms answer different questions: given both, one would be dropped without a word. */
    bool resolution = q.budget_ms > 0 || q.mbps > 0, workers = q.rate > 0 || q.p99_ms > 0;
    if (bad)
        return 2;
    if (resolution && !workers && q.budget_ms > 0 && q.mbps > 0 && optind == argc)
        return best_resolution(&q);
    if (workers && !resolution && q.rate > 0 && q.p99_ms > 0 && optind == argc)
        return workers_needed(&q);
    fprintf(stderr, "client recommend: give --budget-ms and --bandwidth-mbps, or --rate and --p99-ms, not both\n");
    return 2;
}
