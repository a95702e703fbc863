/* client load: one open-loop Poisson run at one rate (study 3's cell), with the queueing prediction
 * beside it when the service time is given. */
#include <stdio.h>
#include <stdlib.h>

#include "net/cli.h"
#include "study/args.h"
#include "study/commands.h"
#include "study/service_probe.h"
#include "study/load_options.h"
#include "study/load_report.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: client load --url URL (--interval SEC | --rate RPS) [--count N] [OPTIONS]\n"
               "  Open loop: arrivals with exponential gaps of mean SEC (seeded), each request sent on\n"
               "  schedule whatever the earlier ones are doing; every RTT is recorded from its scheduled\n"
               "  instant.  Prints workers,factor,interval_ms,rho,offered_rps,sent,ok,http_errors,failed,\n"
               "  dropped,mean_ms,p50_ms,p90_ms,p99_ms,throughput_rps,windows,stable and the predictions.\n"
               "  --count N          one window of exactly N arrivals instead of timed windows\n"
               "  --workers C        workers behind the URL (for the prediction; default: the balancer's\n"
               "                     /healthz backend count, 1 for a worker alone)\n"
               "  pred_* columns: c random-split M/G/1 queues with service time S (without --service-ms,\n"
               "  the workers' own timings, decode + inference), for a run starting empty.\n"
               "  --service-ms S     a lone request's RTT; also sets factor = interval / S\n"
               "  --service-scv V    its squared coefficient of variation (default 0: M/D/1)\n"
               LOAD_OPTS_HELP);
}

/* --interval and --rate both set the mean gap: a second one would silently override the first. */
static int gap_given(double interval_ms)
{
    if (interval_ms > 0)
        fprintf(stderr, "client load: give one of --interval and --rate, once\n");
    return interval_ms > 0;
}

int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        LOAD_OPTS_LONG,
        { "interval", required_argument, 0, 'I' }, { "rate", required_argument, 0, 'R' },
        { "count", required_argument, 0, 'N' },    { "workers", required_argument, 0, 'W' },
        { "service-ms", required_argument, 0, 'S' }, { "service-scv", required_argument, 0, 'V' },
        { "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
    };
    struct load_opts o;
    load_opts_defaults(&o);
    struct service_time st = { .mean_ms = 0 };
    double v;
    long workers = 0;
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, LOAD_OPTS_SHORT "I:R:N:W:S:V:h", opts, NULL)) != -1) {
        if ((rc = load_opts_handle(c, optarg, &o)) != 0) {
            if (rc < 0)
                return 2;
            continue;
        }
        switch (c) {
        case 'I':
            if (gap_given(o.cfg.interval_ms) || args_positive("--interval", optarg, &v) < 0)
                return 2;
            o.cfg.interval_ms = v * 1000;
            break;
        case 'R':
            if (gap_given(o.cfg.interval_ms) || args_positive("--rate", optarg, &v) < 0)
                return 2;
            o.cfg.interval_ms = 1000 / v;
            break;
        case 'N':
            if (cli_long("client", "--count", optarg, 1, 2000000, &o.cfg.count) < 0)
                return 2;
            break;
        case 'W':
            if (cli_long("client", "--workers", optarg, 1, 1024, &workers) < 0)
                return 2;
            break;
        case 'S':
            if (args_positive("--service-ms", optarg, &st.mean_ms) < 0)
                return 2;
            break;
        case 'V':
            if (args_nonnegative("--service-scv", optarg, &st.scv) < 0)
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: return args_bad_option("load", argv);
        }
    }
    if (!o.url || !(o.cfg.interval_ms > 0) || optind != argc) {
        fprintf(stderr, "client load: needs --url and --interval or --rate (try --help)\n");
        return 2;
    }
    struct url u;
    struct buf req;
    buf_init(&req, 128u * 1024 * 1024);
    size_t head_len;
    if (load_opts_request(&o, o.url, 0, &u, &req, &head_len) < 0) {
        buf_free(&req);
        return 1;
    }
    struct load_result r;
    char err[512];
    int behind;
    if (service_probe(&u, &behind, err, sizeof err) < 0) {
        fprintf(stderr, "client: %s\n", err);
        buf_free(&req);
        return 1;
    }
    if (workers == 0) /* not given: as many as the balancer has (1 for a worker alone) */
        workers = behind;
    rc = load_run(u.host, u.port, buf_ptr(&req), head_len, buf_len(&req), &o.cfg, &r, err, sizeof err);
    buf_free(&req);
    if (rc < 0) {
        fprintf(stderr, "client: %s\n", err);
        return 1;
    }
    struct table t;
    table_init(&t, LOAD_REPORT_COLS, o.csv);
    if (o.out && table_open_files(&t, o.out, "load", "Open-loop Poisson load", err, sizeof err) < 0)
        fprintf(stderr, "client: %s\n", err);
    table_header(&t, load_report_cols);
    st.queue_bound = o.queue_bound;
    load_report_row(&t, (int)workers, st.mean_ms > 0 ? o.cfg.interval_ms / st.mean_ms : 0, o.cfg.interval_ms, &r,
                    &st);
    rc = table_close(&t) < 0;
    if (r.ok == 0) {
        fprintf(stderr, "client: no request succeeded (%s)\n", r.last_error[0] ? r.last_error : "none sent");
        rc = 1;
    }
    return rc;
}
