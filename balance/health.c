/* health: passive and active health rules over the chooser's state (see health.h). */
#include "balance/health.h"

#include <string.h>

void health_mark(struct chooser *c, int i, bool up, uint64_t now_ms)
{
    struct choose_backend *b = &c->b[i];
    if (b->up == up)
        return;
    b->up = up;
    b->since_ms = now_ms;
    b->rr_current = 0;
}

int health_report(struct chooser *c, int i, bool ok, int max_fails, uint64_t now_ms)
{
    struct choose_backend *b = &c->b[i];
    bool was = b->up;
    if (ok) {
        b->fails = 0;
        health_mark(c, i, true, now_ms);
    } else {
        b->fails++;
        b->fails_total++;
        if (b->fails >= max_fails)
            health_mark(c, i, false, now_ms);
    }
    return was != b->up;
}

int health_json(const struct chooser *c, uint64_t now_ms, struct buf *out)
{
    int up = choose_count_up(c);
    buf_clear(out);
    int rc = buf_printf(out, "{\"status\":\"%s\",\"policy\":\"%s\",\"up\":%d,\"backends\":[",
                        up ? "ok" : "no_backend_up", choose_policy_name(c->policy), up);
    for (int i = 0; i < c->n; i++) {
        const struct choose_backend *b = &c->b[i];
        rc |= buf_append_str(out, i ? ",{\"address\":" : "{\"address\":");
        rc |= buf_append_json_str(out, b->name, strlen(b->name));
        rc |= buf_printf(out,
                         ",\"up\":%s,\"draining\":%s,\"since_ms_ago\":%llu,\"in_flight\":%d,"
                         "\"recent_failures\":%d,\"failures_total\":%llu}",
                         b->up ? "true" : "false", b->draining ? "true" : "false",
                         (unsigned long long)(now_ms > b->since_ms ? now_ms - b->since_ms : 0), b->in_flight,
                         b->fails, (unsigned long long)b->fails_total);
    }
    rc |= buf_append_str(out, "]}\n");
    return rc ? -1 : 0;
}
