/* client load-study: study 3.  Measures the service time S (sequential requests to one worker), then runs
 * the open-loop load for every worker count c (through the balancer's ?backends=c) and every interval
 * factor f (I = f S), writing the long table, a summary in the original's shape, and the service time. */
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

#define MAX_LIST 8

struct study {
    struct load_opts o;
    int workers[MAX_LIST], nworkers;
    double factors[MAX_LIST];
    int nfactors;
    long calibrate;
    const char *note;
    struct service_time st;
    struct summary s_sum;
    struct load_result res[MAX_LIST][MAX_LIST];
};

static void usage(FILE *f)
{
    fprintf(f, "usage: client load-study --url BALANCER_URL [--workers 1,2,4] [--factors 2.5,1,0.5,0.05]\n"
               "                          [--calibrate N] [--note TEXT] [OPTIONS]\n"
               "  The balancer must have at least max(workers) backends; each cell uses ?backends=c.\n"
               "  S = mean of N (default 30) sequential RTTs through ?backends=1; each cell then runs\n"
               "  open-loop Poisson arrivals with mean gap factor x S.  Writes DIR/load.{csv,md} (every\n"
               "  cell, with predictions), DIR/summary.md (mean and p99: measured vs predicted) and\n"
               "  DIR/service.{csv,md}.  --note adds a line (e.g. the CPU quotas) to the Markdown.\n"
               LOAD_OPTS_HELP);
}

static int parse(int argc, char **argv, struct study *s)
{
    static const struct option opts[] = {
        LOAD_OPTS_LONG,
        { "workers", required_argument, 0, 'W' }, { "factors", required_argument, 0, 'F' },
        { "calibrate", required_argument, 0, 'K' }, { "note", required_argument, 0, 'T' },
        { "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 },
    };
    static const int def_workers[] = { 1, 2, 4 };
    static const double def_factors[] = { 2.5, 1, 0.5, 0.05 };
    load_opts_defaults(&s->o);
    memcpy(s->workers, def_workers, sizeof def_workers);
    s->nworkers = 3;
    memcpy(s->factors, def_factors, sizeof def_factors);
    s->nfactors = 4;
    s->calibrate = 30;
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, LOAD_OPTS_SHORT "W:F:K:T:h", opts, NULL)) != -1) {
        if ((rc = load_opts_handle(c, optarg, &s->o)) != 0) {
            if (rc < 0)
                return 2;
            continue;
        }
        switch (c) {
        case 'W':
            if ((s->nworkers = args_int_list("--workers", optarg, s->workers, MAX_LIST, 1, 64)) < 0)
                return 2;
            break;
        case 'F':
            if ((s->nfactors = args_double_list("--factors", optarg, s->factors, MAX_LIST)) < 0)
                return 2;
            break;
        case 'K':
            if (cli_long("client", "--calibrate", optarg, 2, 100000, &s->calibrate) < 0)
                return 2;
            break;
        case 'T': s->note = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return args_bad_option("load-study", argv);
        }
    }
    if (!s->o.url || optind != argc) {
        fprintf(stderr, "client load-study: needs --url (try --help)\n");
        return 2;
    }
    return -1;
}

static int calibrate(struct study *s)
{
    return load_report_calibrate(&s->o, s->o.url, s->calibrate, &s->st, &s->s_sum);
}

static int run_cell(struct study *s, int wi, int fi, struct table *t, struct progress *pg)
{
    struct url u;
    struct buf req;
    char err[512];
    buf_init(&req, 128u * 1024 * 1024);
    size_t head_len;
    if (load_opts_request(&s->o, s->o.url, s->workers[wi], &u, &req, &head_len) < 0) {
        buf_free(&req);
        return -1;
    }
    struct load_config cfg = s->o.cfg;
    cfg.interval_ms = s->factors[fi] * s->st.mean_ms;
    load_report_wait_idle(&u, &req, head_len, s->o.cfg.timeout_ms, &s->st, &s->s_sum);
    struct load_result *r = &s->res[wi][fi];
    int rc = load_run(u.host, u.port, buf_ptr(&req), head_len, buf_len(&req), &cfg, r, err, sizeof err);
    buf_free(&req);
    progress_end(pg); /* the row (or the message) starts a clean line */
    if (rc < 0) {
        fprintf(stderr, "client: %s\n", err);
        return -1;
    }
    load_report_row(t, s->workers[wi], s->factors[fi], cfg.interval_ms, r, &s->st);
    return 0;
}

/* The original's table: one row per worker count, one column per interval, "measured (predicted)". */
static void write_summary(struct study *s)
{
    struct table t;
    char err[512];
    table_init(&t, 1 + s->nfactors, -1);
    if (!s->o.out || table_open_files(&t, s->o.out, "summary", "Mean / p99 RTT under Poisson load, ms: measured "
                                      "(predicted, random split of M/G/1)", err, sizeof err) < 0)
        return (void)table_close(&t);
    char head[MAX_LIST + 1][48], cells[MAX_LIST + 1][96];
    const char *row[MAX_LIST + 1];
    snprintf(head[0], sizeof head[0], "workers");
    row[0] = head[0];
    for (int f = 0; f < s->nfactors; f++) {
        snprintf(head[f + 1], sizeof head[f + 1], "I = %gS (%.0f ms)", s->factors[f], s->factors[f] * s->st.mean_ms);
        row[f + 1] = head[f + 1];
    }
    table_header(&t, row);
    for (int w = 0; w < s->nworkers; w++) {
        snprintf(cells[0], sizeof cells[0], "%d", s->workers[w]);
        row[0] = cells[0];
        for (int f = 0; f < s->nfactors; f++) {
            const struct load_result *r = &s->res[w][f];
            struct q_prediction p;
            load_report_predict(Q_RANDOM_SPLIT, s->workers[w], s->factors[f] * s->st.mean_ms, r, &s->st, &p);
            snprintf(cells[f + 1], sizeof cells[f + 1], "%.0f (%.0f) / %.0f (%.0f)%s", r->rtt.mean, p.mean_ms,
                     r->rtt.p99, p.p99_ms, r->http_errors + r->failed + r->dropped ? " *" : "");
            row[f + 1] = cells[f + 1];
        }
        table_row(&t, row);
    }
    char note[800];
    snprintf(note, sizeof note, "S = %.1f ms, the RTT of a lone request (the workers time %.1f ms of it as "
             "decode + inference; service_ms in load.md is that timing under load). Predictions are for a run "
             "starting empty, with waits capped by the workers' queue bound (%d). * = some requests were refused "
             "(503) or failed.",
             s->st.mean_ms, s->st.worker_ms, s->st.queue_bound);
    table_note(&t, note);
    if (s->note)
        table_note(&t, s->note);
    table_close(&t);
}


int cmd_load_study(int argc, char **argv)
{
    struct study *s = calloc(1, sizeof *s);
    if (!s) {
        fprintf(stderr, "client: out of memory\n");
        return 1;
    }
    int rc = parse(argc, argv, s);
    if (rc >= 0 || (rc = calibrate(s)) < 0) {
        free(s);
        return rc < 0 ? 1 : rc;
    }
    fprintf(stderr, "client: S = %.2f ms (p99 %.2f ms, scv %.3f; the worker times %.2f ms of it)\n", s->st.mean_ms,
            s->s_sum.p99, s->st.scv, s->st.worker_ms);
    load_report_write_service(s->o.out, "service", "Service time S (one worker, sequential)", &s->s_sum, &s->st);
    struct table t;
    char err[512];
    table_init(&t, LOAD_REPORT_COLS, s->o.csv);
    if (s->o.out && table_open_files(&t, s->o.out, "load", "RTT under open-loop Poisson load", err, sizeof err) < 0)
        fprintf(stderr, "client: %s\n", err);
    table_header(&t, load_report_cols);
    int failed = 0;
    struct progress pg;
    progress_start(&pg, "client load-study", (long)s->nworkers * s->nfactors);
    for (int w = 0; w < s->nworkers; w++)
        for (int f = 0; f < s->nfactors; f++) {
            char what[64];
            snprintf(what, sizeof what, "cells (%d workers, I = %gS)", s->workers[w], s->factors[f]);
            progress_update(&pg, (long)w * s->nfactors + f, what);
            failed |= run_cell(s, w, f, &t, &pg) < 0;
        }
    progress_end(&pg);
    if (s->note)
        table_note(&t, s->note);
    failed |= table_close(&t) < 0;
    write_summary(s);
    free(s);
    return failed;
}
