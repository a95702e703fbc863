/* cluster: the live panel's numbers (see cluster.h). */
#include "balance/cluster.h"

#include <math.h>
#include <string.h>

#define BUCKET_BASE_MS 0.1
#define BUCKETS_PER_OCTAVE 4

static int bucket_of(uint64_t duration_ns)
{
    double ms = (double)duration_ns / 1e6;
    if (ms < BUCKET_BASE_MS)
        return 0;
    int k = (int)(BUCKETS_PER_OCTAVE * log2(ms / BUCKET_BASE_MS));
    return k < CLUSTER_BUCKETS ? k : CLUSTER_BUCKETS - 1;
}

/* The middle of bucket k (geometric), in ms. */
static double bucket_ms(int k)
{
    return BUCKET_BASE_MS * exp2((k + 0.5) / BUCKETS_PER_OCTAVE);
}

/* The slot counting second s, emptied first when it last counted an older second. */
static struct cluster_slot *slot_for(struct cluster_backend *b, uint64_t s)
{
    struct cluster_slot *slot = &b->slot[s % CLUSTER_WINDOW_S];
    if (slot->second != s)
        *slot = (struct cluster_slot){ .second = s };
    return slot;
}

/* Second s (of now) is inside the window ending at now. */
static bool in_window(uint64_t s, uint64_t now_s, unsigned width)
{
    return s <= now_s && now_s - s < width;
}

void cluster_record_try(struct cluster_backend *b, uint64_t now_ms, bool answered, uint64_t duration_ns)
{
    struct cluster_slot *slot = slot_for(b, now_ms / 1000);
    slot->tries++;
    if (!answered) {
        slot->failed++;
        b->failed_total++;
        return;
    }
    b->answered_total++;
    uint16_t *n = &slot->by_duration[bucket_of(duration_ns)];
    if (*n < UINT16_MAX)
        (*n)++;
}

void cluster_record_request(struct cluster_rate *r, uint64_t now_ms)
{
    uint64_t s = now_ms / 1000;
    unsigned i = (unsigned)(s % CLUSTER_WINDOW_S);
    if (r->second[i] != s) {
        r->second[i] = s;
        r->count[i] = 0;
    }
    r->count[i]++;
    r->total++;
}

void cluster_minute(const struct cluster_backend *b, uint64_t now_ms, struct cluster_minute *out)
{
    uint64_t now_s = now_ms / 1000;
    uint32_t hist[CLUSTER_BUCKETS] = { 0 };
    uint64_t answered = 0;
    *out = (struct cluster_minute){ 0 };
    for (int i = 0; i < CLUSTER_WINDOW_S; i++) {
        const struct cluster_slot *slot = &b->slot[i];
        if (slot->tries == 0 || !in_window(slot->second, now_s, CLUSTER_WINDOW_S))
            continue;
        out->tries += slot->tries;
        out->failed += slot->failed;
        for (int k = 0; k < CLUSTER_BUCKETS; k++) {
            hist[k] += slot->by_duration[k];
            answered += slot->by_duration[k];
        }
    }
    if (answered == 0)
        return;
    /* the bucket holding the ceil(p * n)-th fastest try */
    uint64_t want50 = (answered + 1) / 2, want99 = (answered * 99 + 99) / 100, seen = 0;
    for (int k = 0; k < CLUSTER_BUCKETS; k++) {
        uint64_t before = seen;
        seen += hist[k];
        if (before < want50 && seen >= want50)
            out->p50_ms = bucket_ms(k);
        if (before < want99 && seen >= want99)
            out->p99_ms = bucket_ms(k);
    }
}

double cluster_rate_per_s(const struct cluster_rate *r, uint64_t now_ms)
{
    uint64_t now_s = now_ms / 1000, n = 0;
    for (int i = 0; i < CLUSTER_WINDOW_S; i++) /* whole seconds only: the current one is still counting */
        if (r->second[i] != now_s && in_window(r->second[i], now_s, CLUSTER_RATE_S + 1))
            n += r->count[i];
    return (double)n / CLUSTER_RATE_S;
}

int cluster_json(const struct chooser *c, const struct cluster_backend *const stats[],
                 const struct cluster_rate *rate, uint64_t now_ms, struct buf *out)
{
    buf_clear(out);
    int rc = buf_printf(out, "{\"policy\":\"%s\",\"up\":%d,\"rate_per_s\":%.1f,\"requests_total\":%llu,"
                        "\"window_s\":%d,\"backends\":[", choose_policy_name(c->policy), choose_count_up(c),
                        cluster_rate_per_s(rate, now_ms), (unsigned long long)rate->total, CLUSTER_WINDOW_S);
    for (int i = 0; i < c->n && rc == 0; i++) {
        const struct choose_backend *b = &c->b[i];
        struct cluster_minute m;
        cluster_minute(stats[i], now_ms, &m);
        rc = buf_printf(out, "%s{\"name\":\"worker %d\",\"up\":%s,\"draining\":%s,\"in_flight\":%d,"
                        "\"answered_total\":%llu,\"failed_total\":%llu,\"last_minute\":{\"tries\":%u,"
                        "\"failed\":%u,\"p50_ms\":%.1f,\"p99_ms\":%.1f}}",
                        i ? "," : "", i + 1, b->up ? "true" : "false", b->draining ? "true" : "false",
                        b->in_flight, (unsigned long long)stats[i]->answered_total,
                        (unsigned long long)stats[i]->failed_total, m.tries, m.failed, m.p50_ms, m.p99_ms);
    }
    return rc == 0 ? buf_append_str(out, "]}\n") : -1;
}
