/* backend_stats: per-backend counts and their metric families (see backend_stats.h). */
#include "balance/backend_stats.h"

void bstats_sent(struct backend_stats *s, bool retry)
{
    s->tries++;
    s->retries += retry;
}

void bstats_ended(struct backend_stats *s, uint64_t now_ms, bool answered, uint64_t elapsed_ns)
{
    cluster_record_try(&s->minute, now_ms, answered, elapsed_ns);
    met_observe(&s->try_seconds, (double)elapsed_ns / 1e9);
}

void bstats_cancelled(struct backend_stats *s, uint64_t now_ms)
{
    cluster_record_try(&s->minute, now_ms, false, 0);
}

enum field { UP, DRAINING, IN_FLIGHT, TRIES, RETRIES, ANSWERED, FAILURES, EJECTIONS, TRY_SECONDS };

static const struct {
    const char *name, *type, *help;
} families[] = {
    [UP] = { "imgrec_balancer_backend_up", "gauge", "1 while the health rules let the backend be chosen." },
    [DRAINING] = { "imgrec_balancer_backend_draining", "gauge",
                   "1 while the backend is being removed (discovery): no new tries." },
    [IN_FLIGHT] = { "imgrec_balancer_backend_in_flight", "gauge", "Tries sent to the backend and not ended." },
    [TRIES] = { "imgrec_balancer_backend_tries_total", "counter", "Tries sent to the backend." },
    [RETRIES] = { "imgrec_balancer_backend_retries_total", "counter",
                  "Tries sent to the backend that were a request's second or later." },
    [ANSWERED] = { "imgrec_balancer_backend_answered_total", "counter",
                   "Tries the backend answered (relayed; not 502/503/504)." },
    [FAILURES] = { "imgrec_balancer_backend_failures_total", "counter",
                   "Tries that failed: no answer within --try-timeout, a broken one, 502/503/504, or cancelled "
                   "at --backend-timeout." },
    [EJECTIONS] = { "imgrec_balancer_backend_ejections_total", "counter",
                    "Times the health rules marked the backend down." },
    [TRY_SECONDS] = { "imgrec_balancer_backend_try_duration_seconds", "histogram",
                      "One try, sent to answered or failed." },
};

static double value(const struct choose_backend *b, const struct backend_stats *s, enum field f)
{
    switch (f) {
    case UP: return b->up;
    case DRAINING: return b->draining;
    case IN_FLIGHT: return b->in_flight;
    case TRIES: return (double)s->tries;
    case RETRIES: return (double)s->retries;
    case ANSWERED: return (double)s->minute.answered_total;
    case FAILURES: return (double)s->minute.failed_total;
    case EJECTIONS: return (double)s->ejections;
    case TRY_SECONDS: break;
    }
    return 0;
}

int bstats_write(const struct chooser *c, const struct backend_stats *const stats[], struct buf *b)
{
    int rc = 0;
    for (int f = 0; f < (int)(sizeof families / sizeof families[0]); f++) {
        rc |= met_write_family(b, families[f].name, families[f].type, families[f].help);
        for (int i = 0; i < c->n; i++) {
            char labels[CHOOSE_NAME_MAX + 32];
            met_label(labels, sizeof labels, 0, "backend", c->b[i].name);
            rc |= f == TRY_SECONDS ? met_write_hist(b, families[f].name, labels, &stats[i]->try_seconds)
                                   : met_write_sample(b, families[f].name, labels, value(&c->b[i], stats[i], (enum field)f));
        }
    }
    return rc;
}
